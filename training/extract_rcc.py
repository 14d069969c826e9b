#!/usr/bin/env python3
"""Cut the images out of Qt .rcc resource files (GCompris).

In an uncompressed .rcc each file's bytes are stored raw, preceded by a 4-byte
big-endian length. We look for JPEG / PNG / WebP magic numbers, read the length
just before each hit, cut that many bytes and keep the blob if Pillow decodes it.
Usage: extract_rcc.py OUTDIR file.rcc [...]
"""
import io
import os
import re
import sys

from PIL import Image

MAGICS = [
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"RIFF", "webp"),
]


def extract(path, outdir, min_side=200):
    data = open(path, "rb").read()
    stem = os.path.splitext(os.path.basename(path))[0]
    n = 0
    for magic, ext in MAGICS:
        for m in re.finditer(re.escape(magic), data):
            off = m.start()
            if off < 4:
                continue
            if ext == "webp" and data[off + 8:off + 12] != b"WEBP":
                continue
            length = int.from_bytes(data[off - 4:off], "big")
            if length < 64 or off + length > len(data):
                continue
            blob = data[off:off + length]
            try:
                im = Image.open(io.BytesIO(blob))
                im.load()
            except Exception:
                continue
            if min(im.size) < min_side:
                continue
            name = f"{stem}_{off:09d}.{ext}"
            with open(os.path.join(outdir, name), "wb") as f:
                f.write(blob)
            n += 1
    return n


if __name__ == "__main__":
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for p in sys.argv[2:]:
        print(f"{os.path.basename(p)}: {extract(p, outdir)} images")
