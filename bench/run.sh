#!/usr/bin/env bash
# Every benchmark, side by side with the peers, in one run on this machine; writes
# BENCHMARKS.md and bench/chart.png (a benchmark, not a test: scripts/test.sh does not run it).
#
# Paths and systems (each doing the same work; see BENCHMARKS.md's method):
#   pong_jwt, pong_nojwt   Rasura, hand-written axum (../shared/peers/axum_bare), FastAPI and
#                          Pysura-style FastAPI (../shared/peers/fastapi)
#   event                  Rasura (`user_role_changed`, `once`), hand-written axum + sqlx
#                          (bench/peers/axum_hasura.rs), NestJS + @golevelup/nestjs-hasura
#                          (bench/peers/nestjs_hasura)
#   auth_uncached          Rasura's auth webhook with its cache off, hand-written axum, FastAPI
#                          (bench/peers/fastapi_auth_webhook.py)
#   auth_cached            Rasura's auth webhook with its answer cache
# Per path and system: saturation (wrk), a fixed rate (oha -q), server CPU per request, RSS;
# then start-up time, binary sizes, the /metrics scrape, and codegen.
#
# Usage: bench/run.sh [ROUNDS=3] [DURATION=10s]
#   Environment: PONG_RATE (default 250), EVENT_RATE (200), AUTH_RATE (200): the fixed rates,
#   which the slowest peer of each path holds;
#   BENCH_CODEGEN_BUILD=0 skips the generated-code build measurement (several minutes),
#   BENCH_CODEGEN=0 both codegen measurements (their release build of the bench examples);
#   BENCH_ONLY="path/system ..." (e.g. "pong_jwt/rasura pong_jwt/axum", or "event" for every
#   system of a path) measures only those and prints them: no report, BENCHMARKS.md untouched;
#   BENCH_PERF=1 (with BENCH_ONLY: sampling costs the server CPU) also records each server's
#   profile under saturation (perf record -g) in bench/out/perf.PATH.SYSTEM.data
#   (`perf report -i FILE`).
# Installs what it needs on a fresh machine: wrk, oha (cargo install), a Python venv with
# FastAPI, uvicorn, PyJWT and asyncpg, Node's packages, and a private PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${1:-3}
DURATION=${2:-10s}
PONG_RATE=${PONG_RATE:-250}
EVENT_RATE=${EVENT_RATE:-200}
AUTH_RATE=${AUTH_RATE:-200}
PEERS=$ROOT/../shared/peers
OUT=$ROOT/bench/out
RESULTS=$OUT/results.jsonl
ONLY=${BENCH_ONLY:-}
[ -n "$ONLY" ] && RESULTS=$OUT/only.jsonl
PERF=${BENCH_PERF:-0}
if [ "$PERF" != 0 ]; then
  [ -n "$ONLY" ] || { echo "error: BENCH_PERF needs BENCH_ONLY (profiling inflates the CPU figures)" >&2; exit 1; }
  command -v perf >/dev/null || { echo "error: BENCH_PERF needs perf (linux-perf)" >&2; exit 1; }
