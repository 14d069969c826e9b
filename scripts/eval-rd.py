#!/usr/bin/env python3
"""Rate-distortion curves of AIC against VP8 and VP9 realtime, measured in the same run.

For every clip and target bitrate, `aic eval-video --vp9 --json` codes the clip with AIC at the
target and then with VP8 realtime (CBR, -minrate = -maxrate = -b:v, as WebRTC runs it) and VP9
realtime (libvpx-vp9 -deadline realtime -cpu-used 8, CBR) at the bitrate AIC spent; all three
are scored the same way (mean over frames of YUV-PSNR, Y, U and V pooled; and of Y-PSNR).
From the four points per codec it computes the Bjøntegaard deltas (BD-rate: the average
bitrate difference at equal quality, negative = AIC needs fewer bits; BD-PSNR: the average
quality difference at equal bitrate), on YUV-PSNR and Y-PSNR.

    python3 scripts/eval-rd.py AIC_BINARY CLIPS_DIR OUT.jsonl [--frames N] [--rates 150,300,600,1000]

Prints a Markdown table (one row per clip and rate, then the BD figures per clip) and writes
one JSON line per run, then one per clip with the BD figures. scripts/eval-video.sh calls it.
"""
import argparse
import json
import math
import subprocess
import sys

# clip, content
CLIPS = [
    ("bob-talking-320x240", "talking head (laptop webcam)"),
    ("cap12-400x300", "talking head (second webcam)"),
    ("franck-360x288", "talking head"),
    ("balle-640x480-10fps", "static camera, people moving"),
    ("cockatoo-640x360", "handheld, high motion"),
]


def polyfit3(xs, ys):
    """Least-squares cubic (exact through 4 points): coefficients, highest power first."""
    n = 4
    # Normal equations of the Vandermonde system.
    a = [[sum(x ** (2 * n - 2 - i - j) for x in xs) for j in range(n)] for i in range(n)]
    b = [sum(y * x ** (n - 1 - i) for x, y in zip(xs, ys)) for i in range(n)]
    for c in range(n):  # Gauss-Jordan with partial pivoting
        p = max(range(c, n), key=lambda r: abs(a[r][c]))
        a[c], a[p], b[c], b[p] = a[p], a[c], b[p], b[c]
        for r in range(n):
            if r != c and a[c][c] != 0:
                f = a[r][c] / a[c][c]
                a[r] = [u - f * v for u, v in zip(a[r], a[c])]
                b[r] -= f * b[c]
    return [b[i] / a[i][i] for i in range(n)]


def integral(coef, lo, hi):
    """∫ of the cubic from lo to hi."""
    def prim(x):
        return sum(c * x ** (4 - i) / (4 - i) for i, c in enumerate(coef))
    return prim(hi) - prim(lo)


def bd_rate(r1, q1, r2, q2):
    """Bitrate of curve 2 relative to curve 1 at equal quality, percent (Bjøntegaard 2001)."""
    l1, l2 = [math.log10(r) for r in r1], [math.log10(r) for r in r2]
    c1, c2 = polyfit3(q1, l1), polyfit3(q2, l2)
    lo, hi = max(min(q1), min(q2)), min(max(q1), max(q2))
    if hi <= lo:
        return None
    d = (integral(c2, lo, hi) - integral(c1, lo, hi)) / (hi - lo)
    return (10 ** d - 1) * 100


