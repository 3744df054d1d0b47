#!/usr/bin/env bash
# Side-by-side benchmark (not a test): the example's `pong` against ../shared/peers/axum_bare,
# with and without JWT verification, both built with the same release profile (opt-level 3,
# codegen-units 1, fat LTO, panic=unwind: Rasura's panic guard needs unwinding).
# Server pinned to CPU 0, wrk to CPU 1; rounds alternate A B A B; medians are reported, including
# server CPU time per request (from /proc/PID/stat), the figure that matters when wrk saturates.
#
# Usage: bench/pong.sh [ROUNDS=3] [DURATION=10s]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
DURATION=${2:-10s}
PEERS=../shared/peers
OUT=bench/out
mkdir -p "$OUT"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v taskset >/dev/null || { apt-get update -qq && apt-get install -y -qq util-linux; }

echo "== building (release)"
cargo build --release --locked -p example-default -p rasura-bench 2>&1 | tail -n 1
rm -rf "$OUT/axum_bare" && cp -r "$PEERS/axum_bare" "$OUT/axum_bare" && chmod -R u+w "$OUT/axum_bare"
# A copy inside this checkout: make it its own workspace.
printf "\n[workspace]\n" >>"$OUT/axum_bare/Cargo.toml"
# The peer's own profile says panic=abort; build it with Rasura's exact profile instead.
(cd "$OUT/axum_bare" && CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_LTO=fat \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_OPT_LEVEL=3 \
  cargo build --release 2>&1 | tail -n 1)

export JWT_SECRET="bench-jwt-secret-0123456789abcdef0123456789"
export EVENT_SECRET="bench-event-secret-0123456789abcdef"
export BODY="$PEERS/body.json"
TOKEN=$(python3 bench/hs256_token.py)

RASURA_ENV=(RASURA_WEBHOOK_SECRET="$EVENT_SECRET" RASURA_LOG=info
  HASURA_GRAPHQL_JWT_SECRET="{\"type\":\"HS256\",\"key\":\"$JWT_SECRET\"}")

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# run NAME PORT PATH JWT(0/1) CMD...
run() {
  local name=$1 port=$2 path=$3 jwt=$4; shift 4
  taskset -c 0 env "$@" >"$OUT/$name.server.log" 2>&1 &
  local pid=$!
  wait_port "$port"
  local token=""; [ "$jwt" = 1 ] && token=$TOKEN
  # Warm up, and check the answer once.
  local check
  check=$(JWT=$token taskset -c 1 wrk -t1 -c8 -d1s -s bench/pong.lua "http://127.0.0.1:$port$path" | grep -E "Non-2xx" || true)
  [ -z "$check" ] || { echo "$name: non-2xx answers: $check" >&2; kill "$pid"; exit 1; }
  local t0; t0=$(cpu_ticks "$pid")
  JWT=$token taskset -c 1 wrk -t1 -c64 -d"$DURATION" --latency -s bench/pong.lua "http://127.0.0.1:$port$path" >"$OUT/$name.wrk"
  local t1; t1=$(cpu_ticks "$pid")
  local rss; rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local reqs rps p99
  reqs=$(awk '/requests in/{print $1}' "$OUT/$name.wrk")
  rps=$(awk '/Requests\/sec/{print $2}' "$OUT/$name.wrk")
  p99=$(awk '$1=="99%"{print $2}' "$OUT/$name.wrk")
  local hz; hz=$(getconf CLK_TCK)
  local us; us=$(awk -v d=$((t1 - t0)) -v n="$reqs" -v hz="$hz" 'BEGIN{printf "%.2f", d * 1e6 / hz / n}')
  echo "$name rps=$rps p99=$p99 cpu_us_per_req=$us rss_kb=$rss" | tee -a "$OUT/results.txt"
}

: >"$OUT/results.txt"
for round in $(seq "$ROUNDS"); do
  echo "== round $round"
  run axum_bare_jwt 18101 /pong 1 PORT=18101 JWT_SECRET="$JWT_SECRET" EVENT_SECRET="$EVENT_SECRET" "$OUT/axum_bare/target/release/axum_bare"
  run rasura_jwt 18102 /actions/pong 1 RASURA_LISTEN=127.0.0.1:18102 "${RASURA_ENV[@]}" target/release/example-default
  run axum_bare_nojwt 18103 /pong_nojwt 0 PORT=18103 JWT_SECRET="$JWT_SECRET" EVENT_SECRET="$EVENT_SECRET" "$OUT/axum_bare/target/release/axum_bare"
  run rasura_nojwt 18104 /actions/pong 0 RASURA_LISTEN=127.0.0.1:18104 "${RASURA_ENV[@]}" target/release/rasura-bench-nojwt
done

echo "== medians over $ROUNDS rounds"
python3 - "$OUT/results.txt" <<'PY' | tee "$OUT/medians.txt"
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *fields = line.split()
    rows.setdefault(name, []).append(dict(f.split("=", 1) for f in fields))
def latency_ms(text):
    value, unit = re.match(r"([0-9.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
for name, runs in rows.items():
    rps = statistics.median(float(r["rps"]) for r in runs)
    p99 = statistics.median(latency_ms(r["p99"]) for r in runs)
    cpu = statistics.median(float(r["cpu_us_per_req"]) for r in runs)
    rss = statistics.median(int(r["rss_kb"]) for r in runs)
    print(f"{name:16} rps={rps:9.0f} p99={p99:.2f}ms cpu_us_per_req={cpu:.2f} rss_kb={rss}")
for a, b in [("rasura_jwt", "axum_bare_jwt"), ("rasura_nojwt", "axum_bare_nojwt")]:
    if a in rows and b in rows:
        ca = statistics.median(float(r["cpu_us_per_req"]) for r in rows[a])
        cb = statistics.median(float(r["cpu_us_per_req"]) for r in rows[b])
        print(f"{a} vs {b}: server CPU per request {100 * (ca - cb) / cb:+.1f}%")
PY