fi
for entry in $ONLY; do
  case ${entry%%/*} in pong_jwt | pong_nojwt | event | auth_uncached | auth_cached) ;;
    *) echo "error: BENCH_ONLY: unknown path in '$entry' (pong_jwt, pong_nojwt, event, auth_uncached, auth_cached)" >&2; exit 1 ;;
  esac
done
mkdir -p "$OUT"
[ -d "$PEERS/axum_bare" ] || { echo "error: $PEERS is missing (the shared peers sit beside the checkout)" >&2; exit 1; }
seconds() { case $1 in *ms) echo "scale=3; ${1%ms} / 1000" | bc ;; *s) echo "${1%s}" ;; *m) echo $((${1%m} * 60)) ;; *) echo "$1" ;; esac; }

echo "== tools"
apt_install() { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
command -v wrk >/dev/null || apt_install wrk
command -v taskset >/dev/null || apt_install util-linux
command -v bc >/dev/null || apt_install bc
command -v curl >/dev/null || apt_install curl
command -v node >/dev/null || apt_install nodejs npm
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "error: the NestJS peer (NestJS 11) needs Node 20 or later; this is $(node --version)" >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"
command -v oha >/dev/null || cargo install oha --version 1.16.0 --locked
VENV=$OUT/venv
if [ ! -x "$VENV/bin/uvicorn" ] || ! "$VENV/bin/python" -c "import asyncpg, jwt, fastapi, cryptography" 2>/dev/null; then
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q fastapi 'uvicorn[standard]' 'pyjwt[crypto]' asyncpg
fi
(cd bench/peers/nestjs_hasura && npm ci --no-audit --no-fund --loglevel=error && npm run -s build)

echo "== building (release)"
# One build for all (a second one with other features would rebuild the bench binaries).
cargo build --release --locked -p example-default -p rasura-bench --features rasura-bench/kit --bins 2>&1 | tail -n 1
KIT=$ROOT/target/release/rasura-benchkit
rm -rf "$OUT/axum_bare" && cp -r "$PEERS/axum_bare" "$OUT/axum_bare" && chmod -R u+w "$OUT/axum_bare"
printf "\n[workspace]\n" >>"$OUT/axum_bare/Cargo.toml"
# The peer's own profile says panic=abort; build it with Rasura's exact profile instead.
# Its target directory lives outside the copy, so a second run does not rebuild it.
(cd "$OUT/axum_bare" && CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_LTO=fat \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_OPT_LEVEL=3 \
  CARGO_TARGET_DIR="$OUT/axum_bare-target" cargo build --release 2>&1 | tail -n 1)

# PostgreSQL (a private cluster, stopped on exit), with the example's tables and Rasura's.
unset DATABASE_URL
source scripts/postgres.sh
PSQL=("$PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$DATABASE_URL")
for f in runtime/migrations/*.up.sql examples/default/hasura/migrations/default/*/up.sql; do
  "${PSQL[@]}" -f "$f" >/dev/null
done
"${PSQL[@]}" -c "INSERT INTO public.\"user\" (user_id, role, user_phone) VALUES ('bench-user', 'user', '+15550100');
  INSERT INTO rasura_auth.role_mapping (subject, role, is_default) VALUES ('bench-user', 'user', true);" >/dev/null
# Rasura's pool holds the example's connections; keep Postgres on the generator's core.
taskset -apc 1 "$(head -1 "$PG_DIR/data/postmaster.pid")" >/dev/null

# The identity provider: an RS256 key pair, its JWK set served over HTTP, a token.
IDP=$OUT/idp
"$VENV/bin/python" bench/keys.py "$IDP"
taskset -c 1 "$VENV/bin/python" -m http.server 18190 --bind 127.0.0.1 --directory "$IDP" >/dev/null 2>&1 &
IDP_PID=$!
# The server under test, if any, is stopped on exit too (a failed run leaves no port taken).
SERVER_PID=
trap 'kill $IDP_PID $SERVER_PID 2>/dev/null || true; stop_postgres' EXIT
JWKS_URL=http://127.0.0.1:18190/jwks.json
AUTH_TOKEN=$(cat "$IDP/token.txt")

export JWT_SECRET="bench-jwt-secret-0123456789abcdef0123456789"
export EVENT_SECRET="bench-event-secret-0123456789abcdef"
PONG_TOKEN=$(JWT_SECRET=$JWT_SECRET python3 bench/hs256_token.py)
RASURA_BASE=(RASURA_WEBHOOK_SECRET="$EVENT_SECRET" RASURA_LOG=warn
  HASURA_GRAPHQL_JWT_SECRET="{\"type\":\"HS256\",\"key\":\"$JWT_SECRET\"}")
RASURA_DB=("${RASURA_BASE[@]}" DATABASE_URL="$DATABASE_URL")
RASURA_AUTH=("${RASURA_DB[@]}" RASURA_AUTH_WEBHOOK="{\"type\":\"RS256\",\"jwk_url\":\"$JWKS_URL\"}")
PEER_ENV=(JWT_SECRET="$JWT_SECRET" EVENT_SECRET="$EVENT_SECRET" DATABASE_URL="$DATABASE_URL" JWKS_URL="$JWKS_URL")
UVICORN=("$VENV/bin/uvicorn" --log-level warning --no-access-log --host 127.0.0.1)

HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
wait_port() { for _ in $(seq 400); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
new_prefix() { printf '%08x' $((RANDOM * 32768 + RANDOM)); }

# The request of a path, for wrk (a Lua script) and for oha (arguments).
wrk_script() { case $1 in pong_*) echo bench/pong.lua ;; event) echo bench/event.lua ;; auth_*) echo bench/auth.lua ;; esac; }
oha_args() {
  local path=$1 token=$2
  case $path in
    pong_*)
      printf '%s\n' -m POST -D "$PEERS/body.json" -T application/json \
        -H "X-Event-Secret: $EVENT_SECRET" -H "X-Rasura-Webhook-Secret: $EVENT_SECRET"
      [ -n "$token" ] && printf '%s\n' -H "Authorization: Bearer $token"
      ;;
    event)
      # oha picks one line per request at random: with 20 lines per request a few percent of
      # the deliveries repeat an id (the same share for every system).
      local lines=$OUT/event-lines.txt n
      n=$(echo "$EVENT_RATE * $(seconds "$DURATION") * 20" | bc | cut -d. -f1)
      python3 - "$ROOT/bench/event.json" "$(new_prefix)" "$n" >"$lines" <<'PY'
