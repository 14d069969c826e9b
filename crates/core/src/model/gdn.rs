//! GDN and inverse GDN (Ballé et al. 2016): divisive normalization across channels.

use burn::module::{Module, Param};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};

/// Generalized divisive normalization: `y_i = x_i / sqrt(β_i + Σ_j γ_ij x_j²)`, or, inverted,
/// `y_i = x_i · sqrt(β_i + Σ_j γ_ij x_j²)`. The sum is a 1×1 convolution of `x²`.
#[derive(Module, Debug)]
pub struct Gdn {
    /// β, one per channel (effective value, > 0).
    pub beta: Param<Tensor<1>>,
    /// γ, `[channels, channels]` (effective value, ≥ 0).
    pub gamma: Param<Tensor<2>>,
    /// Multiply instead of divide (IGDN, used by the synthesis transform).
    pub inverse: bool,
}

impl Gdn {
    /// A GDN layer of `channels` channels with β = 1, γ = 0.1·I (weights are loaded after).
    pub fn new(channels: usize, inverse: bool, device: &Device) -> Self {
        let beta = Tensor::<1>::ones([channels], device);
        let gamma = Tensor::<2>::eye(channels, device).mul_scalar(0.1);
        Gdn {
            beta: Param::from_tensor(beta),
            gamma: Param::from_tensor(gamma),
            inverse,
        }
    }

    /// # Shapes
    /// - input and output: `[batch, channels, height, width]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [c, _] = self.gamma.dims();
        let weight = self.gamma.val().reshape([c, c, 1, 1]);
        let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
        let norm = conv2d(
            x.clone().powi_scalar(2),
            weight,
            Some(self.beta.val()),
            options,
        )
        .sqrt();
        if self.inverse { x * norm } else { x / norm }
    }
}
