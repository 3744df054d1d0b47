#!/usr/bin/env bash
# Sourced by scripts/test.sh: makes DATABASE_URL point at a real PostgreSQL on loopback.
# With DATABASE_URL already set, that server is used. Otherwise PostgreSQL is installed with
# apt-get when missing, and a private cluster is created in a temporary directory and started as
# the `postgres` user (PostgreSQL refuses to run as root) on a free port; it is stopped when the
# calling script exits.

if [ -n "${DATABASE_URL:-}" ]; then
  echo "== postgres: using DATABASE_URL"
  return 0 2>/dev/null || exit 0
fi

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  done
  return 1
}

if ! PG_BIN=$(pg_bin); then
  echo "== postgres: installing PostgreSQL with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PG_BIN=$(pg_bin) || { echo "error: PostgreSQL did not install" >&2; exit 1; }
fi

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A free port: the first one nothing listens on.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PG_PORT=${RASURA_TEST_PG_PORT:-55432}
while ! port_free "$PG_PORT"; do PG_PORT=$((PG_PORT + 1)); done

PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rasura-pg.XXXXXX")
chmod 755 "$PG_DIR"
if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR"; fi
as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >"$PG_DIR/initdb.log" 2>&1 \
  || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null \
  || { cat "$PG_DIR/server.log" >&2; exit 1; }
stop_postgres() {
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap stop_postgres EXIT
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
echo "== postgres: private cluster on 127.0.0.1:$PG_PORT"