import sys
template = open(sys.argv[1]).read().strip()
prefix, n = sys.argv[2], int(sys.argv[3])
out = sys.stdout
for i in range(n):
    out.write(template.replace("__ID__", "%s-0000-4000-8000-%012x" % (prefix, i)) + "\n")
PY
      printf '%s\n' -m POST -Z "$lines" -T application/json \
        -H "X-Event-Secret: $EVENT_SECRET" -H "X-Rasura-Webhook-Secret: $EVENT_SECRET"
      ;;
    auth_*) printf '%s\n' -H "Authorization: Bearer $AUTH_TOKEN" ;;
  esac
}
rate_of() { case $1 in pong_*) echo "$PONG_RATE" ;; event) echo "$EVENT_RATE" ;; auth_*) echo "$AUTH_RATE" ;; esac; }

# measure ROUND PATH SYSTEM PORT URLPATH TOKEN -- CMD...: one server, a saturation run and a
# fixed-rate run, a record each.
measure() {
  local round=$1 path=$2 system=$3 port=$4 urlpath=$5 token=$6; shift 7
  local url="http://127.0.0.1:$port$urlpath" log="$OUT/$path.$system.server.log"
  if [ -n "$ONLY" ]; then
    case " $ONLY " in *" $path "* | *" $path/$system "*) ;; *) return 0 ;; esac
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: port $port is taken (a server left over from an earlier run?)" >&2; exit 1
  fi
  taskset -c 0 "$@" >"$log" 2>&1 &
  local pid=$!
  SERVER_PID=$pid
  wait_port "$port" || { echo "$path/$system did not start:" >&2; cat "$log" >&2; exit 1; }
  local script; script=$(wrk_script "$path")
  local env=(BODY="$PEERS/body.json" JWT="$token" EVENT_BODY="$ROOT/bench/event.json" TOKEN="$AUTH_TOKEN")
  # Warm up, and check the answers once.
  env "${env[@]}" EVENT_PREFIX="$(new_prefix)" taskset -c 1 wrk -t1 -c8 -d2s -s "$script" "$url" >"$OUT/warmup.wrk"
  if grep -q "Non-2xx" "$OUT/warmup.wrk"; then
    echo "$path/$system answers non-2xx:" >&2; cat "$OUT/warmup.wrk" >&2
    exit 1
  fi
  # Saturation.
  local t0 t1 perf_pid=; t0=$(cpu_ticks "$pid")
  if [ "$PERF" != 0 ]; then
    taskset -c 1 perf record -q -g -F 1999 -p "$pid" -o "$OUT/perf.$path.$system.data" >"$OUT/perf.log" 2>&1 &
    perf_pid=$!
  fi
  env "${env[@]}" EVENT_PREFIX="$(new_prefix)" taskset -c 1 wrk -t1 -c64 -d"$DURATION" --latency -s "$script" "$url" >"$OUT/run.wrk"
  t1=$(cpu_ticks "$pid")
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || { echo "perf stopped early:" >&2; cat "$OUT/perf.log" >&2; }
    wait "$perf_pid" 2>/dev/null || true
  fi
  python3 - "$OUT/run.wrk" "$path" "$system" "$round" "$((t1 - t0))" "$HZ" "$(rss_kb "$pid")" >>"$RESULTS" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
