"""AuraLink AIC learned image codec: a small factorized-prior model with gain units.

Kept deliberately plain (Conv2d, PixelUnshuffle, PixelShuffle, GDN, elementwise ops)
so the Rust/Burn side can re-implement it exactly. Shapes for x: [B, 3, H, W], H, W % 16 == 0.

  g_a: x - 0.5 -> PixelUnshuffle(4) -> Conv(48->E1, 3, s2) -> GDN -> Conv(E1->E2, 3, s2) -> GDN
       -> Conv(E2->M, 3, s1) = y [M, H/16, W/16]      (E1 = E2 = N in aic-fp1; widen.py makes them wider)
  z = y * gain[q];  z_hat = quantize(z) (EntropyBottleneck #q);  y_hat = z_hat * inv_gain[q]
  g_s: y_hat -> Conv(M->4N) -> PixelShuffle(2) -> IGDN -> Conv(N->4N) -> PixelShuffle(2) -> IGDN
       -> Conv(N->48) -> PixelShuffle(4) -> + 0.5
All convs are 3x3, padding 1, with bias.
"""
import math

import torch
import torch.nn as nn
from compressai.entropy_models import EntropyBottleneck
from compressai.layers import GDN
from compressai.models import CompressionModel

# λ per quality level: CompressAI's six for its factorized qualities 1-6, then its quality-7 λ
# (aic-fp1 trains the first six; the seventh is for widen.py).
LAMBDAS = [0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932]


class AICModel(CompressionModel):
    def __init__(self, N=96, M=128, num_q=6, enc=None, gain_min=0.5, gain_max=2.5):
        super().__init__()
        E1, E2 = enc or (N, N)
        self.N, self.M, self.num_q, self.enc = N, M, num_q, (E1, E2)
        self.g_a = nn.Sequential(
            nn.PixelUnshuffle(4),
            nn.Conv2d(48, E1, 3, stride=2, padding=1),
            GDN(E1),
            nn.Conv2d(E1, E2, 3, stride=2, padding=1),
            GDN(E2),
            nn.Conv2d(E2, M, 3, stride=1, padding=1),
        )
        self.g_s = nn.Sequential(
            nn.Conv2d(M, 4 * N, 3, padding=1),
            nn.PixelShuffle(2),
            GDN(N, inverse=True),
            nn.Conv2d(N, 4 * N, 3, padding=1),
            nn.PixelShuffle(2),
            GDN(N, inverse=True),
            nn.Conv2d(N, 48, 3, padding=1),
            nn.PixelShuffle(4),
        )
        # Gain units (Cui et al. 2021): positive via exp(log_gain). Geometric init,
        # low q -> small gain -> coarse effective quantization.
        g = torch.exp(torch.linspace(math.log(gain_min), math.log(gain_max), num_q))
        self.log_gain = nn.Parameter(g.log()[:, None].repeat(1, M).contiguous())
        self.log_inv_gain = nn.Parameter((-g.log())[:, None].repeat(1, M).contiguous())
        self.entropy_bottlenecks = nn.ModuleList(EntropyBottleneck(M) for _ in range(num_q))

    @classmethod
    def from_state_dict(cls, sd):
        """A model of the sizes a state dict was saved with (widths, levels), loaded from it."""
        q_n, M = sd["log_gain"].shape
        model = cls(N=sd["g_s.2.beta"].shape[0], M=M, num_q=q_n,
                    enc=(sd["g_a.1.weight"].shape[0], sd["g_a.3.weight"].shape[0]))
        model.load_state_dict(sd)
        return model

    def gain(self, q):
        return torch.exp(self.log_gain[q])

    def inv_gain(self, q):
        return torch.exp(self.log_inv_gain[q])

    def analysis(self, x):
        return self.g_a(x - 0.5)

    def synthesis(self, y_hat):
        return self.g_s(y_hat) + 0.5

    def forward(self, x, q: int):
        y = self.analysis(x)
        z = y * self.gain(q)[None, :, None, None]
        z_hat, likelihoods = self.entropy_bottlenecks[q](z)
        y_hat = z_hat * self.inv_gain(q)[None, :, None, None]
        x_hat = self.synthesis(y_hat)
        return {"x_hat": x_hat, "likelihoods": likelihoods}

    @torch.no_grad()
    def compress(self, x, q: int):
        """Real bitstream (compressai rANS). Call self.update(force=True) first."""
        y = self.analysis(x)
        z = y * self.gain(q)[None, :, None, None]
        strings = self.entropy_bottlenecks[q].compress(z)
        return {"strings": strings, "shape": z.shape[-2:]}

    @torch.no_grad()
    def decompress(self, strings, shape, q: int):
        z_hat = self.entropy_bottlenecks[q].decompress(strings, shape)
        y_hat = z_hat * self.inv_gain(q)[None, :, None, None]
        return self.synthesis(y_hat).clamp(0, 1)


def macs_per_pixel(N=96, M=128, enc=None):
    E1, E2 = enc or (N, N)
    enc = 9 * 48 * E1 / 64 + E1 * E1 / 64 + 9 * E1 * E2 / 256 + E2 * E2 / 256 + 9 * E2 * M / 256
    dec = 9 * M * 4 * N / 256 + N * N / 64 + 9 * N * 4 * N / 64 + N * N / 16 + 9 * N * 48 / 16
    return enc, dec
