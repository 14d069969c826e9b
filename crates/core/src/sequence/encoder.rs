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

use super::decoder::{Reconstruction, models};
use super::inter::{MotionHeader, RefPicture, References};
use super::motion_encoder::{self, MotionInput, MotionStats, QpChoice, qp_for_step};
use super::payload;
use super::state::{LatentState, Update};
use crate::codec::NeuralCodec;
use crate::color::to_i420;
use crate::entropy::encode_symbols;
use crate::error::Result;
use crate::frame::{Frame, PixelFormat};
use crate::motion::Mv;
use crate::rate::{Decision, RateController, RateTarget};
use crate::residual::transform::MAX_QP;
use crate::residual::{RefineStats, ResidualState};
use crate::wire::{FrameHeader, FrameKind, write_frame};

/// Slope of distortion against rate, as a multiple of the step's mean squared quantizer
/// interval (high-rate theory gives 2·ln 2 / 12 ≈ 0.116 per bit).
const LAMBDA_SCALE: f64 = 0.116;

/// Share of a frame's budget the latent may take when the refinement layer is on (the rest,
/// and whatever the latent leaves, refines the picture).
const BASE_SHARE: f64 = 0.6;
/// Finest quantization parameter the refinement layer uses.
const MIN_QP: u8 = 12;
/// Below this many bits left in a frame's budget, the frame carries no refinement.
const MIN_REFINE_BITS: f64 = 256.0;

/// Whether a stream carries the refinement layer (`crate::residual`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Refinement {
    /// On for I420 input (cameras, Y4M), off for RGB/RGBA input (the layer works in I420).
    #[default]
    Auto,
    /// Always on (RGB output then goes through I420).
    On,
    /// Off: the neural picture alone.
    Off,
}

/// Settings of a [`VideoEncoder`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoConfig {
    /// What the encoder aims at: a bitrate, a size ratio, or a fixed step.
    pub target: RateTarget,
    /// A key frame every this many frames (0: only the first, and on request).
    pub key_interval: u32,
    /// Highest step the controller may choose (`None`: the grid's top).
    pub max_step: Option<u8>,
    /// The refinement layer.
    pub refinement: Refinement,
    /// Motion delta frames (§11) in streams with the refinement layer: macroblocks predicted
    /// from the previous picture or the long-term reference, with a residual; off: delta
    /// frames replace latent positions only (§8).
    pub motion: bool,
    /// Every this many frames a motion frame is a recovery point: it predicts from the
    /// long-term reference only and becomes it, so a receiver that lost frames resumes there
    /// without asking (0: only on a receiver's request). Live senders over lossy channels use
    /// it (`crate::session`); it costs bits where nothing is lost. A live encoder's key frames
    /// are also budgeted to fit the link (`RateController::set_live`).
    pub recovery_interval: u32,
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
            refinement: Refinement::Auto,
            motion: true,
            recovery_interval: 0,
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
    /// What the refinement layer did, if the frame carries one.
    pub refinement: Option<RefineStats>,
    /// What a motion frame did (its modes, QP and bits).
    pub motion: Option<MotionStats>,
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

/// Encodes a video stream: a sans-I/O state machine (frames and times in, bytes out). A clone
/// is a snapshot: restoring it rolls the stream back to that frame (the sender's pacing).
#[derive(Debug, Clone)]
pub struct VideoEncoder {
    neural: Arc<NeuralCodec>,
    config: VideoConfig,
    rate: RateController,
    state: Option<LatentState>,
    /// The decoder's picture and refinement state, mirrored (refinement streams only).
    mirror: Option<Reconstruction>,
    /// The refinement's last quantization parameter (where the next frame's search starts).
    last_qp: u8,
    next_seq: u32,
    key_requested: bool,
    since_key: u32,
    /// Frames are coded at half resolution ([`VideoEncoder::set_half`]).
    half: bool,
    /// The reference pictures of motion frames, as the decoder holds them.
    refs: Option<References>,
    /// The last motion frame's vectors (co-located predictors of the next search).
    prev_mvs: Vec<Mv>,
    /// Where the next cyclic refresh window starts (macroblock index).
    refresh_cursor: u32,
    /// Frames since the long-term reference was set.
    since_long: u32,
    /// The next frame is a recovery frame (it predicts from the long-term reference only):
    /// from this one (the current long-term reference or the one before it).
    recovery: Option<u32>,
    /// Frames since the last key frame or recovery frame.
    since_recovery: u32,
}

