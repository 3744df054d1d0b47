-- wrk script for bench/pong.sh: one Hasura v2 action call ("pong"), the same request for Rasura
-- and the peers. It carries both secret headers (X-Event-Secret for the peers,
-- X-Rasura-Webhook-Secret for Rasura) so every server receives identical bytes.
local f = assert(io.open(assert(os.getenv("BODY"), "BODY env var"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "hasura-graphql-engine/v2.48.0"
wrk.headers["X-Event-Secret"] = assert(os.getenv("EVENT_SECRET"), "EVENT_SECRET env var")
wrk.headers["X-Rasura-Webhook-Secret"] = os.getenv("EVENT_SECRET")
local jwt = os.getenv("JWT")
if jwt and jwt ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. jwt
end
