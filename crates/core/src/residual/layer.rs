//! The refinement layer's state: per 4×4 block of each I420 plane, the held (dequantized,
//! accumulated) integer coefficients; how a frame's refinement stream changes them; and the
//! encoder's choice of which blocks to refine (`docs/format.md` §9).

use super::coding::{self, Models, Reader, Writer, ctx};
use super::transform::{MAX_HELD, MAX_QP, ZIGZAG, dequantize, forward, inverse, lambda, quantize};
use crate::error::{Result, inconsistent};
use crate::frame::{Frame, PixelFormat};
use crate::planar::STRIDE;

/// Context offset of luma and chroma planes.
const PLANE_CTX: [usize; 3] = [0, 16, 16];

/// One plane's held coefficients.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plane {
    width: usize,
    height: usize,
    /// Blocks per row and column.
    bw: usize,
    bh: usize,
    held: Vec<[i32; 16]>,
}

impl Plane {
    fn new(width: usize, height: usize) -> Self {
        let (bw, bh) = (width.div_ceil(4), height.div_ceil(4));
        Plane {
            width,
            height,
            bw,
            bh,
            held: vec![[0; 16]; bw * bh],
        }
    }

    /// Sets the held coefficients of blocks `[r0, r1) × [c0, c1)` to zero.
    fn clear(&mut self, r0: usize, r1: usize, c0: usize, c1: usize) {
        for r in r0.min(self.bh)..r1.min(self.bh) {
            for c in c0.min(self.bw)..c1.min(self.bw) {
                self.held[r * self.bw + c] = [0; 16];
            }
        }
    }
}

/// The refinement state of a sequence (`[Y, U, V]` planes of the frame's I420 layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidualState {
    planes: [Plane; 3],
}

/// What the refinement of one frame did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefineStats {
    /// The quantization parameter.
    pub qp: u8,
    /// Blocks coded.
    pub blocks: usize,
    /// Bytes of the stream.
    pub bytes: usize,
}

/// The offsets and strides of the I420 planes of a `width`×`height` frame.
fn plane_sizes(width: u32, height: u32) -> [(usize, usize); 3] {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    [(w, h), (cw, ch), (cw, ch)]
}

/// The samples of plane `p` of an I420 frame.
fn plane_of(frame: &Frame, p: usize) -> &[u8] {
    let [(w, h), (cw, ch), _] = plane_sizes(frame.width(), frame.height());
    let d = frame.data();
    match p {
        0 => &d[..w * h],
        1 => &d[w * h..w * h + cw * ch],
        _ => &d[w * h + cw * ch..w * h + 2 * cw * ch],
    }
}

/// A block's 16 samples (row-major), values outside the plane repeating its edge.
fn block_samples(plane: &[u8], width: usize, height: usize, br: usize, bc: usize) -> [i32; 16] {
    core::array::from_fn(|i| {
        let y = (br * 4 + i / 4).min(height - 1);
        let x = (bc * 4 + i % 4).min(width - 1);
        i32::from(plane[y * width + x])
    })
}

impl ResidualState {
    /// Nothing held, for frames of `width`×`height`.
    pub fn new(width: u32, height: u32) -> Self {
        let s = plane_sizes(width, height);
        ResidualState {
            planes: s.map(|(w, h)| Plane::new(w, h)),
        }
    }

    /// Clears the blocks whose base picture a latent update may have changed: every block
    /// within `radius` latent positions of an updated one (`updated`: raster flags over a
    /// grid `grid_w` wide).
    pub fn invalidate(&mut self, updated: &[bool], grid_w: usize, radius: usize) {
        for (p, _) in updated.iter().enumerate().filter(|(_, u)| **u) {
            let (r, c) = (p / grid_w, p % grid_w);
            let (r0, r1) = (r.saturating_sub(radius), r + radius + 1);
            let (c0, c1) = (c.saturating_sub(radius), c + radius + 1);
            for (i, plane) in self.planes.iter_mut().enumerate() {
                // Latent positions cover STRIDE luma pixels, STRIDE / 2 chroma pixels.
                let per = if i == 0 { STRIDE / 4 } else { STRIDE / 8 };
                plane.clear(r0 * per, r1 * per, c0 * per, c1 * per);
            }
        }
    }

