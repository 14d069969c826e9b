//! The video encoder: key frames, and delta frames that update only the latent positions
//! worth their bits (conditional replenishment on the integer latent grid, `docs/video.md`).
//!
//! Per frame: the analysis transform runs once (`y`, floats, the encoder's alone); the rate
//! controller picks a step with the help of [`VideoEncoder::plan`], which says for any step
//! which positions a delta frame would update and what it would cost; the chosen plan is
//! range-coded and applied to the integer [`LatentState`] that the decoder will hold too.
//! A position is updated when the distortion it removes (in the latent domain) is worth its
//! bits at the step's slope: changed content, and static content held at a coarser step than
//! the frame's (so a still scene sharpens over the following frames while the budget allows).

use std::sync::Arc;

use super::payload;
use super::state::{LatentState, Update};
use crate::codec::NeuralCodec;
use crate::entropy::encode_symbols;
use crate::error::Result;
use crate::frame::Frame;
use crate::rate::{Decision, RateController, RateTarget};
use crate::wire::{FrameHeader, FrameKind, write_frame};

/// Slope of distortion against rate, as a multiple of the step's mean squared quantizer
/// interval (high-rate theory gives 2·ln 2 / 12 ≈ 0.116 per bit).
const LAMBDA_SCALE: f64 = 0.116;

/// Settings of a [`VideoEncoder`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoConfig {
    /// What the encoder aims at: a bitrate, a size ratio, or a fixed step.
    pub target: RateTarget,
    /// A key frame every this many frames (0: only the first, and on request).
    pub key_interval: u32,
    /// Highest step the controller may choose (`None`: the grid's top).
    pub max_step: Option<u8>,
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            target: RateTarget::Bitrate {
                kbps: 400.0,
                fps: 10.0,
            },
            key_interval: 0,
            max_step: None,
        }
    }
}

/// What happened to one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoFrameStats {
    /// Key or delta.
    pub kind: FrameKind,
    /// The step it was coded at.
    pub step: u8,
    /// Fraction of latent positions it updated (1 for a key frame).
    pub updated_fraction: f64,
    /// Its budget in bits (`None` at a fixed step).
    pub budget_bits: Option<f64>,
    /// The size the tables predicted, in bits.
    pub estimated_bits: u64,
    /// Its size on the wire, in bytes.
    pub bytes: usize,
}

/// One frame of a video stream.
#[derive(Debug, Clone)]
pub struct EncodedVideoFrame {
    /// The whole AIC frame.
    pub bytes: Vec<u8>,
    /// Its header.
    pub header: FrameHeader,
    /// How it was coded.
    pub stats: VideoFrameStats,
}

/// A delta frame's plan at one step.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The update it would send.
    pub update: Update,
    /// Its estimated size in bits (symbols and flags).
    pub bits: u64,
}

/// Per-frame work shared by the plans at every step: the held reconstruction's error.
struct Held {
    /// Σ_c (y − ŷ_held)² per position.
    keep_err: Vec<f64>,
}

/// Encodes a video stream: a sans-I/O state machine (frames and times in, bytes out).
#[derive(Debug)]
pub struct VideoEncoder {
    neural: Arc<NeuralCodec>,
    config: VideoConfig,
    rate: RateController,
    state: Option<LatentState>,
    next_seq: u32,
    key_requested: bool,
    since_key: u32,
}

impl VideoEncoder {
    /// An encoder of `neural` frames with these settings.
    pub fn new(neural: Arc<NeuralCodec>, config: VideoConfig) -> Result<Self> {
        let top = config
            .max_step
            .unwrap_or(neural.steps())
            .clamp(1, neural.steps());
        let rate = RateController::new(config.target, top)?;
        Ok(VideoEncoder {
            neural,
            config,
            rate,
            state: None,
            next_seq: 0,
            key_requested: false,
            since_key: 0,
        })
    }

    /// Sets a new target (bitrate, ratio or step), in effect from the next frame.
    pub fn set_target(&mut self, target: RateTarget) -> Result<()> {
        self.rate.set_target(target)?;
        self.config.target = target;
        Ok(())
    }

    /// The settings.
    pub fn config(&self) -> VideoConfig {
        self.config
    }

    /// The rate controller (its buffer, its target).
    pub fn rate(&self) -> &RateController {
        &self.rate
    }

    /// Makes the next frame a key frame (a receiver asked for one, or lost its reference).
    pub fn request_key_frame(&mut self) {
        self.key_requested = true;
    }

    /// The integer state the decoder holds after the last frame (for tests and diagnostics).
    pub fn state(&self) -> Option<&LatentState> {
        self.state.as_ref()
    }

    /// Encodes one frame captured at `timestamp_us`, waiting for the device if needed.
    pub fn encode(&mut self, frame: &Frame, timestamp_us: u64) -> Result<EncodedVideoFrame> {
        pollster::block_on(self.encode_async(frame, timestamp_us))
    }

