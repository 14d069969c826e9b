//! The AIC wire format: frames (§2) and packets (§4) of `docs/format.md`.
//!
//! # Module Overview
//! - [`header`]: one frame's bytes ⇄ [`FrameHeader`] + payload, with a CRC-32.
//! - [`packet`]: a frame ⇄ packets that fit a transport's message size.
//! - [`reassembly`]: packets, in any order, ⇒ frames, in bounded memory.
//! - [`feedback`]: receiver → sender messages: key-frame requests, receiver reports.

pub mod feedback;
pub mod header;
pub mod packet;
pub mod reassembly;

pub use feedback::{Feedback, ReceiverReport};
pub use header::{
    Codec, FORMAT_VERSION, FRAME_HEADER_LEN, FRAME_TRAILER_LEN, FrameHeader, FrameKind, WireFrame,
    frames, read_frame, write_frame,
};
pub use packet::{MAX_FRAME_BYTES, PACKET_HEADER_LEN, PacketHeader, Packetizer};
pub use reassembly::{PushStatus, Reassembler, ReassemblyConfig, ReassemblyStats};
