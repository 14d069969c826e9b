//! The receiving end of a live stream (sans-I/O): packets and the time in; frames to show,
//! frames dropped, and feedback for the sender out (`docs/video.md`, "Loss").
//!
//! Complete frames wait briefly in sequence order (packets are reordered on purpose by an
//! unreliable channel), then are decoded in order. A missing frame is declared lost after
//! [`ReceiverConfig::reorder_wait_us`]; the delta frames after it cannot be decoded, so the
//! receiver keeps the last good picture, asks for a key frame (at most every
//! [`ReceiverConfig::key_request_interval_us`]) and recovers at the next key frame. A frame that
//! arrives after its deadline is still decoded (its update is needed) but not shown.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::codec::{DecodedFrame, Decoder, NeuralCodec};
use crate::error::{Error, Result};
use crate::wire::reassembly::newer;
use crate::wire::{Feedback, FrameKind, Reassembler, ReassemblyConfig, ReceiverReport, read_frame};

/// Settings of a [`Receiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// A frame shown later than this after capture (by the sender's clock, offset by the
    /// smallest delay seen) is dropped instead, µs.
    pub deadline_us: u64,
    /// How long a complete frame waits for the frames before it, µs.
    pub reorder_wait_us: u64,
    /// How often a receiver report is sent, µs.
    pub report_interval_us: u64,
    /// Least time between two key-frame requests, µs.
    pub key_request_interval_us: u64,
    /// Bounds of the packet reassembly (a server holding many sessions lowers the byte cap).
    pub reassembly: ReassemblyConfig,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            deadline_us: 400_000,
            reorder_wait_us: 40_000,
            report_interval_us: 200_000,
            key_request_interval_us: 250_000,
            reassembly: ReassemblyConfig::default(),
        }
    }
}

/// Why a frame was not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Its reference was lost: the receiver waits for a key frame.
    NoReference,
    /// Decoded after its deadline (its update was applied, the picture not shown).
    Late,
    /// Its bytes did not decode.
    Corrupt,
}

/// What the receiver produced.
#[derive(Debug, Clone)]
pub enum ReceiverEvent {
    /// A frame to show now.
    Show {
        /// Its sequence number.
        seq: u32,
        /// The decoded frame.
        frame: Box<DecodedFrame>,
        /// Delay from capture to now, µs (relative to the smallest delay seen).
        delay_us: u64,
    },
    /// A frame that will not be shown.
    Drop {
        /// Its sequence number.
        seq: u32,
        /// Why.
        reason: DropReason,
    },
    /// Frames that never arrived (declared lost).
    Lost {
        /// The first missing sequence number.
        from: u32,
        /// How many.
        count: u32,
    },
}

/// The receiver (sans-I/O).
#[derive(Debug)]
pub struct Receiver {
    config: ReceiverConfig,
    reassembler: Reassembler,
    decoder: Decoder,
    /// Complete frames not decoded yet: seq → (bytes, arrival µs, key).
    pending: BTreeMap<u32, (Vec<u8>, u64, bool)>,
    last_decoded: Option<u32>,
    broken: bool,
    last_request_us: Option<u64>,
    events: VecDeque<ReceiverEvent>,
    /// Smallest `arrival − capture` seen, µs (the clocks' offset plus the path's least delay).
    min_offset: Option<i64>,
    /// Frames in a row stamped far from the baseline: negative in the future, positive in the
    /// past (see [`Receiver::observe_offset`]).
    jumps: i32,
    report: ReceiverReport,
    window_start_us: Option<u64>,
    highest: Option<u32>,
    window_delays: Vec<i64>,
}

/// A frame stamped this much further in the future than any before it is set aside by the
/// delay baseline (µs).
const CLOCK_JUMP_US: i64 = 2_000_000;
/// Frames in a row set aside before the baseline restarts from them (a real clock jump).
const REBASE_AFTER: u32 = 8;

/// Most complete frames a receiver keeps waiting (bounded, whatever arrives).
const MAX_PENDING: usize = 64;

