//! Motion delta frames on the decoder's side, and the part the encoder shares with it
//! (`docs/format.md` §11): the reference pictures both sides hold, a motion frame's payload,
//! and the reconstruction of its picture.
//!
//! ```text
//! payload: flags u8 | long_seq u32 | syntax_len u32 | syntax (range-coded, motion::syntax)
//!          | intra latent symbols (the intra macroblocks' positions, at the header's step)
//! picture: per macroblock, prediction (skip: a copy of the primary reference; inter: bilinear
//!          motion compensation; intra: the neural synthesis of the updated latent) + the
//!          integer residual of its coded 4×4 blocks, clipped to 0..=255
//! ```
//!
//! The encoder builds its picture with the same functions ([`intra_pixels`], [`compose`]), so
//! on one backend the two pictures are identical, and across backends they differ only by
//! the synthesis transform's ±1 in intra macroblocks: every other step is an integer copy, a
//! non-negative-tap filter, the same integer residual added, or a clip, none of which widens a
//! difference (`docs/video.md`, "Why it cannot drift").

use super::decoder::{RECEPTIVE, Region, regions, synthesize};
use super::state::{LatentState, Update};
use crate::codec::NeuralCodec;
use crate::error::{Error, FormatError, ReferenceError, Result};
use crate::frame::{Frame, PixelFormat};
use crate::motion::syntax::{Field, MbMode, MotionSyntax, REFRESH_DQP, Reference};
use crate::motion::{MB, interp::predict, plane_sizes, planes};
use crate::planar::{STRIDE, planar_to_frame};
use crate::residual::transform::{ZIGZAG, dequantize, inverse};

/// Bytes before the syntax: flags, the long-term reference's sequence number, the syntax
/// length.
pub const MOTION_HEADER_LEN: usize = 9;

/// A picture both sides hold, with the latent state it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefPicture {
    /// The decoded picture, I420, at the coded size.
    pub picture: Vec<u8>,
    /// The latent state after that frame (`state.seq` is the frame's sequence number).
    pub state: LatentState,
}

impl RefPicture {
    /// The picture as an I420 frame.
    pub fn frame(&self) -> Result<Frame> {
        Frame::new(
            self.state.width,
            self.state.height,
            PixelFormat::I420,
            self.picture.clone(),
        )
    }
}

/// The reference pictures of a motion stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct References {
    /// The previous decoded picture.
    pub last: RefPicture,
    /// The long-term reference: the last key frame, or the last frame marked as one.
    pub long: Option<RefPicture>,
    /// The long-term reference before `long` (a receiver that lost the frame that replaced
    /// it still holds it, and a recovery frame may predict from it).
    pub previous_long: Option<RefPicture>,
}

impl References {
    /// After a key frame: the key picture is both references.
    pub fn after_key(picture: RefPicture) -> Self {
        References {
            long: Some(picture.clone()),
            last: picture,
            previous_long: None,
        }
    }

    /// The long-term reference numbered `seq`: the current one or the one before it.
    pub fn long_for(&self, seq: u32) -> Option<&RefPicture> {
        [&self.long, &self.previous_long]
            .into_iter()
            .flatten()
            .find(|l| l.state.seq == seq)
    }

    /// The picture a frame's macroblocks name (`long_seq`: the frame's long-term reference).
    pub fn get(&self, r: Reference, long_seq: u32) -> Option<&RefPicture> {
        match r {
            Reference::Last => Some(&self.last),
            Reference::Long => self.long_for(long_seq),
        }
    }

    /// After a motion frame coded as `h`: its picture becomes the previous one, and the
    /// long-term reference too if the frame says so.
    pub fn advance(&mut self, picture: RefPicture, h: &MotionHeader) {
        if h.becomes_long {
            self.previous_long = self.long.replace(picture.clone());
        }
        self.last = picture;
    }
}

