//! Frames (RGBA pixels) to AIC frame bytes, on the backend the encoder was created with.

use std::cell::RefCell;
use std::rc::Rc;

use std::sync::Arc;

use aic_core::codec::NeuralCodec;
use aic_core::rate::RateTarget;
use aic_core::sequence::{VideoConfig, VideoEncoder};
use aic_core::{CodecChoice, Encoder, EncoderConfig, Frame, PixelFormat};
use wasm_bindgen::prelude::*;

use crate::backend::{self, Request};
use crate::error::{busy, coded, js_error, object};

/// What the last `encode` produced (exposed as `lastFrame`).
#[derive(Debug, Clone, Default)]
struct Last {
    codec: &'static str,
    quality: f64,
    fallback_reason: Option<String>,
    kind: &'static str,
    updated_fraction: Option<f64>,
}

/// The image encoder (every frame a key frame), and the video encoder once a target bitrate
/// is set (key and delta frames under rate control).
struct Codecs {
    image: Encoder,
    video: Option<VideoEncoder>,
    /// The video encoder as it was before its last frame, and that frame's capture time (for
    /// `dropLastFrame`).
    before: Option<(VideoEncoder, u64)>,
    model: Option<Arc<NeuralCodec>>,
}

/// An encoder of RGBA frames: the neural codec (or, with `codec: "auto"`, the zlib fallback
/// when the neural codec cannot serve, with a reason), numbering frames in sequence.
#[wasm_bindgen]
pub struct WasmEncoder {
    /// `None` while a call is using it (taken out, so no borrow is held across an await).
    inner: Rc<RefCell<Option<Codecs>>>,
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
        let (encoder, model, backend, note) = if choice == CodecChoice::Zlib {
            (Encoder::new(config).map_err(js_error)?, None, "none", None)
        } else {
            let loaded = backend::load(request).await?;
            (
                Encoder::with_neural(config, loaded.model.clone()).map_err(js_error)?,
                Some(loaded.model),
                loaded.backend.name(),
                loaded.note,
            )
        };
        let codecs = Codecs {
            image: encoder,
            video: None,
            before: None,
            model,
        };
        Ok(WasmEncoder {
            inner: Rc::new(RefCell::new(Some(codecs))),
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
            let ts = timestamp_us.max(0.0) as u64;
            let snapshot = enc.video.clone();
            let result = match enc.video.as_mut() {
                Some(video) => video.encode_async(&frame, ts).await.map(|e| {
                    let l = Last {
                        codec: e.header.codec.name(),
                        quality: e.header.quality_level(),
                        fallback_reason: None,
                        kind: e.header.kind.name(),
                        updated_fraction: Some(e.stats.updated_fraction),
                    };
                    (e.bytes, l)
                }),
                None => enc.image.encode_async(&frame, ts).await.map(|e| {
                    let l = Last {
                        codec: e.header.codec.name(),
                        quality: e.header.quality_level(),
                        fallback_reason: e.fallback_reason,
                        kind: e.header.kind.name(),
                        updated_fraction: None,
                    };
                    (e.bytes, l)
                }),
            };
            if result.is_ok() {
                enc.before = snapshot.map(|v| (v, ts));
            }
            *inner.borrow_mut() = Some(enc);
            let (bytes, l) = result.map_err(js_error)?;
            *last.borrow_mut() = l;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
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
            ("kind", last.kind.into()),
            (
                "updatedFraction",
                last.updated_fraction
                    .map_or(JsValue::UNDEFINED, JsValue::from),
            ),
        ])
    }

    /// Codes live video from now on: key and delta frames at `kbps` for `fps` frames per
    /// second (the rate controller picks each frame's quality); later calls change the
    /// target, in effect from the next frame. Needs the neural codec.
    #[wasm_bindgen(js_name = setTargetBitrate)]
    pub fn set_target_bitrate(&self, kbps: f64, fps: f64) -> Result<(), JsValue> {
        let mut inner = self.inner.borrow_mut();
        let codecs = inner.as_mut().ok_or_else(|| busy("encoder"))?;
        let target = RateTarget::Bitrate { kbps, fps };
        match (&mut codecs.video, &codecs.model) {
            (Some(video), _) => video.set_target(target).map_err(js_error),
            (None, Some(model)) => {
                let config = VideoConfig {
                    target,
                    ..VideoConfig::default()
                };
                codecs.video =
                    Some(VideoEncoder::new(Arc::clone(model), config).map_err(js_error)?);
                Ok(())
            }
            (None, None) => Err(coded(
                "parameter",
                "a target bitrate needs the neural codec (this encoder is zlib only)",
            )),
        }
    }

    /// Undoes the last live-video frame: the encoder goes back to the state before it, as if
    /// it had never been encoded. Only for a frame none of whose bytes were sent (a paced
    /// sender drops a frame the channel had no room for); the next frame is then coded
    /// against what the receiver really holds. Returns whether there was a frame to undo.
    #[wasm_bindgen(js_name = dropLastFrame)]
    pub fn drop_last_frame(&self) -> Result<bool, JsValue> {
        let mut inner = self.inner.borrow_mut();
        let codecs = inner.as_mut().ok_or_else(|| busy("encoder"))?;
        match codecs.before.take() {
            Some((mut before, captured_us)) if codecs.video.is_some() => {
                // The dropped frame's interval is forfeited: the channel was behind, so the
                // next frame must not be sized to cover it.
                before.forfeit_interval(captured_us);
                codecs.video = Some(before);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Makes the next frame a key frame (e.g. a receiver lost its reference).
    #[wasm_bindgen(js_name = requestKeyFrame)]
    pub fn request_key_frame(&self) -> Result<(), JsValue> {
        let mut inner = self.inner.borrow_mut();
        let codecs = inner.as_mut().ok_or_else(|| busy("encoder"))?;
        if let Some(video) = codecs.video.as_mut() {
            video.request_key_frame();
        }
        Ok(())
    }
}
