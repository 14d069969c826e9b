//! Rate control: **where a frame's quality is chosen** (`docs/rate-control.md`).
//!
//! [`RateController`] is a sans-I/O state machine on the encoder's side only. Per frame the
//! encoder asks it for a step of the fine quality grid ([`RateController::choose_step`]),
//! giving it the capture time and an estimator of the frame's size at any step (the integer
//! entropy tables give that size before the range coder runs); after sending, the encoder
//! tells it what the frame really cost ([`RateController::on_frame_sent`]). A virtual buffer
//! carries the difference between what was spent and what the target allows, so each frame's
//! budget pays back over- and under-spending within half a second.
//!
//! Nothing the controller computes is carried by the decoder: its decision travels as the
//! frame's step, an integer in the header.

mod controller;

pub use controller::{Decision, RateController, RateTarget};
