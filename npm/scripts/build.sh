#!/usr/bin/env bash
# Builds the npm package into npm/dist from crates/wasm: three wasm32 modules in the `wasm`
# profile (Cargo.toml) — the CPU module (feature `cpu`: Burn's Flex, SIMD128), the same with
# threads (`cpu_mt`, feature `threads`: rayon on Web Workers through wasm-bindgen-rayon, built
# with the image's nightly toolchain, `-Z build-std` and `+atomics`) and the WebGPU module
# (feature `webgpu`) —, their wasm-bindgen glue (wasm-bindgen-cli at exactly the
# version in Cargo.lock, installed if missing), wasm-opt from the npm package `binaryen`, the
# weights file (float16, outside both modules), then the hand-written API (src/).
#   AIC_MODULES="cpu"    rebuild only the CPU module (the others in dist, if any, are kept)
#   AIC_WASM_OPT=-O2     another wasm-opt level (default -Oz); AIC_NO_WASM_OPT=1 skips it
#   AIC_WASM_PROFILE=release  another cargo profile (to measure the size steps)
set -euo pipefail
trap 'echo "npm/scripts/build.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
ROOT="$(cd .. && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aic/target}"
PROFILE="${AIC_WASM_PROFILE:-wasm}"
MODULES="${AIC_MODULES:-cpu cpu_mt webgpu}"
# The threaded build needs a nightly compiler with the standard library's sources: the image's
# `nightly` toolchain (rustup), whose rust-src component is added here if missing.
NIGHTLY="${AIC_NIGHTLY:-nightly}"
WASM_OPT_LEVEL="${AIC_WASM_OPT:--Oz}"

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' "$ROOT/Cargo.lock")
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $version"; then
  echo "installing wasm-bindgen-cli $version (the version of the wasm-bindgen crate in Cargo.lock)"
  # Not --locked: the CLI's own lock file pins a crate the registry no longer serves.
  cargo install wasm-bindgen-cli --version "=$version"
fi
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
# wasm-opt comes from the npm package `binaryen` (a devDependency pinned in package-lock.json):
# Debian's binaryen (108) mistypes the externref table that wasm-bindgen makes, so no system
# wasm-opt is used.
if [ "${AIC_NO_WASM_OPT:-0}" != 1 ]; then
  [ -x node_modules/.bin/wasm-opt ] || npm ci --no-audit --no-fund --loglevel=error
  echo "wasm-opt: $(node_modules/.bin/wasm-opt --version), $WASM_OPT_LEVEL"
fi

# A partial build (AIC_MODULES) keeps the other module already in dist.
[ -z "${AIC_MODULES:-}" ] && rm -rf dist
mkdir -p dist/wasm
gz() { gzip -9 -c "$1" | wc -c; }

for module in $MODULES; do
  start=$(date +%s)
  toolchain=() build_std=() features="$module" opt_threads=() flags=()
  if [ "$module" = cpu_mt ]; then
    if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
      echo "installing the $NIGHTLY toolchain (the threaded CPU module needs -Z build-std)"
      rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src
    fi
    rustup component list --toolchain "$NIGHTLY" --installed 2>/dev/null | grep -q '^rust-src' \
      || rustup component add rust-src --toolchain "$NIGHTLY"
    echo "cpu_mt: $(rustup run "$NIGHTLY" rustc --version)"
    toolchain=("+$NIGHTLY") build_std=(-Z "build-std=panic_abort,std") features=threads opt_threads=(--enable-threads)
    # Shared, imported memory (atomics) for the Workers, at most 2 GiB, and the thread-local
    # storage symbols wasm-bindgen's thread start-up needs.
    link=(--shared-memory --import-memory --max-memory=2147483648 --export=__wasm_init_tls
      --export=__tls_size --export=__tls_align --export=__tls_base)
    flags=(env "RUSTFLAGS=-C target-feature=+atomics,+bulk-memory,+mutable-globals$(printf ' -C link-arg=%s' "${link[@]}")")
  fi
  # Our crates are rebuilt each time (see scripts/test.sh: artifacts of another clone sharing
  # the target dir could pass as fresh); dependencies stay cached.
  "${flags[@]}" cargo "${toolchain[@]}" clean --quiet --profile "$PROFILE" --target wasm32-unknown-unknown -p aic-core -p aic-wasm \
    --manifest-path "$ROOT/Cargo.toml"
  "${flags[@]}" cargo "${toolchain[@]}" build --locked --profile "$PROFILE" -p aic-wasm --no-default-features --features "$features" \
    --target wasm32-unknown-unknown --manifest-path "$ROOT/Cargo.toml" "${build_std[@]}"
  dir="$CARGO_TARGET_DIR/wasm32-unknown-unknown/$PROFILE"
  [ "$PROFILE" = dev ] && dir="$CARGO_TARGET_DIR/wasm32-unknown-unknown/debug"
  wasm-bindgen --target web --remove-name-section --remove-producers-section \
    --out-dir dist/wasm --out-name "aic_$module" "$dir/aic_wasm.wasm"
  wasm="dist/wasm/aic_${module}_bg.wasm"
  before=$(stat -c %s "$wasm")
  if [ "${AIC_NO_WASM_OPT:-0}" != 1 ]; then
    node_modules/.bin/wasm-opt "$WASM_OPT_LEVEL" --enable-simd --enable-bulk-memory \
      --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
      --enable-reference-types --enable-multivalue "${opt_threads[@]}" "$wasm" -o "$wasm.opt"
    mv "$wasm.opt" "$wasm"
  fi
  echo "module $module ($PROFILE, $(($(date +%s) - start)) s): $((before / 1024)) KiB from wasm-bindgen," \
    "$(($(stat -c %s "$wasm") / 1024)) KiB after wasm-opt, gzipped $(($(gz "$wasm") / 1024)) KiB"
done

cp "$ROOT/crates/core/weights/aic-fp1h.safetensors" dist/wasm/
cp src/*.js src/*.d.ts dist/
if [ -f dist/wasm/aic_cpu_bg.wasm ]; then
  first=$(($(gz dist/wasm/aic_cpu_bg.wasm) + $(gz dist/wasm/aic-fp1h.safetensors) + $(gz dist/wasm/aic_cpu.js) \
    + $(cat dist/*.js | gzip -9 | wc -c)))
  echo "built npm/dist: to the first frame on the CPU path (CPU module + weights + JS, gzipped): $((first / 1024)) KiB"
fi
