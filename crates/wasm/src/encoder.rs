//! Frames (RGBA pixels) to AIC frame bytes, on the backend the encoder was created with.

use std::cell::RefCell;
use std::rc::Rc;

use aic_core::{CodecChoice, Encoder, EncoderConfig, Frame, PixelFormat};
use wasm_bindgen::prelude::*;

use crate::backend::{self, Request};
use crate::error::{busy, coded, js_error, object};

/// What the last `encode` produced (exposed as `lastFrame`).
#[derive(Debug, Clone, Default)]
struct Last {
    codec: &'static str,
    quality: u8,
    fallback_reason: Option<String>,
}

/// An encoder of RGBA frames: the neural codec (or, with `codec: "auto"`, the zlib fallback
/// when the neural codec cannot serve, with a reason), numbering frames in sequence.
#[wasm_bindgen]
pub struct WasmEncoder {
    /// `None` while a call is using it (taken out, so no borrow is held across an await).
    inner: Rc<RefCell<Option<Encoder>>>,
    last: Rc<RefCell<Last>>,
    backend: &'static str,
    backend_note: Option<String>,
}

#[wasm_bindgen]
impl WasmEncoder {
    /// Creates an encoder. `backend`: `auto`, `webgpu` or `cpu`; `codec`: `auto`, `neural`
    /// or `zlib`; `quality`: the neural level (1..=levels).
    pub async fn create(
        backend: String,
        codec: String,
        quality: u8,
    ) -> Result<WasmEncoder, JsValue> {
        let request = Request::parse(&backend)?;
        let choice = CodecChoice::parse(&codec).ok_or_else(|| {
            coded(
                "parameter",
                &format!("unknown codec `{codec}`: use \"auto\", \"neural\" or \"zlib\""),
            )
        })?;
        let config = EncoderConfig {
            codec: choice,
            quality,
            ..EncoderConfig::default()
        };
        let (encoder, backend, note) = if choice == CodecChoice::Zlib {
            (Encoder::new(config).map_err(js_error)?, "none", None)
        } else {
            let loaded = backend::load(request).await?;
            (
                Encoder::with_neural(config, loaded.model).map_err(js_error)?,
                loaded.backend.name(),
                loaded.note,
            )
        };
        Ok(WasmEncoder {
            inner: Rc::new(RefCell::new(Some(encoder))),
            last: Rc::default(),
            backend,
            backend_note: note,
        })
    }

    /// The backend the model runs on: `webgpu`, `cpu`, or `none` for a zlib-only encoder.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.into()
    }

    /// Why `auto` did not get WebGPU, if it did not.
    #[wasm_bindgen(getter, js_name = backendNote)]
    pub fn backend_note(&self) -> Option<String> {
        self.backend_note.clone()
    }

    /// Encodes `width`×`height` RGBA pixels taken at `timestamp_us`: resolves to the AIC
    /// frame bytes. Rejects with a coded `Error` on bad input; the encoder stays usable.
    pub fn encode(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        timestamp_us: f64,
    ) -> js_sys::Promise {
        let (inner, last) = (self.inner.clone(), self.last.clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let frame = Frame::new(width, height, PixelFormat::Rgba8, rgba).map_err(js_error)?;
            let Some(mut enc) = inner.borrow_mut().take() else {
                return Err(busy("encoder"));
            };
            let result = enc.encode_async(&frame, timestamp_us.max(0.0) as u64).await;
            *inner.borrow_mut() = Some(enc);
            let encoded = result.map_err(js_error)?;
            *last.borrow_mut() = Last {
                codec: encoded.header.codec.name(),
                quality: encoded.header.quality,
                fallback_reason: encoded.fallback_reason,
            };
            Ok(js_sys::Uint8Array::from(encoded.bytes.as_slice()).into())
        })
    }

    /// `{ codec, quality, fallbackReason }` of the last encoded frame.
    #[wasm_bindgen(getter, js_name = lastFrame)]
    pub fn last_frame(&self) -> js_sys::Object {
        let last = self.last.borrow();
        object(&[
            ("codec", last.codec.into()),
            ("quality", last.quality.into()),
            ("fallbackReason", last.fallback_reason.clone().into()),
        ])
    }
}
