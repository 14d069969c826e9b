#!/usr/bin/env python3
"""Train the AuraLink AIC codec on CPU (or GPU if present).

Example:
  .venv/bin/python train.py --name v1            # fresh run (or --resume to continue)
  .venv/bin/python train.py --name v1 --resume   # continue from runs/v1/ckpt.pt
Outputs in runs/<name>/: ckpt.pt (model+optimizers+step+rng), weights.pt (state_dict, fp32),
log.txt (training log), args.json.
"""
import argparse
import glob
import json
import math
import os
import random
import signal
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import LAMBDAS, AICModel  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning)
warnings.filterwarnings("ignore", category=FutureWarning)

DATA = os.environ.get("AIC_DATA", os.path.expanduser("~/.cache/aic-data"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="v1")
    p.add_argument("--data", default=DATA, help="dir with train/ and eval/ PNGs")
    p.add_argument("--resume", action="store_true", help="continue from runs/<name>/ckpt.pt if it exists")
    p.add_argument("--init", default=None,
                   help="start a new run from a committed weights-only checkpoint (checkpoints/*.pt: "
                        "model state + step; optimizers start fresh), e.g. on a new machine")
    p.add_argument("--N", type=int, default=96)
    p.add_argument("--M", type=int, default=128)
    p.add_argument("--enc1", type=int, default=0, help="analysis width at H/8 (0 = N; the widened experiment: 128)")
    p.add_argument("--enc2", type=int, default=0, help="analysis width at H/16 (0 = N; the widened experiment: 192)")
    p.add_argument("--num-q", type=int, default=6, help="quality levels: the first of LAMBDAS (the widened experiment: 7)")
    p.add_argument("--q-weights", default="",
                   help="comma-separated relative frequencies of the levels in training (default: uniform)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-4, help="learning rate until --lr-drop-step")
    p.add_argument("--lr-drop-step", type=int, default=150000, help="step at which lr becomes --lr2")
    p.add_argument("--lr2", type=float, default=1e-4)
    p.add_argument("--aux-lr", type=float, default=1e-3)
    p.add_argument("--clip", type=float, default=1.0, help="grad-norm clip (0 = off)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this step (0 = run forever)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=200)
    p.add_argument("--val-every", type=int, default=2000)
    p.add_argument("--ckpt-minutes", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


class Crops:
    """All training images preloaded as uint8 HWC arrays; random crops + flips."""

    def __init__(self, folder, crop, rng):
        files = sorted(glob.glob(os.path.join(folder, "*.png")))
        if not files:
            raise SystemExit(f"no PNGs in {folder}: run training/fetch_data.sh")
        self.imgs = []
        for f in files:
            a = np.asarray(Image.open(f).convert("RGB"))
            if min(a.shape[:2]) >= crop:
                self.imgs.append(a)
        self.crop, self.rng = crop, rng

    def batch(self, n):
        c = self.crop
        out = np.empty((n, c, c, 3), np.uint8)
        for i in range(n):
            a = self.imgs[self.rng.integers(len(self.imgs))]
            y = self.rng.integers(a.shape[0] - c + 1)
            x = self.rng.integers(a.shape[1] - c + 1)
            p = a[y:y + c, x:x + c]
            if self.rng.random() < 0.5:
                p = p[:, ::-1]
            if self.rng.random() < 0.5:
                p = p[::-1]
            out[i] = p
        return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)


def load_eval(folder, n=4):
    files = sorted(glob.glob(os.path.join(folder, "*.png")))
    if not files:
        return []
    idx = np.linspace(0, len(files) - 1, n).round().astype(int)
    out = []
    for i in sorted(set(idx.tolist())):
        a = np.asarray(Image.open(files[i]).convert("RGB"))
        out.append((os.path.basename(files[i]), torch.from_numpy(a.copy()).permute(2, 0, 1).float().div(255)[None]))
    return out


def psnr(mse):
    return 10 * math.log10(1.0 / max(mse, 1e-12))


@torch.no_grad()
def validate(model, evals, qs=(1, 4)):
    """Real bitstreams via compressai's rANS coder on a few held-out images."""
    model.eval()
    model.update(force=True)
    res = {}
    for q in qs:
        bits, pix, se = 0, 0, 0.0
        for _, x in evals:
            H, W = x.shape[-2:]
            ph, pw = (-H) % 16, (-W) % 16
            xp = F.pad(x, (0, pw, 0, ph), mode="replicate")
            c = model.compress(xp, q)
            xh = model.decompress(c["strings"], c["shape"], q)[..., :H, :W]
            xh = (xh * 255).round() / 255
            bits += sum(len(s) for s in c["strings"]) * 8
            pix += H * W
            se += F.mse_loss(xh, x, reduction="sum").item() / 3
        res[q] = (bits / pix, psnr(se / pix))
    model.train()
    return res


def lr_at(args, step):
    return args.lr if step < args.lr_drop_step else args.lr2


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    run = os.path.join(HERE, "runs", args.name)
    os.makedirs(run, exist_ok=True)
    ckpt_path = os.path.join(run, "ckpt.pt")
    logf = open(os.path.join(run, "log.txt"), "a", buffering=1)

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    np_rng = np.random.default_rng(args.seed)

    model = AICModel(N=args.N, M=args.M, num_q=args.num_q,
                     enc=(args.enc1 or args.N, args.enc2 or args.N)).to(dev)
    lambdas = LAMBDAS[:args.num_q]
    q_p = np.array([float(w) for w in args.q_weights.split(",")] if args.q_weights else [1.0] * args.num_q)
    if len(q_p) != args.num_q or (q_p <= 0).any():
        raise SystemExit(f"--q-weights needs {args.num_q} positive numbers")
    q_p = q_p / q_p.sum()
    main_params = [p for n, p in model.named_parameters() if not n.endswith(".quantiles")]
    aux_params = [p for n, p in model.named_parameters() if n.endswith(".quantiles")]
    opt = torch.optim.Adam(main_params, lr=args.lr)
    aux_opt = torch.optim.Adam(aux_params, lr=args.aux_lr)
    step, elapsed_before = 0, 0.0

    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=dev, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        aux_opt.load_state_dict(ck["aux_opt"])
        step, elapsed_before = ck["step"], ck.get("elapsed", 0.0)
        torch.set_rng_state(ck["rng"]["torch"])
        random.setstate(ck["rng"]["python"])
        np_rng.bit_generator.state = ck["rng"]["numpy"]
        log(f"# resumed from {ckpt_path} at step {step}")
    elif os.path.exists(ckpt_path):
        raise SystemExit(f"{ckpt_path} exists: pass --resume (or use another --name)")
    elif args.init:
        ck = torch.load(args.init, map_location=dev, weights_only=False)
        model.load_state_dict(ck["model"])
        step, elapsed_before = ck["step"], ck.get("elapsed", 0.0)
        log(f"# initialised from {args.init} at step {step} (fresh optimizers)")

    with open(os.path.join(run, "args.json"), "w") as f:
        json.dump(vars(args), f, indent=1)

    data = Crops(os.path.join(args.data, "train"), args.crop, np_rng)
    evals = load_eval(os.path.join(args.data, "eval"))
    log(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} run={args.name} device={dev} threads={args.threads} "
        f"train_imgs={len(data.imgs)} eval_imgs={len(evals)} params={sum(p.numel() for p in model.parameters())} "
        f"args={json.dumps(vars(args))}")

    def save():
        sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        ck = {
            "model": sd, "opt": opt.state_dict(), "aux_opt": aux_opt.state_dict(), "step": step,
            "elapsed": elapsed_before + time.time() - t0, "args": vars(args),
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                    "numpy": np_rng.bit_generator.state},
        }
        tmp = ckpt_path + ".tmp"
        torch.save(ck, tmp)
        os.replace(tmp, ckpt_path)
        w = {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}
        wpath = os.path.join(run, "weights.pt")
        torch.save(w, wpath + ".tmp")
        os.replace(wpath + ".tmp", wpath)

    stop = {"sig": None}

    def on_signal(signum, frame):
        stop["sig"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    t0 = time.time()
    last_ckpt = time.time()
    acc = {"loss": 0.0, "mse": 0.0, "bpp": 0.0, "aux": 0.0, "n": 0, "t": time.time()}
    per_q = [[0.0, 0.0, 0] for _ in lambdas]  # mse, bpp, n
    model.train()
    while True:
        if args.max_steps and step >= args.max_steps:
            break
        lr = lr_at(args, step)
        for g in opt.param_groups:
            g["lr"] = lr
        q = int(np_rng.choice(len(lambdas), p=q_p)) if args.q_weights else int(np_rng.integers(len(lambdas)))
        x = data.batch(args.batch).to(dev)
        out = model(x, q)
        num_pixels = x.shape[0] * x.shape[2] * x.shape[3]
        bpp = torch.log(out["likelihoods"]).sum() / (-math.log(2) * num_pixels)
        mse = F.mse_loss(out["x_hat"], x)
        loss = lambdas[q] * 255 ** 2 * mse + bpp
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(main_params, args.clip)
        opt.step()
        aux = model.aux_loss()
        aux_opt.zero_grad(set_to_none=True)
        aux.backward()
        aux_opt.step()
        step += 1

        acc["loss"] += loss.item(); acc["mse"] += mse.item(); acc["bpp"] += bpp.item()
        acc["aux"] += aux.item(); acc["n"] += 1
        per_q[q][0] += mse.item(); per_q[q][1] += bpp.item(); per_q[q][2] += 1

        if step % args.log_every == 0:
            n = acc["n"]
            el = elapsed_before + time.time() - t0
            qs = " ".join(f"q{i}:{psnr(m / c):.2f}dB/{b / c:.3f}" for i, (m, b, c) in enumerate(per_q) if c)
            log(f"step {step} elapsed {el / 60:.1f}min lr {lr:.1e} q {q} loss {acc['loss'] / n:.4f} "
                f"psnr {psnr(acc['mse'] / n):.2f} bpp {acc['bpp'] / n:.4f} aux {acc['aux'] / n:.1f} "
                f"steps/s {n / (time.time() - acc['t']):.2f} | {qs}")
            acc = {"loss": 0.0, "mse": 0.0, "bpp": 0.0, "aux": 0.0, "n": 0, "t": time.time()}
            per_q = [[0.0, 0.0, 0] for _ in lambdas]

        if args.val_every and step % args.val_every == 0 and evals:
            tv = time.time()
            res = validate(model, evals, qs=sorted({1, 4, model.num_q - 1}))
            log(f"val step {step} " + " ".join(f"q{q}: {b:.3f}bpp {p:.2f}dB" for q, (b, p) in res.items())
                + f" ({time.time() - tv:.1f}s, {len(evals)} eval imgs, real bitstreams)")
            acc["t"] += time.time() - tv  # keep validation time out of steps/s

        if time.time() - last_ckpt > args.ckpt_minutes * 60:
            save(); last_ckpt = time.time()
            log(f"# checkpoint step {step}")
        if stop["sig"] is not None:
            save()
            log(f"# signal {stop['sig']}: checkpoint saved at step {step}, exiting")
            return
    save()
    log(f"# done: max steps {step} reached, checkpoint saved")


if __name__ == "__main__":
    main()
