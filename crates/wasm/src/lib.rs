//! WebAssembly bindings of AuraLink AIC: thin wasm-bindgen wrappers over `aic-core`, with no
//! codec logic of their own. The npm package (`npm/`) wraps these classes in the public
//! JavaScript API (`AicEncoder`, `AicDecoder`, data-channel helpers).
//!
//! # Module Overview
//! - [`backend`]: the module's backend (CPU/Flex or WebGPU, by feature) and the weights JS
//!   hands over; loads the model once per device.
//! - [`encoder`] / [`decoder`]: frames (RGBA) to AIC bytes and back, asynchronously.
//! - [`packets`]: the packetizer and reassembler for `RTCDataChannel` messages.
//! - [`feedback`]: feedback messages from a receiver and the bandwidth estimate they drive.
//! - `receiver` (CPU module): the core's live-video receiver (loss, key-frame requests,
//!   deadline, reports).
//! - [`sender`]: the core's live-video sender (rate control, pacing with rollback, key-frame
//!   requests, the bandwidth estimate, the latency budget), on either backend.
//! - [`error`]: core errors as JavaScript `Error`s with a stable `code`.
//!
//! Nothing here blocks: every read back from the GPU is awaited (`into_data_async`).

pub mod backend;
pub mod decoder;
pub mod encoder;
pub mod error;
pub mod feedback;
pub mod packets;
#[cfg(feature = "cpu")]
pub mod receiver;
pub mod sender;

use wasm_bindgen::prelude::*;

/// Starts the rayon pool of `n` Web Workers (threaded CPU module only; `initThreadPool` in JS).
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

/// The AIC format version this build reads and writes.
#[wasm_bindgen(js_name = formatVersion)]
pub fn format_version() -> u8 {
    aic_core::wire::FORMAT_VERSION
}

/// Hands this module the weights file (`aic-fp1h.safetensors`, fetched by `initAic`); every
/// model loaded afterwards uses it. Returns its `modelInfo`; bad bytes reject with a coded
/// `Error` and change nothing.
#[wasm_bindgen(js_name = setWeights)]
pub fn set_weights(bytes: Vec<u8>) -> Result<js_sys::Object, JsValue> {
    backend::set_weights(bytes)?;
    model_info()
}

/// The model id and weights hash (16 hex digits) of the weights this module holds, as AIC
/// headers carry them.
#[wasm_bindgen(js_name = modelInfo)]
pub fn model_info() -> Result<js_sys::Object, JsValue> {
    let w = backend::weights()?;
    Ok(error::object(&[
        ("modelId", w.model_id.into()),
        ("weightsHash", format!("{:016x}", w.hash).into()),
    ]))
}

/// The backends this module was built with: `["cpu"]`, `["webgpu"]` or both.
#[wasm_bindgen]
pub fn backends() -> js_sys::Array {
    let mut names = Vec::new();
    if cfg!(feature = "cpu") {
        names.push("cpu");
    }
    if cfg!(feature = "webgpu") {
        names.push("webgpu");
    }
    names.into_iter().map(JsValue::from).collect()
}
