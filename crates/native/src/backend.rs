//! Which Burn backend runs the neural codec: `flex` (CPU, the default), `wgpu` (GPU), or
//! `ndarray` (CPU, only in builds with the `ndarray` feature, to measure it against Flex).

use std::sync::Arc;

use aic_core::codec::NeuralCodec;
use burn::tensor::Device;

/// A backend the `aic` command line can run the model on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Burn's Flex CPU backend (SIMD, threads).
    #[default]
    Flex,
    /// Burn's wgpu backend on Vulkan (any GPU, or a software driver such as lavapipe).
    Wgpu,
    /// Burn's NdArray CPU backend (feature `ndarray`; slower than Flex, kept for measuring).
    NdArray,
}

impl Backend {
    /// Parses `flex` (also `cpu`), `wgpu` or `ndarray`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "flex" | "cpu" => Some(Backend::Flex),
            "wgpu" => Some(Backend::Wgpu),
            "ndarray" => Some(Backend::NdArray),
            _ => None,
        }
    }

    /// `flex`, `wgpu` or `ndarray`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
            Backend::NdArray => "ndarray",
        }
    }

    /// The Burn device of this backend, or why there is none.
    pub fn device(self) -> Result<Device, String> {
        match self {
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Device::wgpu_options()
                .device_kind(burn::tensor::DeviceKind::DefaultDevice)
                .graphics_api(burn::tensor::wgpu::WgpuBackend::Vulkan)
                .init()
                .map_err(|e| format!("no wgpu device: {e}")),
            #[cfg(not(feature = "wgpu"))]
            Backend::Wgpu => Err("this build has no wgpu backend (feature `wgpu`)".into()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            Backend::NdArray => Ok(Device::ndarray()),
            #[cfg(not(feature = "ndarray"))]
            Backend::NdArray => Err("this build has no ndarray backend (feature `ndarray`)".into()),
        }
    }

    /// Loads the shipped model on this backend.
    pub fn load_model(self) -> Result<Arc<NeuralCodec>, String> {
        let device = self.device()?;
        NeuralCodec::shipped(device)
            .map(Arc::new)
            .map_err(|e| format!("the shipped model does not load: {e}"))
    }
}
