//! One ingest session's shared state: what the HTTP API reads (the latest decoded frame, the
//! stats as JSON) and what the decode worker writes, plus the optional Y4M recording.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use aic_core::Frame;
use aic_core::session::{DropReason, ReceiverEvent};
use serde::Serialize;

use super::access::Owner;
use crate::serve::grpc::drop_reason;
use crate::stats::percentile;

/// Counters of one session, as `GET /v1/sessions/{id}` answers them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionStats {
    /// The session id.
    pub id: String,
    /// `connecting`, `connected` or `closed`.
    pub state: &'static str,
    /// Packets received on the data channel.
    pub packets: u64,
    /// Bytes received on the data channel.
    pub bytes: u64,
    /// Packets dropped because the decoder was behind (the queue was full).
    pub packets_dropped: u64,
    /// Packets dropped unread because decoding had fallen behind (skipped to the present).
    pub packets_stale: u64,
    /// Packets refused as malformed.
    pub packets_rejected: u64,
    /// Frames decoded and shown.
    pub frames_shown: u64,
    /// Frames decoded but not shown: too late.
    pub frames_late: u64,
    /// Frames refused: their reference was lost.
    pub frames_no_reference: u64,
    /// Frames whose bytes did not decode.
    pub frames_corrupt: u64,
    /// Frames that never arrived.
    pub frames_lost: u64,
    /// Key-frame requests and receiver reports sent back.
    pub feedback_sent: u64,
    /// The last shown frame's sequence number.
    pub last_seq: Option<u32>,
    /// Its size.
    pub width: u32,
    /// Its size.
    pub height: u32,
    /// Capture-to-decode delay of the recent shown frames, ms: median and 95th percentile
    /// (relative to the smallest delay seen, so the clocks' offset cancels).
    pub delay_p50_ms: f64,
    /// See `delay_p50_ms`.
    pub delay_p95_ms: f64,
    /// Capture-to-decode delay of the recent shown frames by the wall clock, ms: this
    /// server's Unix time minus the frame's timestamp, median and 95th percentile. Absolute,
    /// but meaningful only when the sender stamps frames with Unix time in µs on a clock
    /// this server shares (loopback) or keeps in sync; `None` when no frame's timestamp is
    /// within [`WALL_CLOCK_PLAUSIBLE_US`] of this server's time.
    pub wall_delay_p50_ms: Option<f64>,
    /// See `wall_delay_p50_ms`.
    pub wall_delay_p95_ms: Option<f64>,
}

/// A frame's timestamp counts as Unix time when it is within this of the server's, µs.
pub const WALL_CLOCK_PLAUSIBLE_US: i64 = 60_000_000;

/// How many recent delays the percentiles are taken over.
const DELAY_WINDOW: usize = 256;

#[derive(Debug, Default)]
struct Inner {
    stats: SessionStats,
    latest: Option<Frame>,
    delays_ms: Vec<f64>,
    wall_delays_ms: Vec<f64>,
    recording: Option<Recording>,
}

/// Appends `ms` to a window of the last [`DELAY_WINDOW`] delays.
fn push_delay(window: &mut Vec<f64>, ms: f64) {
    if window.len() == DELAY_WINDOW {
        window.remove(0);
    }
    window.push(ms);
}

/// One session's state, shared between its worker and the HTTP API.
#[derive(Debug)]
pub struct SessionShared {
    inner: Mutex<Inner>,
    owner: Owner,
}

impl SessionShared {
    /// A new session `id` of `owner`, recording its shown frames to `record` if given.
    pub fn new(id: &str, record: Option<PathBuf>, owner: Owner) -> Self {
        let inner = Inner {
            stats: SessionStats {
                id: id.to_string(),
                state: "connecting",
                ..SessionStats::default()
            },
            recording: record.map(Recording::new),
            ..Inner::default()
        };
        SessionShared {
            inner: Mutex::new(inner),
            owner,
        }
    }

