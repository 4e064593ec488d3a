#!/usr/bin/env bash
# Start a PostgreSQL cluster for the Prefect server (Debian packages), idempotent.
#   CAHIER_PG_DIR   data folder            (default /tmp/cahier-pg)
#   CAHIER_PG_PORT  port on 127.0.0.1      (default 55432)
# Prints the connection URL for PREFECT_API_DATABASE_CONNECTION_URL on its last line.
set -euo pipefail
PGDIR="${CAHIER_PG_DIR:-/tmp/cahier-pg}"
PORT="${CAHIER_PG_PORT:-55432}"
DB=prefect USER_=prefect PASS=prefect

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "cahier : installation de PostgreSQL (apt-get install -y postgresql)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

# initdb and postgres refuse to run as root: use the « postgres » account of the package.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ ! -s "$PGDIR/PG_VERSION" ]; then
  mkdir -p "$PGDIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDIR"
  as_pg "$BIN/initdb" -D "$PGDIR" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! as_pg "$BIN/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1; then
  as_pg "$BIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -t 60 \
    -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
fi
psql_() { as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_ -c "SELECT 1 FROM pg_roles WHERE rolname='$USER_'")" != 1 ]; then
  psql_ -c "CREATE ROLE $USER_ LOGIN PASSWORD '$PASS'"
fi
# CAHIER_PG_FRESH=1 (the scale check): start from an empty database, whatever earlier
# runs left in it (runs, deployments, suspended flows).
if [ "${CAHIER_PG_FRESH:-0}" = 1 ]; then
  psql_ -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
fi
if [ "$(psql_ -c "SELECT 1 FROM pg_database WHERE datname='$DB'")" != 1 ]; then
  psql_ -c "CREATE DATABASE $DB OWNER $USER_"
fi
echo "postgresql+asyncpg://$USER_:$PASS@127.0.0.1:$PORT/$DB"
