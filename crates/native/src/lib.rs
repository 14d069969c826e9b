//! AuraLink AIC on servers: reading and writing image and video files, evaluation, and the
//! `aic` command line (in `src/bin/aic/`, one module per command).
//!
//! # Module Overview
//! - [`input`]: PNG, JPEG, PPM/PNM and Y4M files → [`aic_core::Frame`]s.
//! - [`output`]: frames → PNG, PPM or Y4M files.
//! - [`eval`]: size and quality of codecs over files, the data behind `aic eval`.
//! - [`bench`]: timings behind `aic bench`.
//! - [`video`]: a clip through the video codec and VP8, the data behind `aic eval-video`;
//!   [`plot`]: its PNG plot.
//! - [`simulate`]: sender and receiver through a seeded impaired channel, `aic simulate`.
//! - [`serve`]: `aic serve`, the HTTP/gRPC service and WebRTC ingest (`docs/server.md`).
//! - [`send`]: `aic send`, a native WebRTC peer streaming a clip to a server (WHIP).
//! - [`clock`]: the crate's one door to the clock; [`stats`]: percentiles.
//! - [`backend`]: the Burn device the neural codec runs on (`--backend flex|wgpu`).
//! - [`error`]: [`NativeError`], which always names the file concerned.

pub mod backend;
pub mod bench;
pub mod clock;
pub mod error;
pub mod eval;
pub mod input;
pub mod output;
pub mod plot;
pub mod send;
pub mod serve;
pub mod simulate;
pub mod stats;
pub mod video;

pub use error::NativeError;
