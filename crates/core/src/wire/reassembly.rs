//! Reassembly: packets in, whole frames out, in bounded memory (`docs/format.md` §4.3).
//!
//! Sans-I/O: feed each received packet with [`Reassembler::push`] (time is an argument), then
//! drain complete frames with [`Reassembler::poll_frame`]. Packets may arrive out of order,
//! twice, or never. An incomplete frame is dropped when a newer key frame completes, when it
//! has waited longer than the window, or when the memory or in-flight caps need its room.

use std::collections::{BTreeMap, VecDeque};

use crate::error::{Error, Result, check_limit, inconsistent};
use crate::limits::{
    DEFAULT_FRAMES_IN_FLIGHT, DEFAULT_REASSEMBLY_BYTES, DEFAULT_REASSEMBLY_WINDOW_US,
};
use crate::wire::packet::{MAX_FRAME_BYTES, PacketHeader};

/// How many finished frame ids a reassembler remembers to ignore late duplicates.
const RECENT_IDS: usize = 256;

/// Bounds of a [`Reassembler`] (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// Cap on bytes held: incomplete frames plus complete frames not yet polled.
    pub max_buffered_bytes: usize,
    /// Cap on incomplete frames tracked at once; the oldest is dropped to make room.
    pub max_frames_in_flight: usize,
    /// How long an incomplete frame waits for missing packets, in µs.
    pub window_us: u64,
    /// Largest frame accepted, in bytes.
    pub max_frame_bytes: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            max_buffered_bytes: DEFAULT_REASSEMBLY_BYTES,
            max_frames_in_flight: DEFAULT_FRAMES_IN_FLIGHT,
            window_us: DEFAULT_REASSEMBLY_WINDOW_US,
            max_frame_bytes: DEFAULT_REASSEMBLY_BYTES,
        }
    }
}

/// What [`Reassembler::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushStatus {
    /// Stored; the frame still needs more packets.
    NeedMorePackets,
    /// The packet completed a frame: [`Reassembler::poll_frame`] returns it.
    FrameComplete,
    /// Already had this packet; ignored.
    Duplicate,
    /// The packet belongs to a frame already delivered or dropped; ignored.
    Stale,
}

/// Counters, for tests and monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Frames completed.
    pub completed: u64,
    /// Incomplete frames dropped (superseded, timed out, or evicted for room).
    pub dropped: u64,
    /// Complete frames dropped unpolled to stay within the byte cap.
    pub dropped_ready: u64,
    /// Duplicate packets ignored.
    pub duplicates: u64,
    /// Packets for finished or superseded frames ignored.
    pub stale: u64,
    /// Packets rejected with an error.
    pub rejected: u64,
}

#[derive(Debug)]
struct Pending {
    header: PacketHeader,
    first_seen_us: u64,
    chunks: BTreeMap<u16, Vec<u8>>,
    bytes: usize,
}

/// Collects packets into frames, holding at most [`ReassemblyConfig::max_buffered_bytes`].
#[derive(Debug)]
pub struct Reassembler {
    config: ReassemblyConfig,
    pending: Vec<Pending>,
    ready: VecDeque<Vec<u8>>,
    recent: VecDeque<u32>,
    last_key: Option<u32>,
    buffered: usize,
    stats: ReassemblyStats,
}

/// `a` is newer than `b` in wrapping frame-id (and sequence-number) order.
pub(crate) fn newer(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::new(ReassemblyConfig::default())
    }
}

impl Reassembler {
    /// A reassembler with these bounds.
    pub fn new(config: ReassemblyConfig) -> Self {
        let config = ReassemblyConfig {
            max_frames_in_flight: config.max_frames_in_flight.max(1),
            max_frame_bytes: config.max_frame_bytes.min(MAX_FRAME_BYTES),
            ..config
        };
        Reassembler {
            config,
            pending: Vec::new(),
            ready: VecDeque::new(),
            recent: VecDeque::with_capacity(RECENT_IDS),
            last_key: None,
            buffered: 0,
            stats: ReassemblyStats::default(),
        }
    }

    /// Bytes held now (incomplete and unpolled frames).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Incomplete frames held now.
    pub fn frames_in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Counters since creation.
    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// Takes the oldest complete frame, if any.
    pub fn poll_frame(&mut self) -> Option<Vec<u8>> {
        let f = self.ready.pop_front()?;
        self.buffered -= f.len();
        Some(f)
    }

    /// Feeds one received packet, at time `now_us` (any monotonic clock, in µs). A malformed
    /// packet is an error and changes nothing else.
    pub fn push(&mut self, packet: &[u8], now_us: u64) -> Result<PushStatus> {
        self.expire(now_us);
        let result = self.insert(packet, now_us);
        if result.is_err() {
            self.stats.rejected += 1;
        }
        result
    }

