#!/usr/bin/env bash
# Debian's poppler-utils: `pdftotext -layout` gives PDF pieces the line numbers of the
# labels' convention (tasks/dossier/pdflines.py; without it PDFium's numbering is kept).
# Idempotent: does nothing when pdftotext is present.
set -euo pipefail
if command -v pdftotext >/dev/null; then
  echo "pdftotext déjà installé : $(command -v pdftotext)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "cahier : installez poppler-utils en root" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq poppler-utils >/dev/null
command -v pdftotext >/dev/null || { echo "cahier : pdftotext absent après l'installation de poppler-utils" >&2; exit 1; }
echo "pdftotext installé : $(command -v pdftotext)"
