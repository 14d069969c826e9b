// One AIC row of the browser benchmark in a module Worker (bench.html?workers=1): the package
// loads here as in an app's codec Worker, with threads when the page is cross-origin isolated
// (unless `threads` is false).
import * as aic from '/npm/dist/index.js';
import { benchAic, median, time } from './bench-aic.js';

/** Live video: every frame encoded under rate control, then decoded (bench-video.html). */
async function benchVideo(m) {
  const enc = await aic.AicEncoder.create({ backend: 'cpu', codec: 'neural' });
  const dec = await aic.AicDecoder.create({ backend: 'cpu' });
  await enc.setTargetBitrate(m.kbps, m.fps);
  const e = [], d = [], skipped = [];
  let bytes = 0;
  for (const [i, data] of m.frames.entries()) {
    const img = new ImageData(new Uint8ClampedArray(data), m.width, m.height);
    const [te, b] = await time(() => enc.encode(img, { timestampUs: Math.round((i * 1e6) / m.fps) }));
    const [td] = await time(() => dec.decode(b));
    if (i < m.warm) continue;
    e.push(te);
    d.push(td);
    bytes += b.length;
    if (dec.lastStats.skippedFraction !== null) skipped.push(dec.lastStats.skippedFraction);
  }
  const n = m.frames.length - m.warm;
  return {
    codec: 'aic (live video)', threads: aic.cpuThreads().threads || 1, encodeMs: median(e), decodeMs: median(d),
    kbps: (bytes * 8 * m.fps) / 1000 / n, skippedFraction: skipped.length ? median(skipped) : null,
  };
}

self.onmessage = async ({ data: m }) => {
  try {
    await aic.initAic(m.threads === false ? { threads: false } : undefined);
    if (m.video) {
      self.postMessage({ ok: true, result: await benchVideo(m) });
      return;
    }
    const img = new ImageData(new Uint8ClampedArray(m.img.data), m.img.width, m.img.height);
    const result = { ...(await benchAic(aic, m.backend, img, m.n, m.quality)), where: 'worker' };
    result.threadsNote = aic.cpuThreads().note;
    self.postMessage({ ok: true, result });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e?.message ?? e), code: e?.code });
  }
};
