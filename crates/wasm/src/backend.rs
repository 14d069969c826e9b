//! Which Burn backend runs the model: the browser's WebGPU, or Burn's Flex CPU backend
//! (SIMD128) where WebGPU is missing. Each backend's device and model are made once per page
//! (a wgpu runtime cannot be initialised twice) and shared by every encoder and decoder.

use std::cell::RefCell;
use std::sync::Arc;

use aic_core::codec::NeuralCodec;
use burn::tensor::Device;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::{coded, js_error};

/// A backend the model can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// WebGPU through burn-wgpu.
    WebGpu,
    /// Burn's Flex backend on the CPU, one thread, SIMD128.
    Cpu,
    /// Burn's NdArray backend on the CPU (measurement builds only: feature `ndarray`).
    #[cfg(feature = "ndarray")]
    NdArray,
}

/// What the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// WebGPU when the environment has an adapter, else the CPU.
    Auto,
    /// Exactly this backend, or an error.
    Exactly(Backend),
}

impl Request {
    /// Parses `auto`, `webgpu` or `cpu`.
    pub fn parse(s: &str) -> Result<Self, JsValue> {
        match s {
            "auto" => Ok(Request::Auto),
            "webgpu" => Ok(Request::Exactly(Backend::WebGpu)),
            "cpu" => Ok(Request::Exactly(Backend::Cpu)),
            #[cfg(feature = "ndarray")]
            "ndarray" => Ok(Request::Exactly(Backend::NdArray)),
            _ => Err(coded(
                "parameter",
                &format!("unknown backend `{s}`: use \"auto\", \"webgpu\" or \"cpu\""),
            )),
        }
    }
}

impl Backend {
    /// `webgpu` or `cpu`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::WebGpu => "webgpu",
            Backend::Cpu => "cpu",
            #[cfg(feature = "ndarray")]
            Backend::NdArray => "ndarray",
        }
    }
}

/// A loaded model and the backend it runs on; `note` says why `auto` did not get WebGPU.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The backend.
    pub backend: Backend,
    /// The shipped model on that backend.
    pub model: Arc<NeuralCodec>,
    /// Why `auto` fell back to the CPU, if it did.
    pub note: Option<String>,
}

thread_local! {
    static MODELS: RefCell<Vec<(Backend, Arc<NeuralCodec>)>> = const { RefCell::new(Vec::new()) };
}

/// Checks that `navigator.gpu` exists and gives an adapter, without touching wgpu (whose
/// initialisation must not be attempted where it cannot succeed).
async fn webgpu_adapter() -> Result<(), String> {
    let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).unwrap_or_default();
    let gpu = get(&get(&js_sys::global().into(), "navigator"), "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("navigator.gpu is missing (no WebGPU in this environment)".into());
    }
    let request = get(&gpu, "requestAdapter")
        .dyn_into::<js_sys::Function>()
        .map_err(|_| "navigator.gpu.requestAdapter is not a function".to_string())?;
    let promise = request
        .call0(&gpu)
        .map_err(|e| format!("requestAdapter threw: {e:?}"))?;
    let adapter = JsFuture::from(js_sys::Promise::resolve(&promise))
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("navigator.gpu.requestAdapter() gave no adapter".into());
    }
    Ok(())
}

async fn device(backend: Backend) -> Result<Device, String> {
    match backend {
        Backend::Cpu => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        Backend::NdArray => Ok(Device::ndarray()),
        Backend::WebGpu => {
            webgpu_adapter().await?;
            Device::wgpu_options()
                .graphics_api(burn::tensor::wgpu::WgpuBackend::WebGpu)
                .init_async()
                .await
                .map_err(|e| format!("WebGPU device: {e}"))
        }
    }
}

/// The shipped model on `backend`, loaded on first use.
pub async fn model(backend: Backend) -> Result<Arc<NeuralCodec>, JsValue> {
    let cached = MODELS.with_borrow(|m| m.iter().find(|(b, _)| *b == backend).cloned());
    if let Some((_, model)) = cached {
        return Ok(model);
    }
    let device = device(backend)
        .await
        .map_err(|reason| coded("unavailable", &reason))?;
    let model = Arc::new(NeuralCodec::shipped(device).map_err(js_error)?);
    Ok(MODELS.with_borrow_mut(|m| {
        // Another call may have finished loading while this one awaited: keep the first.
        if let Some((_, first)) = m.iter().find(|(b, _)| *b == backend) {
            return first.clone();
        }
        m.push((backend, model.clone()));
        model
    }))
}

/// Loads the model for `request`: `auto` tries WebGPU and falls back to the CPU.
pub async fn load(request: Request) -> Result<Loaded, JsValue> {
    match request {
        Request::Exactly(backend) => Ok(Loaded {
            backend,
            model: model(backend).await?,
            note: None,
        }),
        Request::Auto => match model(Backend::WebGpu).await {
            Ok(model) => Ok(Loaded {
                backend: Backend::WebGpu,
                model,
                note: None,
            }),
            Err(e) => {
                let reason = String::from(e.unchecked_into::<js_sys::Error>().message());
                Ok(Loaded {
                    backend: Backend::Cpu,
                    model: model(Backend::Cpu).await?,
                    note: Some(reason),
                })
            }
        },
    }
}
