//! WebAssembly bindings of AuraLink AIC: thin wasm-bindgen wrappers over `aic-core`, with no
//! codec logic of their own.
//!
//! # Module Overview
//! For now: the lossless codec on RGBA frames and frame inspection. The neural codec on
//! WebGPU / CPU arrives with the browser SDK.

use aic_core::{CodecChoice, Decoder, Encoder, EncoderConfig, Frame, PixelFormat};
use wasm_bindgen::prelude::*;

/// Converts a core error to a JavaScript `Error` whose message starts with its stable code.
fn js_error(e: aic_core::Error) -> JsError {
    JsError::new(&format!("[{}] {e}", e.code()))
}

/// The AIC format version this build reads and writes.
#[wasm_bindgen(js_name = formatVersion)]
pub fn format_version() -> u8 {
    aic_core::wire::FORMAT_VERSION
}

/// Encodes an RGBA frame losslessly (zlib) into AIC frame bytes.
#[wasm_bindgen(js_name = encodeLossless)]
pub fn encode_lossless(
    rgba: &[u8],
    width: u32,
    height: u32,
    timestamp_us: u64,
) -> Result<Vec<u8>, JsError> {
    let frame = Frame::new(width, height, PixelFormat::Rgba8, rgba.to_vec()).map_err(js_error)?;
    let mut enc = Encoder::new(EncoderConfig {
        codec: CodecChoice::Zlib,
        ..Default::default()
    })
    .map_err(js_error)?;
    Ok(enc.encode(&frame, timestamp_us).map_err(js_error)?.bytes)
}

/// Decodes AIC frame bytes to pixels in the frame's own format (RGBA for frames from
/// [`encode_lossless`]).
#[wasm_bindgen(js_name = decodePixels)]
pub fn decode_pixels(bytes: &[u8]) -> Result<Vec<u8>, JsError> {
    Ok(Decoder::new()
        .decode(bytes)
        .map_err(js_error)?
        .frame
        .into_data())
}
