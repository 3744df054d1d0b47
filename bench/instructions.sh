#!/usr/bin/env bash
# Deterministic companion to bench/pong.sh: user-space instructions per request under
# `valgrind --tool=callgrind`, for the example's `pong` and ../shared/peers/axum_bare, with and
# without JWT. Counts repeat exactly for the same binaries, whatever else the machine is doing,
# so small changes show up; kernel time (about half of each request) is not counted, and
# valgrind's CPU model has no SHA extensions, which inflates SHA-256 (the webhook-secret digest,
# HMAC) well beyond its real cost. Run bench/pong.sh first (it builds everything).
#
# Usage: bench/instructions.sh [REQUESTS=2000]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
OUT=bench/out
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
export JWT_SECRET="bench-jwt-secret-0123456789abcdef0123456789" EVENT_SECRET="bench-event-secret-0123456789abcdef"
TOKEN=$(python3 bench/hs256_token.py)

# count NAME PORT PATH JWT(0/1) BIN
count() {
  local name=$1 port=$2 path=$3 jwt=$4 bin=$5 token=""
  [ "$jwt" = 1 ] && token=$TOKEN
  rm -f "$OUT/cg.$name".*
  RASURA_WEBHOOK_SECRET=$EVENT_SECRET RASURA_LOG=info RASURA_LISTEN=127.0.0.1:$port PORT=$port \
    HASURA_GRAPHQL_JWT_SECRET="{\"type\":\"HS256\",\"key\":\"$JWT_SECRET\"}" \
    valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$name.%p" "$bin" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  JWT=$token python3 bench/client.py "$port" "$path" 200 >/dev/null   # warm-up
  callgrind_control -z "$pid" >/dev/null 2>&1
  JWT=$token python3 bench/client.py "$port" "$path" "$N" >/dev/null
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  local file; file=$(ls "$OUT/cg.$name".*.1)
  local total; total=$(callgrind_annotate "$file" | awk '/PROGRAM TOTALS/{gsub(",", "", $1); print $1; exit}')
  echo "$name instructions_per_request=$((total / N))" | tee -a "$OUT/instructions.txt"
}

: >"$OUT/instructions.txt"
count axum_bare_nojwt 18601 /pong_nojwt 0 "$OUT/axum_bare/target/release/axum_bare"
count rasura_nojwt 18602 /actions/pong 0 target/release/rasura-bench-nojwt
count axum_bare_jwt 18603 /pong 1 "$OUT/axum_bare/target/release/axum_bare"
count rasura_jwt 18604 /actions/pong 1 target/release/example-default
