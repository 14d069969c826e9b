// Where a frame's milliseconds go in the CPU module: live video (key + delta frames under rate
// control) of a Y4M clip encoded and decoded in Node under V8's sampling profiler, then the
// self time summed by function and by crate. Run by profile-cpu.sh, which builds a copy of
// the package whose CPU module keeps its function names.
// Usage: node --cpu-prof --cpu-prof-dir DIR profile-cpu.mjs PKG_DIR CLIP [FRAMES] [KBPS]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [pkg, clip, frames = '60', kbps = '300'] = process.argv.slice(2);
const aic = await import(pathToFileURL(join(pkg, 'node.js')).href);

const buf = readFileSync(clip);
const eol = buf.indexOf(10);
const header = buf.subarray(0, eol).toString('latin1');
const w = Number(/ W(\d+)/.exec(header)[1]);
const h = Number(/ H(\d+)/.exec(header)[1]);
const size = (w * h * 3) / 2;
const rgba = [];
for (let at = eol + 1; at < buf.length && rgba.length < Number(frames); ) {
  at = buf.indexOf(10, at) + 1;
  const y = buf.subarray(at, at + w * h);
  const u = buf.subarray(at + w * h, at + (w * h * 5) / 4);
  const v = buf.subarray(at + (w * h * 5) / 4, at + size);
  const out = new Uint8ClampedArray(w * h * 4);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const c = (j >> 1) * (w >> 1) + (i >> 1);
      const Y = y[j * w + i], U = u[c] - 128, V = v[c] - 128;
      const o = (j * w + i) * 4;
      out[o] = Y + 1.402 * V;
      out[o + 1] = Y - 0.344 * U - 0.714 * V;
      out[o + 2] = Y + 1.772 * U;
      out[o + 3] = 255;
    }
  }
  rgba.push(out);
  at += size;
}

const enc = await aic.AicEncoder.create({ backend: 'cpu', codec: 'neural' });
const dec = await aic.AicDecoder.create({ backend: 'cpu' });
await enc.setTargetBitrate(Number(kbps), 25);
let encodeMs = 0, decodeMs = 0;
for (const [i, data] of rgba.entries()) {
  const bytes = await enc.encode({ data, width: w, height: h }, { timestampUs: i * 40_000 });
  encodeMs += enc.lastStats.encodeMs;
  await dec.decode(bytes);
  decodeMs += dec.lastStats.decodeMs;
}
console.log(`${rgba.length} frames ${w}x${h}: encode ${(encodeMs / rgba.length).toFixed(1)} ms, decode ${(decodeMs / rgba.length).toFixed(1)} ms a frame (mean, profiler on)`);
