#!/usr/bin/env python3
"""Where does a model's quality stop: the encoder or the decoder?

  .venv/bin/python diagnose.py --ckpt checkpoints/v1.pt [--images 8] [--steps 600]

On held-out photos ($AIC_DATA/eval), at the top quality level, prints the mean PSNR of:
  * `top level`   — the real codec: rounded latent at the top level's gain;
  * `no rounding` — the encoder's latent, unquantized: the transform pair's ceiling;
  * `fitted`      — a latent fitted to each image by gradient descent through the frozen
                    decoder (Adam, --steps), unquantized, on a 192×192 crop: what the
                    decoder could show if an encoder gave it better latents.
When `fitted` is far above `no rounding`, the encoder is what limits quality at high rates.
"""
import argparse
import glob
import math
import os
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import AICModel  # noqa: E402

DATA = os.environ.get("AIC_DATA", os.path.expanduser("~/.cache/aic-data"))


def psnr(a, b):
    return 10 * math.log10(1 / max(((a.clamp(0, 1) * 255).round() / 255 - b).pow(2).mean().item(), 1e-12))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", default=os.path.join(HERE, "checkpoints", "v1.pt"))
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    sd = torch.load(a.ckpt, map_location="cpu", weights_only=False)["model"]
    model = AICModel.from_state_dict(sd)
    model.eval()
    q_n = model.num_q
    for prm in model.parameters():
        prm.requires_grad_(False)
    q = q_n - 1
    gain, inv = model.gain(q)[None, :, None, None], model.inv_gain(q)[None, :, None, None]
    med = model.entropy_bottlenecks[q]._get_medians().reshape(1, -1, 1, 1)
    rows = {"top level": [], "no rounding": [], "fitted": []}
    for f in sorted(glob.glob(os.path.join(DATA, "eval", "*.png")))[:a.images]:
        img = np.asarray(Image.open(f).convert("RGB"))[:192, :192].astype(np.float32) / 255
        x = torch.from_numpy(img.copy()).permute(2, 0, 1)[None]
        z = model.analysis(x) * gain
        rows["top level"].append(psnr(model.synthesis((torch.round(z - med) + med) * inv), x))
        rows["no rounding"].append(psnr(model.synthesis(z * inv), x))
        y = (z * inv).clone().requires_grad_(True)
        opt = torch.optim.Adam([y], lr=0.01)
        for _ in range(a.steps):
            opt.zero_grad()
            (model.synthesis(y) - x).pow(2).mean().backward()
            opt.step()
        rows["fitted"].append(psnr(model.synthesis(y.detach()), x))
    print(f"{a.ckpt}: level {q + 1} of {q_n}, {len(rows['fitted'])} photos (192×192 crops)")
    for k, v in rows.items():
        print(f"  {k:12s} {np.mean(v):6.2f} dB")


if __name__ == "__main__":
    main()