/// The fixed fields at the start of a motion frame's payload (§11.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MotionHeader {
    /// Macroblocks may predict from the previous picture (and skip copies it).
    pub uses_last: bool,
    /// Macroblocks may predict from the long-term reference.
    pub uses_long: bool,
    /// This frame becomes the long-term reference.
    pub becomes_long: bool,
    /// Sequence number of the long-term reference the frame predicts from (when
    /// `uses_long`; else 0).
    pub long_seq: u32,
}

fn corrupt(reason: impl Into<String>) -> Error {
    FormatError::CorruptPayload {
        codec: "motion",
        reason: reason.into(),
    }
    .into()
}

/// Writes a motion payload.
pub fn write_payload(h: &MotionHeader, syntax: &[u8], latent: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MOTION_HEADER_LEN + syntax.len() + latent.len());
    out.push(u8::from(h.uses_last) | u8::from(h.uses_long) << 1 | u8::from(h.becomes_long) << 2);
    out.extend_from_slice(&h.long_seq.to_le_bytes());
    out.extend_from_slice(&(syntax.len() as u32).to_le_bytes());
    out.extend_from_slice(syntax);
    out.extend_from_slice(latent);
    out
}

/// Splits a motion payload into its fixed fields, the syntax and the intra symbols.
/// `recovery`: the header's recovery flag, which must agree with `uses_last`.
pub fn split_payload(payload: &[u8], recovery: bool) -> Result<(MotionHeader, &[u8], &[u8])> {
    if payload.len() < MOTION_HEADER_LEN {
        return Err(FormatError::Truncated {
            needed: MOTION_HEADER_LEN,
            got: payload.len(),
        }
        .into());
    }
    let f = payload[0];
    if f & !7 != 0 {
        return Err(FormatError::Reserved {
            field: "motion flags (bits 3–7)",
            value: f.into(),
        }
        .into());
    }
    let h = MotionHeader {
        uses_last: f & 1 != 0,
        uses_long: f & 2 != 0,
        becomes_long: f & 4 != 0,
        long_seq: u32::from_le_bytes([payload[1], payload[2], payload[3], payload[4]]),
    };
    if !h.uses_last && !h.uses_long {
        return Err(corrupt("a motion frame that uses no reference"));
    }
    if recovery == h.uses_last {
        return Err(corrupt(
            "the header's recovery flag disagrees with the frame's use of the previous picture",
        ));
    }
    let len = u32::from_le_bytes([payload[5], payload[6], payload[7], payload[8]]) as usize;
    let rest = &payload[MOTION_HEADER_LEN..];
    if len > rest.len() || !len.is_multiple_of(4) {
        return Err(corrupt(format!(
            "syntax length {len} does not fit the {}-byte payload",
            payload.len()
        )));
    }
    Ok((h, &rest[..len], &rest[len..]))
}

/// Checks that `refs` hold what a frame `seq` coded as `h` predicts from.
pub fn check_references(refs: &References, h: &MotionHeader, seq: u32) -> Result<()> {
    let needed = seq.wrapping_sub(1);
    if h.uses_last && refs.last.state.seq != needed {
        return Err(ReferenceError {
            seq,
            needed,
            held: format!("the last frame decoded is {}", refs.last.state.seq),
        }
        .into());
    }
    if h.uses_long {
        match (&refs.long, refs.long_for(h.long_seq)) {
            (_, Some(_)) => {}
            (Some(l), None) => {
                return Err(ReferenceError {
                    seq,
                    needed: h.long_seq,
                    held: format!("the long-term reference held is frame {}", l.state.seq),
                }
                .into());
            }
            (None, None) => {
                return Err(ReferenceError {
                    seq,
                    needed: h.long_seq,
                    held: "no long-term reference has been set".into(),
                }
                .into());
            }
        }
    }
    Ok(())
}

/// The intra macroblocks of a syntax, as update flags over the latent grid.
pub fn intra_flags(syntax: &MotionSyntax) -> Vec<bool> {
    syntax.mbs.iter().map(|m| m.mode == MbMode::Intra).collect()
}

