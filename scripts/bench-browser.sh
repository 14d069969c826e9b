#!/usr/bin/env bash
# The browser benchmark (tests/browser/bench.mjs) with what it needs: the npm package (built if
# npm/dist is missing) and the test dependencies (playwright-core; Debian's chromium).
#   scripts/bench-browser.sh [--n 10] [--json out.json]          CPU and WebGPU (SwiftShader here)
#   scripts/bench-browser.sh --gpu [--json webgpu.json]          a machine's GPU (hardware WebGPU)
# With --gpu it exits 2 when Chromium offers no hardware adapter (nothing to measure).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || bash scripts/apt-install.sh chromium
if [ ! -f npm/dist/wasm/aic_cpu_bg.wasm ] || [ ! -f npm/dist/wasm/aic_webgpu_bg.wasm ]; then
  (cd npm && npm run build)
fi
[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
exec node tests/browser/bench.mjs "$@"