path, system, rnd, ticks, hz, rss = sys.argv[2:]
def ms(s):
    v, u = re.match(r"([0-9.]+)(us|ms|s)", s).groups()
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
requests = int(re.search(r"(\d+) requests in", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(json.dumps({"kind": "load", "path": path, "system": system, "round": int(rnd),
    "mode": "saturation", "rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", text).group(1)),
    "p50_ms": ms(re.search(r"\s50%\s+(\S+)", text).group(1)),
    "p99_ms": ms(re.search(r"\s99%\s+(\S+)", text).group(1)),
    "cpu_us_per_req": int(ticks) * 1e6 / int(hz) / requests, "rss_kb": int(rss),
    "requests": requests, "non_2xx": int(non2xx.group(1)) if non2xx else 0}))
PY
  # A fixed rate.
  local rate; rate=$(rate_of "$path")
  local args; mapfile -t args < <(oha_args "$path" "$token")
  t0=$(cpu_ticks "$pid")
  taskset -c 1 oha --no-tui --output-format json -z "$DURATION" -w -q "$rate" --latency-correction \
    -c 32 "${args[@]}" "$url" >"$OUT/run.oha.json"
  t1=$(cpu_ticks "$pid")
  python3 - "$OUT/run.oha.json" "$path" "$system" "$round" "$((t1 - t0))" "$HZ" "$(rss_kb "$pid")" "$rate" >>"$RESULTS" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
path, system, rnd, ticks, hz, rss, rate = sys.argv[2:]
codes = {int(k): v for k, v in data["statusCodeDistribution"].items()}
requests = sum(codes.values())
errors = sum(data.get("errorDistribution", {}).values())
print(json.dumps({"kind": "load", "path": path, "system": system, "round": int(rnd),
    "mode": "fixed", "rate": float(rate), "rps": data["summary"]["requestsPerSec"],
    "p50_ms": data["latencyPercentiles"]["p50"] * 1000, "p99_ms": data["latencyPercentiles"]["p99"] * 1000,
    "cpu_us_per_req": int(ticks) * 1e6 / int(hz) / max(requests, 1), "rss_kb": int(rss),
    "requests": requests, "non_2xx": sum(v for k, v in codes.items() if not 200 <= k < 300) + errors}))
PY
  if ! kill "$pid" 2>/dev/null; then
    echo "$path/$system exited during the run:" >&2; cat "$log" >&2; exit 1
  fi
  wait "$pid" 2>/dev/null || true
  SERVER_PID=
  tail -n 2 "$RESULTS" | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print("  %-13s %-8s %-10s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  %7.2f us/req  %6.1f MB%s" % (
        r["path"], r["system"], r["mode"], r["rps"], r["p50_ms"], r["p99_ms"], r["cpu_us_per_req"],
        r["rss_kb"] / 1024, "  NON-2XX: %d" % r["non_2xx"] if r["non_2xx"] else ""))'
}

: >"$RESULTS"
python3 - "$(git rev-parse --short HEAD)" "$ROUNDS" "$DURATION" \
  "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), oha $(oha --version | cut -d' ' -f2), Python $("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])'), Node $(node --version)" \
  >>"$RESULTS" <<'PY'
import datetime, json, os, platform, sys
commit, rounds, duration, tools = sys.argv[1:]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
print(json.dumps({"kind": "machine", "date": datetime.date.today().isoformat(), "commit": commit, "cpu": cpu,
    "cores": os.cpu_count(), "kernel": platform.release(), "rounds": int(rounds), "duration": duration, "tools": tools}))
