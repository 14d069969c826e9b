//! The decoder's side of a sequence: the integer [`LatentState`], and the picture drawn from
//! it, redrawn only where a delta frame changed the latent (`docs/video.md`).
//!
//! The synthesis transform sees [`RECEPTIVE`] latent positions around each output position,
//! so after a delta frame the pixels of the updated positions' bounding box, widened by
//! `RECEPTIVE`, are redrawn from a crop widened by twice that (their own context): decoding
//! costs follow the changed area. The picture is display only; it never feeds the next frame.

use super::inter::{
    RefPicture, References, check_references, intra_flags, reconstruct, split_payload,
};
use super::payload;
use super::state::{LatentState, Update};
use crate::codec::NeuralCodec;
use crate::color::{to_rgb8, to_rgba8};
use crate::entropy::decode_symbols;
use crate::error::{ReferenceError, Result, inconsistent};
use crate::frame::{Frame, PixelFormat};
use crate::planar::{Planar, STRIDE, planar_to_frame};
use crate::residual::{Models, ResidualState};
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
pub(crate) struct Region {
    pub(crate) r0: usize,
    pub(crate) r1: usize,
    pub(crate) c0: usize,
    pub(crate) c1: usize,
}

impl Region {
    pub(crate) fn widen(self, by: usize, h: usize, w: usize) -> Region {
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

/// What a receiver holds of one neural stream: the integer latent state, the picture drawn
/// from it, and the refinement layer's integer state (once a refined frame arrived).
#[derive(Debug, Clone)]
pub struct Reconstruction {
    /// The integer latent state.
    pub state: LatentState,
    picture: Planar,
    /// The refinement layer's state, if the stream uses it.
    pub residual: Option<ResidualState>,
}

impl Reconstruction {
    /// After a key frame: the whole picture drawn from `state`.
    pub async fn key(neural: &NeuralCodec, state: LatentState) -> Result<Self> {
        let full = Region {
            r0: 0,
            r1: state.grid_h,
            c0: 0,
            c1: state.grid_w,
        };
        let picture = synthesize(neural, &state, full).await?;
        Ok(Reconstruction {
            state,
            picture,
            residual: None,
        })
    }

    /// Applies a delta frame's update as frame `seq`: redraws the picture where the latent
    /// changed, and clears the refinement there. Returns the fraction of the picture redrawn.
    /// Works in place: on an error the reconstruction is left part-way, so callers that must
    /// stay as they were apply it to a copy (as [`SequenceDecoder`] and the encoder do).
    pub async fn delta(&mut self, neural: &NeuralCodec, update: &Update, seq: u32) -> Result<f64> {
        self.state.apply(update, seq)?;
        let (h, w) = (self.state.grid_h, self.state.grid_w);
        let mut synthesized = 0usize;
        for band in regions(&update.updated, h, w) {
            let paste = band.widen(RECEPTIVE, h, w);
            let crop = band.widen(2 * RECEPTIVE, h, w);
            let patch = synthesize(neural, &self.state, crop).await?;
            paste_into(&mut self.picture, &patch, crop, paste);
            synthesized += crop.area();
        }
        if let Some(r) = self.residual.as_mut() {
            r.invalidate(&update.updated, w, RECEPTIVE);
        }
        Ok((synthesized as f64 / (h * w) as f64).min(1.0))
    }

    /// The picture as an I420 frame, before refinement.
    pub fn base_i420(&self) -> Frame {
        planar_to_frame(
            &self.picture,
            self.state.width,
            self.state.height,
            PixelFormat::I420,
        )
    }

    /// The decoded frame in `format`: the picture, plus the refinement when the stream has one.
    pub fn frame(&self, format: PixelFormat) -> Result<Frame> {
        let Some(residual) = &self.residual else {
            return Ok(planar_to_frame(
                &self.picture,
                self.state.width,
                self.state.height,
                format,
            ));
        };
        let mut f = self.base_i420();
        residual.apply(&mut f)?;
        Ok(match format {
            PixelFormat::I420 => f,
            PixelFormat::Rgb8 => to_rgb8(&f),
            PixelFormat::Rgba8 => to_rgba8(&f),
        })
    }
}

/// The decoder's state of one neural stream.
#[derive(Debug, Clone, Default)]
pub struct SequenceDecoder {
    held: Option<Reconstruction>,
    /// The reference pictures of motion frames (after a refined key frame; an old-style
    /// delta frame ends them).
    refs: Option<References>,
}

/// Splits a refined payload (`docs/format.md` §9.1) into the latent part and the refinement.
pub fn split_refined(payload: &[u8]) -> Result<(&[u8], &[u8])> {
    let corrupt = |reason: String| -> crate::error::Error {
        crate::error::FormatError::CorruptPayload {
            codec: "neural (refined)",
            reason,
        }
        .into()
    };
    let len = payload
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| corrupt("shorter than its 4-byte latent length".into()))?;
    if len > payload.len() - 4 {
        return Err(corrupt(format!(
            "latent length {len} exceeds the {}-byte payload",
            payload.len()
        )));
    }
    Ok((&payload[4..4 + len], &payload[4 + len..]))
}

impl SequenceDecoder {
    /// The integer state after the last decoded frame, if any.
    pub fn state(&self) -> Option<&LatentState> {
        match &self.refs {
            Some(r) => Some(&r.last.state),
            None => self.held.as_ref().map(|h| &h.state),
        }
    }