impl Receiver {
    /// A receiver decoding with `neural`.
    pub fn new(neural: Arc<NeuralCodec>, config: ReceiverConfig) -> Self {
        Receiver {
            config,
            reassembler: Reassembler::new(config.reassembly),
            decoder: Decoder::with_neural(neural),
            pending: BTreeMap::new(),
            last_decoded: None,
            broken: false,
            last_request_us: None,
            events: VecDeque::new(),
            min_offset: None,
            jumps: 0,
            report: ReceiverReport::default(),
            window_start_us: None,
            highest: None,
            window_delays: Vec::new(),
        }
    }

    /// The decoder (its sequence state, for checks).
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Whether the receiver waits for a key frame.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Feeds one packet received at `now_us`. A malformed packet is an error and changes
    /// nothing.
    pub fn handle_packet(&mut self, packet: &[u8], now_us: u64) -> Result<()> {
        self.window_start_us.get_or_insert(now_us);
        self.reassembler.push(packet, now_us)?;
        self.report.bytes_received = self
            .report
            .bytes_received
            .saturating_add(packet.len() as u32);
        while let Some(bytes) = self.reassembler.poll_frame() {
            let Ok((h, _, _)) = read_frame(&bytes) else {
                continue;
            };
            self.report.frames_received = self.report.frames_received.saturating_add(1);
            if self.highest.is_none_or(|hi| newer(h.seq, hi)) {
                self.highest = Some(h.seq);
            }
            let offset = now_us as i64 - h.timestamp_us as i64;
            if self.observe_offset(offset) {
                self.window_delays.push(offset);
            }
            let stale = self.last_decoded.is_some_and(|d| !newer(h.seq, d));
            if stale || self.pending.len() >= MAX_PENDING {
                continue;
            }
            // Key frames and recovery frames are where a broken stream may start again.
            let entry = h.kind == FrameKind::Key || h.recovery;
            self.pending.insert(h.seq, (bytes, now_us, entry));
        }
        self.process(now_us);
        Ok(())
    }

