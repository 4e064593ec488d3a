#!/usr/bin/env bash
# Debian's DejaVu fonts for tests/test_publication.py (a buyer's font copied into a
# dossier, embedded in the PDF). Idempotent: does nothing when the font is present.
set -euo pipefail
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
if [ -f "$FONT" ]; then
  echo "Police DejaVu Sans déjà installée : $FONT"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "cahier : installez fonts-dejavu-core en root" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq fonts-dejavu-core >/dev/null
[ -f "$FONT" ] || { echo "cahier : $FONT absent après l'installation de fonts-dejavu-core" >&2; exit 1; }
echo "Police DejaVu Sans installée : $FONT"