/// A motion frame every this many frames becomes the long-term reference (2 s at 25 fps).
pub const LONG_TERM_INTERVAL: u32 = 50;
/// One macroblock in this many is in each frame's cyclic refresh window (5 %).
pub const REFRESH_PERIOD: u32 = 20;

impl VideoEncoder {
    /// An encoder of `neural` frames with these settings.
    pub fn new(neural: Arc<NeuralCodec>, config: VideoConfig) -> Result<Self> {
        let top = config
            .max_step
            .unwrap_or(neural.steps())
            .clamp(1, neural.steps());
        let mut rate = RateController::new(config.target, top)?;
        // Recovery points are for live senders over lossy channels: their key frames must fit
        // the link.
        rate.set_live(config.recovery_interval > 0);
        Ok(VideoEncoder {
            neural,
            config,
            rate,
            state: None,
            mirror: None,
            last_qp: 30,
            next_seq: 0,
            key_requested: false,
            since_key: 0,
            half: false,
            refs: None,
            prev_mvs: Vec::new(),
            refresh_cursor: 0,
            since_long: 0,
            recovery: None,
            since_recovery: 0,
        })
    }

    /// Numbers the stream's frames from `seq` on (a stream that continues another's numbering;
    /// sequence numbers wrap after `u32::MAX`, `docs/format.md` §8).
    pub fn with_first_seq(mut self, seq: u32) -> Self {
        self.next_seq = seq;
        self
    }

    /// Sets a new target (bitrate, ratio or step), in effect from the next frame.
    pub fn set_target(&mut self, target: RateTarget) -> Result<()> {
        self.rate.set_target(target)?;
        self.config.target = target;
        Ok(())
    }

