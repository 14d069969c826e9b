//! The sending end of a live stream (sans-I/O): frames, feedback and the time in; packets
//! out (`docs/video.md`, "Loss").
//!
//! **Pacing without delay build-up.** The application takes packets with
//! [`Sender::poll_transmit`] only while its channel has room (`bufferedAmount` under a low-water
//! mark in the browser; the same counter natively), so unsent frames wait here, not in the
//! channel. When the next frame arrives and an earlier frame has not started to go out, that
//! frame (and any after it) is dropped, the encoder is rolled back to the state the receiver
//! holds (the state before the dropped frame, kept for each queued frame), the bandwidth
//! estimate steps down (×0.85), and the new frame is coded against what the receiver really
//! has: it stays decodable, and at most one frame waits while the channel is behind. A frame
//! that has started to go out is never cut.
//!
//! **Latency budget.** The application reports how long each encode took
//! ([`Sender::on_encode_time`]); when the median of the last frames exceeds
//! [`SenderConfig::latency_budget_us`], the sender steps down to a cheaper mode: first the
//! refinement layer off (at 640×480 on a CPU: 81 → 22 ms a frame), then, if that is still over
//! budget, half resolution (the frame halved before coding, ≈ ¼ of the work, the decoder
//! doubling it back: [`crate::scale`]). It steps back up one mode at a time once the median,
//! scaled to what the mode above would cost (×2 for the layer, ×4 for full resolution), has
//! stayed under the budget for [`STEP_UP_FRAMES`] frames; the zlib fallback is never used for
//! speed. Every frame's header says whether it carries the layer (`refined`) and whether it is
//! at half resolution (`half`), so the decoder needs no side channel; switching resolution, or
//! the layer back on, makes a key frame.
//!
//! Key-frame requests are honoured at most once per [`SenderConfig::key_interval_us`]: a request
//! inside that window is remembered and served when it ends, so a storm of requests costs one
//! key frame per window, not one per frame. Receiver reports drive a bandwidth estimate
//! ([`BandwidthEstimate`]) that sets the rate controller's target, never above the
//! application's cap.

use std::collections::VecDeque;
use std::sync::Arc;

use super::estimate::BandwidthEstimate;
use crate::codec::NeuralCodec;
use crate::error::Result;
use crate::frame::Frame;
use crate::rate::RateTarget;
use crate::sequence::{EncodedVideoFrame, Refinement, VideoConfig, VideoEncoder, VideoFrameStats};
use crate::wire::{Feedback, Packetizer};

/// Settings of a [`Sender`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SenderConfig {
    /// The application's bitrate cap, kbps (the estimate starts here).
    pub max_kbps: f64,
    /// The estimate's floor, kbps.
    pub min_kbps: f64,
    /// Nominal frame rate.
    pub fps: f64,
    /// Least time between two key frames sent on request, µs.
    pub key_interval_us: u64,
    /// Largest packet, bytes.
    pub max_packet_bytes: usize,
    /// The encoder's time budget per frame, µs (the original design's
    /// `max_inference_latency_ms`); `None`: no budget.
    pub latency_budget_us: Option<u64>,
    /// Most packets waiting to be sent; beyond it the oldest waiting frame's packets go (a
    /// bound for huge frames: pacing keeps the queue at about one frame).
    pub max_queued_packets: usize,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            max_kbps: 500.0,
            min_kbps: 50.0,
            fps: 25.0,
            key_interval_us: 500_000,
            max_packet_bytes: crate::limits::DEFAULT_PACKET_BYTES,
            max_queued_packets: 256,
            latency_budget_us: None,
        }
    }
}

/// Frames the encode time is judged over (a median: one slow frame does not switch modes).
const LATENCY_WINDOW: usize = 8;
/// Frames in a row whose encode time, scaled to the mode above, fits the budget before the
/// sender steps back up.
pub const STEP_UP_FRAMES: u32 = 50;