    /// Drops incomplete frames older than the window.
    pub fn expire(&mut self, now_us: u64) {
        let window = self.config.window_us;
        self.drop_pending_where(|p| now_us.saturating_sub(p.first_seen_us) > window);
    }

    fn insert(&mut self, packet: &[u8], now_us: u64) -> Result<PushStatus> {
        let (h, data) = PacketHeader::parse(packet)?;
        check_limit(
            "frame length",
            h.frame_len.into(),
            self.config.max_frame_bytes as u64,
        )?;
        if self.recent.contains(&h.frame_id) {
            self.stats.stale += 1;
            return Ok(PushStatus::Stale);
        }
        if self.last_key.is_some_and(|k| !newer(h.frame_id, k)) {
            if !h.key {
                self.stats.stale += 1;
                return Ok(PushStatus::Stale);
            }
            // A key frame with an old id we never saw: the sender restarted its counter.
            self.last_key = None;
        }
        let slot = match self
            .pending
            .iter()
            .position(|p| p.header.frame_id == h.frame_id)
        {
            Some(i) => {
                let known = self.pending[i].header;
                if (known.count, known.frame_len, known.key) != (h.count, h.frame_len, h.key) {
                    return Err(inconsistent(
                        "packet header vs. earlier packets of the same frame (count, length, key)",
                        u64::from(known.frame_len),
                        u64::from(h.frame_len),
                    ));
                }
                if self.pending[i].chunks.contains_key(&h.index) {
                    self.stats.duplicates += 1;
                    return Ok(PushStatus::Duplicate);
                }
                i
            }
            None => {
                if self.pending.len() >= self.config.max_frames_in_flight {
                    self.drop_oldest_pending(None);
                }
                self.pending.push(Pending {
                    header: h,
                    first_seen_us: now_us,
                    chunks: BTreeMap::new(),
                    bytes: 0,
                });
                self.pending.len() - 1
            }
        };
        let slot = self.make_room(slot, data.len())?;
        let p = &mut self.pending[slot];
        p.chunks.insert(h.index, data.to_vec());
        p.bytes += data.len();
        self.buffered += data.len();
        if p.chunks.len() < usize::from(h.count) {
            return Ok(PushStatus::NeedMorePackets);
        }
        let p = self.pending.swap_remove(slot);
        let mut frame = Vec::with_capacity(h.frame_len as usize);
        for chunk in p.chunks.into_values() {
            frame.extend_from_slice(&chunk);
        }
        self.remember(h.frame_id);
        self.ready.push_back(frame);
        self.stats.completed += 1;
        if h.key {
            self.last_key = Some(h.frame_id);
            self.drop_pending_where(|q| newer(h.frame_id, q.header.frame_id));
        }
        Ok(PushStatus::FrameComplete)
    }

    /// Frees room for `extra` bytes, dropping unpolled complete frames, then the oldest other
    /// incomplete frames. Returns the (possibly moved) index of the frame being filled.
    fn make_room(&mut self, mut slot: usize, extra: usize) -> Result<usize> {
        let cap = self.config.max_buffered_bytes;
        while self.buffered + extra > cap {
            if let Some(f) = self.ready.pop_front() {
                self.buffered -= f.len();
                self.stats.dropped_ready += 1;
            } else if self.pending.len() > 1 {
                let keep = self.pending[slot].header.frame_id;
                self.drop_oldest_pending(Some(keep));
                slot = self
                    .pending
                    .iter()
                    .position(|p| p.header.frame_id == keep)
                    .unwrap_or(0);
            } else {
                // This frame alone is larger than the cap: drop it.
                let p = self.pending.swap_remove(slot);
                self.discard(p);
                return Err(Error::LimitsExceeded(crate::error::LimitError {
                    what: "reassembly buffer",
                    value: (self.buffered + extra) as u64,
                    limit: cap as u64,
                }));
            }
        }
        Ok(slot)
    }

    fn drop_oldest_pending(&mut self, keep: Option<u32>) {
        let oldest = self
            .pending
            .iter()
            .enumerate()
            .filter(|(_, p)| Some(p.header.frame_id) != keep)
            .min_by_key(|(_, p)| p.first_seen_us)
            .map(|(i, _)| i);
        if let Some(i) = oldest {
            let p = self.pending.swap_remove(i);
            self.discard(p);
        }
    }

