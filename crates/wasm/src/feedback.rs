//! The sender's side of feedback (`docs/format.md` §10) for JavaScript: parses what a receiver
//! sends back and keeps the core's bandwidth estimate (`aic_core::session::BandwidthEstimate`,
//! GCC's loss rule, a queueing-delay guard, ×0.85 when the sender's own channel is behind).

use aic_core::session::BandwidthEstimate;
use aic_core::wire::Feedback;
use wasm_bindgen::prelude::*;

use crate::error::{coded, js_error, object};

/// A bandwidth estimate driven by feedback messages.
#[wasm_bindgen]
pub struct RateEstimate {
    inner: BandwidthEstimate,
}

#[wasm_bindgen]
impl RateEstimate {
    /// Starts at `max_kbps` (the application's cap), never below `min_kbps`.
    #[wasm_bindgen(constructor)]
    pub fn new(max_kbps: f64, min_kbps: f64) -> Result<RateEstimate, JsValue> {
        if !(max_kbps.is_finite() && min_kbps.is_finite() && 0.0 < min_kbps && min_kbps <= max_kbps)
        {
            return Err(coded("parameter", "needs 0 < min_kbps <= max_kbps"));
        }
        Ok(RateEstimate {
            inner: BandwidthEstimate::new(max_kbps, min_kbps, max_kbps),
        })
    }

    /// The estimate, kbps.
    #[wasm_bindgen(getter)]
    pub fn kbps(&self) -> f64 {
        self.inner.kbps()
    }

    /// Takes one feedback message: `{kind: "keyFrameRequest"}` or `{kind: "report", kbps}`
    /// (the new estimate). Malformed bytes throw a coded error and change nothing.
    #[wasm_bindgen(js_name = onFeedback)]
    pub fn on_feedback(&mut self, bytes: &[u8]) -> Result<js_sys::Object, JsValue> {
        match Feedback::parse(bytes).map_err(js_error)? {
            Feedback::KeyFrameRequest { .. } => Ok(object(&[("kind", "keyFrameRequest".into())])),
            Feedback::RecoveryRequest { long_term, .. } => Ok(object(&[
                ("kind", "recoveryRequest".into()),
                ("longTerm", f64::from(long_term).into()),
            ])),
            Feedback::Report(r) => {
                let kbps = self.inner.on_report(&r);
                Ok(object(&[("kind", "report".into()), ("kbps", kbps.into())]))
            }
        }
    }

    /// The sender's channel was behind (a frame was dropped unsent): steps down; returns the
    /// new estimate.
    #[wasm_bindgen(js_name = onOveruse)]
    pub fn on_overuse(&mut self) -> f64 {
        self.inner.on_overuse()
    }
}
