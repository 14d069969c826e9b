//! `aic simulate`: a sender and a receiver in one process, through a seeded impaired channel
//! (loss, reordering, duplication, delay, a rate cap) in virtual time, so it runs faster than
//! real time. Per frame: shown or not and why, PSNR of what was shown, delay from capture to
//! display; a summary with corrupt frames (shown frames that differ from the encoder's own
//! reconstruction by more than the backends' ±1 level: must be 0), recovery times and delay
//! percentiles.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use aic_core::Frame;
use aic_core::codec::{Decoder, NeuralCodec};
use aic_core::color::to_i420;
use aic_core::metrics::psnr;
use aic_core::session::{
    DropReason, Receiver, ReceiverConfig, ReceiverEvent, Sender, SenderConfig,
};
use serde::Serialize;

use crate::error::{NativeError, Result};
use crate::stats::percentile;

/// The impaired channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelConfig {
    /// Fraction of packets lost, each way.
    pub loss: f64,
    /// Fraction of packets delayed by up to twice the delay more (so they arrive out of order).
    pub reorder: f64,
    /// Fraction of packets delivered twice.
    pub duplicate: f64,
    /// One-way delay, µs.
    pub delay_us: u64,
    /// Bottleneck rate, kbps (`None`: unlimited); its queue holds at most 1 s of data.
    pub rate_kbps: Option<f64>,
    /// The bottleneck's rate changes to this many kbps at this time, µs (a capacity drop).
    pub rate_change: Option<(u64, f64)>,
    /// The sender's low-water mark, bytes: it hands packets to the channel only while fewer
    /// than this wait in it (`bufferedAmount` in a browser); 0: the sender's own
    /// ([`Sender::channel_low_water_bytes`], two frames at its estimate).
    pub send_buffer_bytes: usize,
    /// Seed of the impairments.
    pub seed: u64,
}

/// xorshift64*: a small seeded generator (the simulation's only randomness).
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One direction of the channel.
struct Link {
    cfg: ChannelConfig,
    rng: Rng,
    free_at_us: u64,
    order: u64,
    in_flight: BinaryHeap<Reverse<(u64, u64, Vec<u8>)>>,
}

impl Link {
    fn new(cfg: ChannelConfig, salt: u64) -> Self {
        Link {
            cfg,
            rng: Rng(cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt | 1),
            free_at_us: 0,
            order: 0,
            in_flight: BinaryHeap::new(),
        }
    }

    fn send(&mut self, bytes: Vec<u8>, now_us: u64) {
        if self.rng.next_f64() < self.cfg.loss {
            return;
        }
        let mut depart = now_us;
        if let Some(kbps) = self.rate_at(now_us) {
            let start = self.free_at_us.max(now_us);
            if start - now_us > 1_000_000 {
                return; // the bottleneck's queue is full: tail drop
            }
            self.free_at_us = start + (bytes.len() as f64 * 8.0 / kbps * 1000.0) as u64;
            depart = self.free_at_us;
        }
        let mut arrive = depart + self.cfg.delay_us;
        if self.rng.next_f64() < self.cfg.reorder {
            arrive += (self.rng.next_f64() * 2.0 * self.cfg.delay_us.max(20_000) as f64) as u64;
        }
        if self.rng.next_f64() < self.cfg.duplicate {
            self.order += 1;
            self.in_flight
                .push(Reverse((arrive + 1000, self.order, bytes.clone())));
        }
        self.order += 1;
        self.in_flight.push(Reverse((arrive, self.order, bytes)));
    }

    fn rate_at(&self, now_us: u64) -> Option<f64> {
        match self.cfg.rate_change {
            Some((at, kbps)) if now_us >= at => Some(kbps),
            _ => self.cfg.rate_kbps,
        }
    }

    /// Bytes waiting at the bottleneck (what the sender's `bufferedAmount` would show).
    fn buffered_bytes(&self, now_us: u64) -> usize {
        match self.rate_at(now_us) {
            Some(kbps) => {
                (self.free_at_us.saturating_sub(now_us) as f64 * kbps / 8.0 / 1000.0) as usize
            }
            None => 0,
        }
    }

    fn deliver(&mut self, now_us: u64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while self
            .in_flight
            .peek()
            .is_some_and(|Reverse((t, _, _))| *t <= now_us)
        {
            out.push(self.in_flight.pop().expect("peeked").0.2);
        }
        out
    }
}