    /// Adds the held residual to an I420 frame (clamped to 0..=255).
    pub fn apply(&self, frame: &mut Frame) -> Result<()> {
        if frame.format() != PixelFormat::I420 {
            return Err(inconsistent("refined frame format (I420)", 2, 0));
        }
        let sizes = plane_sizes(frame.width(), frame.height());
        if sizes
            .iter()
            .zip(&self.planes)
            .any(|(&(w, h), p)| (w, h) != (p.width, p.height))
        {
            return Err(inconsistent(
                "refinement state size",
                u64::from(frame.width()),
                self.planes[0].width as u64,
            ));
        }
        let mut data = frame.data().to_vec();
        let mut offset = 0;
        for plane in &self.planes {
            let (w, h) = (plane.width, plane.height);
            for br in 0..plane.bh {
                for bc in 0..plane.bw {
                    let held = &plane.held[br * plane.bw + bc];
                    if held.iter().all(|&v| v == 0) {
                        continue;
                    }
                    let r = inverse(held);
                    for (i, &d) in r.iter().enumerate() {
                        let (y, x) = (br * 4 + i / 4, bc * 4 + i % 4);
                        if y < h && x < w {
                            let s = &mut data[offset + y * w + x];
                            *s = (i32::from(*s) + d).clamp(0, 255) as u8;
                        }
                    }
                }
            }
            offset += w * h;
        }
        *frame = Frame::new(frame.width(), frame.height(), PixelFormat::I420, data)?;
        Ok(())
    }

    /// Reads a frame's refinement stream and accumulates it. A malformed stream leaves the
    /// state as it was.
    pub fn decode(&mut self, models: &Models, bytes: &[u8]) -> Result<RefineStats> {
        let mut next = self.clone();
        let mut r = Reader::new(models, bytes)?;
        let qp = r.uniform(u32::from(MAX_QP) + 1)? as u8;
        let mut blocks = 0;
        for (p, plane) in next.planes.iter_mut().enumerate() {
            let base = PLANE_CTX[p];
            let mut coded = vec![false; plane.bw * plane.bh];
            for b in 0..plane.bw * plane.bh {
                let c = coded_context(&coded, b, plane.bw);
                if !r.bit(base + c)? {
                    continue;
                }
                coded[b] = true;
                blocks += 1;
                let zz = coding::read_block(&mut r, base)?;
                let mut z = [0i32; 16];
                for (k, &v) in zz.iter().enumerate() {
                    z[ZIGZAG[k]] = v;
                }
                accumulate(&mut plane.held[b], &dequantize(&z, qp));
            }
        }
        *self = next;
        Ok(RefineStats {
            qp,
            blocks,
            bytes: bytes.len(),
        })
    }