    /// Advances time: declares frames lost, decodes what can be decoded.
    pub fn handle_timeout(&mut self, now_us: u64) {
        self.reassembler.expire(now_us);
        self.process(now_us);
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ReceiverEvent> {
        self.events.pop_front()
    }

    /// The next feedback message to send back, if one is due at `now_us`.
    pub fn poll_feedback(&mut self, now_us: u64) -> Option<Vec<u8>> {
        if self.broken
            && self
                .last_request_us
                .is_none_or(|t| now_us >= t + self.config.key_request_interval_us)
        {
            self.last_request_us = Some(now_us);
            // Holding a long-term reference, a recovery frame will do (§10.3).
            let request = match self.decoder.long_term_seq() {
                Some(long_term) => Feedback::RecoveryRequest {
                    last_decoded: self.last_decoded,
                    long_term,
                },
                None => Feedback::KeyFrameRequest {
                    last_decoded: self.last_decoded,
                },
            };
            return Some(request.to_bytes());
        }
        let start = self.window_start_us?;
        if now_us < start + self.config.report_interval_us {
            return None;
        }
        let mut r = self.report;
        r.highest_seq = self.highest.unwrap_or(0);
        r.interval_ms = ((now_us - start) / 1000).min(u64::from(u16::MAX)) as u16;
        let min = self.min_offset.unwrap_or(0);
        self.window_delays.sort_unstable();
        r.queue_delay_ms = self
            .window_delays
            .get(self.window_delays.len() / 2)
            .map_or(0, |d| {
                ((d - min).max(0) / 1000).min(i64::from(u16::MAX)) as u16
            });
        self.report = ReceiverReport::default();
        self.window_delays.clear();
        self.window_start_us = Some(now_us);
        Some(Feedback::Report(r).to_bytes())
    }

    fn lost(&mut self, from: u32, count: u32) {
        if count > 0 {
            self.report.frames_lost = self
                .report
                .frames_lost
                .saturating_add(count.min(u32::from(u16::MAX)) as u16);
            self.events.push_back(ReceiverEvent::Lost { from, count });
        }
    }

    /// Folds a frame's `arrival − capture` into the baseline; says whether it is plausible.
    /// One stamped more than [`CLOCK_JUMP_US`] further in the future than the baseline (a
    /// clock jump, a crafted header) is set aside, and so is one that far behind it (a baseline
    /// that came from such a frame); after [`REBASE_AFTER`] such frames in a row on the same
    /// side, the baseline starts again from them.
    fn observe_offset(&mut self, offset: i64) -> bool {
        let Some(m) = self.min_offset else {
            self.min_offset = Some(offset);
            return true;
        };
        let side = if offset < m - CLOCK_JUMP_US {
            -1
        } else if offset > m + CLOCK_JUMP_US {
            1
        } else {
            self.min_offset = Some(m.min(offset));
            self.jumps = 0;
            return true;
        };
        self.jumps = if self.jumps.signum() == side {
            self.jumps + side
        } else {
            side
        };
        if self.jumps.unsigned_abs() >= REBASE_AFTER {
            self.min_offset = Some(offset);
            self.window_delays.clear();
            self.jumps = 0;
            return true;
        }
        false
    }

    fn process(&mut self, now_us: u64) {
        loop {
            let Some(&first) = self.pending.keys().next() else {
                return;
            };
            // Sequence order relative to the frame expected next (wrapping).
            let base = self.last_decoded.map_or(first, |d| d.wrapping_add(1));
            let Some((&seq, &(_, arrived, key))) = self
                .pending
                .iter()
                .min_by_key(|(s, _)| s.wrapping_sub(base))
            else {
                return;
            };
            let expected = self.last_decoded.map(|d| d.wrapping_add(1));
            let in_order = expected == Some(seq);
            if self.broken || self.last_decoded.is_none() {
                // Only a key frame helps; anything before it goes (and if nothing was ever
                // decoded, the first key frame was lost: ask for one).
                if !key {
                    self.broken = true;
                    self.pending.remove(&seq);
                    self.events.push_back(ReceiverEvent::Drop {
                        seq,
                        reason: DropReason::NoReference,
                    });
                    continue;
                }
            } else if !in_order {
                if now_us < arrived + self.config.reorder_wait_us {
                    return; // give the missing frames a little longer
                }
                let from = expected.unwrap_or(seq);
                self.lost(from, seq.wrapping_sub(from));
                if !key {
                    self.broken = true;
                    continue;
                }
            }
            let (bytes, _, _) = self.pending.remove(&seq).expect("present");
            self.decode(seq, &bytes, now_us);
        }
    }

    fn decode(&mut self, seq: u32, bytes: &[u8], now_us: u64) {
        match self.decoder.decode(bytes) {
            Ok(d) => {
                self.last_decoded = Some(seq);
                self.broken = false;
                let offset = now_us as i64 - d.header.timestamp_us as i64;
                // A frame stamped far in the future (a clock jump, a crafted header) counts as
                // on time: it did not move the baseline, and shows.
                let delay = (offset - self.min_offset.unwrap_or(offset)).max(0) as u64;
                self.events.push_back(if delay > self.config.deadline_us {
                    ReceiverEvent::Drop {
                        seq,
                        reason: DropReason::Late,
                    }
                } else {
                    ReceiverEvent::Show {
                        seq,
                        frame: Box::new(d),
                        delay_us: delay,
                    }
                });
            }
            Err(e) => {
                let reason = match e {
                    Error::Reference(_) => DropReason::NoReference,
                    _ => DropReason::Corrupt,
                };
                // The decoder's state is unchanged: the frames after this one cannot decode.
                self.broken = true;
                self.last_decoded = Some(seq);
                self.events.push_back(ReceiverEvent::Drop { seq, reason });
            }
        }
    }
}
