#!/usr/bin/env python3
"""Turn the extracted Debian packages into training / evaluation PNGs.

Usage: prepare_data.py AIC_DATA_DIR
Reads training/photos.txt (allowlist), writes $AIC_DATA/train/*.png and
$AIC_DATA/eval/*.png. Idempotent: existing outputs are kept.
"""
import glob
import os
import sys

from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from extract_rcc import extract  # noqa: E402

MAX_SHORT = 1080  # high-res wallpapers: short side <= 1080 px
EVAL_MIN = 24


def save_png(im, path):
    tmp = path + ".tmp.png"
    im.save(tmp, optimize=False)
    os.replace(tmp, path)


def load_rgb(path):
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return im.convert("RGB")


def downscale(im, factor=None, max_short=None):
    w, h = im.size
    s = 1.0
    if factor is not None:
        s = factor
    if max_short is not None and min(w, h) * s > max_short:
        s = max_short / min(w, h)
    if s >= 1.0:
        return im
    return im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)


def main(data):
    xdir = os.path.join(data, "x")
    train = os.path.join(data, "train")
    evdir = os.path.join(data, "eval")
    os.makedirs(train, exist_ok=True)
    os.makedirs(evdir, exist_ok=True)
    counts = {}
    missing = []
    for line in open(os.path.join(HERE, "photos.txt")):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pkg, rel = line.split(None, 1)
        src = os.path.join(xdir, pkg, rel)
        if not os.path.exists(src):
            missing.append(f"{pkg}:{rel}")
            continue
        if rel.endswith(".rcc"):
            stem = os.path.splitext(os.path.basename(rel))[0]
            cut = os.path.join(data, "gcompris", stem)
            if not glob.glob(os.path.join(cut, "*")):
                os.makedirs(cut, exist_ok=True)
                extract(src, cut)
            for f in sorted(glob.glob(os.path.join(cut, "*"))):
                out = os.path.join(train, f"gcompris_{os.path.splitext(os.path.basename(f))[0]}.png")
                if not os.path.exists(out):
                    # lossy WebP sources: halve so the compression artefacts vanish
                    save_png(downscale(load_rgb(f), factor=0.5), out)
                counts[pkg] = counts.get(pkg, 0) + 1
        else:
            name = os.path.splitext(rel.replace("/contents/images/", "_").split("/")[-1])[0]
            if pkg == "plasma-workspace-wallpapers":
                name = rel.split("/")[3]
            out = os.path.join(train, f"{pkg}_{name}.png")
            if not os.path.exists(out):
                save_png(downscale(load_rgb(src), max_short=MAX_SHORT), out)
            counts[pkg] = counts.get(pkg, 0) + 1

    # held-out evaluation set: kphotoalbum demo snapshots, halved (Lanczos)
    n_eval = 0
    demo = sorted(glob.glob(os.path.join(xdir, "kphotoalbum", "usr/share/kphotoalbum/demo/*.jpg")))
    for f in demo:
        out = os.path.join(evdir, "kphotoalbum_" + os.path.splitext(os.path.basename(f))[0] + ".png")
        if not os.path.exists(out):
            save_png(downscale(load_rgb(f), factor=0.5), out)
        n_eval += 1
    if n_eval < EVAL_MIN:
        print(f"WARNING: only {n_eval} kphotoalbum photos; topping up from scikit-image data")
        try:
            from skimage import data as skd
            for nm in ["astronaut", "coffee", "chelsea", "rocket"]:
                out = os.path.join(evdir, f"skimage_{nm}.png")
                if not os.path.exists(out):
                    Image.fromarray(getattr(skd, nm)()).convert("RGB").save(out)
                n_eval += 1
                if n_eval >= EVAL_MIN:
                    break
        except ImportError:
            print("  scikit-image not installed (pip install scikit-image) - eval set stays small")

    for m in missing:
        print(f"missing (package absent or changed?): {m}")
    for k in sorted(counts):
        print(f"  train {k:32s} {counts[k]:4d}")
    n_train = len(glob.glob(os.path.join(train, "*.png")))
    n_ev = len(glob.glob(os.path.join(evdir, "*.png")))
    print(f"train photos: {n_train}  ({train})")
    print(f"eval photos:  {n_ev}  ({evdir})")


if __name__ == "__main__":
    main(sys.argv[1])
