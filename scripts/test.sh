#!/usr/bin/env bash
# Sets up what the tests need on a fresh Debian machine with rustup, then runs every test.
# This is the README's test command; .ci/run runs exactly this.
#
# Everything it uses is installed here (or by a script it calls): rustup components and the
# wasm32 target, Debian packages (APT_PACKAGES below), wasm-bindgen-cli (npm/scripts/build.sh),
# npm packages from the lock files (binaryen's wasm-opt, playwright-core, Vite), a Python venv.
#
# One native build serves lints, tests and the binaries the tests run: clippy runs as the
# workspace's compiler wrapper during the test build (the same thing `cargo clippy` does, but
# on full builds instead of a separate `cargo check` of every dependency), in the dev profile
# whose dependencies are optimised (Cargo.toml). The wasm32 module is the only other build.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${AIC_CACHE:-$HOME/.cache/aic}"
mkdir -p "$CACHE"
# One target dir outside the clone: repeat runs (and fresh clones) build incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
export CARGO_TERM_COLOR=never
export DEBIAN_FRONTEND=noninteractive
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

T0=$(date +%s)
CURRENT="setup"
step() {
  CURRENT="$*"
  printf '\n=== %s (%s, +%d s)\n' "$*" "$(date +%T)" "$(($(date +%s) - T0))"
}
trap 'echo "scripts/test.sh: FAILED in step \"$CURRENT\" at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR

step "toolchain: clippy, rustfmt, wasm32 target"
rustup component add clippy rustfmt
rustup target add wasm32-unknown-unknown

# mesa-vulkan-drivers: lavapipe for the wgpu tests; chromium: browser tests; shellcheck: the
# scripts' lint; ffmpeg: the test clips (and the VP8 baseline of `aic eval-video`); haproxy:
# the three-node test of `aic serve`. (kubectl, for the manifests' render, is in the image.)
APT_PACKAGES=(mesa-vulkan-drivers chromium shellcheck ffmpeg haproxy)
step "system packages: ${APT_PACKAGES[*]}"
bash scripts/apt-install.sh "${APT_PACKAGES[@]}"

node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
  || { echo "Node.js >= 20.19 is needed (Vite 8, node --test); found $(node --version 2>&1)"; exit 1; }

step "Python reference for the metric tests (scikit-image)"
if [ ! -x "$CACHE/test-venv/bin/python" ]; then
  python3 -m venv "$CACHE/test-venv"
fi
"$CACHE/test-venv/bin/pip" install --quiet --disable-pip-version-check -r tests/fixtures/metrics/requirements.txt
"$CACHE/test-venv/bin/python" tests/fixtures/metrics/make_fixtures.py

step "real video clips for the tests (scripts/fetch-clips.sh --tests-only)"
bash scripts/fetch-clips.sh --tests-only

step "format, shell scripts"
cargo fmt --all -- --check
shellcheck scripts/*.sh npm/scripts/*.sh training/*.sh tests/cluster/*.sh .ci/run

step "clippy (-D warnings) and unit, integration and CLI tests (native), one build"
# What `cargo clippy --all-targets -- -D warnings` sets, on the test build instead of a check.
# Cargo names our crates' artifacts without their checkout's path, and their freshness is judged
# by the sources recorded at their last build: with the target dir shared by several clones on
# one machine, an artifact built from another clone could pass as fresh. Our three crates are
# rebuilt every run (seconds); the dependencies are what the shared dir is for.
cargo clean --quiet -p aic-core -p aic-native -p aic-wasm
CLIPPY_DRIVER="$(rustup which clippy-driver 2>/dev/null || echo "$(rustc --print sysroot)/bin/clippy-driver")"
export RUSTC_WORKSPACE_WRAPPER="$CLIPPY_DRIVER"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
cargo test --workspace --locked --no-run
cargo test --workspace --locked 2>&1 | tee "$CACHE/test-output.txt"
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS

step "Kubernetes manifests: kubectl kustomize, kubernetes-validate (scripts/validate-manifests.sh)"
bash scripts/validate-manifests.sh

step "aic serve: three nodes in network namespaces behind haproxy (tests/cluster/three-nodes.sh)"
AIC_BIN="$CARGO_TARGET_DIR/debug/aic" bash tests/cluster/three-nodes.sh 2>&1 | tee "$CACHE/cluster-test-output.txt"

step "npm package: the CPU module, the threaded CPU module (nightly, build-std) and the WebGPU module for wasm32, wasm-bindgen, wasm-opt (npm/scripts/build.sh)"
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
step "all checks passed in $(($(date +%s) - T0)) s"
echo "tests: $passed passed, $failed failed"
