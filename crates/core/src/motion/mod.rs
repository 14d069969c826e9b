//! Block motion compensation for delta frames (`docs/format.md` §11, `docs/video.md`).
//!
//! A motion delta frame predicts each 16×16 macroblock (one latent position) from a reference
//! picture both sides hold in I420 — the previous decoded picture (`Last`) or the long-term
//! reference (`Long`) — and codes what prediction misses with the 4×4 integer transform of
//! [`crate::residual`]. What cannot be predicted (new content, a scene cut) is coded intra by
//! the neural codec, as latent positions replaced.
//!
//! # Module Overview
//! - [`interp`]: the prediction of a block at a quarter-pel vector: bilinear, non-negative
//!   taps only, so it is non-expansive in the max norm (the drift bound).
//! - [`search`]: the encoder's motion search (predictors, a small diamond, half- and
//!   quarter-pel refinement).
//! - [`syntax`]: a motion frame's modes, vectors and residual levels, and how they are coded
//!   (vector prediction from decoded neighbours, adaptive binary contexts).
//!
//! Pure integer code: no floats reach the picture, and parsing reads decoded syntax only,
//! never pixels.

pub mod interp;
pub mod search;
pub mod syntax;

pub use syntax::{Macroblock, MbMode, MotionSyntax, Reference};

/// Side of a macroblock in luma pixels (one latent position).
pub const MB: usize = 16;

/// Sub-pixel precision of luma vectors: quarter-pel (chroma: eighth-pel, the same number).
pub const MV_FRAC_BITS: u32 = 2;

/// Largest magnitude of a vector component, in quarter-pels (±64 pixels; `docs/format.md`
/// §5).
pub const MAX_MV_QPEL: i32 = 256;

/// How far a predicted block may reach beyond the picture's edge, in luma pixels (samples
/// outside repeat the edge; `docs/format.md` §5).
pub const MOTION_MARGIN: i32 = 16;

/// A motion vector in quarter-pel luma units (chroma uses it as eighth-pels).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Mv {
    /// Horizontal component, quarter-pels (positive: the reference block is to the right).
    pub x: i32,
    /// Vertical component, quarter-pels (positive: below).
    pub y: i32,
}

impl Mv {
    /// The zero vector.
    pub const ZERO: Mv = Mv { x: 0, y: 0 };

    /// A vector of `x`, `y` quarter-pels.
    pub const fn new(x: i32, y: i32) -> Self {
        Mv { x, y }
    }

    /// Whether a 16×16 block at macroblock (`row`, `col`) of a `width`×`height` picture may use
    /// this vector: each component within [`MAX_MV_QPEL`], and the block within
    /// [`MOTION_MARGIN`] of the picture.
    pub fn allowed(self, row: usize, col: usize, width: usize, height: usize) -> bool {
        if self.x.abs() > MAX_MV_QPEL || self.y.abs() > MAX_MV_QPEL {
            return false;
        }
        let reach = |origin: usize, v: i32, side: usize| {
            let lo = origin as i32 + (v >> MV_FRAC_BITS);
            // One more sample to the right/below when the vector has a fraction.
            let hi = lo + MB as i32 + i32::from(v & 3 != 0);
            lo >= -MOTION_MARGIN && hi <= side as i32 + MOTION_MARGIN
        };
        reach(col * MB, self.x, width) && reach(row * MB, self.y, height)
    }
}

/// Borrowed I420 planes of a picture: `[Y, U, V]`, each `(samples, width, height)`.
#[derive(Debug, Clone, Copy)]
pub struct Planes<'a> {
    /// The three planes.
    pub planes: [PlaneView<'a>; 3],
}

/// One plane of 8-bit samples, row-major, no padding.
#[derive(Debug, Clone, Copy)]
pub struct PlaneView<'a> {
    /// Samples.
    pub data: &'a [u8],
    /// Width in samples.
    pub width: usize,
    /// Height in samples.
    pub height: usize,
}

impl PlaneView<'_> {
    /// The sample at (`x`, `y`), coordinates clamped into the plane (edges repeat).
    #[inline]
    pub fn clamped(&self, x: i32, y: i32) -> u8 {
        let x = x.clamp(0, self.width as i32 - 1) as usize;
        let y = y.clamp(0, self.height as i32 - 1) as usize;
        self.data[y * self.width + x]
    }
}

/// Sizes of the I420 planes of a `width`×`height` picture.
pub fn plane_sizes(width: usize, height: usize) -> [(usize, usize); 3] {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    [(width, height), (cw, ch), (cw, ch)]
}

/// Splits an I420 buffer of a `width`×`height` picture into its planes.
pub fn planes(data: &[u8], width: usize, height: usize) -> Planes<'_> {
    let [(w, h), (cw, ch), _] = plane_sizes(width, height);
    let (y, rest) = data.split_at(w * h);
    let (u, v) = rest.split_at(cw * ch);
    Planes {
        planes: [
            PlaneView {
                data: y,
                width: w,
                height: h,
            },
            PlaneView {
                data: u,
                width: cw,
                height: ch,
            },
            PlaneView {
                data: &v[..cw * ch],
                width: cw,
                height: ch,
            },
        ],
    }
}

/// The 4×4 blocks of plane `p` that belong to macroblock (`row`, `col`) and lie (at least
/// partly) inside a plane of `bw`×`bh` blocks, as (block row, block column), raster order
/// within the macroblock.
pub fn mb_blocks(
    p: usize,
    row: usize,
    col: usize,
    bw: usize,
    bh: usize,
) -> impl Iterator<Item = (usize, usize)> {
    let per = if p == 0 { 4 } else { 2 };
    (0..per * per)
        .map(move |i| (row * per + i / per, col * per + i % per))
        .filter(move |&(r, c)| r < bh && c < bw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_within_the_margin_are_allowed_and_beyond_it_not() {
        // 64×48 picture, macroblock (0, 0).
        assert!(Mv::ZERO.allowed(0, 0, 64, 48));
        assert!(Mv::new(-16 * 4, 0).allowed(0, 0, 64, 48));
        assert!(!Mv::new(-16 * 4 - 1, 0).allowed(0, 0, 64, 48));
        // Last column: 48 + 16 + 16 = 80 ≤ 64 + 16.
        assert!(Mv::new(16 * 4, 0).allowed(0, 3, 64, 48));
        assert!(!Mv::new(16 * 4 + 1, 0).allowed(0, 3, 64, 48));
        assert!(!Mv::new(0, MAX_MV_QPEL + 1).allowed(1, 1, 4000, 4000));
    }
}
