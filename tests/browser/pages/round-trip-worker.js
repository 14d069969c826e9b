// A module Worker for the browser tests: loads the package (with threads unless told not to:
// the test page is cross-origin isolated), encodes and decodes one picture on the CPU.
import * as aic from '/npm/dist/index.js';

self.onmessage = async ({ data: m }) => {
  try {
    await aic.initAic(m.threads === false ? { threads: false } : undefined);
    const img = new ImageData(new Uint8ClampedArray(m.img.data), m.img.width, m.img.height);
    const enc = await aic.AicEncoder.create({ backend: 'cpu', quality: 3 });
    const dec = await aic.AicDecoder.create({ backend: 'cpu' });
    const bytes = await enc.encode(img);
    const out = await dec.decode(bytes);
    self.postMessage({ ok: true, threads: aic.cpuThreads(), bytes: bytes.length, latents: await dec.latents(bytes), rgba: out.data });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e?.message ?? e), code: e?.code });
  }
};