    /// Encodes one frame without blocking. A failed call leaves the encoder as it was.
    pub async fn encode_async(
        &mut self,
        frame: &Frame,
        timestamp_us: u64,
    ) -> Result<EncodedVideoFrame> {
        let (y, gh, gw) = self.neural.analyze_y(frame).await?;
        let raw = frame.width() as usize * frame.height() as usize * 3;
        let reusable = self
            .state
            .as_ref()
            .is_some_and(|s| s.width == frame.width() && s.height == frame.height());
        let key = !reusable
            || self.key_requested
            || (self.config.key_interval > 0 && self.since_key >= self.config.key_interval);
        let seq = self.next_seq;
        let neural = Arc::clone(&self.neural);
        let (payload, decision, new_state, updated_fraction, kind) = if key {
            let n = &neural;
            let decision = self
                .rate
                .choose_step(true, raw, |s| Ok(key_bits(n, &y, gh * gw, s)))?;
            let latent = n.quantize(&y, gh, gw, decision.step)?;
            let payload = encode_symbols(
                &n.fine().tables,
                usize::from(decision.step) - 1,
                &latent.symbols,
                gh * gw,
            )?;
            let state = LatentState::key(
                frame.width(),
                frame.height(),
                latent.channels,
                (gh, gw),
                latent.symbols,
                decision.step,
                seq,
            )?;
            (payload, decision, state, 1.0, FrameKind::Key)
        } else {
            let state = self.state.as_ref().expect("reusable state");
            let held = held(&neural, &y, state);
            let decision: Decision = self
                .rate
                .choose_step(false, raw, |s| Ok(plan(&neural, &y, state, &held, s)?.bits))?;
            let chosen = plan(&neural, &y, state, &held, decision.step)?;
            let payload = payload::encode(
                &neural.fine().tables,
                &chosen.update,
                &state.steps,
                state.grid_w,
            )?;
            let fraction = chosen.update.count() as f64 / state.positions() as f64;
            let mut next = state.clone();
            next.apply(&chosen.update, seq)?;
            (payload, decision, next, fraction, FrameKind::Delta)
        };
        let header = FrameHeader {
            codec: neural.codec(),
            kind,
            width: frame.width(),
            height: frame.height(),
            format: frame.format(),
            quality: decision.step,
            seq,
            timestamp_us,
            payload_len: payload.len() as u32,
        };
        let bytes = write_frame(&header, &payload)?;
        // Commit: nothing above changed the encoder.
        self.rate
            .on_frame_sent(bytes.len() as u64 * 8, decision.step, raw);
        self.state = Some(new_state);
        self.next_seq = seq.wrapping_add(1);
        self.key_requested = false;
        self.since_key = if key { 1 } else { self.since_key + 1 };
        let stats = VideoFrameStats {
            kind,
            step: decision.step,
            updated_fraction,
            budget_bits: decision.budget_bits,
            estimated_bits: decision.estimated_bits,
            bytes: bytes.len(),
        };
        Ok(EncodedVideoFrame {
            bytes,
            header,
            stats,
        })
    }
}

/// Estimated bits of a key frame at `step`.
fn key_bits(neural: &NeuralCodec, y: &[f32], positions: usize, step: u8) -> u64 {
    let tables = &neural.fine().tables;
    let k = usize::from(step) - 1;
    let mut cost = 0u64;
    for (c, plane) in y.chunks(positions).enumerate() {
        for &v in plane {
            let s = neural.quantize_one(v, c, step).unwrap_or(0);
            cost += u64::from(tables.symbol_cost(k, c, s));
        }
    }
    cost / 256 + 64
}

/// The held reconstruction's latent error per position.
fn held(neural: &NeuralCodec, y: &[f32], state: &LatentState) -> Held {
    let n = state.positions();
    let mut keep_err = vec![0.0f64; n];
    for c in 0..state.channels {
        for p in 0..n {
            let r = neural.dequantize_one(state.symbols[c * n + p], c, state.steps[p]);
            let d = f64::from(y[c * n + p] - r);
            keep_err[p] += d * d;
        }
    }
    Held { keep_err }
}

/// What a delta frame at `step` would update, and its estimated size.
fn plan(
    neural: &NeuralCodec,
    y: &[f32],
    state: &LatentState,
    held: &Held,
    step: u8,
) -> Result<Plan> {
    let n = state.positions();
    let m = state.channels;
    let tables = &neural.fine().tables;
    let k = usize::from(step) - 1;
    let inv = neural.fine().inv_gain(step);
    let lambda = LAMBDA_SCALE * inv.iter().map(|&d| f64::from(d * d)).sum::<f64>() / m as f64;
    let mut updated = vec![false; n];
    let mut candidate = vec![0i32; m];
    let mut columns: Vec<Vec<i32>> = Vec::new();
    let mut bits = 0u64;
    for p in 0..n {
        if held.keep_err[p] <= 0.0 {
            continue;
        }
        let mut err = 0.0f64;
        let mut cost = 0u64;
        for c in 0..m {
            let v = y[c * n + p];
            let s = neural.quantize_one(v, c, step).unwrap_or(0);
            candidate[c] = s;
            let d = f64::from(v - neural.dequantize_one(s, c, step));
            err += d * d;
            cost += u64::from(tables.symbol_cost(k, c, s));
        }
        let rate_bits = cost as f64 / 256.0;
        if held.keep_err[p] - err > lambda * rate_bits {
            updated[p] = true;
            columns.push(candidate.clone());
            bits += cost;
        }
    }
    let count = columns.len();
    let mut symbols = vec![0i32; m * count];
    for (j, col) in columns.iter().enumerate() {
        for c in 0..m {
            symbols[c * count + j] = col[c];
        }
    }
    // Flags: about the binary entropy of the updated fraction, plus the coders' flush words.
    let f = count as f64 / n as f64;
    let flag_bits = if count == 0 || count == n {
        0.05 * n as f64
    } else {
        n as f64 * -(f * f.log2() + (1.0 - f) * (1.0 - f).log2())
    };
    Ok(Plan {
        update: Update {
            step,
            updated,
            symbols,
        },
        bits: bits / 256 + flag_bits as u64 + 128,
    })
}