    /// Codes the refinement of `base` (the decoder's picture, I420) towards `source` (I420)
    /// at `qp`: returns the stream, the state after it, and what it did. `self` is unchanged
    /// (the caller commits the returned state).
    pub fn encode(
        &self,
        models: &Models,
        source: &Frame,
        base: &Frame,
        qp: u8,
    ) -> Result<(Vec<u8>, ResidualState, RefineStats)> {
        let qp = qp.min(MAX_QP);
        let lam = lambda(qp);
        let mut next = self.clone();
        let mut w = Writer::new(models);
        w.uniform(u32::from(qp), u32::from(MAX_QP) + 1)?;
        let mut blocks = 0;
        for (p, plane) in next.planes.iter_mut().enumerate() {
            let base_ctx = PLANE_CTX[p];
            let (src, dst) = (plane_of(source, p), plane_of(base, p));
            let (pw, ph) = (plane.width, plane.height);
            let mut coded = vec![false; plane.bw * plane.bh];
            for b in 0..plane.bw * plane.bh {
                let (br, bc) = (b / plane.bw, b % plane.bw);
                let c = coded_context(&coded, b, plane.bw);
                let s = block_samples(src, pw, ph, br, bc);
                let d = block_samples(dst, pw, ph, br, bc);
                let held = plane.held[b];
                let r = inverse(&held);
                let target: [i32; 16] = core::array::from_fn(|i| s[i] - d[i]);
                let e: [i32; 16] = core::array::from_fn(|i| target[i] - r[i]);
                let d0: i64 = e.iter().map(|&v| i64::from(v * v)).sum();
                let mut decision = None;
                if d0 as f64 > lam {
                    let z = quantize(&forward(&e), qp);
                    if z.iter().any(|&v| v != 0) {
                        let mut h = held;
                        accumulate(&mut h, &dequantize(&z, qp));
                        let r1 = inverse(&h);
                        let d1: i64 = (0..16).map(|i| i64::from((target[i] - r1[i]).pow(2))).sum();
                        let zz: [i32; 16] = core::array::from_fn(|k| z[ZIGZAG[k]]);
                        let bits = coding::block_cost(&w.ctx, base_ctx, &zz)
                            + w.ctx.cost(base_ctx + c, true)
                            - w.ctx.cost(base_ctx + c, false);
                        if (d0 - d1) as f64 > lam * bits {
                            decision = Some((zz, h));
                        }
                    }
                }
                w.bit(base_ctx + c, decision.is_some())?;
                if let Some((zz, h)) = decision {
                    coded[b] = true;
                    blocks += 1;
                    coding::write_block(&mut w, base_ctx, &zz)?;
                    plane.held[b] = h;
                }
            }
        }
        let bytes = w.finish()?;
        let stats = RefineStats {
            qp,
            blocks,
            bytes: bytes.len(),
        };
        Ok((bytes, next, stats))
    }
}

/// The context of block `b`'s coded flag: the flags of the blocks to its left and above.
fn coded_context(coded: &[bool], b: usize, bw: usize) -> usize {
    let (br, bc) = (b / bw, b % bw);
    ctx::CODED + usize::from(bc > 0 && coded[b - 1]) + 2 * usize::from(br > 0 && coded[b - bw])
}

fn accumulate(held: &mut [i32; 16], add: &[i32; 16]) {
    for (h, a) in held.iter_mut().zip(add) {
        *h = h.saturating_add(*a).clamp(-MAX_HELD, MAX_HELD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, f: impl Fn(usize) -> u8) -> Frame {
        let n = PixelFormat::I420.frame_len(w, h);
        Frame::new(w, h, PixelFormat::I420, (0..n).map(f).collect()).unwrap()
    }

    #[test]
    fn refinement_brings_the_base_towards_the_source_exactly_on_both_sides() {
        let models = Models::new();
        let source = frame(37, 21, |i| (i * 37 % 251) as u8);
        let base = frame(37, 21, |i| ((i * 37 % 251) as u8).saturating_add(9) / 2 * 2);
        let enc = ResidualState::new(37, 21);
        let (bytes, after, stats) = enc.encode(&models, &source, &base, 20).unwrap();
        assert!(stats.blocks > 0);
        let mut dec = ResidualState::new(37, 21);
        dec.decode(&models, &bytes).unwrap();
        assert_eq!(dec, after);
        let mut out = base.clone();
        dec.apply(&mut out).unwrap();
        let err = |f: &Frame| -> i64 {
            f.data()
                .iter()
                .zip(source.data())
                .map(|(a, b)| i64::from(*a as i32 - *b as i32).pow(2))
                .sum()
        };
        assert!(
            err(&out) * 4 < err(&base),
            "{} vs {}",
            err(&out),
            err(&base)
        );
        // Garbage never panics and never changes the state.
        for seed in 0..100u32 {
            let g: Vec<u8> = (0..(seed % 9) * 4).map(|i| (i * 97 + seed) as u8).collect();
            let before = dec.clone();
            if dec.decode(&models, &g).is_err() {
                assert_eq!(dec, before);
            }
        }
    }
}
