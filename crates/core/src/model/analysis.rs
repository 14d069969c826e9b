//! The analysis transform `g_a`: frame → latent `y` at 1/16 resolution.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{PaddingConfig2d, PixelUnshuffle, PixelUnshuffleConfig};
use burn::tensor::{Device, Tensor};

use super::ModelConfig;
use super::gdn::Gdn;

/// A 3×3 convolution with padding 1 and bias.
pub(crate) fn conv3x3(input: usize, output: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([input, output], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

/// `x − ½ → PixelUnshuffle(4) → Conv s2 → GDN → Conv s2 → GDN → Conv`.
#[derive(Module, Debug)]
pub struct Analysis {
    unshuffle: PixelUnshuffle,
    conv1: Conv2d,
    gdn1: Gdn,
    conv2: Conv2d,
    gdn2: Gdn,
    conv3: Conv2d,
}

impl Analysis {
    /// A transform of the configured sizes (weights are loaded after).
    pub fn new(config: &ModelConfig, device: &Device) -> Self {
        let (n, m) = (config.n, config.m);
        Analysis {
            unshuffle: PixelUnshuffleConfig::new(4).init(),
            conv1: conv3x3(48, n, 2, device),
            gdn1: Gdn::new(n, false, device),
            conv2: conv3x3(n, n, 2, device),
            gdn2: Gdn::new(n, false, device),
            conv3: conv3x3(n, m, 1, device),
        }
    }

    /// # Shapes
    /// - input: `[batch, 3, height, width]` in `[0, 1]`, sides multiples of 16
    /// - output: `[batch, m, height/16, width/16]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.unshuffle.forward(x.sub_scalar(0.5)); // [b, 48, h/4, w/4]
        let x = self.gdn1.forward(self.conv1.forward(x)); // [b, n, h/8, w/8]
        let x = self.gdn2.forward(self.conv2.forward(x)); // [b, n, h/16, w/16]
        self.conv3.forward(x) // [b, m, h/16, w/16]
    }
}
