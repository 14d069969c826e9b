//! The live-video receiver of the core (`aic_core::session::Receiver`) for the browser:
//! packets, feedback and the time in; frames to show, drops, losses and feedback out. It
//! decodes synchronously, so it lives in the CPU module (a WebGPU read-back must be awaited).

use aic_core::color::to_rgba8;
use aic_core::session::{DropReason, Receiver, ReceiverConfig, ReceiverEvent};
use wasm_bindgen::prelude::*;

use crate::backend::{self, Backend, Request};
use crate::error::{coded, js_error, object};

/// Least and most deadline a receiver accepts, ms.
const DEADLINE_MS: std::ops::RangeInclusive<f64> = 20.0..=10_000.0;

/// A live-video receiver: reassembly, reordering, loss, key-frame requests, the display
/// deadline and receiver reports (`docs/format.md` §10), on the CPU backend.
#[wasm_bindgen]
pub struct WasmReceiver {
    inner: Receiver,
}

fn us(ms: f64) -> u64 {
    (ms.max(0.0) * 1000.0) as u64
}

#[wasm_bindgen]
impl WasmReceiver {
    /// Creates a receiver that drops frames shown later than `deadline_ms` after capture.
    pub async fn create(deadline_ms: f64) -> Result<WasmReceiver, JsValue> {
        if !DEADLINE_MS.contains(&deadline_ms) {
            return Err(coded(
                "parameter",
                &format!("deadlineMs {deadline_ms} is outside {DEADLINE_MS:?}"),
            ));
        }
        let loaded = backend::load(Request::Exactly(Backend::Cpu)).await?;
        let config = ReceiverConfig {
            deadline_us: us(deadline_ms),
            ..ReceiverConfig::default()
        };
        Ok(WasmReceiver {
            inner: Receiver::new(loaded.model, config),
        })
    }

    /// Feeds one packet received at `now_ms`. A malformed packet rejects with a coded `Error`
    /// and changes nothing.
    #[wasm_bindgen(js_name = handlePacket)]
    pub fn handle_packet(&mut self, packet: &[u8], now_ms: f64) -> Result<(), JsValue> {
        self.inner
            .handle_packet(packet, us(now_ms))
            .map_err(js_error)
    }

    /// Advances time to `now_ms`: declares frames lost, decodes what waited.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now_ms: f64) {
        self.inner.handle_timeout(us(now_ms));
    }

    /// The next event: `{ type: 'show', seq, data (RGBA), width, height, delayMs, kind,
    /// timestampUs }`, `{ type: 'drop', seq, reason: 'noReference'|'late'|'corrupt' }` or
    /// `{ type: 'lost', from, count }`; `undefined` when there is none.
    #[wasm_bindgen(js_name = pollEvent)]
    pub fn poll_event(&mut self) -> Option<js_sys::Object> {
        Some(match self.inner.poll_event()? {
            ReceiverEvent::Show {
                seq,
                frame,
                delay_us,
            } => {
                let rgba = to_rgba8(&frame.frame);
                let h = frame.header;
                object(&[
                    ("type", "show".into()),
                    ("seq", seq.into()),
                    ("data", js_sys::Uint8ClampedArray::from(rgba.data()).into()),
                    ("width", h.width.into()),
                    ("height", h.height.into()),
                    ("kind", h.kind.name().into()),
                    ("timestampUs", (h.timestamp_us as f64).into()),
                    ("delayMs", (delay_us as f64 / 1000.0).into()),
                ])
            }
            ReceiverEvent::Drop { seq, reason } => object(&[
                ("type", "drop".into()),
                ("seq", seq.into()),
                (
                    "reason",
                    match reason {
                        DropReason::NoReference => "noReference",
                        DropReason::Late => "late",
                        DropReason::Corrupt => "corrupt",
                    }
                    .into(),
                ),
            ]),
            ReceiverEvent::Lost { from, count } => object(&[
                ("type", "lost".into()),
                ("from", from.into()),
                ("count", count.into()),
            ]),
        })
    }

    /// The next feedback message to send back on the channel, if one is due at `now_ms`
    /// (key-frame requests, rate-limited; receiver reports).
    #[wasm_bindgen(js_name = pollFeedback)]
    pub fn poll_feedback(&mut self, now_ms: f64) -> Option<js_sys::Uint8Array> {
        self.inner
            .poll_feedback(us(now_ms))
            .map(|b| js_sys::Uint8Array::from(b.as_slice()))
    }

    /// Whether the receiver waits for a key frame (it lost a reference).
    #[wasm_bindgen(getter)]
    pub fn broken(&self) -> bool {
        self.inner.is_broken()
    }
}
