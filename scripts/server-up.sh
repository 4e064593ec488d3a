#!/usr/bin/env bash
# Prefect server on PostgreSQL + process work pool + N workers + deployments of prefect.yaml.
#   CAHIER_TENDER_REPO  tender repository the workers run in (default: this repository)
#   CAHIER_WORKERS      number of workers (default 2)
#   CAHIER_RUN_DIR      pids and logs (default /tmp/cahier-run)
#   PREFECT_PORT        server port (default 4242)
# Then: export PREFECT_API_URL=http://127.0.0.1:$PREFECT_PORT/api ; scripts/down.sh stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BIN="$(dirname "$(command -v python3)")"
[ -x "$ROOT/.venv/bin/prefect" ] && BIN="$ROOT/.venv/bin"
[ -n "${VIRTUAL_ENV:-}" ] && BIN="$VIRTUAL_ENV/bin"
PREFECT="$BIN/prefect"
RUN="${CAHIER_RUN_DIR:-/tmp/cahier-run}"
PORT="${PREFECT_PORT:-4242}"
N="${CAHIER_WORKERS:-2}"
mkdir -p "$RUN"

export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_HOME="$RUN/prefect-home"
export PREFECT_API_DATABASE_CONNECTION_URL="$(scripts/pg-up.sh | tail -1)"
export PREFECT_API_URL="http://127.0.0.1:$PORT/api"
export PREFECT_LOCAL_STORAGE_PATH="$RUN/results"   # shared by the workers of this machine
export CAHIER_TENDER_REPO="${CAHIER_TENDER_REPO:-$ROOT}"

healthy() { "$BIN/python" -c "import httpx,sys; sys.exit(httpx.get('$PREFECT_API_URL/health', timeout=2).status_code != 200)" 2>/dev/null; }

if ! healthy; then
  nohup "$PREFECT" server start --host 127.0.0.1 --port "$PORT" >"$RUN/server.log" 2>&1 &
  echo $! >"$RUN/server.pid"
  for _ in $(seq 1 120); do healthy && break; sleep 1; done
  healthy || { echo "cahier : le serveur Prefect n'a pas démarré (voir $RUN/server.log)" >&2; exit 1; }
fi
"$PREFECT" work-pool inspect cahier-process >/dev/null 2>&1 \
  || "$PREFECT" work-pool create cahier-process --type process >/dev/null
# One Git writer at a time per repository (flows.lifecycle.repo_lock_name).
LOCK="$("$BIN/python" -c "from pathlib import Path; from flows.lifecycle import repo_lock_name; print(repo_lock_name(Path('$CAHIER_TENDER_REPO')))")"
"$PREFECT" gcl inspect "$LOCK" >/dev/null 2>&1 || "$PREFECT" gcl create "$LOCK" --limit 1 >/dev/null
"$PREFECT" --no-prompt deploy --all >"$RUN/deploy.log" 2>&1 \
  || { cat "$RUN/deploy.log" >&2; exit 1; }
for i in $(seq 1 "$N"); do
  if [ -f "$RUN/worker-$i.pid" ] && kill -0 "$(cat "$RUN/worker-$i.pid")" 2>/dev/null; then continue; fi
  nohup "$PREFECT" worker start --pool cahier-process --name "cahier-$i" --limit 4 \
    >"$RUN/worker-$i.log" 2>&1 &
  echo $! >"$RUN/worker-$i.pid"
done
echo "Prefect sur PostgreSQL : $PREFECT_API_URL ; $N worker(s) ; journaux dans $RUN"
