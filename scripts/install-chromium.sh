#!/usr/bin/env bash
# Debian's Chromium for the browser test of the review form (tests/test_review_ui.py).
# Idempotent: does nothing when /usr/bin/chromium exists. Playwright drives this binary
# (executable_path); never run `playwright install` (no browser download).
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "Chromium déjà installé : $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "cahier : installez Chromium en root (apt-get install chromium)" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
[ -x "$CHROMIUM" ] || { echo "cahier : $CHROMIUM absent après l'installation du paquet chromium" >&2; exit 1; }
echo "Chromium installé : $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
