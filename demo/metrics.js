// Quality metrics for the demo, in plain JS and cheap enough to run about once a second:
// PSNR over RGB (the repository's definition: 8-bit, every R, G and B sample), and SSIM on
// luma (BT.601) with a 7×7 uniform window and sample covariance — scikit-image's
// `structural_similarity` defaults — computed from integral images. Images are RGBA bytes.

/** PSNR in dB over the R, G and B samples of two RGBA images of the same size. */
export function psnrRgb(a, b) {
  let se = 0;
  for (let i = 0; i < a.length; i += 4) {
    const dr = a[i] - b[i];
    const dg = a[i + 1] - b[i + 1];
    const db = a[i + 2] - b[i + 2];
    se += dr * dr + dg * dg + db * db;
  }
  if (se === 0) return Infinity;
  const n = (a.length / 4) * 3;
  return 10 * Math.log10((255 * 255 * n) / se);
}

/** BT.601 luma (0..255) of RGBA bytes. */
export function luma(rgba, out = new Float32Array(rgba.length / 4)) {
  for (let i = 0, j = 0; j < out.length; i += 4, j++) {
    out[j] = 0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2];
  }
  return out;
}

/** Luma averaged over `f`×`f` blocks: a small fingerprint to pair frames by. */
export function smallLuma(rgba, width, height, f = 4) {
  const w = Math.floor(width / f);
  const h = Math.floor(height / f);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h * f; y++) {
    const row = (y / f) | 0;
    for (let x = 0; x < w * f; x++) {
      const i = (y * width + x) * 4;
      out[row * w + ((x / f) | 0)] += 0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2];
    }
  }
  const k = 1 / (f * f);
  for (let i = 0; i < out.length; i++) out[i] *= k;
  return out;
}

/** Mean squared difference of two equal-length float arrays. */
export function mse(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s / a.length;
}

let scratch = null;

function integrals(width, height) {
  const n = (width + 1) * (height + 1);
  if (!scratch || scratch.n !== n) {
    scratch = {
      n,
      sx: new Float64Array(n),
      sy: new Float64Array(n),
      sxx: new Float64Array(n),
      syy: new Float64Array(n),
      sxy: new Float64Array(n),
      ya: new Float32Array(width * height),
      yb: new Float32Array(width * height),
    };
  }
  return scratch;
}

/**
 * SSIM of two RGBA images (same size) on BT.601 luma: 7×7 uniform window, sample
 * covariance, K1 = 0.01, K2 = 0.03, L = 255, averaged over the windows that fit inside the
 * image (as scikit-image crops its border).
 */
export function ssimLuma(a, b, width, height, win = 7) {
  const s = integrals(width, height);
  const x = luma(a, s.ya);
  const y = luma(b, s.yb);
  const W = width + 1;
  const { sx, sy, sxx, syy, sxy } = s;
  for (let r = 0; r <= height; r++) {
    let ax = 0;
    let ay = 0;
    let axx = 0;
    let ayy = 0;
    let axy = 0;
    for (let c = 0; c <= width; c++) {
      const k = r * W + c;
      if (r === 0 || c === 0) {
        sx[k] = sy[k] = sxx[k] = syy[k] = sxy[k] = 0;
        continue;
      }
      const p = (r - 1) * width + (c - 1);
      const xv = x[p];
      const yv = y[p];
      ax += xv;
      ay += yv;
      axx += xv * xv;
      ayy += yv * yv;
      axy += xv * yv;
      const up = k - W;
      sx[k] = sx[up] + ax;
      sy[k] = sy[up] + ay;
      sxx[k] = sxx[up] + axx;
      syy[k] = syy[up] + ayy;
      sxy[k] = sxy[up] + axy;
    }
  }
  const np = win * win;
  const covNorm = np / (np - 1);
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const box = (t, r0, c0) => t[(r0 + win) * W + c0 + win] - t[r0 * W + c0 + win] - t[(r0 + win) * W + c0] + t[r0 * W + c0];
  let total = 0;
  let count = 0;
  for (let r = 0; r + win <= height; r++) {
    for (let c = 0; c + win <= width; c++) {
      const mx = box(sx, r, c) / np;
      const my = box(sy, r, c) / np;
      const vx = covNorm * (box(sxx, r, c) / np - mx * mx);
      const vy = covNorm * (box(syy, r, c) / np - my * my);
      const vxy = covNorm * (box(sxy, r, c) / np - mx * my);
      total += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      count++;
    }
  }
  return count ? total / count : NaN;
}
