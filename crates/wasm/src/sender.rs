//! The live-video sender of the core (`aic_core::session::Sender`) for the browser: frames,
//! feedback and encode times in; packets out, paced by the application on the channel's
//! `bufferedAmount` (`docs/video.md`, "Pacing"). The npm package's `AicLiveSender` drives it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use aic_core::session::{Sender, SenderConfig};
use aic_core::wire::Feedback;
use aic_core::{Frame, PixelFormat};
use wasm_bindgen::prelude::*;

use crate::backend::{self, Request};
use crate::error::{busy, coded, js_error, object};

/// Feedback messages held while a frame is being encoded (applied when it is done); beyond
/// this the oldest go. Receivers send a report every 100 ms or so, so a handful is plenty.
pub const MAX_PENDING_FEEDBACK: usize = 32;

/// Least and most latency budget a sender accepts, ms.
const BUDGET_MS: std::ops::RangeInclusive<f64> = 1.0..=10_000.0;

/// A feedback message that arrived during an encode, with its arrival time, µs.
type Pending = (Vec<u8>, u64);

fn us(ms: f64) -> u64 {
    (ms.max(0.0) * 1000.0) as u64
}

/// A live-video sender: the encoder under rate control, pacing with rollback, key-frame
/// requests (rate-limited), the bandwidth estimate and the latency budget, all in the core.
#[wasm_bindgen]
pub struct WasmSender {
    /// `None` while a frame is being encoded (taken out, so no borrow is held across an
    /// await); packets and feedback wait until it is back.
    inner: Rc<RefCell<Option<Sender>>>,
    /// Feedback that arrived during an encode.
    pending: Rc<RefCell<VecDeque<Pending>>>,
    /// Packets of frames that had started to go out when an encode began: sent during it.
    started: Rc<RefCell<VecDeque<Vec<u8>>>>,
    /// The channel's low-water mark when the current encode began (needed during it).
    low_water: Rc<std::cell::Cell<usize>>,
    last: Rc<RefCell<Option<js_sys::Object>>>,
    backend: &'static str,
    backend_note: Option<String>,
}

