// A small two-panel chart on a 2D canvas: kbps (top) and PSNR (bottom) over the last
// `windowS` seconds, for AIC and VP8, with the target bitrate as a dashed line.

const COLORS = { aic: '#1565c0', vp8: '#c62828', target: '#555' };

export class Chart {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas, windowS = 20) {
    this.canvas = canvas;
    this.windowS = windowS;
    this.points = []; // { t (s), aicKbps, vp8Kbps, targetKbps, aicPsnr, vp8Psnr }
  }

  push(p) {
    this.points.push(p);
    const cut = p.t - this.windowS - 1;
    while (this.points.length && this.points[0].t < cut) this.points.shift();
    this.draw();
  }

  draw() {
    const { canvas } = this;
    const ctx = canvas.getContext('2d');
    const dpr = window.devicePixelRatio || 1;
    const cssW = canvas.clientWidth || 600;
    const cssH = canvas.clientHeight || 220;
    if (canvas.width !== Math.round(cssW * dpr)) canvas.width = Math.round(cssW * dpr);
    if (canvas.height !== Math.round(cssH * dpr)) canvas.height = Math.round(cssH * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    ctx.font = '11px system-ui, sans-serif';
    const pts = this.points;
    const tEnd = pts.length ? pts[pts.length - 1].t : this.windowS;
    const tStart = tEnd - this.windowS;
    const left = 44;
    const right = cssW - 8;
    const half = (cssH - 24) / 2;
    const panels = [
      { top: 8, h: half - 8, keys: ['aicKbps', 'vp8Kbps'], extra: 'targetKbps', unit: 'kbps', min: 0 },
      { top: 16 + half, h: half - 8, keys: ['aicPsnr', 'vp8Psnr'], unit: 'dB PSNR', min: null },
    ];
    const x = (t) => left + ((t - tStart) / this.windowS) * (right - left);
    for (const p of panels) {
      const vals = [];
      for (const q of pts) for (const k of [...p.keys, p.extra]) if (k && Number.isFinite(q[k])) vals.push(q[k]);
      let lo = p.min ?? (vals.length ? Math.floor(Math.min(...vals) - 1) : 20);
      let hi = vals.length ? Math.max(...vals) * 1.1 : p.min === 0 ? 100 : 40;
      if (p.min === null) hi = vals.length ? Math.ceil(Math.max(...vals) + 1) : 40;
      if (hi <= lo) hi = lo + 1;
      const y = (v) => p.top + p.h - ((v - lo) / (hi - lo)) * p.h;
      ctx.strokeStyle = '#ddd';
      ctx.strokeRect(left, p.top, right - left, p.h);
      ctx.fillStyle = '#444';
      ctx.textAlign = 'right';
      ctx.fillText(hi.toFixed(0), left - 4, p.top + 9);
      ctx.fillText(lo.toFixed(0), left - 4, p.top + p.h);
      ctx.save();
      ctx.translate(10, p.top + p.h / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'center';
      ctx.fillText(p.unit, 0, 0);
      ctx.restore();
      const line = (key, color, dash = []) => {
        ctx.strokeStyle = color;
        ctx.setLineDash(dash);
        ctx.lineWidth = 1.6;
        ctx.beginPath();
        let started = false;
        for (const q of pts) {
          if (!Number.isFinite(q[key]) || q.t < tStart) continue;
          const px = x(q.t);
          const py = y(Math.min(Math.max(q[key], lo), hi));
          if (started) ctx.lineTo(px, py);
          else ctx.moveTo(px, py);
          started = true;
        }
        ctx.stroke();
        ctx.setLineDash([]);
      };
      if (p.extra) line(p.extra, COLORS.target, [4, 4]);
      line(p.keys[0], COLORS.aic);
      line(p.keys[1], COLORS.vp8);
    }
    ctx.textAlign = 'left';
    const legend = [['AIC', COLORS.aic], ['VP8', COLORS.vp8], ['target', COLORS.target]];
    let lx = left + 6;
    for (const [name, color] of legend) {
      ctx.fillStyle = color;
      ctx.fillRect(lx, cssH - 12, 14, 3);
      ctx.fillStyle = '#333';
      ctx.fillText(name, lx + 18, cssH - 7);
      lx += 70;
    }
    ctx.fillStyle = '#666';
    ctx.textAlign = 'right';
    ctx.fillText(`last ${this.windowS} s`, right, cssH - 7);
  }
}
