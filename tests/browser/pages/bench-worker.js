// One AIC row of the browser benchmark in a module Worker (bench.html?workers=1): the package
// loads here as in an app's codec Worker, with threads when the page is cross-origin isolated
// (unless `threads` is false).
import * as aic from '/npm/dist/index.js';
import { benchAic } from './bench-aic.js';

self.onmessage = async ({ data: m }) => {
  try {
    await aic.initAic(m.threads === false ? { threads: false } : undefined);
    const img = new ImageData(new Uint8ClampedArray(m.img.data), m.img.width, m.img.height);
    const result = { ...(await benchAic(aic, m.backend, img, m.n, m.quality)), where: 'worker' };
    result.threadsNote = aic.cpuThreads().note;
    self.postMessage({ ok: true, result });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e?.message ?? e), code: e?.code });
  }
};
