//! The synthesis transform `g_s`: dequantized latent → frame.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{PixelShuffle, PixelShuffleConfig};
use burn::tensor::{Device, Tensor};

use super::ModelConfig;
use super::analysis::conv3x3;
use super::gdn::Gdn;

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
}
