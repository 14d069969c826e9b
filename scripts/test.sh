#!/usr/bin/env bash
# Sets up what the tests need on a fresh Debian machine with rustup, then runs every test.
# This is the README's test command; .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${AIC_CACHE:-$HOME/.cache/aic}"
# One target dir outside the clone: repeat runs (and fresh clones) build incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
export CARGO_TERM_COLOR=never
step() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)"; }

step "toolchain: clippy, rustfmt, wasm32 target"
rustup component add clippy rustfmt >/dev/null
rustup target add wasm32-unknown-unknown >/dev/null

step "system packages: lavapipe (wgpu tests), chromium (browser tests)"
missing=""
for p in mesa-vulkan-drivers chromium; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  # shellcheck disable=SC2086
  $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
  || { echo "Node.js >= 20.19 is needed (Vite 8, node --test); found $(node --version 2>&1)"; exit 1; }
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

step "Python reference for the metric tests (scikit-image)"
if [ ! -x "$CACHE/test-venv/bin/python" ]; then
  python3 -m venv "$CACHE/test-venv"
fi
"$CACHE/test-venv/bin/pip" install --quiet --disable-pip-version-check -r tests/fixtures/metrics/requirements.txt
"$CACHE/test-venv/bin/python" tests/fixtures/metrics/make_fixtures.py

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "unit, integration and CLI tests (native)"
cargo test --workspace --locked 2>&1 | tee "$CACHE/test-output.txt"

step "npm package: aic-wasm for wasm32 (release), wasm-bindgen, wasm-opt (npm/scripts/build.sh)"
(cd npm && npm run build)

step "npm package in Node (node --test)"
(cd npm && npm test) 2>&1 | tee "$CACHE/node-test-output.txt"
rm -f "$CACHE"/auralink-aic-*.tgz
(cd npm && npm pack --pack-destination "$CACHE")
tarball=$(ls "$CACHE"/auralink-aic-*.tgz)

step "browser tests: headless Chromium (Debian's), WebGPU, native <-> browser, data channels"
(cd tests/browser && npm ci --no-audit --no-fund && npm test) 2>&1 | tee "$CACHE/browser-test-output.txt"

step "a Vite app built from the packed tarball, in headless Chromium; the package's types under tsc --strict"
(cd tests/vite-app && npm ci --no-audit --no-fund && npm install --no-save --no-audit --no-fund "$tarball" \
  && npx tsc -p . && npx vite build --logLevel warn && npm test) 2>&1 | tee "$CACHE/vite-test-output.txt"

step "fuzz targets still compile"
cargo check --locked --manifest-path fuzz/Cargo.toml

passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$CACHE/test-output.txt" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$CACHE/test-output.txt" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
# node --test ends with "# pass N" / "# fail N" (TAP).
for f in node-test-output.txt browser-test-output.txt vite-test-output.txt; do
  passed=$((passed + $(awk '/^# pass /{print $3}' "$CACHE/$f" | tail -1)))
  failed=$((failed + $(awk '/^# fail /{print $3}' "$CACHE/$f" | tail -1)))
done
step "all checks passed"
echo "tests: $passed passed, $failed failed"