PY
RELEASE=$ROOT/target/release
AXUM_BARE=$OUT/axum_bare-target/release/axum_bare
for round in $(seq "$ROUNDS"); do
  echo "== round $round of $ROUNDS"
  measure "$round" pong_jwt rasura 18101 /actions/pong "$PONG_TOKEN" -- env RASURA_LISTEN=127.0.0.1:18101 "${RASURA_BASE[@]}" "$RELEASE/example-default"
  measure "$round" pong_jwt axum 18102 /pong "$PONG_TOKEN" -- env PORT=18102 "${PEER_ENV[@]}" "$AXUM_BARE"
  measure "$round" pong_jwt fastapi 18103 /pong "$PONG_TOKEN" -- env "${PEER_ENV[@]}" "${UVICORN[@]}" --app-dir "$PEERS/fastapi" --port 18103 app:app
  measure "$round" pong_jwt pysura 18104 /pong "$PONG_TOKEN" -- env "${PEER_ENV[@]}" "${UVICORN[@]}" --app-dir "$PEERS/fastapi" --port 18104 pysura_style:app
  measure "$round" pong_nojwt rasura 18111 /actions/pong "" -- env RASURA_LISTEN=127.0.0.1:18111 "${RASURA_BASE[@]}" "$RELEASE/rasura-bench-nojwt"
  measure "$round" pong_nojwt axum 18112 /pong_nojwt "" -- env PORT=18112 "${PEER_ENV[@]}" "$AXUM_BARE"
  measure "$round" pong_nojwt fastapi 18113 /pong_nojwt "" -- env "${PEER_ENV[@]}" "${UVICORN[@]}" --app-dir "$PEERS/fastapi" --port 18113 app:app
  measure "$round" pong_nojwt pysura 18114 /pong_nojwt "" -- env "${PEER_ENV[@]}" "${UVICORN[@]}" --app-dir "$PEERS/fastapi" --port 18114 pysura_style:app
  measure "$round" event rasura 18121 /events/user_role_changed "" -- env RASURA_LISTEN=127.0.0.1:18121 "${RASURA_DB[@]}" "$RELEASE/example-default"
  measure "$round" event axum 18122 /events/user_role_changed "" -- env PORT=18122 "${PEER_ENV[@]}" "$RELEASE/peer-axum-hasura"
  measure "$round" event nestjs 18123 /hasura/events "" -- env PORT=18123 "${PEER_ENV[@]}" node bench/peers/nestjs_hasura/dist/main.js
  measure "$round" auth_uncached rasura 18131 /auth/webhook "" -- env RASURA_LISTEN=127.0.0.1:18131 RASURA_AUTH_CACHE_SECONDS=0 "${RASURA_AUTH[@]}" "$RELEASE/example-default"
  measure "$round" auth_uncached axum 18132 /auth/webhook "" -- env PORT=18132 "${PEER_ENV[@]}" "$RELEASE/peer-axum-hasura"
  measure "$round" auth_uncached fastapi 18133 /auth/webhook "" -- env "${PEER_ENV[@]}" "${UVICORN[@]}" --app-dir bench/peers --port 18133 fastapi_auth_webhook:app
  measure "$round" auth_cached rasura 18141 /auth/webhook "" -- env RASURA_LISTEN=127.0.0.1:18141 "${RASURA_AUTH[@]}" "$RELEASE/example-default"
done

if [ -n "$ONLY" ]; then
  echo "BENCH_ONLY: measured $ONLY (records in $RESULTS); BENCHMARKS.md untouched"
  exit 0
fi