/// One source frame's fate.
#[derive(Debug, Clone, Serialize)]
pub struct SimFrame {
    /// Index in the clip.
    pub index: usize,
    /// `shown`, `late`, `refused` (no reference), `corrupt` (did not decode), `lost`, or
    /// `dropped` (by the sender, unsent, because the channel was behind).
    pub status: &'static str,
    /// Frame kind sent: `key` or `delta`.
    pub kind: &'static str,
    /// Bytes sent.
    pub bytes: usize,
    /// YUV-PSNR of the shown picture against the source frame.
    pub psnr: Option<f64>,
    /// Capture to display, ms.
    pub delay_ms: Option<f64>,
    /// Largest difference of the shown picture from the encoder's reconstruction.
    pub max_diff: Option<u8>,
}

/// The run's summary.
#[derive(Debug, Clone, Serialize)]
pub struct SimSummary {
    /// Frames sent.
    pub frames: usize,
    /// Frames shown.
    pub shown: usize,
    /// Shown frames that differ from the encoder's reconstruction by more than 1 level.
    pub corrupt: usize,
    /// Frames not shown: lost, refused, late, undecodable.
    pub lost: usize,
    /// Refused for a missing reference.
    pub refused: usize,
    /// Decoded after their deadline.
    pub late: usize,
    /// Dropped unsent by the sender's pacing (the channel was behind).
    pub dropped: usize,
    /// Mean YUV-PSNR of the shown frames.
    pub mean_psnr: f64,
    /// Key frames sent.
    pub key_frames: usize,
    /// Key-frame requests the sender received.
    pub key_requests: u64,
    /// Times from a frame not shown to the next frame shown, ms: each episode.
    pub recovery_ms: Vec<f64>,
    /// Longest recovery, ms.
    pub max_recovery_ms: f64,
    /// Capture-to-display delay of shown frames, median and 95th percentile, ms.
    pub delay_p50_ms: f64,
    /// See `delay_p50_ms`.
    pub delay_p95_ms: f64,
    /// Mean bitrate sent, kbps.
    pub kbps: f64,
    /// The sender's bandwidth estimate at the end, kbps.
    pub final_estimate_kbps: f64,
}

/// The whole run: `{"frames":[...],"summary":{...}}`.
#[derive(Debug, Clone, Serialize)]
pub struct SimReport {
    /// Per source frame.
    pub frames: Vec<SimFrame>,
    /// Totals.
    pub summary: SimSummary,
}

