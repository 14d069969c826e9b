//! AIC frame bytes to RGBA pixels. A frame that fails to decode leaves the decoder ready for
//! the next one.

use std::cell::RefCell;
use std::rc::Rc;

use aic_core::Decoder;
use aic_core::color::to_rgba8;
use wasm_bindgen::prelude::*;

use crate::backend::{self, Request};
use crate::error::{busy, js_error, object};

/// A decoder of AIC frames of every codec (neural, zlib, raw).
#[wasm_bindgen]
pub struct WasmDecoder {
    /// `None` while a call is using it (taken out, so no borrow is held across an await).
    inner: Rc<RefCell<Option<Decoder>>>,
    backend: &'static str,
    backend_note: Option<String>,
}

#[wasm_bindgen]
impl WasmDecoder {
    /// Creates a decoder whose model runs on `backend`: `auto`, `webgpu` or `cpu`.
    pub async fn create(backend: String) -> Result<WasmDecoder, JsValue> {
        let loaded = backend::load(Request::parse(&backend)?).await?;
        Ok(WasmDecoder {
            inner: Rc::new(RefCell::new(Some(Decoder::with_neural(loaded.model)))),
            backend: loaded.backend.name(),
            backend_note: loaded.note,
        })
    }

    /// The backend the model runs on: `webgpu` or `cpu`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.into()
    }

    /// Why `auto` did not get WebGPU, if it did not.
    #[wasm_bindgen(getter, js_name = backendNote)]
    pub fn backend_note(&self) -> Option<String> {
        self.backend_note.clone()
    }

    /// Decodes one AIC frame: resolves to `{ data (RGBA Uint8ClampedArray), width, height,
    /// codec, quality, seq, timestampUs }`. Rejects with a coded `Error` on bad bytes.
    pub fn decode(&self, bytes: Vec<u8>) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let Some(mut dec) = inner.borrow_mut().take() else {
                return Err(busy("decoder"));
            };
            let result = dec.decode_async(&bytes).await;
            *inner.borrow_mut() = Some(dec);
            let decoded = result.map_err(js_error)?;
            let h = decoded.header;
            let rgba = to_rgba8(&decoded.frame);
            Ok(object(&[
                ("data", js_sys::Uint8ClampedArray::from(rgba.data()).into()),
                ("width", h.width.into()),
                ("height", h.height.into()),
                ("codec", h.codec.name().into()),
                ("quality", h.quality_level().into()),
                ("kind", h.kind.name().into()),
                (
                    "updatedFraction",
                    decoded
                        .updated_fraction
                        .map_or(JsValue::UNDEFINED, JsValue::from),
                ),
                ("seq", h.seq.into()),
                ("timestampUs", (h.timestamp_us as f64).into()),
            ])
            .into())
        })
    }

    /// Entropy-decodes a neural frame without synthesis: `{ symbols, crc32 }` (the latent's
    /// symbol count and CRC-32, as `aic info --latents` prints them), or `undefined` for a
    /// lossless frame. Compares latents across platforms.
    pub fn latents(&self, bytes: &[u8]) -> Result<JsValue, JsValue> {
        let inner = self.inner.borrow();
        let dec = inner.as_ref().ok_or_else(|| busy("decoder"))?;
        Ok(match dec.latent(bytes).map_err(js_error)? {
            Some(l) => object(&[
                ("symbols", l.symbols.len().into()),
                ("crc32", format!("{:08x}", l.checksum()).into()),
            ])
            .into(),
            None => JsValue::UNDEFINED,
        })
    }
}