echo "== /metrics scrape (after traffic on every route)"
taskset -c 0 env RASURA_LISTEN=127.0.0.1:18151 "${RASURA_DB[@]}" "$RELEASE/example-default" >"$OUT/metrics.server.log" 2>&1 &
pid=$!
SERVER_PID=$pid
wait_port 18151
env BODY="$PEERS/body.json" JWT="$PONG_TOKEN" EVENT_SECRET="$EVENT_SECRET" taskset -c 1 wrk -t1 -c8 -d2s -s bench/pong.lua http://127.0.0.1:18151/actions/pong >/dev/null
env EVENT_BODY="$ROOT/bench/event.json" EVENT_PREFIX="$(new_prefix)" taskset -c 1 wrk -t1 -c8 -d2s -s bench/event.lua http://127.0.0.1:18151/events/user_role_changed >/dev/null
t0=$(cpu_ticks "$pid")
taskset -c 1 wrk -t1 -c4 -d5s http://127.0.0.1:18151/metrics >"$OUT/metrics.wrk"
t1=$(cpu_ticks "$pid")
scrapes=$(awk '/requests in/{print $1}' "$OUT/metrics.wrk")
bytes=$(curl -s http://127.0.0.1:18151/metrics | wc -c)
kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
SERVER_PID=
python3 -c 'import json, sys; t, hz, n, b = map(int, sys.argv[1:]); print(json.dumps({"kind": "scrape", "system": "rasura", "cpu_us_per_scrape": t * 1e6 / hz / max(n, 1), "bytes": b}))' \
  "$((t1 - t0))" "$HZ" "${scrapes:-0}" "$bytes" | tee -a "$RESULTS"

echo "== start-up to the first answered request (no database)"
"$KIT" startup --system rasura --url http://127.0.0.1:18161/healthz -- env RASURA_LISTEN=127.0.0.1:18161 "${RASURA_BASE[@]}" "$RELEASE/example-default" | tee -a "$RESULTS"
"$KIT" startup --system axum --url http://127.0.0.1:18162/pong -- env PORT=18162 "${PEER_ENV[@]}" "$AXUM_BARE" | tee -a "$RESULTS"
"$KIT" startup --system fastapi --runs 3 --url http://127.0.0.1:18163/docs -- env "${PEER_ENV[@]}" "${UVICORN[@]}" --app-dir "$PEERS/fastapi" --port 18163 app:app | tee -a "$RESULTS"
"$KIT" startup --system nestjs --runs 3 --url http://127.0.0.1:18164/hasura/events -- env PORT=18164 "${PEER_ENV[@]}" node bench/peers/nestjs_hasura/dist/main.js | tee -a "$RESULTS"

echo "== binary sizes (release profile, stripped; with symbols first in the log)"
for pair in "rasura:$RELEASE/example-default" "axum:$AXUM_BARE"; do
  system=${pair%%:*}; file=${pair#*:}
  strip -o "$OUT/stripped" "$file"
  echo "  $system: $(stat -c %s "$file") bytes ($(stat -c %s "$OUT/stripped") stripped)"
  echo "{\"kind\":\"binary\",\"system\":\"$system\",\"bytes\":$(stat -c %s "$OUT/stripped")}" >>"$RESULTS"
done

if [ "${BENCH_CODEGEN:-1}" != 0 ]; then
echo "== codegen: generation time on the fixture schemas"
cargo run -q --release --locked -p rasura-bench --example codegen_generate | tee "$OUT/codegen_generate.txt"
python3 - "$OUT/codegen_generate.txt" >>"$RESULTS" <<'PY'
import json, re, sys
for line in open(sys.argv[1]).read().splitlines()[1:]:
    m = re.match(r"(.+?)\s+([0-9.]+) ms\s+(\d+)\s+([0-9.]+) ms\s+(\d+)$", line)
    if m:
        name, reach, rl, full, fl = m.groups()
        print(json.dumps({"kind": "codegen", "name": "generate: " + name.strip(), "ms": float(reach),
                          "detail": "reachable types: %s lines; `all`: %s ms, %s lines" % (rl, full, fl)}))
PY
fi
if [ "${BENCH_CODEGEN:-1}" != 0 ] && [ "${BENCH_CODEGEN_BUILD:-1}" != 0 ]; then
  echo "== codegen: the build cost of generated code"
  bench/codegen_build.sh | tee "$OUT/codegen_build.txt"
  python3 - "$OUT/codegen_build.txt" >>"$RESULTS" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
section = text.split("== ")[1]
for name in ("rasura-codegen", "graphql_client"):
    m = re.search(name + r"\s+total\s+([0-9.]+) s\s+without the operations\s+([0-9.]+) s\s+paid for generated code\s+([0-9.]+) s", section)
    if m:
        total, base, paid = m.groups()
        print(json.dumps({"kind": "codegen", "name": "cargo build, dev profile: " + name, "ms": float(paid) * 1000,
                          "detail": "the same five operations on intuition-rs (203 KB SDL); total %s s, %s s without them" % (total, base)}))
PY
fi

echo "== report"
"$KIT" report --results "$RESULTS" --markdown BENCHMARKS.md --chart bench/chart.png --chart-link bench/chart.png
echo "wrote BENCHMARKS.md and bench/chart.png"
