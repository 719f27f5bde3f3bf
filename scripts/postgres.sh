#!/usr/bin/env bash
# A private PostgreSQL server for the demo and the tests: its data lives in the project
# (.gantry/postgres), it listens on loopback and a socket in that folder, and it is never
# the machine's system-wide cluster.
#   scripts/postgres.sh start   start it (creating it the first time); prints nothing
#   scripts/postgres.sh stop    stop it
#   scripts/postgres.sh status  exit 0 when it is running
#   scripts/postgres.sh url     print the superuser URL (database "gantry")
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${GANTRY_PG_DATA:-$ROOT/.gantry/postgres}
# The port is chosen when the data folder is created and kept in its postgresql.conf:
# GANTRY_PG_PORT, or one derived from the folder's path, so two checkouts on one
# machine do not collide.
configured_port() { [ -f "$DATA/postgresql.conf" ] && sed -n 's/^port = \([0-9]*\)$/\1/p' "$DATA/postgresql.conf" | tail -n 1 || true; }
PORT=$(configured_port)
if [ -z "$PORT" ]; then
  PORT=${GANTRY_PG_PORT:-$(( 54000 + $(printf '%s' "$DATA" | cksum | cut -d' ' -f1) % 1000 ))}
fi
DB_USER=gantry
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

die() { echo "postgres.sh: $*" >&2; exit 1; }
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || die "PostgreSQL server binaries not found (run scripts/bootstrap.sh)"

# PostgreSQL refuses to run as root: when we are root, the server runs as the
# 'postgres' system user and owns only its data folder.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() { echo "postgres://$DB_USER@127.0.0.1:$PORT/gantry"; }

running() { as_owner "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start() {
  if [ ! -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres: "$DATA"
    chmod 700 "$DATA"
    # trust on loopback only: this server holds demo and test data, never real secrets.
    as_owner "$PG_BIN/initdb" -D "$DATA" -U "$DB_USER" --auth=trust -E UTF8 --locale=C.UTF-8 >"$DATA.initdb.log" 2>&1 \
      || die "initdb failed; see $DATA.initdb.log"
    cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DATA'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  fi
  if ! running; then
    as_owner "$PG_BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 30 start >/dev/null \
      || die "the server did not start; see $DATA/server.log"
  fi
  # The application database (tests create their own beside it).
  if ! as_owner "$PG_BIN/psql" -h "$DATA" -p "$PORT" -U "$DB_USER" -d postgres -tAc \
      "select 1 from pg_database where datname = 'gantry'" | grep -q 1; then
    as_owner "$PG_BIN/createdb" -h "$DATA" -p "$PORT" -U "$DB_USER" gantry
  fi
}

stop() {
  if running; then as_owner "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  status) running ;;
  *) die "usage: postgres.sh start|stop|status|url" ;;
esac