/// A live sender's motion frames are recovery points this often (`VideoConfig::
/// recovery_interval`): a receiver that lost a frame resumes at the next one without a round
/// trip (`docs/video.md`, "Loss").
pub const RECOVERY_INTERVAL: u32 = 3;

/// How much work the encoder does per frame, cheapest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyMode {
    /// As configured (the refinement layer where the input allows it).
    Full,
    /// The refinement layer off.
    NoRefinement,
    /// The refinement layer off and frames coded at half resolution.
    HalfResolution,
}

impl LatencyMode {
    /// The next cheaper mode, if any.
    fn down(self) -> Option<Self> {
        match self {
            LatencyMode::Full => Some(LatencyMode::NoRefinement),
            LatencyMode::NoRefinement => Some(LatencyMode::HalfResolution),
            LatencyMode::HalfResolution => None,
        }
    }

    /// The next dearer mode and how much more a frame costs there, if any.
    fn up(self) -> Option<(Self, u64)> {
        match self {
            LatencyMode::Full => None,
            LatencyMode::NoRefinement => Some((LatencyMode::Full, 2)),
            LatencyMode::HalfResolution => Some((LatencyMode::NoRefinement, 4)),
        }
    }

    /// `full`, `no_refinement` or `half_resolution`.
    pub fn name(self) -> &'static str {
        match self {
            LatencyMode::Full => "full",
            LatencyMode::NoRefinement => "no_refinement",
            LatencyMode::HalfResolution => "half_resolution",
        }
    }
}

/// A frame waiting to go out.
#[derive(Debug)]
struct Queued {
    /// Its packets not taken yet.
    packets: VecDeque<Vec<u8>>,
    /// Whether a packet of it has been taken (then it is never dropped whole).
    started: bool,
    /// The encoder as it was before this frame (what the receiver holds if it is dropped).
    before: Box<VideoEncoder>,
    /// Its capture time, µs.
    captured_us: u64,
}

/// The sender (sans-I/O).
#[derive(Debug)]
pub struct Sender {
    config: SenderConfig,
    encoder: VideoEncoder,
    packetizer: Packetizer,
    queue: VecDeque<Queued>,
    dropped_frames: u64,
    /// The refinement setting of [`LatencyMode::Full`].
    refinement: Refinement,
    encode_times: VecDeque<u64>,
    mode: LatencyMode,
    calm_frames: u32,
    mode_switches: u64,
    estimate: BandwidthEstimate,
    last_key_us: Option<u64>,
    key_wanted: bool,
    /// A receiver asked to recover from this long-term reference.
    recovery_wanted: Option<u32>,
    key_requests: u64,
}

impl Sender {
    /// A sender encoding with `neural`.
    pub fn new(neural: Arc<NeuralCodec>, config: SenderConfig) -> Result<Self> {
        let encoder = VideoEncoder::new(
            neural,
            VideoConfig {
                target: RateTarget::Bitrate {
                    kbps: config.max_kbps,
                    fps: config.fps,
                },
                recovery_interval: RECOVERY_INTERVAL,
                ..VideoConfig::default()
            },
        )?;
        let refinement = encoder.config().refinement;
        Ok(Sender {
            config,
            encoder,
            packetizer: Packetizer::new(config.max_packet_bytes)?,
            queue: VecDeque::new(),
            dropped_frames: 0,
            refinement,
            encode_times: VecDeque::new(),
            mode: LatencyMode::Full,
            calm_frames: 0,
            mode_switches: 0,
            estimate: BandwidthEstimate::new(config.max_kbps, config.min_kbps, config.max_kbps),
            last_key_us: None,
            key_wanted: false,
            recovery_wanted: None,
            key_requests: 0,
        })
    }

    /// The encoder (its state, for checks).
    pub fn encoder(&self) -> &VideoEncoder {
        &self.encoder
    }

    /// The bandwidth estimate, kbps.
    pub fn estimate_kbps(&self) -> f64 {
        self.estimate.kbps()
    }