    /// The reference pictures of a motion stream, after the last decoded frame.
    pub fn references(&self) -> Option<&References> {
        self.refs.as_ref()
    }

    /// The refinement layer's state after the last decoded frame, if the stream has one.
    pub fn residual(&self) -> Option<&ResidualState> {
        self.held.as_ref().and_then(|h| h.residual.as_ref())
    }

    /// Forgets the stream (the next frame must be a key frame).
    pub fn reset(&mut self) {
        self.held = None;
        self.refs = None;
    }

    /// Decodes a key frame: the state and the picture start afresh.
    pub async fn decode_key(
        &mut self,
        neural: &NeuralCodec,
        header: &FrameHeader,
        payload: &[u8],
    ) -> Result<(Frame, SequenceStats)> {
        let (base, refinement) = if header.refined {
            split_refined(payload)?
        } else {
            (payload, &[][..])
        };
        let latent = neural.decode_latent(base, header.quality, header.width, header.height)?;
        let state = LatentState::key(
            header.width,
            header.height,
            latent.channels,
            (latent.height, latent.width),
            latent.symbols,
            header.quality,
            header.seq,
        )?;
        let mut held = Reconstruction::key(neural, state).await?;
        if header.refined {
            let mut r = ResidualState::new(header.width, header.height);
            r.decode(models(), refinement)?;
            held.residual = Some(r);
        }
        // A key frame starts the reference pictures of motion frames (its picture in I420,
        // refined or not: the encoder decides whether motion frames follow).
        let i420 = held.frame(PixelFormat::I420)?;
        let refs = References::after_key(RefPicture {
            picture: i420.data().to_vec(),
            state: held.state.clone(),
        });
        let (frame, refs) = (convert(i420, header.format), Some(refs));
        self.held = Some(held);
        self.refs = refs;
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
        if header.motion {
            return self.decode_motion(neural, header, payload).await;
        }
        let needed = header.seq.wrapping_sub(1);
        let Some(held) = &self.held else {
            return Err(ReferenceError {
                seq: header.seq,
                needed,
                held: "no key frame has been decoded".into(),
            }
            .into());
        };
        let state = &held.state;
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
        let (base, refinement) = if header.refined {
            split_refined(payload)?
        } else {
            (payload, &[][..])
        };
        let update = payload::decode(
            &neural.fine().tables,
            base,
            header.quality,
            &state.steps,
            state.grid_w,
        )?;
        let mut next = held.clone();
        let synthesized_fraction = next.delta(neural, &update, header.seq).await?;
        if header.refined {
            let r = next
                .residual
                .get_or_insert_with(|| ResidualState::new(header.width, header.height));
            r.decode(models(), refinement)?;
        }
        let frame = next.frame(header.format)?;
        let stats = SequenceStats {
            updated_fraction: update.count() as f64 / state.positions() as f64,
            synthesized_fraction,
        };
        self.held = Some(next);
        // An old-style delta frame changes the latent without the motion references.
        self.refs = None;
        Ok((frame, stats))
    }

