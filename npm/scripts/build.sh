#!/usr/bin/env bash
# Builds the npm package into npm/dist from crates/wasm: the wasm32 module (release), its
# wasm-bindgen glue (wasm-bindgen-cli at exactly the version in Cargo.lock, installed if
# missing), wasm-opt from the npm package `binaryen`, then the hand-written API (src/).
set -euo pipefail
trap 'echo "npm/scripts/build.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
ROOT="$(cd .. && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aic/target}"

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' "$ROOT/Cargo.lock")
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $version"; then
  echo "installing wasm-bindgen-cli $version (the version of the wasm-bindgen crate in Cargo.lock)"
  # Not --locked: the CLI's own lock file pins a crate the registry no longer serves.
  cargo install wasm-bindgen-cli --version "=$version"
fi

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
# Our crates are rebuilt each time (see scripts/test.sh: artifacts of another clone sharing the
# target dir could pass as fresh); dependencies stay cached.
cargo clean --quiet --release --target wasm32-unknown-unknown -p aic-core -p aic-wasm --manifest-path "$ROOT/Cargo.toml"
cargo build --locked --release -p aic-wasm --target wasm32-unknown-unknown --manifest-path "$ROOT/Cargo.toml"

rm -rf dist
mkdir -p dist/wasm
wasm-bindgen --target web --remove-name-section --remove-producers-section \
  --out-dir dist/wasm --out-name aic_wasm \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/aic_wasm.wasm"

wasm=dist/wasm/aic_wasm_bg.wasm
# wasm-opt comes from the npm package `binaryen` (a devDependency pinned in package-lock.json):
# Debian's binaryen (108) mistypes the externref table that wasm-bindgen makes, so no system
# wasm-opt is used. AIC_NO_WASM_OPT=1 skips it (the module then stays as wasm-bindgen made it).
if [ "${AIC_NO_WASM_OPT:-0}" = 1 ]; then
  echo "wasm-opt: skipped (AIC_NO_WASM_OPT=1); module left as wasm-bindgen made it"
else
  [ -x node_modules/.bin/wasm-opt ] || npm ci --no-audit --no-fund --loglevel=error
  opt=node_modules/.bin/wasm-opt
  echo "wasm-opt: $("$opt" --version)"
  "$opt" -O2 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
fi

cp src/*.js src/*.d.ts dist/
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
echo "built npm/dist: $wasm $((raw / 1024)) KiB, gzipped $((gz / 1024)) KiB"
