//! Packets for an `RTCDataChannel`: the packetizer splits AIC frame bytes into messages of at
//! most `maxPacketBytes`; the reassembler collects messages (in any order, with loss and
//! duplicates) back into frames (`docs/format.md` §4).

use aic_core::wire::{PushStatus, reassembly};
use wasm_bindgen::prelude::*;

use crate::error::{js_error, object};

/// Splits frames into packets.
#[wasm_bindgen]
pub struct Packetizer {
    inner: aic_core::wire::Packetizer,
}

#[wasm_bindgen]
impl Packetizer {
    /// A packetizer of messages of at most `max_packet_bytes` (default 16 KiB, the safe size
    /// for data channels).
    #[wasm_bindgen(constructor)]
    pub fn new(max_packet_bytes: Option<usize>) -> Result<Packetizer, JsValue> {
        let max = max_packet_bytes.unwrap_or(aic_core::limits::DEFAULT_PACKET_BYTES);
        Ok(Packetizer {
            inner: aic_core::wire::Packetizer::new(max).map_err(js_error)?,
        })
    }

    /// The largest packet this packetizer makes.
    #[wasm_bindgen(getter, js_name = maxPacketBytes)]
    pub fn max_packet_bytes(&self) -> usize {
        self.inner.max_packet_bytes()
    }

    /// Splits one AIC frame into packets: an array of `Uint8Array`.
    pub fn packetize(&mut self, frame: &[u8]) -> Result<js_sys::Array, JsValue> {
        let packets = self.inner.packetize(frame).map_err(js_error)?;
        Ok(packets
            .iter()
            .map(|p| JsValue::from(js_sys::Uint8Array::from(p.as_slice())))
            .collect())
    }
}

/// Collects packets into frames, within the memory and in-flight bounds of the spec.
#[wasm_bindgen]
pub struct Reassembler {
    inner: reassembly::Reassembler,
}

#[wasm_bindgen]
impl Reassembler {
    /// A reassembler with the spec's default bounds.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Reassembler {
        Reassembler {
            inner: reassembly::Reassembler::default(),
        }
    }

    /// Takes one packet received at `now_ms` (e.g. `performance.now()`): `"need_more"`,
    /// `"frame_complete"`, `"duplicate"` or `"stale"`. A malformed packet rejects with a coded
    /// `Error` and leaves every other frame untouched.
    pub fn push(&mut self, packet: &[u8], now_ms: f64) -> Result<String, JsValue> {
        let now_us = (now_ms.max(0.0) * 1000.0) as u64;
        let status = self.inner.push(packet, now_us).map_err(js_error)?;
        Ok(match status {
            PushStatus::NeedMorePackets => "need_more",
            PushStatus::FrameComplete => "frame_complete",
            PushStatus::Duplicate => "duplicate",
            PushStatus::Stale => "stale",
        }
        .into())
    }

    /// The next complete frame's bytes, oldest first, or `undefined`.
    #[wasm_bindgen(js_name = pollFrame)]
    pub fn poll_frame(&mut self) -> Option<js_sys::Uint8Array> {
        self.inner
            .poll_frame()
            .map(|f| js_sys::Uint8Array::from(f.as_slice()))
    }

    /// Drops incomplete frames older than the reassembly timeout at `now_ms`.
    pub fn expire(&mut self, now_ms: f64) {
        self.inner.expire((now_ms.max(0.0) * 1000.0) as u64);
    }

    /// Counters: `{ completed, dropped, droppedReady, duplicates, stale, rejected }`.
    #[wasm_bindgen(getter)]
    pub fn stats(&self) -> js_sys::Object {
        let s = self.inner.stats();
        object(&[
            ("completed", (s.completed as f64).into()),
            ("dropped", (s.dropped as f64).into()),
            ("droppedReady", (s.dropped_ready as f64).into()),
            ("duplicates", (s.duplicates as f64).into()),
            ("stale", (s.stale as f64).into()),
            ("rejected", (s.rejected as f64).into()),
        ])
    }
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::new()
    }
}
