#!/usr/bin/env bash
# The live demo: your camera through the AIC neural codec in the browser (WebGPU when there is
# a real GPU, else the wasm CPU backend), over an RTCDataChannel, beside the same camera over
# WebRTC's VP8 at the same bitrate, with live bitrate, fps, PSNR and SSIM.
#
# Builds the npm package (npm/dist) once if it is missing — a wasm32 release build of
# crates/wasm, minutes on a fresh machine; later runs reuse it — then serves the page on
# http://127.0.0.1:${PORT:-8080}/ until stopped (Ctrl-C). Open it in Chrome/Edge (WebGPU and
# MediaStreamTrackProcessor); other browsers take the CPU backend and a slower capture path.
# Rebuild after changing crates/ or npm/src: (cd npm && npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${AIC_CACHE:-$HOME/.cache/aic}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
PORT="${PORT:-8080}"

command -v node >/dev/null || { echo "scripts/demo.sh: Node.js is needed (node not found)" >&2; exit 1; }

if [ -f npm/dist/index.js ] && [ -f npm/dist/wasm/aic_wasm_bg.wasm ]; then
  echo "== npm package: reusing npm/dist (rebuild with: cd npm && npm run build)"
else
  echo "== building the npm package (npm/dist): wasm32 release build of crates/wasm, once"
  (cd npm && npm run build)
fi

echo "== serving the demo (Ctrl-C stops it)"
echo "open http://127.0.0.1:$PORT/ and allow the camera"
exec node demo/serve.mjs --port "$PORT"
