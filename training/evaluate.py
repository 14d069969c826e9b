#!/usr/bin/env python3
"""Rate-distortion evaluation on the held-out photos, all codecs in one run.

  .venv/bin/python evaluate.py [--aic PATH] [--eval DIR]

Measures, on $AIC_DATA/eval (24 kphotoalbum photos, halved; a different source from the
training photos):
  * AIC neural at every quality level, through `aic eval --codec neural --quality all --json`
    (real entropy-coded sizes: whole AIC frames, header and checksum included);
  * JPEG and WebP from Pillow at many quality settings (file sizes as written by Pillow).
PSNR is computed over RGB (8-bit peak, as `aic`); MS-SSIM with the same definition as `aic`
(tests/fixtures/metrics/make_fixtures.py). Writes docs/rd.md (table + gaps to JPEG and WebP
at equal bpp, interpolated along their curves) and docs/rd.png (the plot).
"""
import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "metrics"))
from msssim_ref import ms_ssim_channel  # noqa: E402

DATA = Path(os.environ.get("AIC_DATA", Path.home() / ".cache" / "aic-data"))
JPEG_Q = [5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90]
WEBP_Q = [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90]


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def ms_ssim(a, b):
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    return float(np.mean([ms_ssim_channel(fa[..., c], fb[..., c]) for c in range(3)]))


def pillow_runs(files, fmt, qualities):
    rows = []
    for q in qualities:
        acc = {"bpp": [], "psnr": [], "ms_ssim": [], "encode_ms": [], "decode_ms": []}
        for f in files:
            img = Image.open(f).convert("RGB")
            ref = np.asarray(img)
            buf = io.BytesIO()
            t = time.perf_counter()
            img.save(buf, format=fmt, quality=q, **({"method": 4} if fmt == "WEBP" else {}))
            enc = time.perf_counter() - t
            data = buf.getvalue()
            t = time.perf_counter()
            dec = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            dect = time.perf_counter() - t
            acc["bpp"].append(len(data) * 8 / (ref.shape[0] * ref.shape[1]))
            acc["psnr"].append(psnr(ref, dec))
            acc["ms_ssim"].append(ms_ssim(ref, dec))
            acc["encode_ms"].append(enc * 1e3)
            acc["decode_ms"].append(dect * 1e3)
        rows.append({"codec": fmt.lower(), "quality": q, **{k: float(np.mean(v)) for k, v in acc.items()}})
    return rows


def aic_runs(aic, eval_dir):
    out = subprocess.run([aic, "eval", str(eval_dir), "--codec", "neural", "--quality", "all", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return [{"codec": "aic", "quality": m["quality"], "bpp": m["bpp"], "psnr": m["psnr"],
             "ms_ssim": m["ms_ssim"], "encode_ms": m["encode_ms"], "decode_ms": m["decode_ms"]}
            for m in json.loads(out)["mean"]]


def at_bpp(rows, bpp, key="psnr"):
    """The curve's value at `bpp`, linearly interpolated; None outside its range."""
    pts = sorted((r["bpp"], r[key]) for r in rows)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    if bpp < xs[0] or bpp > xs[-1]:
        return None
    return float(np.interp(bpp, xs, ys))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--aic", default=os.environ.get("AIC_BIN", str(ROOT / "target" / "release" / "aic")))
    p.add_argument("--eval", default=str(DATA / "eval"))
    p.add_argument("--out", default=str(ROOT / "docs"))
    args = p.parse_args()
    files = sorted(Path(args.eval).glob("*.png"))
    assert len(files) >= 24, f"need the 24 eval photos in {args.eval} (training/fetch_data.sh)"

    ours = aic_runs(args.aic, args.eval)
    jpeg = pillow_runs(files, "JPEG", JPEG_Q)
    webp = pillow_runs(files, "WEBP", WEBP_Q)

    def gap(ours, ref):
        return "–" if ref is None else f"{ours - ref:+.2f}"

    lines = [
        "# Rate–distortion on the held-out photos",
        "",
        f"{len(files)} photos (Debian `kphotoalbum` demo pictures, halved; never used in training). "
        "Means over the photos. Produced by `training/evaluate.py`; all codecs measured in the same run.",
        "",
        "| codec | quality | bpp | PSNR dB | MS-SSIM | Δ PSNR vs JPEG @ same bpp | Δ PSNR vs WebP @ same bpp | encode ms | decode ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in ours:
        dj, dw = at_bpp(jpeg, r["bpp"]), at_bpp(webp, r["bpp"])
        lines.append(
            f"| AIC neural | {r['quality']} | {r['bpp']:.3f} | {r['psnr']:.2f} | {r['ms_ssim']:.4f} | "
            f"{gap(r['psnr'], dj)} | {gap(r['psnr'], dw)} | "
            f"{r['encode_ms']:.1f} | {r['decode_ms']:.1f} |")
    for rows in (jpeg, webp):
        for r in rows:
            lines.append(f"| {r['codec'].upper()} (Pillow) | {r['quality']} | {r['bpp']:.3f} | {r['psnr']:.2f} | "
                         f"{r['ms_ssim']:.4f} | | | {r['encode_ms']:.1f} | {r['decode_ms']:.1f} |")
    lines += ["", "![rate–distortion](rd.png)", ""]
    Path(args.out, "rd.md").write_text("\n".join(lines))
    Path(args.out, "rd.json").write_text(json.dumps({"aic": ours, "jpeg": jpeg, "webp": webp}, indent=1) + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, label in ((axes[0], "psnr", "PSNR (dB, RGB)"), (axes[1], "ms_ssim", "MS-SSIM")):
        for rows, name, style in ((ours, "AIC neural (this model)", "o-"), (webp, "WebP (Pillow)", "s--"),
                                  (jpeg, "JPEG (Pillow)", "^--")):
            rs = sorted(rows, key=lambda r: r["bpp"])
            ax.plot([r["bpp"] for r in rs], [r[key] for r in rs], style, label=name)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(label)
        ax.set_xlim(0, 1.6)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_title(f"{len(files)} held-out photos (kphotoalbum, halved)")
    fig.tight_layout()
    fig.savefig(Path(args.out, "rd.png"), dpi=110)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
