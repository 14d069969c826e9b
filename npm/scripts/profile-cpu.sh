#!/usr/bin/env bash
# Profiles the CPU module on live video (npm/scripts/profile-cpu.mjs): builds the CPU module,
# keeps its function names (wasm-bindgen without --remove-name-section, no wasm-opt), runs the
# clip through encoder and decoder in Node under --cpu-prof and prints the self time by
# function and by crate.
#   npm/scripts/profile-cpu.sh [CLIP.y4m] [FRAMES] [KBPS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(cd .. && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aic/target}"
CLIP="${1:-$ROOT/tests/fixtures/generated/clips/talking-320x240.y4m}"
[ -f dist/index.js ] || npm run build
OUT="$(mktemp -d)"
cargo build --locked --profile wasm -p aic-wasm --no-default-features --features cpu \
  --target wasm32-unknown-unknown --manifest-path "$ROOT/Cargo.toml"
cp -r dist "$OUT/pkg"
wasm-bindgen --target web --out-dir "$OUT/pkg/wasm" --out-name aic_cpu \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/aic_wasm.wasm"
node --cpu-prof --cpu-prof-dir "$OUT/prof" scripts/profile-cpu.mjs "$OUT/pkg" "$CLIP" "${2:-60}" "${3:-300}"
node - "$OUT/prof" <<'JS'
const { readdirSync, readFileSync } = require('node:fs');
const dir = process.argv[2];
const prof = JSON.parse(readFileSync(`${dir}/${readdirSync(dir)[0]}`, 'utf8'));
const dt = new Map();
for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const self = new Map();
let total = 0;
for (const n of prof.nodes) {
  const t = (dt.get(n.id) ?? 0) / 1000;
  if (!t) continue;
  const name = n.callFrame.functionName || `(${n.callFrame.url.split('/').pop() || 'anonymous'})`;
  self.set(name, (self.get(name) ?? 0) + t);
  total += t;
}
const crate = (f) => (/^\(/.test(f) ? f : (f.match(/^<?([a-z_0-9]+)::/)?.[1] ?? 'other (JS, glue, std)'));
const byCrate = new Map();
for (const [f, t] of self) byCrate.set(crate(f), (byCrate.get(crate(f)) ?? 0) + t);
const show = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
  .forEach(([k, t]) => console.log(`${((100 * t) / total).toFixed(1).padStart(5)} %  ${t.toFixed(0).padStart(7)} ms  ${k.slice(0, 140)}`));
console.log(`\nself time by crate (${total.toFixed(0)} ms sampled):`);
show(byCrate, 15);
console.log('\nself time by function:');
show(self, 25);
JS
