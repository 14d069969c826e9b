// Test helpers: the fixture photo (a PPM that tests/fixtures/metrics/make_fixtures.py writes)
// and PSNR over RGB.
import { readFileSync } from 'node:fs';

export const FIXTURE = new URL('../../tests/fixtures/generated/xplat.ppm', import.meta.url);

/** Reads a binary PPM (P6, maxval 255) as RGBA. */
export function readPpm(url) {
  const buf = readFileSync(url);
  const header = buf.subarray(0, 64).toString('latin1').match(/^P6\s+(\d+)\s+(\d+)\s+255\s/);
  if (!header) throw new Error(`${url}: not a P6 PPM`);
  const [whole, w, h] = header;
  const width = Number(w);
  const height = Number(h);
  const rgb = buf.subarray(whole.length);
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
    data[i * 4 + 3] = 255;
  }
  return { data, width, height };
}

/** PSNR in dB over the RGB channels of two RGBA images. */
export function psnr(a, b) {
  let se = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = a.data[i + c] - b.data[i + c];
      se += d * d;
      n++;
    }
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * n) / se);
}
