//! The decoder's side of a sequence: the integer [`LatentState`], and the picture drawn from
//! it, redrawn only where a delta frame changed the latent (`docs/video.md`).
//!
//! The synthesis transform sees [`RECEPTIVE`] latent positions around each output position,
//! so after a delta frame the pixels of the updated positions' bounding box, widened by
//! `RECEPTIVE`, are redrawn from a crop widened by twice that (their own context): decoding
//! costs follow the changed area. The picture is display only; it never feeds the next frame.

use super::payload;
use super::state::LatentState;
use crate::codec::NeuralCodec;
use crate::error::{ReferenceError, Result, inconsistent};
use crate::frame::Frame;
use crate::planar::{Planar, STRIDE, planar_to_frame};
use crate::wire::FrameHeader;

/// Latent positions around an output position that the synthesis transform reads (its
/// receptive field's radius, rounded up: 3×3 convolutions at 1/16, 1/8 and 1/4 resolution).
pub const RECEPTIVE: usize = 2;

/// Above this fraction of the grid, a delta frame is redrawn whole.
const PARTIAL_LIMIT: f64 = 0.6;

/// How a frame was decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequenceStats {
    /// Fraction of latent positions the frame updated (1 for a key frame).
    pub updated_fraction: f64,
    /// Fraction of the picture the synthesis transform ran on.
    pub synthesized_fraction: f64,
}

/// Rows and columns of latent positions, half-open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Region {
    r0: usize,
    r1: usize,
    c0: usize,
    c1: usize,
}

impl Region {
    fn widen(self, by: usize, h: usize, w: usize) -> Region {
        Region {
            r0: self.r0.saturating_sub(by),
            r1: (self.r1 + by).min(h),
            c0: self.c0.saturating_sub(by),
            c1: (self.c1 + by).min(w),
        }
    }

    fn area(&self) -> usize {
        (self.r1 - self.r0) * (self.c1 - self.c0)
    }
}

/// The decoder's state of one neural stream.
#[derive(Debug, Clone, Default)]
pub struct SequenceDecoder {
    state: Option<LatentState>,
    picture: Option<Planar>,
}

impl SequenceDecoder {
    /// The integer state after the last decoded frame, if any.
    pub fn state(&self) -> Option<&LatentState> {
        self.state.as_ref()
    }

    /// Forgets the stream (the next frame must be a key frame).
    pub fn reset(&mut self) {
        self.state = None;
        self.picture = None;
    }

    /// Decodes a key frame: the state and the picture start afresh.
    pub async fn decode_key(
        &mut self,
        neural: &NeuralCodec,
        header: &FrameHeader,
        payload: &[u8],
    ) -> Result<(Frame, SequenceStats)> {
        let latent = neural.decode_latent(payload, header.quality, header.width, header.height)?;
        let state = LatentState::key(
            header.width,
            header.height,
            latent.channels,
            (latent.height, latent.width),
            latent.symbols,
            header.quality,
            header.seq,
        )?;
        let full = Region {
            r0: 0,
            r1: state.grid_h,
            c0: 0,
            c1: state.grid_w,
        };
        let picture = synthesize(neural, &state, full).await?;
        let frame = planar_to_frame(&picture, header.width, header.height, header.format);
        self.state = Some(state);
        self.picture = Some(picture);
        Ok((
            frame,
            SequenceStats {
                updated_fraction: 1.0,
                synthesized_fraction: 1.0,
            },
        ))
    }

