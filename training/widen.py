#!/usr/bin/env python3
"""Grow a trained aic-fp1 checkpoint into a wider shape, keeping what it computes.

  .venv/bin/python widen.py checkpoints/v1.pt checkpoints/v2-init.pt [--enc1 128 --enc2 192 --num-q 7]

The analysis transform gets wider (E1 channels at H/8, E2 at H/16); the latent (M), the
synthesis transform and the priors of the existing levels are unchanged. New output channels
of a convolution start random (PyTorch's default init); the next layer's weights from them
start at zero and their GDN cross-terms at zero, so at step 0 the widened model codes exactly
as the old one, and training then puts the new channels to use. A new top quality level gets
gains extrapolated geometrically from the two highest levels and a copy of the top prior.
The output is a weights-only checkpoint for `train.py --init`.
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import AICModel  # noqa: E402


def gdn_effective(gdn, sd, prefix):
    beta = gdn.beta_reparam(sd[prefix + ".beta"])
    gamma = gdn.gamma_reparam(sd[prefix + ".gamma"])
    return beta, gamma


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--enc1", type=int, default=128)
    p.add_argument("--enc2", type=int, default=192)
    p.add_argument("--num-q", type=int, default=7)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)

    ck = torch.load(a.src, map_location="cpu", weights_only=False)
    old_sd = ck["model"]
    old = AICModel.from_state_dict(old_sd)
    N, M, old_q, (e1_old, e2_old) = old.N, old.M, old.num_q, old.enc
    new = AICModel(N=N, M=M, num_q=a.num_q, enc=(a.enc1, a.enc2))
    sd = new.state_dict()

    with torch.no_grad():
        # Unchanged parts: synthesis, and every tensor whose shape did not change.
        for k, v in old_sd.items():
            if k in sd and sd[k].shape == v.shape and not k.startswith("entropy_bottlenecks"):
                sd[k] = v.clone()
        # Convolutions: old block in the top-left corner; new inputs get zero weights.
        for name, (co, ci) in {"g_a.1": (e1_old, 48), "g_a.3": (e2_old, e1_old), "g_a.5": (M, e2_old)}.items():
            w = sd[name + ".weight"]
            w[:, ci:] = 0
            w[:co, :ci] = old_sd[name + ".weight"]
            sd[name + ".bias"][:co] = old_sd[name + ".bias"]
        # GDNs: old effective β, γ kept; new channels β = 1, γ = 0.1 on the diagonal, 0 across.
        for name, c_old in {"g_a.2": e1_old, "g_a.4": e2_old}.items():
            g_old = dict(old.named_modules())[name]
            g_new = dict(new.named_modules())[name]
            beta_o, gamma_o = gdn_effective(g_old, old_sd, name)
            c = g_new.beta.shape[0]
            beta = torch.ones(c)
            gamma = torch.eye(c) * 0.1
            beta[:c_old], gamma[:c_old, :c_old] = beta_o, gamma_o
            gamma[:c_old, c_old:] = 0
            gamma[c_old:, :c_old] = 0
            sd[name + ".beta"] = g_new.beta_reparam.init(beta)
            sd[name + ".gamma"] = g_new.gamma_reparam.init(gamma)
        # Quality levels: existing gains and priors kept; new levels extrapolated.
        lg, lig = sd["log_gain"], sd["log_inv_gain"]
        lg[:old_q], lig[:old_q] = old_sd["log_gain"], old_sd["log_inv_gain"]
        for q in range(old_q, a.num_q):
            lg[q] = 2 * lg[q - 1] - lg[q - 2]
            lig[q] = 2 * lig[q - 1] - lig[q - 2]
        for q in range(a.num_q):
            src = min(q, old_q - 1)
            for k, v in old_sd.items():
                pre = f"entropy_bottlenecks.{src}."
                if k.startswith(pre):
                    sd[f"entropy_bottlenecks.{q}." + k[len(pre):]] = v.clone()
        new.load_state_dict(sd)

        # Check: the widened model computes the old analysis (levels it shares).
        x = torch.rand(1, 3, 64, 96)
        err = (new.analysis(x) - old.analysis(x)).abs().max().item()
        print(f"max |Δy| after widening: {err:.2e}")
        assert err < 1e-4, err

    torch.save({"model": new.state_dict(), "step": ck["step"], "elapsed": ck.get("elapsed", 0.0),
                "args": {**ck.get("args", {}), "enc1": a.enc1, "enc2": a.enc2, "num_q": a.num_q,
                         "widened_from": a.src}}, a.dst)
    print(f"wrote {a.dst}: enc {e1_old}/{e2_old} → {a.enc1}/{a.enc2}, levels {old_q} → {a.num_q}, "
          f"params {sum(p.numel() for p in new.parameters())}")


if __name__ == "__main__":
    main()