    /// Changes a bitrate target's kbps without starting the rate buffer afresh (for a
    /// bandwidth estimate's frequent corrections).
    pub fn adjust_kbps(&mut self, kbps: f64) -> Result<()> {
        self.rate.adjust_kbps(kbps)?;
        self.config.target = self.rate.target();
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

    /// Turns the refinement layer on or off from the next frame. Turning it off needs nothing
    /// from the decoder (the `refined` header flag says which frames carry it). Turning it
    /// back on makes the next frame a key frame: the decoder still holds the layer it had, and
    /// only a key frame starts both sides from the same (empty) layer again.
    pub fn set_refinement(&mut self, refinement: Refinement) {
        if self.config.refinement == Refinement::Off && refinement != Refinement::Off {
            self.key_requested = true;
        }
        // Motion frames' references end with the layer: the next frame starts afresh.
        if refinement == Refinement::Off && self.refs.is_some() {
            self.key_requested = true;
        }
        self.config.refinement = refinement;
    }

    /// Codes frames at half resolution (halved before coding, `half` in the header, doubled
    /// back by the decoder; never with the refinement layer) from the next frame, or back at
    /// full resolution. A switch makes the next frame a key frame: the latent's grid changes.
    pub fn set_half(&mut self, half: bool) {
        if self.half != half {
            self.key_requested = true;
        }
        self.half = half;
    }

    /// Whether frames are coded at half resolution.
    pub fn is_half(&self) -> bool {
        self.half
    }

    /// After a rollback to the state before a frame captured at `captured_us` (dropped unsent):
    /// the rate controller forfeits that frame's interval, so the next frame is not sized to
    /// cover it ([`RateController::forfeit`]).
    pub fn forfeit_interval(&mut self, captured_us: u64) {
        self.rate.forfeit(captured_us);
    }

    /// Makes the next frame a key frame (a receiver asked for one, or lost its reference).
    pub fn request_key_frame(&mut self) {
        self.key_requested = true;
    }

    /// A receiver that lost frames holds the long-term reference `long_seq`: if that is still
    /// this encoder's, the next frame is a recovery frame (a motion frame that predicts from
    /// the long-term reference only, `recovery` in its header), far smaller than a key frame;
    /// otherwise the next frame is a key frame. Returns whether a recovery frame comes.
    pub fn request_recovery(&mut self, long_seq: u32) -> bool {
        if self.holds_long_term(long_seq) && !self.key_requested {
            self.recovery = Some(long_seq);
            true
        } else {
            self.key_requested = true;
            false
        }
    }

    /// Whether a recovery frame may predict from the long-term reference `seq` (the current
    /// one or the one before it).
    pub fn holds_long_term(&self, seq: u32) -> bool {
        self.refs
            .as_ref()
            .is_some_and(|r| r.long_for(seq).is_some())
    }

    /// The sequence number of the long-term reference (motion streams).
    pub fn long_term_seq(&self) -> Option<u32> {
        self.refs
            .as_ref()
            .and_then(|r| r.long.as_ref())
            .map(|l| l.state.seq)
    }

    /// The reference pictures the decoder holds after the last frame (motion streams).
    pub fn references(&self) -> Option<&References> {
        self.refs.as_ref()
    }

    /// The integer state the decoder holds after the last frame (for tests and diagnostics).
    pub fn state(&self) -> Option<&LatentState> {
        self.state.as_ref()
    }

    /// The refinement state the decoder holds after the last frame, if the stream has one.
    pub fn residual(&self) -> Option<&ResidualState> {
        self.mirror.as_ref().and_then(|m| m.residual.as_ref())
    }

    fn refines(&self, frame: &Frame) -> bool {
        match self.config.refinement {
            Refinement::Auto => frame.format() == PixelFormat::I420,
            Refinement::On => true,
            Refinement::Off => false,
        }
    }

    /// Encodes one frame captured at `timestamp_us`, waiting for the device if needed.
    pub fn encode(&mut self, frame: &Frame, timestamp_us: u64) -> Result<EncodedVideoFrame> {
        pollster::block_on(self.encode_async(frame, timestamp_us))
    }

    /// Encodes one frame without blocking. A failed call leaves the encoder as it was.
    pub async fn encode_async(
        &mut self,
        input: &Frame,
        timestamp_us: u64,
    ) -> Result<EncodedVideoFrame> {
        // At half resolution everything below codes the halved frame; the header keeps the
        // input's size for the decoder to restore.
        let halved = if self.half {
            Some(crate::scale::halve(input)?)
        } else {
            None
        };
        let frame = halved.as_ref().unwrap_or(input);
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
        let refine = !self.half && self.refines(frame);
        if !key && refine && self.config.motion && self.refs.is_some() {
            return self.encode_motion(input, frame, timestamp_us).await;
        }
        let (y, gh, gw) = self.neural.analyze_y(frame).await?;
        let share = if refine { BASE_SHARE } else { 1.0 };
        let (payload, decision, new_state, updated_fraction, kind, update) = if key {
            let n = &neural;
            let decision = self.rate.choose_step(true, raw, timestamp_us, |s| {
                Ok((key_bits(n, &y, gh * gw, s) as f64 / share) as u64)
            })?;
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
            (payload, decision, state, 1.0, FrameKind::Key, None)
        } else {
            let state = self.state.as_ref().expect("reusable state");
            let held = held(&neural, &y, state);
            // The plans the search made, so the chosen one is not computed again.
            let mut plans: Vec<(u8, Plan)> = Vec::new();
            let decision: Decision = self.rate.choose_step(false, raw, timestamp_us, |s| {
                let p = plan(&neural, &y, state, &held, s)?;
                let bits = (p.bits as f64 / share) as u64;
                plans.push((s, p));
                Ok(bits)
            })?;
            let chosen = match plans.into_iter().find(|(s, _)| *s == decision.step) {
                Some((_, p)) => p,
                None => plan(&neural, &y, state, &held, decision.step)?,
            };
            let payload = payload::encode(
                &neural.fine().tables,
                &chosen.update,
                &state.steps,
                state.grid_w,
            )?;
            let fraction = chosen.update.count() as f64 / state.positions() as f64;
            let mut next = state.clone();
            next.apply(&chosen.update, seq)?;
            (
                payload,
                decision,
                next,
                fraction,
                FrameKind::Delta,
                Some(chosen.update),
            )
        };
        // The refinement layer: mirror the decoder's picture, then refine it with what the
        // budget leaves.
        let (payload, mirror, refinement) = if refine {
            let mut rec = match (&update, &self.mirror) {
                (Some(u), Some(m)) => {
                    let mut m = m.clone();
                    m.delta(&neural, u, seq).await?;
                    m
                }
                _ => Reconstruction::key(&neural, new_state.clone()).await?,
            };
            let start = rec
                .residual
                .take()
                .unwrap_or_else(|| ResidualState::new(frame.width(), frame.height()));
            let left = decision
                .budget_bits
                .map(|b| b - (payload.len() + 64) as f64 * 8.0);
            let chosen = refine_at_budget(
                &start,
                &to_i420(frame),
                &rec.base_i420(),
                left,
                decision.step,
                self.last_qp,
            )?;
            // A refinement that codes no block is left out (the decoder keeps its layer).
            let chosen = chosen.filter(|(_, _, stats)| stats.blocks > 0);
            let (payload, stats) = match chosen {
                Some((bytes, after, stats)) => {
                    rec.residual = Some(after);
                    let mut p = Vec::with_capacity(4 + payload.len() + bytes.len());
                    p.extend_from_slice(&(payload.len() as u32).to_le_bytes());
                    p.extend_from_slice(&payload);
                    p.extend_from_slice(&bytes);
                    (p, Some(stats))
                }
                None => {
                    // Nothing sent: the decoder keeps what it holds (if it holds a layer).
                    let holds = self.mirror.as_ref().is_some_and(|m| m.residual.is_some());
                    rec.residual = (holds && update.is_some()).then_some(start);
                    (payload, None)
                }
            };
            (payload, Some(rec), stats)
        } else {
            (payload, None, None)
        };
        let header = FrameHeader {
            codec: neural.codec(),
            kind,
            width: input.width(),
            height: input.height(),
            format: frame.format(),
            quality: decision.step,
            seq,
            timestamp_us,
            payload_len: payload.len() as u32,
            refined: refinement.is_some(),
            half: self.half,
            motion: false,
            recovery: false,
        };
        let bytes = write_frame(&header, &payload)?;
        // Commit: nothing above changed the encoder.
        self.rate
            .on_frame_sent(bytes.len() as u64 * 8, decision.step, raw, timestamp_us);
        // A key frame of a stream with the refinement layer starts motion frames' references
        // (the mirror is the decoder's picture); other frames end them.
        self.refs = match (&mirror, key && self.config.motion) {
            (Some(rec), true) => Some(References::after_key(RefPicture {
                picture: rec.frame(PixelFormat::I420)?.into_data(),
                state: new_state.clone(),
            })),
            _ => None,
        };
        self.prev_mvs.clear();
        self.since_long = 0;
        self.recovery = None;
        self.since_recovery = 0;
        self.state = Some(new_state);
        self.mirror = mirror;
        if let Some(r) = &refinement {
            self.last_qp = r.qp;
        }
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
            refinement,
            motion: None,
        };
        Ok(EncodedVideoFrame {
            bytes,
            header,
            stats,
        })
    }

