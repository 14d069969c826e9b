//! Inter coding: the state a video stream carries from frame to frame (`docs/video.md`,
//! `docs/format.md` §7).
//!
//! # Module Overview
//! - [`state`]: [`LatentState`], the integers both sides hold (symbols and a step per latent
//!   position) and how a delta frame's [`Update`] changes them.
//! - [`payload`]: a delta frame's bytes (update flags, then symbols).
//! - [`encoder`]: [`VideoEncoder`], key and delta frames under the rate controller.
//! - [`decoder`]: [`SequenceDecoder`], the state and a picture redrawn where it changed.
//! - [`inter`]: motion delta frames: the reference pictures, the payload, the picture's
//!   reconstruction (shared by encoder and decoder); `motion_encoder`: the encoder's choices.
//!
//! Exactness: whatever is carried is integers that encoder and decoder apply identically; the
//! floats (the encoder's analysis output, the decoder's picture) never feed back into what the
//! other side must reproduce.

pub mod decoder;
pub mod encoder;
pub mod inter;
mod motion_encoder;
pub mod payload;
pub mod state;

pub use decoder::{Reconstruction, SequenceDecoder, SequenceStats};
pub use encoder::{EncodedVideoFrame, Refinement, VideoConfig, VideoEncoder, VideoFrameStats};
pub use motion_encoder::MotionStats;
pub use state::{LatentState, Update};
