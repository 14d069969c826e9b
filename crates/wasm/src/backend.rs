//! Which Burn backend runs the model: the browser's WebGPU, or Burn's Flex CPU backend
//! (SIMD128). The npm package builds this crate twice: the CPU module (feature `cpu`) every
//! browser gets, and the WebGPU module (feature `webgpu`) fetched only where the browser has a
//! hardware adapter; a build with both (the default, for native checks) falls back from one
//! to the other. The weights are not in the module: JavaScript fetches the file once and
//! hands it over ([`set_weights`]). Each backend's device and model are made once per page (a
//! wgpu runtime cannot be initialised twice) and shared by every encoder and decoder.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use aic_core::codec::NeuralCodec;
use burn::tensor::Device;
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

#[cfg(not(any(feature = "cpu", feature = "webgpu")))]
compile_error!("build aic-wasm with feature `cpu`, `webgpu` or both");

use crate::error::{coded, js_error};

/// A backend the model can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// WebGPU through burn-wgpu.
    #[cfg(feature = "webgpu")]
    WebGpu,
    /// Burn's Flex backend on the CPU, one thread, SIMD128.
    #[cfg(feature = "cpu")]
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

/// The typed error for a backend another module holds.
#[cfg(not(all(feature = "cpu", feature = "webgpu")))]
fn not_in_module(backend: &str, module: &str) -> JsValue {
    coded(
        "unavailable",
        &format!("`{backend}` runs in the {module} module, and this is not it"),
    )
}

