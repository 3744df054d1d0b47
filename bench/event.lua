-- wrk script for bench/run.sh's event path: one Hasura event delivery per request, each with a
-- new event id (so every delivery does its Postgres write), the same bytes for every server.
-- It carries both secret headers (X-Event-Secret for the peers, X-Rasura-Webhook-Secret for
-- Rasura). Reads EVENT_BODY (a template with __ID__), EVENT_SECRET and EVENT_PREFIX from the environment.
local f = assert(io.open(assert(os.getenv("EVENT_BODY"), "EVENT_BODY env var"), "rb"))
local template = f:read("*a")
f:close()
local secret = assert(os.getenv("EVENT_SECRET"), "EVENT_SECRET env var")
-- EVENT_PREFIX: 8 hex digits, new for every run, so no run repeats an earlier id.
local prefix = assert(os.getenv("EVENT_PREFIX"), "EVENT_PREFIX env var")
local counter = 0
local headers = {
  ["Content-Type"] = "application/json",
  ["User-Agent"] = "hasura-graphql-engine/v2.48.0",
  ["X-Event-Secret"] = secret,
  ["X-Rasura-Webhook-Secret"] = secret,
}

request = function()
  counter = counter + 1
  local id = string.format("%s-0000-4000-8000-%012x", prefix, counter)
  return wrk.format("POST", nil, headers, (template:gsub("__ID__", id)))
end