    /// Decodes a delta frame against the held state. A frame whose reference is not held, or
    /// that does not decode, leaves the state and picture as they were.
    pub async fn decode_delta(
        &mut self,
        neural: &NeuralCodec,
        header: &FrameHeader,
        payload: &[u8],
    ) -> Result<(Frame, SequenceStats)> {
        let needed = header.seq.wrapping_sub(1);
        let (Some(state), Some(picture)) = (&self.state, &self.picture) else {
            return Err(ReferenceError {
                seq: header.seq,
                needed,
                held: "no key frame has been decoded".into(),
            }
            .into());
        };
        if state.seq != needed {
            return Err(ReferenceError {
                seq: header.seq,
                needed,
                held: format!("the last frame decoded is {}", state.seq),
            }
            .into());
        }
        if (state.width, state.height) != (header.width, header.height) {
            return Err(inconsistent(
                "delta frame size (width × height of its reference)",
                u64::from(state.width) * u64::from(state.height),
                u64::from(header.width) * u64::from(header.height),
            ));
        }
        let update = payload::decode(
            &neural.fine().tables,
            payload,
            header.quality,
            &state.steps,
            state.grid_w,
        )?;
        let mut next = state.clone();
        next.apply(&update, header.seq)?;
        let (h, w) = (next.grid_h, next.grid_w);
        // The updated positions' bounding box.
        let mut box_ = None::<Region>;
        for (p, _) in update.updated.iter().enumerate().filter(|(_, u)| **u) {
            let (r, c) = (p / w, p % w);
            box_ = Some(match box_ {
                None => Region {
                    r0: r,
                    r1: r + 1,
                    c0: c,
                    c1: c + 1,
                },
                Some(b) => Region {
                    r0: b.r0.min(r),
                    r1: b.r1.max(r + 1),
                    c0: b.c0.min(c),
                    c1: b.c1.max(c + 1),
                },
            });
        }
        let mut picture = picture.clone();
        let mut synthesized = 0usize;
        if let Some(b) = box_ {
            let paste = b.widen(RECEPTIVE, h, w);
            let crop = if paste.area() as f64 > PARTIAL_LIMIT * (h * w) as f64 {
                Region {
                    r0: 0,
                    r1: h,
                    c0: 0,
                    c1: w,
                }
            } else {
                b.widen(2 * RECEPTIVE, h, w)
            };
            let patch = synthesize(neural, &next, crop).await?;
            paste_into(&mut picture, &patch, crop, paste);
            synthesized = crop.area();
        }
        let frame = planar_to_frame(&picture, header.width, header.height, header.format);
        let stats = SequenceStats {
            updated_fraction: update.count() as f64 / (h * w) as f64,
            synthesized_fraction: synthesized as f64 / (h * w) as f64,
        };
        self.state = Some(next);
        self.picture = Some(picture);
        Ok((frame, stats))
    }
}

/// Runs the synthesis transform on `region` of the state's latent (dequantized per position
/// at its own step).
async fn synthesize(neural: &NeuralCodec, state: &LatentState, region: Region) -> Result<Planar> {
    let n = state.positions();
    let (rh, rw) = (region.r1 - region.r0, region.c1 - region.c0);
    let mut y_hat = Vec::with_capacity(state.channels * rh * rw);
    for c in 0..state.channels {
        for r in region.r0..region.r1 {
            for col in region.c0..region.c1 {
                let p = r * state.grid_w + col;
                y_hat.push(neural.dequantize_one(state.symbols[c * n + p], c, state.steps[p]));
            }
        }
    }
    neural.synthesize_y(y_hat, rh, rw).await
}

/// Copies the pixels of `paste` (latent positions) from `patch` (synthesized over `crop`)
/// into `picture`.
fn paste_into(picture: &mut Planar, patch: &Planar, crop: Region, paste: Region) {
    for ch in 0..3 {
        for y in paste.r0 * STRIDE..paste.r1 * STRIDE {
            let py = y - crop.r0 * STRIDE;
            let (x0, x1) = (paste.c0 * STRIDE, paste.c1 * STRIDE);
            let (px0, px1) = (x0 - crop.c0 * STRIDE, x1 - crop.c0 * STRIDE);
            let dst = (ch * picture.height + y) * picture.width;
            let src = (ch * patch.height + py) * patch.width;
            picture.data[dst + x0..dst + x1].copy_from_slice(&patch.data[src + px0..src + px1]);
        }
    }
}