/// The neural picture of the flagged macroblocks of `state` (already updated), I420 at the
/// picture's size; samples of other macroblocks are left at 0. `None` when nothing is flagged.
pub async fn intra_pixels(
    neural: &NeuralCodec,
    state: &LatentState,
    flagged: &[bool],
) -> Result<Option<Vec<u8>>> {
    if !flagged.iter().any(|&f| f) {
        return Ok(None);
    }
    let (w, h) = (state.width as usize, state.height as usize);
    let sizes = plane_sizes(w, h);
    let mut out = vec![0u8; PixelFormat::I420.frame_len(state.width, state.height)];
    for band in regions(flagged, state.grid_h, state.grid_w) {
        let crop = band.widen(RECEPTIVE, state.grid_h, state.grid_w);
        let patch = synthesize(neural, state, crop).await?;
        let (pw, ph) = (patch.width, patch.height);
        let i420 = planar_to_frame(&patch, pw as u32, ph as u32, PixelFormat::I420);
        let src = planes(i420.data(), pw, ph);
        for row in band.r0..band.r1 {
            for col in band.c0..band.c1 {
                if !flagged[row * state.grid_w + col] {
                    continue;
                }
                copy_mb(&src, &crop, &mut out, sizes, row, col);
            }
        }
    }
    Ok(Some(out))
}

/// Copies macroblock (`row`, `col`) from a patch synthesized over `crop` into a picture.
fn copy_mb(
    src: &crate::motion::Planes<'_>,
    crop: &Region,
    out: &mut [u8],
    sizes: [(usize, usize); 3],
    row: usize,
    col: usize,
) {
    let mut offset = 0;
    for (p, &(pw, ph)) in sizes.iter().enumerate() {
        let s = if p == 0 { 0 } else { 1 };
        let side = MB >> s;
        let (x0, y0) = ((col * MB) >> s, (row * MB) >> s);
        let (cx, cy) = ((crop.c0 * STRIDE) >> s, (crop.r0 * STRIDE) >> s);
        let plane = &src.planes[p];
        for y in y0..(y0 + side).min(ph) {
            for x in x0..(x0 + side).min(pw) {
                out[offset + y * pw + x] = plane.data[(y - cy) * plane.width + (x - cx)];
            }
        }
        offset += pw * ph;
    }
}

/// Whether macroblock `i` is in the frame's cyclic refresh window.
pub fn in_refresh(syntax: &MotionSyntax, i: usize, mbs: usize) -> bool {
    let start = syntax.refresh_start as usize;
    let count = syntax.refresh_count as usize;
    (i + mbs - start % mbs.max(1)) % mbs.max(1) < count
}

/// The quantization parameter of macroblock `i`.
pub fn mb_qp(syntax: &MotionSyntax, i: usize, mbs: usize) -> u8 {
    if in_refresh(syntax, i, mbs) {
        syntax.qp.saturating_sub(REFRESH_DQP)
    } else {
        syntax.qp
    }
}

