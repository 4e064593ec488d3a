#!/usr/bin/env bash
# Stop what server-up.sh and pg-up.sh started (by their recorded pids), keep the data.
set -uo pipefail
RUN="${CAHIER_RUN_DIR:-/tmp/cahier-run}"
PGDIR="${CAHIER_PG_DIR:-/tmp/cahier-pg}"
for f in "$RUN"/worker-*.pid "$RUN"/server.pid; do
  [ -f "$f" ] || continue
  pid="$(cat "$f")"
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null
  rm -f "$f"
done
if [ -s "$PGDIR/PG_VERSION" ]; then
  BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$BIN/pg_ctl" -D "$PGDIR" -m fast stop >/dev/null 2>&1
  else "$BIN/pg_ctl" -D "$PGDIR" -m fast stop >/dev/null 2>&1; fi
fi
echo "cahier : serveur, workers et PostgreSQL arrêtés."
