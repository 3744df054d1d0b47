#!/usr/bin/env bash
# Sourced by scripts/test.sh: makes RASURA_TEST_REDIS_URL point at a real Redis on loopback (the
# rate-limit tests share one limit through it) and RASURA_TEST_REDIS_SERVER name the
# `redis-server` binary (tests that stop Redis mid-test start their own instance with it).
# Redis is installed with apt-get when missing, started as an unprivileged user on a free port
# without persistence, and stopped when the calling script exits.

if ! command -v redis-server >/dev/null 2>&1; then
  echo "== redis: installing redis-server with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  command -v redis-server >/dev/null 2>&1 || { echo "error: redis-server did not install" >&2; exit 1; }
fi
export RASURA_TEST_REDIS_SERVER
RASURA_TEST_REDIS_SERVER=$(command -v redis-server)

if [ -n "${RASURA_TEST_REDIS_URL:-}" ]; then
  echo "== redis: using RASURA_TEST_REDIS_URL"
  return 0 2>/dev/null || exit 0
fi

redis_user=redis
id "$redis_user" >/dev/null 2>&1 || redis_user=nobody
as_redis_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$redis_user" -- "$@"; else "$@"; fi
}

redis_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
REDIS_PORT=${RASURA_TEST_REDIS_PORT:-56379}
while ! redis_port_free "$REDIS_PORT"; do REDIS_PORT=$((REDIS_PORT + 1)); done
REDIS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rasura-redis.XXXXXX")
chmod 777 "$REDIS_DIR"
as_redis_user "$RASURA_TEST_REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
  --appendonly no --dir "$REDIS_DIR" --daemonize yes --pidfile "$REDIS_DIR/redis.pid" \
  --logfile "$REDIS_DIR/redis.log" \
  || { cat "$REDIS_DIR/redis.log" >&2; exit 1; }
for _ in $(seq 1 50); do
  redis_port_free "$REDIS_PORT" || break
  sleep 0.1
done
if redis_port_free "$REDIS_PORT"; then
  echo "error: redis-server did not start" >&2
  cat "$REDIS_DIR/redis.log" >&2
  exit 1
fi
stop_redis() {
  if [ -f "$REDIS_DIR/redis.pid" ]; then kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || true; fi
  rm -rf "$REDIS_DIR"
}
# Chained with the PostgreSQL cleanup (scripts/postgres.sh) when both run.
trap 'stop_redis; if declare -F stop_postgres >/dev/null; then stop_postgres; fi' EXIT
export RASURA_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
echo "== redis: private server on 127.0.0.1:$REDIS_PORT"