/// Builds a motion frame's picture: each macroblock's prediction plus its residual, clipped
/// (§11.4). `intra`: [`intra_pixels`] of the frame's intra macroblocks.
pub fn compose(
    refs: &References,
    h: &MotionHeader,
    syntax: &MotionSyntax,
    intra: Option<&[u8]>,
    width: usize,
    height: usize,
) -> Result<Vec<u8>> {
    let field = Field::new(width, height, h.uses_last, h.uses_long);
    let n = field.grid_h * field.grid_w;
    if syntax.mbs.len() != n {
        return Err(crate::error::inconsistent(
            "macroblocks",
            n as u64,
            syntax.mbs.len() as u64,
        ));
    }
    let sizes = plane_sizes(width, height);
    let primary = refs
        .get(field.primary(), h.long_seq)
        .ok_or_else(|| corrupt("the primary reference is not held"))?;
    let mut out = vec![0u8; PixelFormat::I420.frame_len(width as u32, height as u32)];
    let offsets = [
        0,
        sizes[0].0 * sizes[0].1,
        sizes[0].0 * sizes[0].1 + sizes[1].0 * sizes[1].1,
    ];
    let mut pred = [0u8; MB * MB];
    for (i, mb) in syntax.mbs.iter().enumerate() {
        let (row, col) = (i / field.grid_w, i % field.grid_w);
        for (p, &(pw, ph)) in sizes.iter().enumerate() {
            let s = usize::from(p > 0);
            let (x0, y0) = ((col * MB) >> s, (row * MB) >> s);
            let (bw, bh) = ((MB >> s).min(pw - x0), (MB >> s).min(ph - y0));
            let dst = &mut out[offsets[p]..offsets[p] + pw * ph];
            match mb.mode {
                MbMode::Intra => {
                    let src =
                        intra.ok_or_else(|| corrupt("intra macroblock without its picture"))?;
                    let src = &src[offsets[p]..offsets[p] + pw * ph];
                    for y in y0..y0 + bh {
                        dst[y * pw + x0..y * pw + x0 + bw]
                            .copy_from_slice(&src[y * pw + x0..y * pw + x0 + bw]);
                    }
                    continue;
                }
                MbMode::Skip | MbMode::Inter { .. } => {
                    let (r, mv) = match mb.mode {
                        MbMode::Inter { reference, mv } => (
                            refs.get(reference, h.long_seq)
                                .ok_or_else(|| corrupt("a reference that is not held"))?,
                            mv,
                        ),
                        _ => (primary, crate::motion::Mv::ZERO),
                    };
                    let rp = planes(&r.picture, width, height).planes[p];
                    predict(
                        &rp,
                        (x0, y0),
                        (bw, bh),
                        (mv.x, mv.y),
                        2 + s as u32,
                        &mut pred[..bw * bh],
                    );
                    for y in 0..bh {
                        dst[(y0 + y) * pw + x0..(y0 + y) * pw + x0 + bw]
                            .copy_from_slice(&pred[y * bw..(y + 1) * bw]);
                    }
                }
            }
        }
        if mb.mode == MbMode::Skip {
            continue;
        }
        let qp = mb_qp(syntax, i, n);
        for (slot, p, br, bc) in field.blocks(row, col) {
            let Some(zz) = &mb.blocks[slot] else {
                continue;
            };
            let r = residual_of(zz, qp);
            let (pw, ph) = sizes[p];
            let dst = &mut out[offsets[p]..offsets[p] + pw * ph];
            add_block(dst, pw, ph, br, bc, &r);
        }
    }
    Ok(out)
}

/// The residual samples of a block's zig-zag levels at `qp` (integers only).
pub fn residual_of(zz: &[i32; 16], qp: u8) -> [i32; 16] {
    let mut z = [0i32; 16];
    for (k, &v) in zz.iter().enumerate() {
        z[ZIGZAG[k]] = v;
    }
    inverse(&dequantize(&z, qp))
}

/// Adds a block's residual to the picture, clipping to 0..=255 (samples inside the plane).
pub fn add_block(dst: &mut [u8], pw: usize, ph: usize, br: usize, bc: usize, r: &[i32; 16]) {
    for (k, &d) in r.iter().enumerate() {
        let (y, x) = (br * 4 + k / 4, bc * 4 + k % 4);
        if y < ph && x < pw {
            let s = &mut dst[y * pw + x];
            *s = (i32::from(*s) + d).clamp(0, 255) as u8;
        }
    }
}

/// Decodes a motion frame `seq` against `refs`: the new picture and its latent state.
/// `step`: the header's quality (the intra positions' step). `refs` is not changed.
pub async fn reconstruct(
    neural: &NeuralCodec,
    refs: &References,
    h: &MotionHeader,
    syntax: &MotionSyntax,
    update: &Update,
    seq: u32,
) -> Result<RefPicture> {
    check_references(refs, h, seq)?;
    let base = if h.uses_last {
        &refs.last
    } else {
        refs.long_for(h.long_seq).expect("checked above")
    };
    let mut state = base.state.clone();
    state.apply(update, seq)?;
    let intra = intra_pixels(neural, &state, &update.updated).await?;
    let (w, hgt) = (state.width as usize, state.height as usize);
    let picture = compose(refs, h, syntax, intra.as_deref(), w, hgt)?;
    Ok(RefPicture { picture, state })
}
