#!/usr/bin/env python3
"""Write a small, committable checkpoint of a run: model state (fp32) + step, no optimizer
state (~5 MB). A new machine resumes from it with `train.py --name NEW --init checkpoints/v1.pt`.

  .venv/bin/python snapshot.py --run runs/v1 --out checkpoints/v1.pt
"""
import argparse
import os

import torch

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--run", default="runs/v1")
p.add_argument("--out", default="checkpoints/v1.pt")
a = p.parse_args()
ck = torch.load(os.path.join(a.run, "ckpt.pt"), map_location="cpu", weights_only=False)
small = {"model": {k: (v.float() if v.is_floating_point() else v) for k, v in ck["model"].items()},
         "step": ck["step"], "elapsed": ck.get("elapsed", 0.0), "args": ck["args"]}
os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
torch.save(small, a.out)
print(f"step {ck['step']}: wrote {a.out} ({os.path.getsize(a.out) / 1e6:.1f} MB)")
