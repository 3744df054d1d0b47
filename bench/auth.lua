-- wrk script for bench/run.sh's auth-webhook path: Hasura's `GET /auth/webhook` with the
-- client's bearer token (TOKEN from the environment), the same bytes for every server.
wrk.method = "GET"
wrk.headers["User-Agent"] = "hasura-graphql-engine/v2.48.0"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("TOKEN"), "TOKEN env var")
