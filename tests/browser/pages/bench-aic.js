// The AIC part of the browser benchmark, shared by the page (bench.html) and its Workers
// (bench-worker.js): load time, first frame, then medians of `n` frames after 2 warm-ups.

/** The median of numbers. */
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};

/** [ms, result] of an async call. */
export async function time(fn) {
  const t0 = performance.now();
  const out = await fn();
  return [performance.now() - t0, out];
}

/** Encode and decode timings of `img` on `backend` with the package `aic`. */
export async function benchAic(aic, backend, img, n, quality) {
  // Loading (module, weights, model; WebGPU also compiles its shaders here) and the first
  // frame are timed apart from the steady state.
  const [createMs, [enc, dec]] = await time(() =>
    Promise.all([aic.AicEncoder.create({ backend, quality, codec: 'neural' }), aic.AicDecoder.create({ backend })]),
  );
  const e = [], d = [];
  let bytes, firstEncodeMs, firstDecodeMs;
  for (let i = 0; i < n + 2; i++) {
    const [te, b] = await time(() => enc.encode(img));
    const [td] = await time(() => dec.decode(b));
    bytes = b;
    if (i === 0) [firstEncodeMs, firstDecodeMs] = [te, td];
    if (i >= 2) { e.push(te); d.push(td); } // two warm-up frames
  }
  return {
    codec: `aic q${quality}`, backend: enc.backend, backendNote: enc.backendNote, threads: enc.backend === 'cpu' ? aic.cpuThreads().threads : 0,
    encodeMs: median(e), decodeMs: median(d), bytes: bytes.length, createMs, firstEncodeMs, firstDecodeMs,
  };
}
