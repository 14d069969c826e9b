//! The refinement layer: an exact, additive enhancement of the neural picture
//! (`docs/format.md` §9, `docs/video.md`).
//!
//! The neural codec's quality stops at its top level; a still scene needs more. This layer
//! codes the difference between the source and the decoder's picture (in I420) with a 4×4
//! integer transform, and both sides hold the accumulated integer coefficients per block, so a
//! still scene keeps sharpening over the following frames. The decoder adds the held residual
//! to its own picture: pictures of two backends still differ only by the synthesis
//! transform's float noise (±1 level), because what is carried is integers and is only added.
//!
//! # Module Overview
//! - [`transform`]: the 4×4 integer transform, quantizer and exact inverse.
//! - [`coding`]: adaptive binary models and the coefficient syntax.
//! - [`layer`]: [`ResidualState`], what a frame's stream does to it, and the encoder's choice.

pub mod coding;
pub mod layer;
pub mod transform;

pub use coding::Models;
pub use layer::{RefineStats, ResidualState};
