//! WebAssembly bindings of AuraLink AIC: thin wasm-bindgen wrappers over `aic-core`, with no
//! codec logic of their own. The npm package (`npm/`) wraps these classes in the public
//! JavaScript API (`AicEncoder`, `AicDecoder`, data-channel helpers).
//!
//! # Module Overview
//! - [`backend`]: picks WebGPU or the CPU (Flex) and loads the shipped model once per device.
//! - [`encoder`] / [`decoder`]: frames (RGBA) to AIC bytes and back, asynchronously.
//! - [`packets`]: the packetizer and reassembler for `RTCDataChannel` messages.
//! - [`feedback`]: feedback messages from a receiver and the bandwidth estimate they drive.
//! - [`error`]: core errors as JavaScript `Error`s with a stable `code`.
//!
//! Nothing here blocks: every read back from the GPU is awaited (`into_data_async`).

pub mod backend;
pub mod decoder;
pub mod encoder;
pub mod error;
pub mod feedback;
pub mod packets;

use wasm_bindgen::prelude::*;

/// The AIC format version this build reads and writes.
#[wasm_bindgen(js_name = formatVersion)]
pub fn format_version() -> u8 {
    aic_core::wire::FORMAT_VERSION
}

/// The shipped model's id and weights hash (16 hex digits), as AIC headers carry them.
#[wasm_bindgen(js_name = modelInfo)]
pub fn model_info() -> js_sys::Object {
    let hash = aic_core::model::weights::weights_hash(aic_core::model::weights::SHIPPED);
    error::object(&[
        ("modelId", aic_core::model::weights::MODEL_ID.into()),
        ("weightsHash", format!("{hash:016x}").into()),
    ])
}
