#!/usr/bin/env bash
# Fetch real photographs from Debian packages and prepare train/eval PNGs.
# Idempotent. AIC_PACKAGES limits the packages (e.g. AIC_PACKAGES=kphotoalbum for the
# evaluation photos only); AIC_PYTHON picks a Python with Pillow (default: training/.venv).
# Data lives outside the repo: ${AIC_DATA:-$HOME/.cache/aic-data}
#   debs/   raw .deb downloads      x/<pkg>/  dpkg -x extractions
#   gcompris/  images cut out of GCompris .rcc files
#   train/  prepared training PNGs  eval/  prepared evaluation PNGs (kphotoalbum demo)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${AIC_DATA:-$HOME/.cache/aic-data}"
mkdir -p "$DATA/debs" "$DATA/x"

PKGS="${AIC_PACKAGES:-gcompris-qt-data plasma-workspace-wallpapers mate-backgrounds lomiri-wallpapers-16.04 \
lomiri-wallpapers-20.04 lxqt-themes tuxpaint-data palapeli-data sddm-theme-maldives kphotoalbum}"

SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo"
first=${PKGS%% *}
if ! apt-cache policy "$first" 2>/dev/null | grep 'Candidate:' | grep -qv none; then
  echo "== apt-get update"; $SUDO apt-get update -q
fi

cd "$DATA/debs"
for p in $PKGS; do
  if [ -d "$DATA/x/$p" ] && [ -f "$DATA/x/$p/.done" ]; then continue; fi
  cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/{print $2}')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
    echo "SKIP: package $p not available in the apt sources"; continue
  fi
  echo "== $p $cand"
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
  deb=$(find . -maxdepth 1 -name "${p}_*.deb" -printf '%T@ %f\n' | sort -rn | head -1 | cut -d' ' -f2-)
  if [ -z "$deb" ]; then echo "SKIP: download of $p failed"; continue; fi
  rm -rf "$DATA/x/$p"; mkdir -p "$DATA/x/$p"
  dpkg -x "$deb" "$DATA/x/$p"
  dpkg-deb -f "$deb" Version > "$DATA/x/$p/.version"
  touch "$DATA/x/$p/.done"
done

PY="${AIC_PYTHON:-$HERE/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
"$PY" -c "import PIL" 2>/dev/null || { echo "Pillow missing: run training/setup.sh first"; exit 1; }
echo "== preparing PNGs"
"$PY" "$HERE/prepare_data.py" "$DATA"