    /// Codes a motion delta frame (§11) against the held reference pictures.
    async fn encode_motion(
        &mut self,
        input: &Frame,
        frame: &Frame,
        timestamp_us: u64,
    ) -> Result<EncodedVideoFrame> {
        let seq = self.next_seq;
        let refs = self.refs.as_ref().expect("motion frames need references");
        let raw = frame.width() as usize * frame.height() as usize * 3;
        let periodic = self.config.recovery_interval > 0
            && self.since_recovery + 1 >= self.config.recovery_interval;
        // A requested recovery predicts from the reference the receiver holds; otherwise the
        // current long-term reference serves.
        let long_seq = self
            .recovery
            .filter(|&s| refs.long_for(s).is_some())
            .or(refs.long.as_ref().map(|l| l.state.seq));
        let recovery = (self.recovery.is_some() || periodic) && long_seq.is_some();
        // A recovery frame becomes the long-term reference: the receivers that resume there
        // hold it, and the next recovery point predicts from it.
        let becomes_long = recovery || self.since_long + 1 >= LONG_TERM_INTERVAL;
        let mh = MotionHeader {
            uses_last: !recovery,
            uses_long: long_seq.is_some(),
            becomes_long,
            long_seq: long_seq.unwrap_or(0),
        };
        let budget = self.rate.budget(false, raw, timestamp_us);
        let top = self
            .config
            .max_step
            .unwrap_or(self.neural.steps())
            .clamp(1, self.neural.steps());
        let qp = match budget {
            Some(bits) => QpChoice::Budget {
                bits,
                hint: self.last_qp,
            },
            None => QpChoice::Fixed(qp_for_step(self.rate.fixed_step().unwrap_or(top))),
        };
        let positions = refs.last.state.positions() as u32;
        let refresh_count = positions.div_ceil(REFRESH_PERIOD);
        let src = to_i420(frame);
        let out = motion_encoder::encode(MotionInput {
            neural: &self.neural,
            refs,
            frame,
            src: &src,
            header: mh,
            seq,
            qp,
            refresh: (self.refresh_cursor % positions.max(1), refresh_count),
            prev_mvs: &self.prev_mvs,
            max_step: top,
        })
        .await?;
        let header = FrameHeader {
            codec: self.neural.codec(),
            kind: FrameKind::Delta,
            width: input.width(),
            height: input.height(),
            format: frame.format(),
            quality: out.step,
            seq,
            timestamp_us,
            payload_len: out.payload.len() as u32,
            refined: false,
            half: false,
            motion: true,
            recovery,
        };
        let bytes = write_frame(&header, &out.payload)?;
        // Commit.
        self.rate
            .on_frame_sent(bytes.len() as u64 * 8, out.step, raw, timestamp_us);
        self.state = Some(out.picture.state.clone());
        let mut refs = refs.clone();
        refs.advance(out.picture, &mh);
        self.refs = Some(refs);
        self.last_qp = out.stats.qp;
        self.prev_mvs = out.mvs;
        self.refresh_cursor = (self.refresh_cursor + refresh_count) % positions.max(1);
        self.since_long = if becomes_long { 0 } else { self.since_long + 1 };
        self.recovery = None;
        self.since_recovery = if recovery { 0 } else { self.since_recovery + 1 };
        self.next_seq = seq.wrapping_add(1);
        self.key_requested = false;
        self.since_key += 1;
        let stats = VideoFrameStats {
            kind: FrameKind::Delta,
            step: out.step,
            updated_fraction: out.stats.intra as f64 / f64::from(positions.max(1)),
            budget_bits: budget,
            estimated_bits: bytes.len() as u64 * 8,
            bytes: bytes.len(),
            refinement: None,
            motion: Some(out.stats),
        };
        Ok(EncodedVideoFrame {
            bytes,
            header,
            stats,
        })
    }
}