#[wasm_bindgen]
impl WasmSender {
    /// Creates a sender on `backend` (`auto`, `webgpu` or `cpu`): the bitrate cap and floor
    /// (kbps), the nominal frame rate, the largest packet (bytes; 0: the default) and the
    /// encoder's time budget per frame (ms; 0: none).
    pub async fn create(
        backend: String,
        max_kbps: f64,
        min_kbps: f64,
        fps: f64,
        max_packet_bytes: usize,
        latency_budget_ms: f64,
    ) -> Result<WasmSender, JsValue> {
        let request = Request::parse(&backend)?;
        if !(max_kbps.is_finite() && min_kbps.is_finite() && fps.is_finite()) {
            return Err(coded(
                "parameter",
                "maxKbps, minKbps and fps must be numbers",
            ));
        }
        let latency_budget_us = if latency_budget_ms > 0.0 {
            if !BUDGET_MS.contains(&latency_budget_ms) {
                return Err(coded(
                    "parameter",
                    &format!("latencyBudgetMs {latency_budget_ms} is outside {BUDGET_MS:?}"),
                ));
            }
            Some(us(latency_budget_ms))
        } else {
            None
        };
        let defaults = SenderConfig::default();
        let config = SenderConfig {
            max_kbps,
            min_kbps: min_kbps.min(max_kbps),
            fps,
            max_packet_bytes: if max_packet_bytes == 0 {
                defaults.max_packet_bytes
            } else {
                max_packet_bytes
            },
            latency_budget_us,
            ..defaults
        };
        let loaded = backend::load(request).await?;
        let sender = Sender::new(loaded.model, config).map_err(js_error)?;
        Ok(WasmSender {
            inner: Rc::new(RefCell::new(Some(sender))),
            pending: Rc::default(),
            started: Rc::default(),
            low_water: Rc::default(),
            last: Rc::default(),
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

    /// Encodes `width`×`height` RGBA pixels captured at `now_ms` and queues the frame's
    /// packets (dropping a frame still waiting whole, with the encoder rolled back): resolves
    /// to the AIC frame bytes. Rejects with a coded `Error` on bad input; the sender stays
    /// usable.
    pub fn push(&self, rgba: Vec<u8>, width: u32, height: u32, now_ms: f64) -> js_sys::Promise {
        let (inner, pending, last) = (self.inner.clone(), self.pending.clone(), self.last.clone());
        let (started, low_water) = (self.started.clone(), self.low_water.clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let frame = Frame::new(width, height, PixelFormat::Rgba8, rgba).map_err(js_error)?;
            let Some(mut sender) = inner.borrow_mut().take() else {
                return Err(busy("sender"));
            };
            // What has started to go out keeps going out while the frame is encoded, paced on
            // the mark as it is now.
            started.borrow_mut().extend(sender.take_started());
            low_water.set(sender.channel_low_water_bytes());
            let result = sender.push_frame_async(&frame, us(now_ms)).await;
            // Feedback that came in meanwhile, in order (malformed messages were refused
            // when they arrived).
            for (bytes, at) in pending.borrow_mut().drain(..) {
                let _ = sender.handle_feedback(&bytes, at);
            }
            let info = result.as_ref().ok().map(|(_, stats)| {
                object(&[
                    ("kind", stats.kind.name().into()),
                    ("step", stats.step.into()),
                    ("bytes", stats.bytes.into()),
                    ("updatedFraction", stats.updated_fraction.into()),
                    ("refined", stats.refinement.is_some().into()),
                    ("half", sender.encoder().is_half().into()),
                    ("latencyMode", sender.latency_mode().name().into()),
                ])
            });
            *inner.borrow_mut() = Some(sender);
            let (bytes, _) = result.map_err(js_error)?;
            *last.borrow_mut() = info;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// `{ kind, step, bytes, updatedFraction, refined, half, latencyMode }` of the last frame
    /// pushed, `undefined` before the first.
    #[wasm_bindgen(getter, js_name = lastFrame)]
    pub fn last_frame(&self) -> Option<js_sys::Object> {
        self.last.borrow().clone()
    }

    /// The next packet to send, if any. While a frame is being encoded, only the packets of
    /// frames that had started to go out. Call it only while the channel's `bufferedAmount` is
    /// under `lowWaterBytes`.
    #[wasm_bindgen(js_name = pollTransmit)]
    pub fn poll_transmit(&self) -> Option<js_sys::Uint8Array> {
        let p = match self.started.borrow_mut().pop_front() {
            Some(p) => p,
            None => self.inner.borrow_mut().as_mut()?.poll_transmit()?,
        };
        Some(js_sys::Uint8Array::from(p.as_slice()))
    }

    /// Feeds a message received on the channel at `now_ms`; returns its kind,
    /// `keyFrameRequest` or `report`. Malformed feedback rejects with a coded `Error` and
    /// changes nothing; during an encode it is checked now and applied when the frame is done.
    #[wasm_bindgen(js_name = handleFeedback)]
    pub fn handle_feedback(&self, bytes: &[u8], now_ms: f64) -> Result<String, JsValue> {
        let kind = match Feedback::parse(bytes).map_err(js_error)? {
            Feedback::KeyFrameRequest { .. } => "keyFrameRequest",
            Feedback::RecoveryRequest { .. } => "recoveryRequest",
            Feedback::Report(_) => "report",
        };
        let mut inner = self.inner.borrow_mut();
        match inner.as_mut() {
            Some(sender) => sender
                .handle_feedback(bytes, us(now_ms))
                .map_err(js_error)?,
            None => {
                let mut pending = self.pending.borrow_mut();
                if pending.len() == MAX_PENDING_FEEDBACK {
                    pending.pop_front();
                }
                pending.push_back((bytes.to_vec(), us(now_ms)));
            }
        }
        Ok(kind.into())
    }

    /// Reports how long the last `push` took to encode, ms (the latency budget's input).
    #[wasm_bindgen(js_name = onEncodeTime)]
    pub fn on_encode_time(&self, ms: f64) {
        if let Some(sender) = self.inner.borrow_mut().as_mut() {
            sender.on_encode_time(us(ms));
        }
    }

    /// Sets the application's cap, kbps (the estimate follows it down at once).
    #[wasm_bindgen(js_name = setMaxKbps)]
    pub fn set_max_kbps(&self, kbps: f64) -> Result<(), JsValue> {
        if !kbps.is_finite() || kbps <= 0.0 {
            return Err(coded("parameter", "maxKbps must be a positive number"));
        }
        match self.inner.borrow_mut().as_mut() {
            Some(sender) => sender.set_max_kbps(kbps).map_err(js_error),
            None => Err(busy("sender")),
        }
    }

    /// The channel's low-water mark, bytes: take packets only while `bufferedAmount` is
    /// under it (two frames at the current estimate); also `bufferedAmountLowThreshold`.
    /// During an encode, the mark as it was when the encode began.
    #[wasm_bindgen(getter, js_name = lowWaterBytes)]
    pub fn low_water_bytes(&self) -> usize {
        self.inner
            .borrow()
            .as_ref()
            .map_or(self.low_water.get(), Sender::channel_low_water_bytes)
    }

    /// `{ estimateKbps, framesDropped, keyRequests, latencyMode, latencySwitches,
    /// queuedPackets }`; `undefined` while a frame is being encoded.
    /// (`queuedPackets` counts what waits in the core sender.)
    #[wasm_bindgen(getter)]
    pub fn stats(&self) -> Option<js_sys::Object> {
        let inner = self.inner.borrow();
        let s = inner.as_ref()?;
        Some(object(&[
            ("estimateKbps", s.estimate_kbps().into()),
            ("framesDropped", (s.dropped_frames() as f64).into()),
            ("keyRequests", (s.key_requests() as f64).into()),
            ("latencyMode", s.latency_mode().name().into()),
            ("latencySwitches", (s.latency_switches() as f64).into()),
            ("queuedPackets", (s.queued_packets() as f64).into()),
        ]))
    }
}
