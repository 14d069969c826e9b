// Times Flex ('cpu') against NdArray ('ndarray') in wasm under Node, same model, same frames:
// medians of N frames after warm-up (Node needs ≈ 30 frames before V8 has optimised the code).
import { AicDecoder, AicEncoder } from '../dist-ndarray/node.js';

const n = Number(process.argv[2] ?? 10);
const warmup = Number(process.argv[3] ?? 30);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function picture(width, height) {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const disc = (x / width - 0.5) ** 2 + (y / height - 0.5) ** 2 < 0.08 ? 1 : 0;
      data.set([40 + 150 * (x / width) + 50 * disc, 60 + 120 * (y / height) + ((x * 7 + y * 3) % 11), 200 - 80 * disc, 255], i);
    }
  }
  return { data, width, height };
}

console.log(`Node ${process.version}; medians of ${n} frames after ${warmup} warm-up frames; q3`);
console.log('backend  size      encode ms  decode ms');
const results = {};
for (const [w, h] of [[320, 240], [640, 480]]) {
  const frame = picture(w, h);
  for (const backend of ['cpu', 'ndarray']) {
    const enc = await AicEncoder.create({ backend, quality: 3, codec: 'neural' });
    const dec = await AicDecoder.create({ backend });
    const e = [];
    const d = [];
    for (let i = 0; i < warmup + n; i++) {
      const bytes = await enc.encode(frame);
      await dec.decode(bytes);
      if (i >= warmup) {
        e.push(enc.lastStats.encodeMs);
        d.push(dec.lastStats.decodeMs);
      }
    }
    results[`${backend} ${w}x${h}`] = [median(e), median(d)];
    console.log(`${backend.padEnd(8)} ${`${w}x${h}`.padEnd(9)} ${median(e).toFixed(1).padStart(9)} ${median(d).toFixed(1).padStart(10)}`);
  }
}
for (const [w, h] of [[320, 240], [640, 480]]) {
  const [fe, fd] = results[`cpu ${w}x${h}`];
  const [ne, nd] = results[`ndarray ${w}x${h}`];
  console.log(`${w}x${h}: NdArray ÷ Flex = ${(ne / fe).toFixed(2)}× encode, ${(nd / fd).toFixed(2)}× decode`);
}