    /// Key-frame requests received so far.
    pub fn key_requests(&self) -> u64 {
        self.key_requests
    }

    /// Encodes a frame captured at `now_us` and queues its packets; returns the encoded
    /// frame's bytes and stats. Frames still waiting whole are dropped first and the encoder
    /// rolled back (module docs, "Pacing").
    pub fn push_frame(&mut self, frame: &Frame, now_us: u64) -> Result<(Vec<u8>, VideoFrameStats)> {
        let before = self.before_encode(now_us)?;
        let encoded = self.encoder.encode(frame, now_us);
        self.after_encode(before, encoded, now_us)
    }

    /// [`Sender::push_frame`] without blocking on the device (the browser's WebGPU backend
    /// reads its results back asynchronously).
    pub async fn push_frame_async(
        &mut self,
        frame: &Frame,
        now_us: u64,
    ) -> Result<(Vec<u8>, VideoFrameStats)> {
        let before = self.before_encode(now_us)?;
        let encoded = self.encoder.encode_async(frame, now_us).await;
        self.after_encode(before, encoded, now_us)
    }

    /// Before a frame is coded: drops the frames still waiting whole (rolling the encoder
    /// back), serves a pending key-frame request; returns the encoder as it is now.
    fn before_encode(&mut self, now_us: u64) -> Result<Box<VideoEncoder>> {
        if let Some(i) = self.queue.iter().position(|q| !q.started) {
            let dropped = self.queue.split_off(i);
            self.dropped_frames += dropped.len() as u64;
            let first = dropped
                .into_iter()
                .next()
                .expect("split at an index that exists");
            self.encoder = *first.before;
            self.encoder.forfeit_interval(first.captured_us);
            // The snapshot predates any latency switch made since: keep the current mode.
            self.apply_mode();
            let kbps = self.estimate.on_overuse();
            self.encoder.adjust_kbps(kbps)?;
        }
        // A receiver that holds our long-term reference recovers from it (a small recovery
        // frame, at once); one that holds another needs a key frame (rate-limited below).
        if let Some(l) = self.recovery_wanted.take() {
            if !self.key_wanted && self.encoder.holds_long_term(l) {
                self.encoder.request_recovery(l);
            } else {
                self.key_wanted = true;
            }
        }
        if self.key_wanted
            && self
                .last_key_us
                .is_none_or(|t| now_us >= t + self.config.key_interval_us)
        {
            self.encoder.request_key_frame();
            self.key_wanted = false;
        }
        Ok(Box::new(self.encoder.clone()))
    }

    /// After a frame is coded: queues its packets (or restores the encoder on an error).
    fn after_encode(
        &mut self,
        before: Box<VideoEncoder>,
        encoded: Result<EncodedVideoFrame>,
        now_us: u64,
    ) -> Result<(Vec<u8>, VideoFrameStats)> {
        let e = match encoded {
            Ok(e) => e,
            Err(err) => {
                self.encoder = *before;
                return Err(err);
            }
        };
        if e.stats.kind == crate::wire::FrameKind::Key {
            self.last_key_us = Some(now_us);
        }
        let packets: VecDeque<Vec<u8>> = self.packetizer.packetize(&e.bytes)?.into();
        // Bounded queue: the oldest waiting frames make room (the receiver asks for a key
        // frame if that breaks its chain).
        while !self.queue.is_empty()
            && self.queued_packets() + packets.len() > self.config.max_queued_packets
        {
            self.queue.pop_front();
        }
        self.queue.push_back(Queued {
            packets,
            started: false,
            before,
            captured_us: now_us,
        });
        Ok((e.bytes, e.stats))
    }