impl Request {
    /// Parses `auto`, `webgpu` or `cpu` (a backend this module was built without is the
    /// typed `unavailable` error).
    pub fn parse(s: &str) -> Result<Self, JsValue> {
        match s {
            "auto" => Ok(Request::Auto),
            #[cfg(feature = "webgpu")]
            "webgpu" => Ok(Request::Exactly(Backend::WebGpu)),
            #[cfg(not(feature = "webgpu"))]
            "webgpu" => Err(not_in_module(s, "WebGPU")),
            #[cfg(feature = "cpu")]
            "cpu" => Ok(Request::Exactly(Backend::Cpu)),
            #[cfg(not(feature = "cpu"))]
            "cpu" => Err(not_in_module(s, "CPU")),
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
            #[cfg(feature = "webgpu")]
            Backend::WebGpu => "webgpu",
            #[cfg(feature = "cpu")]
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

/// The weights file this module holds, hashed once (SHA-256 of 2.4 MB takes tens of ms in
/// wasm: `modelInfo` does not repeat it).
#[derive(Debug, Clone)]
pub struct Weights {
    /// The file.
    pub bytes: Rc<[u8]>,
    /// Its model id.
    pub model_id: u16,
    /// Its weights hash, as frame headers carry it.
    pub hash: u64,
}

thread_local! {
    static MODELS: RefCell<Vec<(Backend, Arc<NeuralCodec>)>> = const { RefCell::new(Vec::new()) };
    static WEIGHTS: RefCell<Option<Weights>> = const { RefCell::new(None) };
    /// Backends whose model is being loaded: a second caller waits for the first (a WebGPU
    /// device can be initialised only once: two at once fail with "a server is still
    /// registered", as when an app creates its encoder and decoder together).
    static LOADING: RefCell<Vec<Backend>> = const { RefCell::new(Vec::new()) };
}

/// How often a caller waiting for another's model load looks again, ms.
const LOAD_POLL_MS: i32 = 5;

/// Resolves after `ms` (the global `setTimeout`: page or Worker).
async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(f) => {
                let _ = f.call2(&JsValue::UNDEFINED, &resolve, &ms.into());
            }
            None => {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Takes the weights file (`aic-fp1h.safetensors`) for every model this module loads from now
/// on; returns its `(model id, weights hash)`. Bad bytes are the typed `parameter` error and
/// leave the weights held before in place.
pub fn set_weights(bytes: Vec<u8>) -> Result<(u16, u64), JsValue> {
    let (model_id, hash) = aic_core::model::weights::identify(&bytes).map_err(js_error)?;
    WEIGHTS.set(Some(Weights {
        bytes: bytes.into(),
        model_id,
        hash,
    }));
    // Models loaded from other weights are not reused.
    MODELS.with_borrow_mut(Vec::clear);
    Ok((model_id, hash))
}

/// The weights handed over by [`set_weights`].
pub fn weights() -> Result<Weights, JsValue> {
    WEIGHTS.with_borrow(Clone::clone).ok_or_else(|| {
        coded(
            "unavailable",
            "no weights: initAic() fetches them (or pass `weights` to it)",
        )
    })
}

/// Checks that `navigator.gpu` exists and gives an adapter, without touching wgpu (whose
/// initialisation must not be attempted where it cannot succeed).
#[cfg(feature = "webgpu")]
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
        #[cfg(feature = "cpu")]
        Backend::Cpu => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        Backend::NdArray => Ok(Device::ndarray()),
        #[cfg(feature = "webgpu")]
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

/// The model on `backend`, loaded from the weights on first use.
pub async fn model(backend: Backend) -> Result<Arc<NeuralCodec>, JsValue> {
    loop {
        let cached = MODELS.with_borrow(|m| m.iter().find(|(b, _)| *b == backend).cloned());
        if let Some((_, model)) = cached {
            return Ok(model);
        }
        if !LOADING.with_borrow(|l| l.contains(&backend)) {
            break;
        }
        // Another call is loading this backend: wait for it (if it fails, this one tries).
        sleep_ms(LOAD_POLL_MS).await;
    }
    LOADING.with_borrow_mut(|l| l.push(backend));
    let loaded = load_model(backend).await;
    LOADING.with_borrow_mut(|l| l.retain(|b| *b != backend));
    let model = loaded?;
    MODELS.with_borrow_mut(|m| m.push((backend, model.clone())));
    Ok(model)
}

/// Loads the model on `backend` and warms it up.
async fn load_model(backend: Backend) -> Result<Arc<NeuralCodec>, JsValue> {
    let device = device(backend)
        .await
        .map_err(|reason| coded("unavailable", &reason))?;
    let model = Arc::new(NeuralCodec::load(&weights()?.bytes, device).map_err(js_error)?);
    warm_up(&model).await?;
    Ok(model)
}

/// Side of the frame [`warm_up`] codes.
const WARM_UP_SIDE: u32 = 64;

/// Codes one small grey frame through the analysis and synthesis transforms while the model
/// loads, so the first real frame does not pay for one-time work: WebGPU compiles its shaders,
/// the CPU backend sets up its kernels. (The first frame of a larger size still grows the
/// wasm memory once: `docs/browser.md` gives first-frame times.)
async fn warm_up(model: &Arc<NeuralCodec>) -> Result<(), JsValue> {
    use aic_core::{CodecChoice, Decoder, Encoder, EncoderConfig, Frame, PixelFormat};
    let side = WARM_UP_SIDE;
    let grey = vec![128; (side * side * 3) as usize];
    let frame = Frame::new(side, side, PixelFormat::Rgb8, grey).map_err(js_error)?;
    let config = EncoderConfig {
        codec: CodecChoice::Neural,
        ..EncoderConfig::default()
    };
    let mut encoder = Encoder::with_neural(config, model.clone()).map_err(js_error)?;
    let coded = encoder.encode_async(&frame, 0).await.map_err(js_error)?;
    Decoder::with_neural(model.clone())
        .decode_async(&coded.bytes)
        .await
        .map_err(js_error)?;
    Ok(())
}

/// Loads the model for `request`: `auto` is this module's backend (the WebGPU module's
/// falls back to the CPU when it also holds the CPU backend).
pub async fn load(request: Request) -> Result<Loaded, JsValue> {
    match request {
        Request::Exactly(backend) => Ok(Loaded {
            backend,
            model: model(backend).await?,
            note: None,
        }),
        #[cfg(feature = "webgpu")]
        Request::Auto => match model(Backend::WebGpu).await {
            Ok(model) => Ok(Loaded {
                backend: Backend::WebGpu,
                model,
                note: None,
            }),
            #[cfg(feature = "cpu")]
            Err(e) => {
                let reason = String::from(e.unchecked_into::<js_sys::Error>().message());
                Ok(Loaded {
                    backend: Backend::Cpu,
                    model: model(Backend::Cpu).await?,
                    note: Some(reason),
                })
            }
            #[cfg(not(feature = "cpu"))]
            Err(e) => Err(e),
        },
        #[cfg(not(feature = "webgpu"))]
        Request::Auto => Ok(Loaded {
            backend: Backend::Cpu,
            model: model(Backend::Cpu).await?,
            note: None,
        }),
    }
}
