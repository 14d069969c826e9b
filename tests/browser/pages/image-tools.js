// Image helpers for the test and benchmark pages: the fixture photo (a binary PPM) as
// ImageData, PSNR and the largest per-channel difference over RGB.

/** Reads a binary PPM (P6, maxval 255) into an ImageData. */
export async function loadPpm(url) {
  const buf = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const [whole, w, h] = new TextDecoder('latin1').decode(buf.subarray(0, 64)).match(/^P6\s+(\d+)\s+(\d+)\s+255\s/);
  const img = new ImageData(Number(w), Number(h));
  const rgb = buf.subarray(whole.length);
  for (let i = 0; i < img.width * img.height; i++) {
    img.data.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
    img.data[i * 4 + 3] = 255;
  }
  return img;
}

/** PSNR in dB over RGB. */
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

/** Largest per-channel difference over RGB. */
export function maxDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) if (i % 4 !== 3) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}