    /// The next packet to send, if any. Call it only while the channel has room.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        loop {
            let front = self.queue.front_mut()?;
            front.started = true;
            if let Some(p) = front.packets.pop_front() {
                if front.packets.is_empty() {
                    self.queue.pop_front();
                }
                return Some(p);
            }
            self.queue.pop_front();
        }
    }

    /// Takes the remaining packets of the frames that have started to go out (never dropped,
    /// so nothing is lost by taking them early): an application that cannot call
    /// [`Sender::poll_transmit`] while a frame is being encoded (the browser, where the encode
    /// is awaited) sends them meanwhile, before any packet polled after.
    pub fn take_started(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while self.queue.front().is_some_and(|q| q.started) {
            if let Some(q) = self.queue.pop_front() {
                out.extend(q.packets);
            }
        }
        out
    }

    /// Packets waiting to be sent.
    pub fn queued_packets(&self) -> usize {
        self.queue.iter().map(|q| q.packets.len()).sum()
    }

    /// Reports how long the last [`Sender::push_frame`] took to encode, µs (measured by the
    /// application: the core reads no clock). Switches the latency mode if needed.
    pub fn on_encode_time(&mut self, us: u64) {
        let Some(budget) = self.config.latency_budget_us else {
            return;
        };
        if self.encode_times.len() == LATENCY_WINDOW {
            self.encode_times.pop_front();
        }
        self.encode_times.push_back(us);
        let mut sorted: Vec<u64> = self.encode_times.iter().copied().collect();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        if median > budget && sorted.len() >= 3 {
            if let Some(down) = self.mode.down() {
                self.switch(down);
            }
            return;
        }
        let Some((up, factor)) = self.mode.up() else {
            return;
        };
        if median.saturating_mul(factor) < budget {
            self.calm_frames += 1;
        } else {
            self.calm_frames = 0;
        }
        if self.calm_frames >= STEP_UP_FRAMES {
            self.switch(up);
        }
    }

    fn switch(&mut self, mode: LatencyMode) {
        self.mode = mode;
        self.apply_mode();
        self.mode_switches += 1;
        self.calm_frames = 0;
        self.encode_times.clear();
    }

    /// Sets the encoder to the current mode (the layer, the resolution).
    fn apply_mode(&mut self) {
        self.encoder.set_refinement(self.mode_refinement());
        self.encoder
            .set_half(self.mode == LatencyMode::HalfResolution);
    }

    fn mode_refinement(&self) -> Refinement {
        match self.mode {
            LatencyMode::Full => self.refinement,
            LatencyMode::NoRefinement | LatencyMode::HalfResolution => Refinement::Off,
        }
    }

    /// The current latency mode.
    pub fn latency_mode(&self) -> LatencyMode {
        self.mode
    }

    /// Times the latency mode switched.
    pub fn latency_switches(&self) -> u64 {
        self.mode_switches
    }

    /// How many bytes the channel should hold at most before the application stops taking
    /// packets: two frames at the current estimate (at least one small packet). In a browser,
    /// the data channel's `bufferedAmountLowThreshold`.
    pub fn channel_low_water_bytes(&self) -> usize {
        (2.0 * self.estimate.kbps() * 125.0 / self.config.fps).max(1200.0) as usize
    }

    /// Frames dropped unsent because the channel was behind.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }

    /// Feeds a feedback message received at `now_us`. Malformed feedback is a typed error
    /// and changes nothing.
    pub fn handle_feedback(&mut self, bytes: &[u8], now_us: u64) -> Result<()> {
        let _ = now_us;
        match Feedback::parse(bytes)? {
            Feedback::KeyFrameRequest { .. } => {
                self.key_requests += 1;
                self.key_wanted = true;
            }
            Feedback::RecoveryRequest { long_term, .. } => {
                self.key_requests += 1;
                self.recovery_wanted = Some(long_term);
            }
            Feedback::Report(r) => {
                let kbps = self.estimate.on_report(&r);
                self.encoder.adjust_kbps(kbps)?;
            }
        }
        Ok(())
    }

    /// Sets the application's cap, kbps (the estimate follows it down at once).
    pub fn set_max_kbps(&mut self, max_kbps: f64) -> Result<()> {
        self.estimate.set_max(max_kbps);
        self.encoder.adjust_kbps(self.estimate.kbps())
    }
}
