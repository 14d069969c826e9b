//! Live streams over a lossy channel, sans-I/O (`docs/video.md`, "Loss"): a [`Sender`] and a
//! [`Receiver`] that exchange packets one way and feedback the other, with the time passed in.
//!
//! # Module Overview
//! - [`sender`]: [`Sender`] — encode, packetize, honour key-frame requests (rate-limited),
//!   follow the bandwidth estimate.
//! - [`receiver`]: [`Receiver`] — reassemble, reorder, decode in order, hold the picture on
//!   loss, ask for key frames, report what arrived.
//! - [`estimate`]: [`BandwidthEstimate`] — the sender's estimate from receiver reports.

pub mod estimate;
pub mod receiver;
pub mod sender;

pub use estimate::BandwidthEstimate;
pub use receiver::{DropReason, Receiver, ReceiverConfig, ReceiverEvent};
pub use sender::{LatencyMode, RECOVERY_INTERVAL, STEP_UP_FRAMES, Sender, SenderConfig};