def bd_psnr(r1, q1, r2, q2):
    """Quality of curve 2 minus curve 1 at equal bitrate, dB."""
    l1, l2 = [math.log10(r) for r in r1], [math.log10(r) for r in r2]
    c1, c2 = polyfit3(l1, q1), polyfit3(l2, q2)
    lo, hi = max(min(l1), min(l2)), min(max(l1), max(l2))
    if hi <= lo:
        return None
    return (integral(c2, lo, hi) - integral(c1, lo, hi)) / (hi - lo)


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("aic")
    ap.add_argument("clips")
    ap.add_argument("out")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--rates", default="150,300,600,1000")
    ap.add_argument("--only", default="", help="comma-separated clip names")
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    only = set(filter(None, args.only.split(",")))
    out = open(args.out, "w")
    table = []
    bd_rows = []
    for clip, content in CLIPS:
        if only and clip not in only:
            continue
        pts = {"aic": [], "vp8": [], "vp9": []}
        for kbps in rates:
            print(f"== {clip} at {kbps:.0f} kbps", file=sys.stderr, flush=True)
            r = json.loads(subprocess.run(
                [args.aic, "eval-video", f"{args.clips}/{clip}.y4m", "--target-kbps", str(kbps),
                 "--frames", str(args.frames), "--vp9", "--json"],
                check=True, capture_output=True, text=True).stdout)
            row = {"clip": clip, "content": content, "width": r["width"], "height": r["height"],
                   "fps": r["fps"], "frames": r["frames"], "target_kbps": kbps}
            for codec in ("aic", "vp8", "vp9"):
                s = r.get(codec)
                if s is None:
                    continue
                row[codec] = {k: s.get(k) for k in ("kbps", "yuv_psnr", "y_psnr", "ssim",
                                                     "encode_ms", "decode_ms", "modes",
                                                     "key_frames")}
                pts[codec].append((s["kbps"], s["yuv_psnr"], s["y_psnr"]))
            out.write(json.dumps(row) + "\n")
            out.flush()
            table.append(row)
        bd = {"clip": clip, "bd": {}}
        for ref in ("vp8", "vp9"):
            if len(pts[ref]) < 4 or len(pts["aic"]) < 4:
                continue
            a, v = pts["aic"], pts[ref]
            for i, metric in ((1, "yuv"), (2, "y")):
                bd["bd"][f"{ref}_{metric}_rate_pct"] = bd_rate(
                    [p[0] for p in v], [p[i] for p in v], [p[0] for p in a], [p[i] for p in a])
                bd["bd"][f"{ref}_{metric}_psnr_db"] = bd_psnr(
                    [p[0] for p in v], [p[i] for p in v], [p[0] for p in a], [p[i] for p in a])
        out.write(json.dumps(bd) + "\n")
        bd_rows.append(bd)
    print("| clip | size, fps | target | AIC kbps | AIC YUV / Y dB | VP8 kbps | VP8 YUV / Y dB "
          "| VP9 kbps | VP9 YUV / Y dB | AIC − VP8 dB | skip / inter / long / intra | AIC enc / dec ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in table:
        a, v8, v9 = r.get("aic"), r.get("vp8"), r.get("vp9")
        m = a.get("modes") or {}
        modes = "/".join(f"{100 * m.get(k, 0):.0f}" for k in ("skip", "inter", "long", "intra")) + " %"
        gap = a["yuv_psnr"] - v8["yuv_psnr"] if v8 else None
        print(f"| `{r['clip']}` | {r['width']}×{r['height']}, {r['fps']:g} | {r['target_kbps']:.0f} "
              f"| {a['kbps']:.1f} | {a['yuv_psnr']:.2f} / {a['y_psnr']:.2f} "
              f"| {fmt(v8 and v8['kbps'], '.1f')} | {fmt(v8 and v8['yuv_psnr'], '.2f')} / {fmt(v8 and v8['y_psnr'], '.2f')} "
              f"| {fmt(v9 and v9['kbps'], '.1f')} | {fmt(v9 and v9['yuv_psnr'], '.2f')} / {fmt(v9 and v9['y_psnr'], '.2f')} "
              f"| {fmt(gap, '+.2f')} | {modes} | {a['encode_ms']:.1f} / {a['decode_ms']:.1f} |")
    print()
    print("| clip | BD-rate vs VP8 (YUV / Y) | BD-PSNR vs VP8 (YUV / Y) | BD-rate vs VP9 (YUV / Y) | BD-PSNR vs VP9 (YUV / Y) |")
    print("|---|---:|---:|---:|---:|")
    for b in bd_rows:
        d = b["bd"]
        g = lambda k, s: fmt(d.get(k), s)
        print(f"| `{b['clip']}` | {g('vp8_yuv_rate_pct', '+.1f')} % / {g('vp8_y_rate_pct', '+.1f')} % "
              f"| {g('vp8_yuv_psnr_db', '+.2f')} / {g('vp8_y_psnr_db', '+.2f')} dB "
              f"| {g('vp9_yuv_rate_pct', '+.1f')} % / {g('vp9_y_rate_pct', '+.1f')} % "
              f"| {g('vp9_yuv_psnr_db', '+.2f')} / {g('vp9_y_psnr_db', '+.2f')} dB |")


if __name__ == "__main__":
    main()
