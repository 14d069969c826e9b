//! The neural codec's network (`docs/model.md`): analysis and synthesis transforms and the
//! per-quality gains. It only maps tensors to tensors; quantization, entropy coding and the
//! header live elsewhere.
//!
//! # Module Overview
//! - [`CodecModel`]: `analysis` (frame → latent), `gain`/`inv_gain` per quality level,
//!   `synthesis` (latent → frame). Backend-agnostic: the [`Device`] picks Flex, wgpu, WebGPU.
//! - [`weights`]: the shipped weights and their identity (model id, hash), and loading.
//! - [`Winograd3x3`]: the synthesis transform's convolutions by Winograd F(4×4, 3×3), used on
//!   the CPU backend ([`Synthesis::forward_winograd`]).

mod analysis;
mod gdn;
mod synthesis;
pub mod weights;
mod winograd;

pub use analysis::Analysis;
pub use gdn::Gdn;
pub use synthesis::{Synthesis, WinogradConvs};
pub use winograd::Winograd3x3;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// Sizes of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelConfig {
    /// Width of the hidden layers.
    pub n: usize,
    /// Latent channels.
    pub m: usize,
    /// Quality levels (gain vectors).
    pub levels: usize,
}

impl ModelConfig {
    /// Multiply-adds per input pixel of the analysis and of the synthesis transform
    /// (convolutions and GDN; `docs/model.md` tabulates them).
    pub fn macs_per_pixel(&self) -> (u64, u64) {
        let (n, m) = (self.n as u64, self.m as u64);
        let encode = 9 * 48 * n / 64 + n * n / 64 + 9 * n * n / 256 + n * n / 256 + 9 * n * m / 256;
        let decode =
            9 * m * 4 * n / 256 + n * n / 64 + 9 * n * 4 * n / 64 + n * n / 16 + 9 * n * 48 / 16;
        (encode, decode)
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            n: 96,
            m: 128,
            levels: 6,
        }
    }
}

/// The transforms and gains of the learned codec.
#[derive(Module, Debug)]
pub struct CodecModel {
    /// `g_a`: frame → latent.
    pub analysis: Analysis,
    /// `g_s`: latent → frame.
    pub synthesis: Synthesis,
    /// Per-level, per-channel gain applied to the latent before quantization, `[levels, m]`.
    pub gain: Param<Tensor<2>>,
    /// Per-level, per-channel gain applied after dequantization, `[levels, m]`.
    pub inv_gain: Param<Tensor<2>>,
}

impl CodecModel {
    /// A model of the given sizes with placeholder weights (load real ones with
    /// [`weights::load`]).
    pub fn new(config: &ModelConfig, device: &Device) -> Self {
        let ones = || Param::from_tensor(Tensor::<2>::ones([config.levels, config.m], device));
        CodecModel {
            analysis: Analysis::new(config, device),
            synthesis: Synthesis::new(config, device),
            gain: ones(),
            inv_gain: ones(),
        }
    }

    /// The scaled latent `z = g_a(x) · gain[level]`.
    ///
    /// # Shapes
    /// - input: `[batch, 3, height, width]` in `[0, 1]`, sides multiples of 16
    /// - output: `[batch, m, height/16, width/16]`
    pub fn encode_latent(&self, x: Tensor<4>, level: usize) -> Tensor<4> {
        let y = self.analysis.forward(x);
        y * Self::per_channel(&self.gain, level)
    }

    /// The reconstruction `g_s(ẑ · inv_gain[level])`, not clamped.
    ///
    /// # Shapes
    /// - input: `[batch, m, height/16, width/16]`
    /// - output: `[batch, 3, height, width]`
    pub fn decode_latent(&self, z_hat: Tensor<4>, level: usize) -> Tensor<4> {
        self.synthesis
            .forward(z_hat * Self::per_channel(&self.inv_gain, level))
    }

    /// Row `level` of a `[levels, m]` parameter, shaped `[1, m, 1, 1]` to broadcast.
    fn per_channel(p: &Param<Tensor<2>>, level: usize) -> Tensor<4> {
        let [_, m] = p.dims();
        p.val()
            .slice([level..level + 1, 0..m])
            .reshape([1, m, 1, 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_match_the_model_doc() {
        assert_eq!(ModelConfig::default().macs_per_pixel(), (1584, 10224));
    }
}
