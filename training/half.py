"""Writes the shipped half-precision weights (model id 2, `aic-fp1h`) from the float32 export.

  python3 training/half.py            # crates/core/weights/aic-fp1.safetensors -> aic-fp1h.safetensors

The convolutions' weights and biases (`analysis.conv*`, `synthesis.conv*`: 97 % of the
parameters) are stored as IEEE float16, rounded to nearest even. The GDN parameters stay float32
(many of their values are below float16's normal range, and they are 3 % of the file), and so do
the gains and the entropy tables (`gain`, `inv_gain`, `entropy.*`), so the integer tables both
sides build are the same as model 1's. The loader widens float16 to float32 once (exactly), so every backend runs
the same float32 weights. Only the Python standard library is used (no numpy), so the step runs
anywhere; `training/train.sh` runs it after `export.py`. A changed format is a new model id
(docs/format.md §2.3): the file's metadata says `model_id` 2 and `weights_format` f16.
"""

import argparse
import json
import re
import os
import struct
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WEIGHTS = os.path.join(ROOT, "crates", "core", "weights")
HALF = re.compile(r"^(analysis|synthesis)\.conv\d+\.(weight|bias)$")


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    return header, data[8 + n :]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", default=os.path.join(WEIGHTS, "aic-fp1.safetensors"))
    p.add_argument("--out", default=os.path.join(WEIGHTS, "aic-fp1h.safetensors"))
    args = p.parse_args()

    header, body = read(args.input)
    meta = dict(header.pop("__metadata__", {}))
    if meta.get("model_id") != "1":
        sys.exit(f"{args.input}: model_id {meta.get('model_id')!r}, expected the float32 export (1)")
    meta.update(model_id="2", architecture="aic-fp1", weights_format="f16")

    out_header, chunks, offset, halved = {"__metadata__": meta}, [], 0, 0
    # Keep the export's tensor order (sorted by name) so the file is reproducible byte for byte.
    for name in sorted(header):
        t = header[name]
        begin, end = t["data_offsets"]
        raw = body[begin:end]
        dtype = t["dtype"]
        if dtype == "F32" and HALF.match(name):
            values = struct.unpack(f"<{len(raw) // 4}f", raw)
            raw = struct.pack(f"<{len(values)}e", *values)
            dtype = "F16"
            halved += len(values)
        out_header[name] = {"dtype": dtype, "shape": t["shape"], "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)

    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # safetensors pads the header to 8 bytes
    with open(args.out, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    size = 8 + len(text) + offset
    print(f"wrote {args.out}: {size} bytes, {halved} parameters as float16")


if __name__ == "__main__":
    main()