/// Runs `frames` (at `fps`) from a sender capped at `target_kbps` to a receiver through the
/// channel.
pub fn simulate(
    neural: &Arc<NeuralCodec>,
    frames: &[Frame],
    fps: f64,
    target_kbps: f64,
    channel: ChannelConfig,
) -> Result<SimReport> {
    let err = |e| NativeError::codec(std::path::Path::new("simulate"), e);
    let mut sender = Sender::new(
        Arc::clone(neural),
        SenderConfig {
            max_kbps: target_kbps,
            fps,
            ..SenderConfig::default()
        },
    )
    .map_err(err)?;
    let mut receiver = Receiver::new(Arc::clone(neural), ReceiverConfig::default());
    let mut reference = Decoder::with_neural(Arc::clone(neural));
    let (mut fwd, mut back) = (Link::new(channel, 1), Link::new(channel, 2));
    let interval = (1e6 / fps) as u64;
    let tick = 2_000u64;
    let mut rows: Vec<SimFrame> = Vec::with_capacity(frames.len());
    let mut expected: HashMap<u32, (usize, Frame, u64)> = HashMap::new();
    let mut next_frame = 0usize;
    let mut t = 0u64;
    let end = frames.len() as u64 * interval + 2_000_000;
    let mut total_bytes = 0usize;
    // (row, the reference decoder before that row's frame) for the frames still in the queue.
    let mut history: Vec<(usize, Decoder)> = Vec::new();
    while t <= end {
        if next_frame < frames.len() && t >= next_frame as u64 * interval {
            let dropped_before = sender.dropped_frames();
            let (bytes, stats) = sender.push_frame(&frames[next_frame], t).map_err(err)?;
            // Frames the sender dropped unsent never reach the receiver: roll the reference
            // decoder back with it.
            let dropped = (sender.dropped_frames() - dropped_before) as usize;
            for _ in 0..dropped {
                let (row, before) = history.pop().ok_or_else(|| {
                    err(aic_core::Error::Unavailable(
                        "dropped a frame never pushed".into(),
                    ))
                })?;
                reference = before;
                rows[row].status = "dropped";
                total_bytes -= rows[row].bytes;
            }
            let seq = aic_core::wire::read_frame(&bytes).map_err(err)?.0.seq;
            history.push((rows.len(), reference.clone()));
            if history.len() > 8 {
                history.remove(0);
            }
            let recon = reference.decode(&bytes).map_err(err)?.frame;
            expected.insert(seq, (next_frame, recon, t));
            total_bytes += bytes.len();
            rows.push(SimFrame {
                index: next_frame,
                status: "lost",
                kind: stats.kind.name(),
                bytes: bytes.len(),
                psnr: None,
                delay_ms: None,
                max_diff: None,
            });
            next_frame += 1;
        }
        // Paced: packets go to the channel only while it has room.
        let low_water = match channel.send_buffer_bytes {
            0 => sender.channel_low_water_bytes(),
            b => b,
        };
        while fwd.buffered_bytes(t) < low_water {
            let Some(p) = sender.poll_transmit() else {
                break;
            };
            fwd.send(p, t);
        }
        for p in fwd.deliver(t) {
            let _ = receiver.handle_packet(&p, t);
        }
        receiver.handle_timeout(t);
        while let Some(ev) = receiver.poll_event() {
            match ev {
                ReceiverEvent::Show { seq, frame, .. } => {
                    if let Some((i, recon, captured)) = expected.remove(&seq) {
                        let shown = to_i420(&frame.frame);
                        let diff = shown
                            .data()
                            .iter()
                            .zip(to_i420(&recon).data())
                            .map(|(a, b)| a.abs_diff(*b))
                            .max()
                            .unwrap_or(0);
                        let row = &mut rows[i];
                        row.status = "shown";
                        row.psnr = psnr(&to_i420(&frames[i]), &shown).map(|p| p.overall.min(100.0));
                        row.delay_ms = Some((t - captured) as f64 / 1000.0);
                        row.max_diff = Some(diff);
                    }
                }
                ReceiverEvent::Drop { seq, reason } => {
                    if let Some((i, _, _)) = expected.remove(&seq) {
                        rows[i].status = match reason {
                            DropReason::NoReference => "refused",
                            DropReason::Late => "late",
                            DropReason::Corrupt => "corrupt",
                        };
                    }
                }
                ReceiverEvent::Lost { .. } => {}
            }
        }
        while let Some(fb) = receiver.poll_feedback(t) {
            back.send(fb, t);
        }
        for fb in back.deliver(t) {
            let _ = sender.handle_feedback(&fb, t);
        }
        t += tick;
    }
    // Recovery episodes: from a frame not shown to the next shown frame.
    let mut recovery_ms = Vec::new();
    let mut since: Option<usize> = None;
    for r in &rows {
        match (r.status, since) {
            ("shown", Some(s)) => {
                recovery_ms.push((r.index - s) as f64 * 1000.0 / fps);
                since = None;
            }
            ("shown", None) => {}
            (_, None) => since = Some(r.index),
            _ => {}
        }
    }
    let shown: Vec<&SimFrame> = rows.iter().filter(|r| r.status == "shown").collect();
    let delays: Vec<f64> = shown.iter().filter_map(|r| r.delay_ms).collect();
    let summary = SimSummary {
        frames: rows.len(),
        shown: shown.len(),
        corrupt: shown.iter().filter(|r| r.max_diff.unwrap_or(0) > 1).count(),
        lost: rows.len() - shown.len(),
        refused: rows.iter().filter(|r| r.status == "refused").count(),
        late: rows.iter().filter(|r| r.status == "late").count(),
        dropped: rows.iter().filter(|r| r.status == "dropped").count(),
        mean_psnr: shown.iter().filter_map(|r| r.psnr).sum::<f64>() / shown.len().max(1) as f64,
        key_frames: rows.iter().filter(|r| r.kind == "key").count(),
        key_requests: sender.key_requests(),
        max_recovery_ms: recovery_ms.iter().copied().fold(0.0, f64::max),
        recovery_ms,
        delay_p50_ms: percentile(&delays, 0.5),
        delay_p95_ms: percentile(&delays, 0.95),
        kbps: total_bytes as f64 * 8.0 / (rows.len() as f64 / fps) / 1000.0,
        final_estimate_kbps: sender.estimate_kbps(),
    };
    Ok(SimReport {
        frames: rows,
        summary,
    })
}