    fn drop_pending_where(&mut self, mut pred: impl FnMut(&Pending) -> bool) {
        let mut i = 0;
        while i < self.pending.len() {
            if pred(&self.pending[i]) {
                let p = self.pending.swap_remove(i);
                self.discard(p);
            } else {
                i += 1;
            }
        }
    }

    fn discard(&mut self, p: Pending) {
        self.buffered -= p.bytes;
        self.stats.dropped += 1;
        self.remember(p.header.frame_id);
    }

    fn remember(&mut self, id: u32) {
        if self.recent.len() == RECENT_IDS {
            self.recent.pop_front();
        }
        self.recent.push_back(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::header::FrameKind;
    use crate::wire::packet::Packetizer;

    fn frame(len: usize, kind: FrameKind) -> Vec<u8> {
        crate::wire::packet::tests::frame(len, kind)
    }

    #[test]
    fn in_order_frames_come_out_whole() {
        let mut p = Packetizer::new(500).unwrap();
        let mut r = Reassembler::default();
        for (i, len) in [10, 2000, 0, 999].into_iter().enumerate() {
            let f = frame(len, FrameKind::Key);
            for pk in p.packetize(&f).unwrap() {
                r.push(&pk, i as u64).unwrap();
            }
            assert_eq!(r.poll_frame().unwrap(), f);
            assert_eq!(r.buffered_bytes(), 0);
        }
    }

    #[test]
    fn newer_key_frame_drops_incomplete_older_ones() {
        let mut p = Packetizer::new(500).unwrap();
        let mut r = Reassembler::default();
        let a = p.packetize(&frame(2000, FrameKind::Delta)).unwrap();
        let b = p.packetize(&frame(2000, FrameKind::Key)).unwrap();
        r.push(&a[0], 0).unwrap();
        for pk in &b {
            r.push(pk, 1).unwrap();
        }
        assert_eq!(r.frames_in_flight(), 0);
        assert_eq!(r.stats().dropped, 1);
        // The rest of the old frame is stale now.
        assert_eq!(r.push(&a[1], 2).unwrap(), PushStatus::Stale);
        assert!(r.poll_frame().is_some() && r.poll_frame().is_none());
        // A restarted sender (ids from 0 again) is accepted from its first key frame on.
        let f = frame(100, FrameKind::Key);
        let restarted = Packetizer::new(500).unwrap().packetize(&f).unwrap();
        assert_eq!(r.push(&restarted[0], 3).unwrap(), PushStatus::Stale); // id 0 is recent
        let mut again = Packetizer::new(500).unwrap();
        again.packetize(&f).unwrap();
        again.packetize(&f).unwrap();
        for pk in again.packetize(&f).unwrap() {
            r.push(&pk, 4).unwrap();
        }
        assert_eq!(r.poll_frame().unwrap(), f);
    }

    #[test]
    fn window_drops_frames_waiting_too_long() {
        let mut p = Packetizer::new(500).unwrap();
        let mut r = Reassembler::new(ReassemblyConfig {
            window_us: 100,
            ..Default::default()
        });
        let a = p.packetize(&frame(2000, FrameKind::Delta)).unwrap();
        r.push(&a[0], 0).unwrap();
        r.expire(101);
        assert_eq!(r.frames_in_flight(), 0);
        assert_eq!(r.buffered_bytes(), 0);
        assert_eq!(r.push(&a[1], 102).unwrap(), PushStatus::Stale);
    }

    #[test]
    fn inconsistent_packet_is_rejected_without_harm() {
        let mut p = Packetizer::new(500).unwrap();
        let mut r = Reassembler::default();
        let f = frame(2000, FrameKind::Delta);
        let a = p.packetize(&f).unwrap();
        r.push(&a[0], 0).unwrap();
        let mut bad = a[1].clone();
        bad[3] = 1; // claims key frame
        assert!(r.push(&bad, 0).is_err());
        for pk in &a[1..] {
            r.push(pk, 0).unwrap();
        }
        assert_eq!(r.poll_frame().unwrap(), f);
    }

    #[test]
    fn byte_cap_holds() {
        let mut p = Packetizer::new(500).unwrap();
        let mut r = Reassembler::new(ReassemblyConfig {
            max_buffered_bytes: 5000,
            max_frame_bytes: 4000,
            ..Default::default()
        });
        for _ in 0..50 {
            let pk = p.packetize(&frame(3000, FrameKind::Delta)).unwrap();
            for k in &pk[..pk.len() - 1] {
                r.push(k, 0).unwrap();
                assert!(r.buffered_bytes() <= 5000);
            }
        }
        let big = p.packetize(&frame(5000, FrameKind::Key)).unwrap();
        assert_eq!(r.push(&big[0], 0).unwrap_err().code(), "limits_exceeded");
    }
}