    /// Who published it (and so who may reach it).
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// A snapshot of the stats.
    pub fn stats(&self) -> SessionStats {
        self.with(|i| {
            let mut s = i.stats.clone();
            // 0 before the first frame shown.
            let relative = |p| {
                if i.delays_ms.is_empty() {
                    0.0
                } else {
                    percentile(&i.delays_ms, p)
                }
            };
            s.delay_p50_ms = relative(0.5);
            s.delay_p95_ms = relative(0.95);
            if !i.wall_delays_ms.is_empty() {
                s.wall_delay_p50_ms = Some(percentile(&i.wall_delays_ms, 0.5));
                s.wall_delay_p95_ms = Some(percentile(&i.wall_delays_ms, 0.95));
            }
            s
        })
    }

    /// The latest shown frame and its sequence number.
    pub fn latest(&self) -> Option<(Frame, u32)> {
        self.with(|i| Some((i.latest.clone()?, i.stats.last_seq?)))
    }

    /// Sets the connection state.
    pub fn set_state(&self, state: &'static str) {
        self.with(|i| i.stats.state = state);
    }

    /// Counts a packet received (and whether the queue took it).
    pub fn on_packet(&self, bytes: usize, queued: bool) {
        self.with(|i| {
            i.stats.packets += 1;
            i.stats.bytes += bytes as u64;
            if !queued {
                i.stats.packets_dropped += 1;
            }
        });
    }

    /// Counts packets dropped as stale.
    pub fn on_stale(&self, n: usize) {
        self.with(|i| i.stats.packets_stale += n as u64);
    }

    /// Counts a refused packet.
    pub fn on_rejected(&self) {
        self.with(|i| i.stats.packets_rejected += 1);
    }

    /// Counts a feedback message sent.
    pub fn on_feedback(&self) {
        self.with(|i| i.stats.feedback_sent += 1);
    }

    /// Takes one receiver event: keeps a shown frame (and records it), counts the others.
    /// Returns the reason name of a frame not shown, for the metrics.
    pub fn on_event(&self, e: ReceiverEvent) -> Option<&'static str> {
        self.with(|i| match e {
            ReceiverEvent::Show {
                seq,
                frame,
                delay_us,
            } => {
                let s = &mut i.stats;
                s.frames_shown += 1;
                s.last_seq = Some(seq);
                s.width = frame.frame.width();
                s.height = frame.frame.height();
                push_delay(&mut i.delays_ms, delay_us as f64 / 1000.0);
                let wall_us =
                    (crate::clock::unix_nanos() / 1000) as i64 - frame.header.timestamp_us as i64;
                if wall_us.abs() <= WALL_CLOCK_PLAUSIBLE_US {
                    push_delay(&mut i.wall_delays_ms, wall_us as f64 / 1000.0);
                }
                if let Some(r) = &mut i.recording {
                    r.write(&frame.frame);
                }
                i.latest = Some(frame.frame);
                None
            }
            ReceiverEvent::Drop { reason, .. } => {
                match reason {
                    DropReason::Late => i.stats.frames_late += 1,
                    DropReason::NoReference => i.stats.frames_no_reference += 1,
                    DropReason::Corrupt => i.stats.frames_corrupt += 1,
                }
                Some(drop_reason(reason))
            }
            ReceiverEvent::Lost { count, .. } => {
                i.stats.frames_lost += u64::from(count);
                Some("lost")
            }
        })
    }
}

/// A Y4M file (4:2:0) of a session's shown frames; frames of another size than the first are
/// skipped, and a write error ends the recording (the session goes on).
#[derive(Debug)]
struct Recording {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    size: Option<(u32, u32)>,
    failed: bool,
}

impl Recording {
    fn new(path: PathBuf) -> Self {
        Recording {
            path,
            out: None,
            size: None,
            failed: false,
        }
    }

    fn write(&mut self, frame: &Frame) {
        if self.failed {
            return;
        }
        let (w, h) = (frame.width(), frame.height());
        if self.size.is_some_and(|s| s != (w, h)) {
            return;
        }
        let result = (|| -> std::io::Result<()> {
            if self.out.is_none() {
                let mut f = BufWriter::new(File::create(&self.path)?);
                writeln!(f, "YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C420jpeg")?;
                self.out = Some(f);
                self.size = Some((w, h));
            }
            let out = self.out.as_mut().expect("opened above");
            out.write_all(b"FRAME\n")?;
            out.write_all(aic_core::color::to_i420(frame).data())?;
            out.flush()
        })();
        if let Err(e) = result {
            eprintln!("aic serve: recording {} stopped: {e}", self.path.display());
            self.failed = true;
        }
    }
}
