#!/usr/bin/env bash
# Measures the two CPU backends Burn offers in wasm, Flex (the package's) and NdArray, on the
# same model in Node: builds a measurement variant of aic-wasm with the `ndarray` feature into
# npm/dist-ndarray (not shipped), then times encode and decode (medians) at 320x240 and 640x480.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(cd .. && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aic/target}"
cargo build --locked --release -p aic-wasm --features ndarray --target wasm32-unknown-unknown \
  --manifest-path "$ROOT/Cargo.toml"
rm -rf dist-ndarray
mkdir -p dist-ndarray/wasm
wasm-bindgen --target web --out-dir dist-ndarray/wasm --out-name aic_wasm \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/aic_wasm.wasm"
cp src/*.js dist-ndarray/
node scripts/bench-cpu-backends.mjs "${@}"
# Leave the package's own build in the target dir as it was.
cargo build --locked --release -p aic-wasm --target wasm32-unknown-unknown --manifest-path "$ROOT/Cargo.toml"
