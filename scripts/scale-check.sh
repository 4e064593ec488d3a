#!/usr/bin/env bash
# Scale check: the lifecycle of the example dossiers and a batch check of ~500 generated
# dossiers, through a Prefect server on PostgreSQL and two process workers — the pytest
# module tests/test_scale.py (marker « scale », outside the default run). It starts
# PostgreSQL, the server and the workers itself and stops them at the end.
#   CAHIER_SCALE_DOSSIERS  generated dossiers (default 500)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(dirname "$(command -v python3)")"
[ -x "$PWD/.venv/bin/python" ] && BIN="$PWD/.venv/bin"
[ -n "${VIRTUAL_ENV:-}" ] && BIN="$VIRTUAL_ENV/bin"
exec "$BIN/python" -m pytest -q -s -m scale tests/test_scale.py "$@"
