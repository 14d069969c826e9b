//! AuraLink AIC core: the AIC wire format, the codecs, and quality metrics.
//!
//! # Module Overview
//! The data path, one module per stage:
//!
//! ```text
//! Frame ──codec::Encoder──▶ frame bytes (wire::header) ──wire::Packetizer──▶ packets
//!                                                                            │ transport
//! Frame ◀──codec::Decoder── frame bytes ◀──────────────wire::Reassembler◀────┘
//! ```
//!
//! - [`frame`]: owned pixels ([`Frame`], [`PixelFormat`]); [`color`]: RGB ⇄ I420;
//!   [`scale`]: half resolution and back (the latency budget's last step).
//! - [`codec`]: [`Encoder`] / [`Decoder`]; the lossless zlib fallback ([`codec::zlib`]).
//! - [`wire`]: frame header, packets and reassembly (spec: `docs/format.md`).
//! - [`metrics`]: PSNR, SSIM, MS-SSIM.
//! - [`limits`]: the named limits every parser enforces.
//! - [`quality`]: the fine quality grid (steps between the trained levels).
//! - [`rate`]: rate control — where a frame's quality is chosen.
//! - [`residual`]: the refinement layer, an exact additive enhancement of the picture.
//! - [`motion`]: block motion compensation (interpolation, search, the vectors' syntax).
//! - `sequence` (with the model): inter coding — the integer state a video stream carries,
//!   the video encoder, and the decoder's side.
//! - `session` (with the model): a sender and a receiver over a lossy channel — feedback,
//!   key-frame requests, reordering, the bandwidth estimate.
//!
//! This crate does no I/O and reads no clock (times are arguments); it builds for
//! `wasm32-unknown-unknown` as for native targets. Every parser returns a typed [`Error`] on
//! bad input and never panics.
//!
//! ```
//! use aic_core::{Decoder, Encoder, EncoderConfig, Frame, PixelFormat};
//! use aic_core::wire::{Packetizer, Reassembler};
//!
//! let frame = Frame::new(64, 48, PixelFormat::Rgba8, vec![128; 64 * 48 * 4])?;
//! let bytes = Encoder::new(EncoderConfig::default())?.encode(&frame, 0)?.bytes;
//!
//! let mut rx = Reassembler::default();
//! for packet in Packetizer::new(1200)?.packetize(&bytes)? {
//!     rx.push(&packet, 0)?;
//! }
//! let decoded = Decoder::new().decode(&rx.poll_frame().unwrap())?;
//! assert_eq!(decoded.frame, frame);
//! # Ok::<(), aic_core::Error>(())
//! ```

pub mod codec;
pub mod color;
pub mod entropy;
pub mod error;
pub mod frame;
#[doc(hidden)]
pub mod fuzzing;
pub mod limits;
pub mod metrics;
#[cfg(feature = "neural")]
pub mod model;
pub mod motion;
pub mod planar;
pub mod quality;
pub mod rate;
pub mod residual;
pub mod scale;
#[cfg(feature = "neural")]
pub mod sequence;
#[cfg(feature = "neural")]
pub mod session;
pub mod wire;

pub use codec::{CodecChoice, DecodedFrame, Decoder, EncodedFrame, Encoder, EncoderConfig};
pub use error::{Error, Result};
pub use frame::{Frame, PixelFormat};
