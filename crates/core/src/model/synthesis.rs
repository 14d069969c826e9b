//! The synthesis transform `g_s`: dequantized latent → frame.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{PixelShuffle, PixelShuffleConfig};
use burn::tensor::{Device, Tensor};

use super::ModelConfig;
use super::analysis::conv3x3;
use super::gdn::Gdn;
use super::winograd::Winograd3x3;
use crate::error::Result;

/// `Conv → PixelShuffle(2) → IGDN → Conv → PixelShuffle(2) → IGDN → Conv → PixelShuffle(4) + ½`.
#[derive(Module, Debug)]
pub struct Synthesis {
    conv1: Conv2d,
    shuffle2: PixelShuffle,
    igdn1: Gdn,
    conv2: Conv2d,
    igdn2: Gdn,
    conv3: Conv2d,
    shuffle4: PixelShuffle,
}

impl Synthesis {
    /// A transform of the configured sizes (weights are loaded after).
    pub fn new(config: &ModelConfig, device: &Device) -> Self {
        let (n, m) = (config.n, config.m);
        Synthesis {
            conv1: conv3x3(m, 4 * n, 1, device),
            shuffle2: PixelShuffleConfig::new(2).init(),
            igdn1: Gdn::new(n, true, device),
            conv2: conv3x3(n, 4 * n, 1, device),
            igdn2: Gdn::new(n, true, device),
            conv3: conv3x3(n, 48, 1, device),
            shuffle4: PixelShuffleConfig::new(4).init(),
        }
    }

    /// # Shapes
    /// - input: `[batch, m, height/16, width/16]`
    /// - output: `[batch, 3, height, width]`, not clamped
    pub fn forward(&self, y: Tensor<4>) -> Tensor<4> {
        let x = self
            .igdn1
            .forward(self.shuffle2.forward(self.conv1.forward(y))); // [b, n, h/8, w/8]
        let x = self
            .igdn2
            .forward(self.shuffle2.forward(self.conv2.forward(x))); // [b, n, h/4, w/4]
        self.shuffle4.forward(self.conv3.forward(x)).add_scalar(0.5) // [b, 3, h, w]
    }

    /// The three convolutions in Winograd form, for [`Synthesis::forward_winograd`].
    pub fn winograd(&self) -> Result<WinogradConvs> {
        let device = self.conv1.weight.device();
        Ok(WinogradConvs([
            Winograd3x3::from_conv(&self.conv1, &device)?,
            Winograd3x3::from_conv(&self.conv2, &device)?,
            Winograd3x3::from_conv(&self.conv3, &device)?,
        ]))
    }

    /// [`Synthesis::forward`] with the convolutions computed by Winograd F(4×4, 3×3): 4× fewer
    /// multiply-adds, the same result up to float rounding. CPU backends only.
    pub fn forward_winograd(&self, y: Tensor<4>, convs: &WinogradConvs) -> Result<Tensor<4>> {
        let [c1, c2, c3] = &convs.0;
        // Each convolution writes its output already pixel-shuffled (and the last adds ½).
        let x = self.igdn1.forward(c1.forward(y, 2, 0.0)?);
        let x = self.igdn2.forward(c2.forward(x, 2, 0.0)?);
        c3.forward(x, 4, 0.5)
    }
}

/// The synthesis transform's convolutions with pre-transformed kernels
/// ([`Synthesis::winograd`]).
#[derive(Debug, Clone)]
pub struct WinogradConvs([Winograd3x3; 3]);
