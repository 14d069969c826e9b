#!/usr/bin/env python3
"""Export trained weights for the Rust/Burn model, with the integer entropy tables.

  .venv/bin/python export.py --run runs/v1            # writes crates/core/weights/aic-fp1.safetensors
                                                      # and tests/fixtures/parity/aic-fp1-parity.safetensors

The weights file holds, in float32 and under the Burn module's field paths:
  analysis.{conv1,conv2,conv3}.{weight,bias}, analysis.{gdn1,gdn2}.{beta,gamma}
  synthesis.{conv1,conv2,conv3}.{weight,bias}, synthesis.{igdn1,igdn2}.{beta,gamma}
  gain [Q, M], inv_gain [Q, M]                     (effective values: exp of the trained logs)
GDN beta/gamma are the effective values (after compressai's reparametrization).
Entropy tables (integers: decoding never depends on floating point), per quality q and channel c:
  entropy.start [Q, M] int32    smallest in-range symbol (relative to the median)
  entropy.size  [Q, M] int32    number of in-range symbols + 1 (the last is the escape symbol)
  entropy.freqs [sum(size)] int32  frequencies, each >= 1, each (q, c) run summing to 2^16
  entropy.median [Q, M] float32 quantization centre: symbol = round(z - median)
They are compressai's own tables (EntropyBottleneck.update(): pmf over the learned quantile
range plus the tail mass, quantized to 16 bits with every symbol non-zero).

The parity fixture holds a small deterministic input and this model's float outputs (latent y,
symbols at every quality, reconstruction), so a Rust test checks the Burn model against PyTorch.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from model import LAMBDAS, AICModel  # noqa: E402

MODEL_ID = 1
PRECISION = 16


def gdn_params(gdn):
    beta = gdn.beta_reparam(gdn.beta).detach()
    gamma = gdn.gamma_reparam(gdn.gamma).detach()
    return beta, gamma


def export_weights(model):
    t = {}

    def conv(prefix, m):
        t[f"{prefix}.weight"] = m.weight.detach()
        t[f"{prefix}.bias"] = m.bias.detach()

    def gdn(prefix, m):
        t[f"{prefix}.beta"], t[f"{prefix}.gamma"] = gdn_params(m)

    conv("analysis.conv1", model.g_a[1])
    gdn("analysis.gdn1", model.g_a[2])
    conv("analysis.conv2", model.g_a[3])
    gdn("analysis.gdn2", model.g_a[4])
    conv("analysis.conv3", model.g_a[5])
    conv("synthesis.conv1", model.g_s[0])
    gdn("synthesis.igdn1", model.g_s[2])
    conv("synthesis.conv2", model.g_s[3])
    gdn("synthesis.igdn2", model.g_s[5])
    conv("synthesis.conv3", model.g_s[6])
    t["gain"] = torch.exp(model.log_gain.detach())
    t["inv_gain"] = torch.exp(model.log_inv_gain.detach())
    out = {k: v.float().contiguous().numpy() for k, v in t.items()}

    starts, sizes, medians, freqs = [], [], [], []
    for eb in model.entropy_bottlenecks:
        eb.update(force=True)
        cdf, length, offset = eb._quantized_cdf, eb._cdf_length, eb._offset
        medians.append(eb.quantiles[:, 0, 1].detach().float().numpy())
        s_row, n_row = [], []
        for c in range(cdf.shape[0]):
            n = int(length[c])  # pmf_length + 2 CDF points -> pmf_length + 1 frequencies
            f = np.diff(cdf[c, :n].numpy().astype(np.int64))
            assert f.sum() == 1 << PRECISION and (f > 0).all(), (c, f)
            freqs.append(f.astype(np.int32))
            s_row.append(int(offset[c]))
            n_row.append(len(f))
        starts.append(s_row)
        sizes.append(n_row)
    out["entropy.start"] = np.array(starts, dtype=np.int32)
    out["entropy.size"] = np.array(sizes, dtype=np.int32)
    out["entropy.freqs"] = np.concatenate(freqs).astype(np.int32)
    out["entropy.median"] = np.stack(medians).astype(np.float32)
    return out


def parity_input(h=32, w=48):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 0.5 + 0.4 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    g = 0.5 + 0.3 * np.cos((xx + yy) / 9.0)
    b = (xx * 3 + yy * 5) % 17 / 17.0
    return np.stack([r, g, b])[None].astype(np.float32)


@torch.no_grad()
def parity(model, tables):
    x = torch.from_numpy(parity_input())
    y = model.analysis(x)
    out = {"x": x.numpy(), "y": y.numpy()}
    for q in range(model.num_q):
        z = y * model.gain(q)[None, :, None, None]
        med = torch.from_numpy(tables["entropy.median"][q])[None, :, None, None]
        sym = torch.round(z - med)
        y_hat = (sym + med) * model.inv_gain(q)[None, :, None, None]
        out[f"symbols.{q}"] = sym.to(torch.int32).numpy()
        out[f"x_hat.{q}"] = model.synthesis(y_hat).numpy()
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", default=os.path.join(HERE, "runs", "v1"))
    p.add_argument("--out", default=os.path.join(ROOT, "crates", "core", "weights", "aic-fp1.safetensors"))
    p.add_argument("--parity", default=os.path.join(ROOT, "tests", "fixtures", "parity", "aic-fp1-parity.safetensors"))
    args = p.parse_args()

    ck = torch.load(os.path.join(args.run, "ckpt.pt"), map_location="cpu", weights_only=False)
    a = ck["args"]
    model = AICModel(N=a["N"], M=a["M"])
    model.load_state_dict(ck["model"])
    model.eval()
    tables = export_weights(model)
    meta = {
        "model_id": str(MODEL_ID), "architecture": "aic-fp1", "n": str(a["N"]), "m": str(a["M"]),
        "levels": str(model.num_q), "precision": str(PRECISION), "step": str(ck["step"]),
        "lambdas": json.dumps(LAMBDAS[:model.num_q]),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    save_file(tables, args.out, metadata=meta)
    os.makedirs(os.path.dirname(args.parity), exist_ok=True)
    save_file(parity(model, tables), args.parity, metadata=meta)
    size = os.path.getsize(args.out)
    print(f"step {ck['step']}: wrote {args.out} ({size / 1e6:.2f} MB) and {args.parity}")


if __name__ == "__main__":
    main()