    /// Decodes a motion delta frame (§11) against the held reference pictures. A frame whose
    /// references are not held, or that does not decode, leaves everything as it was.
    async fn decode_motion(
        &mut self,
        neural: &NeuralCodec,
        header: &FrameHeader,
        payload: &[u8],
    ) -> Result<(Frame, SequenceStats)> {
        let Some(refs) = &self.refs else {
            return Err(ReferenceError {
                seq: header.seq,
                needed: header.seq.wrapping_sub(1),
                held: "no reference pictures (a motion frame needs a refined key frame first)"
                    .into(),
            }
            .into());
        };
        let state = &refs.last.state;
        if (state.width, state.height) != (header.width, header.height) {
            return Err(inconsistent(
                "motion frame size (width × height of its reference)",
                u64::from(state.width) * u64::from(state.height),
                u64::from(header.width) * u64::from(header.height),
            ));
        }
        let (mh, syntax_bytes, latent) = split_payload(payload, header.recovery)?;
        check_references(refs, &mh, header.seq)?;
        let (w, h) = (header.width as usize, header.height as usize);
        let syntax =
            crate::motion::syntax::read(models(), syntax_bytes, w, h, mh.uses_last, mh.uses_long)?;
        let updated = intra_flags(&syntax);
        let count = updated.iter().filter(|&&u| u).count();
        if count > 0 && !(1..=neural.steps()).contains(&header.quality) {
            return Err(inconsistent(
                "intra step (1..=the grid's steps)",
                u64::from(neural.steps()),
                u64::from(header.quality),
            ));
        }
        let symbols = if count == 0 {
            if !latent.is_empty() {
                return Err(inconsistent(
                    "intra symbol bytes (no intra macroblock)",
                    0,
                    latent.len() as u64,
                ));
            }
            Vec::new()
        } else {
            decode_symbols(
                &neural.fine().tables,
                usize::from(header.quality) - 1,
                latent,
                count,
            )?
        };
        let update = Update {
            step: header.quality.max(1),
            updated,
            symbols,
        };
        let picture = reconstruct(neural, refs, &mh, &syntax, &update, header.seq).await?;
        let frame = convert(picture.frame()?, header.format);
        let mut next = refs.clone();
        next.advance(picture, &mh);
        self.refs = Some(next);
        Ok((
            frame,
            SequenceStats {
                updated_fraction: count as f64 / syntax.mbs.len().max(1) as f64,
                synthesized_fraction: if count == 0 {
                    0.0
                } else {
                    count as f64 / syntax.mbs.len() as f64
                },
            },
        ))
    }
}

/// An I420 picture in the frame's output format.
fn convert(i420: Frame, format: PixelFormat) -> Frame {
    match format {
        PixelFormat::I420 => i420,
        PixelFormat::Rgb8 => to_rgb8(&i420),
        PixelFormat::Rgba8 => to_rgba8(&i420),
    }
}

/// The refinement layer's binary models, built once.
pub fn models() -> &'static Models {
    static MODELS: std::sync::OnceLock<Models> = std::sync::OnceLock::new();
    MODELS.get_or_init(Models::new)
}

/// The regions to redraw after an update: one box per band of rows that hold updated
/// positions (bands closer than the redraw border merge), each as wide as its updates.
pub(crate) fn regions(updated: &[bool], h: usize, w: usize) -> Vec<Region> {
    let mut out: Vec<Region> = Vec::new();
    for r in 0..h {
        let row = &updated[r * w..(r + 1) * w];
        let (Some(c0), Some(c1)) = (row.iter().position(|&u| u), row.iter().rposition(|&u| u))
        else {
            continue;
        };
        match out.last_mut() {
            Some(b) if r <= b.r1 + 2 * RECEPTIVE => {
                b.r1 = r + 1;
                b.c0 = b.c0.min(c0);
                b.c1 = b.c1.max(c1 + 1);
            }
            _ => out.push(Region {
                r0: r,
                r1: r + 1,
                c0,
                c1: c1 + 1,
            }),
        }
    }
    // Redraw whole when the boxes would cover most of the grid anyway.
    let area: usize = out
        .iter()
        .map(|b| b.widen(2 * RECEPTIVE, h, w).area())
        .sum();
    if area as f64 > PARTIAL_LIMIT * (h * w) as f64 {
        return vec![Region {
            r0: 0,
            r1: h,
            c0: 0,
            c1: w,
        }];
    }
    out
}

/// Runs the synthesis transform on `region` of the state's latent (dequantized per position
/// at its own step).
pub(crate) async fn synthesize(
    neural: &NeuralCodec,
    state: &LatentState,
    region: Region,
) -> Result<Planar> {
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