/// The refinement of `base` towards `source` at the finest quantization parameter whose
/// stream fits `left` bits, searched from `hint` (the last frame's) in a few probes (`None`:
/// a fixed-step stream, which refines at a parameter that follows its step). `None` when
/// nothing fits.
fn refine_at_budget(
    start: &ResidualState,
    source: &Frame,
    base: &Frame,
    left: Option<f64>,
    step: u8,
    hint: u8,
) -> Result<Option<(Vec<u8>, ResidualState, RefineStats)>> {
    let models = models();
    let Some(left) = left else {
        let qp = 40u8.saturating_sub(step / 2).max(MIN_QP);
        return start.encode(models, source, base, qp).map(Some);
    };
    if left < MIN_REFINE_BITS {
        return Ok(None);
    }
    let fits = |r: &(Vec<u8>, ResidualState, RefineStats)| (r.0.len() * 8) as f64 <= left;
    let mut qp = hint.clamp(MIN_QP, MAX_QP);
    let first = start.encode(models, source, base, qp)?;
    if fits(&first) {
        // Finer while it fits, in steps of 2 (at most 3 probes).
        let mut best = first;
        for _ in 0..3 {
            if qp < MIN_QP + 2 {
                break;
            }
            qp -= 2;
            let r = start.encode(models, source, base, qp)?;
            if !fits(&r) {
                break;
            }
            best = r;
        }
        return Ok(Some(best));
    }
    // Coarser until it fits, in steps of 3 (at most 4 probes), else nothing.
    for _ in 0..4 {
        if qp >= MAX_QP {
            return Ok(None);
        }
        qp = (qp + 3).min(MAX_QP);
        let r = start.encode(models, source, base, qp)?;
        if fits(&r) {
            return Ok(Some(r));
        }
    }
    Ok(None)
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
