#!/usr/bin/env bash
# The main job on the shipped defaults, on a fresh Debian machine with rustup:
# fetch real photographs (Debian's kphotoalbum demo pictures: 24 snapshots, halved), compress
# each with `aic` on its default codec, decode it, and print size and quality against JPEG.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${AIC_CACHE:-$HOME/.cache/aic}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
export AIC_DATA="${AIC_DATA:-$HOME/.cache/aic-data}"

echo "== Python with Pillow (to prepare the photos)"
[ -x "$CACHE/tools-venv/bin/python" ] || python3 -m venv "$CACHE/tools-venv"
"$CACHE/tools-venv/bin/pip" install --quiet --disable-pip-version-check pillow==13.0.0 numpy==2.4.6

echo "== photos"
AIC_PACKAGES=kphotoalbum AIC_PYTHON="$CACHE/tools-venv/bin/python" bash training/fetch_data.sh

echo "== building aic"
# No wgpu (GPU backend) here: the photo demo runs on the CPU, and wgpu with its shader
# compiler is most of the build time.
cargo build --release --locked -p aic-native --no-default-features
AIC="$CARGO_TARGET_DIR/release/aic"

echo "== one photo through encode, info, decode"
first=$(find "$AIC_DATA/eval" -name '*.png' | sort | head -1)
out="$CACHE/demo"; mkdir -p "$out"
"$AIC" encode "$first" -o "$out/photo.aic"
"$AIC" info "$out/photo.aic"
"$AIC" decode "$out/photo.aic" -o "$out/photo.png"
echo "decoded to $out/photo.png"

echo "== every photo: aic (default codec) against JPEG at qualities 10..95"
"$AIC" eval "$AIC_DATA/eval" --codec auto,jpeg --quality all --summary
