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

step "system packages: a software Vulkan driver (lavapipe) for the wgpu backend's tests"
if ! dpkg -s mesa-vulkan-drivers >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends mesa-vulkan-drivers
fi
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

step "aic-core and aic-wasm build for wasm32-unknown-unknown (no std/I-O leak)"
cargo build --locked --release -p aic-core -p aic-wasm --target wasm32-unknown-unknown

step "fuzz targets still compile"
cargo check --locked --manifest-path fuzz/Cargo.toml

passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$CACHE/test-output.txt" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$CACHE/test-output.txt" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
step "all checks passed"
echo "tests: $passed passed, $failed failed"
