#!/usr/bin/env bash
# The soak (not a test: scripts/test.sh does not run it): the example service under a fixed-rate
# mix of actions and event deliveries for a bounded time, with duplicated deliveries and
# transient failures, then the exactly-once checks in Postgres (see bench/kit/soak.rs).
#
# Usage: bench/soak.sh [SECONDS=300] [RATE=200]
# Exits non-zero when an effect is missing or doubled, or a request got an unexpected status.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-300}
RATE=${2:-200}
OUT=bench/out
mkdir -p "$OUT"

echo "== building (release)"
cargo build --release --locked -p example-default -p rasura-bench --features rasura-bench/kit --bins 2>&1 | tail -n 1

unset DATABASE_URL
source scripts/postgres.sh
for f in examples/default/hasura/migrations/default/*/up.sql; do
  "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$f" >/dev/null
done

export RASURA_WEBHOOK_SECRET="soak-webhook-secret-0123456789abcdef"
export SOAK_JWT_KEY="soak-jwt-key-0123456789abcdef0123456789"
PORT=18301
WELCOME_PORT=18302
env RASURA_LISTEN=127.0.0.1:$PORT RASURA_LOG=warn DATABASE_URL="$DATABASE_URL" \
  HASURA_GRAPHQL_JWT_SECRET="{\"type\":\"HS256\",\"key\":\"$SOAK_JWT_KEY\"}" \
  WELCOME_WEBHOOK_URL="http://127.0.0.1:$WELCOME_PORT/welcome" \
  target/release/example-default >"$OUT/soak.server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; stop_postgres' EXIT
started=0
for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && { started=1; break; }; sleep 0.05; done
if [ "$started" != 1 ]; then
  echo "error: the example did not start; its log:" >&2
  cat "$OUT/soak.server.log" >&2
  exit 1
fi

target/release/rasura-benchkit soak --url "http://127.0.0.1:$PORT" --pid "$PID" \
  --seconds "$SECONDS_TO_RUN" --rate "$RATE" --welcome-port "$WELCOME_PORT"
