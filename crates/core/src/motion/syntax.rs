//! The syntax of a motion delta frame (`docs/format.md` §11.3): per macroblock a mode, a
//! vector, and the residual levels of its 4×4 blocks, over one range-coder stream with the
//! adaptive binary models of [`crate::residual::coding`].
//!
//! Everything a context or a vector prediction reads is syntax decoded before it (the modes
//! and vectors of the macroblocks to the left and above, the coded flags of neighbouring
//! blocks), never a pixel: a stream parses the same on every platform, whatever pictures the
//! decoder holds.

use super::{MAX_MV_QPEL, Mv, mb_blocks, plane_sizes};
use crate::error::{Error, FormatError, Result};
use crate::residual::coding::{self, Contexts, Models, Reader, Writer, ctx};
use crate::residual::transform::MAX_QP;

/// Which held picture an inter macroblock predicts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reference {
    /// The previous decoded picture.
    Last,
    /// The long-term reference (the last key frame, or the last frame marked as one).
    Long,
}

/// How a macroblock is predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MbMode {
    /// A copy of the frame's primary reference at the zero vector, no residual.
    Skip,
    /// Motion-compensated from `reference` at `mv`, plus a residual.
    Inter {
        /// The reference picture.
        reference: Reference,
        /// The vector, quarter-pel.
        mv: Mv,
    },
    /// The neural codec's picture (the latent position replaced), plus a residual.
    Intra,
}

/// Blocks per macroblock: 16 luma (raster), then 4 U and 4 V.
pub const MB_BLOCKS: usize = 24;

/// One macroblock's syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macroblock {
    /// Its mode.
    pub mode: MbMode,
    /// Zig-zag levels of its coded 4×4 blocks (`None`: not coded, or outside the plane).
    pub blocks: [Option<[i32; 16]>; MB_BLOCKS],
}

impl Macroblock {
    /// A macroblock of `mode` with no residual.
    pub fn new(mode: MbMode) -> Self {
        Macroblock {
            mode,
            blocks: [None; MB_BLOCKS],
        }
    }
}

/// The whole syntax of a motion frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotionSyntax {
    /// Quantization parameter of the residual.
    pub qp: u8,
    /// First macroblock of the cyclic refresh window (raster index).
    pub refresh_start: u32,
    /// Macroblocks in the window (they are coded at `qp − REFRESH_DQP` and never skipped).
    pub refresh_count: u32,
    /// Macroblocks, raster order.
    pub mbs: Vec<Macroblock>,
}

/// How much finer the refresh window's macroblocks are quantized.
pub const REFRESH_DQP: u8 = 6;

/// Context offsets of the motion syntax (after the residual's two plane kinds).
mod mctx {
    /// Macroblock not skipped, + left not skipped + top not skipped (3).
    pub const SKIP: usize = super::coding::CONTEXTS_RESIDUAL;
    /// Intra, + left intra + top intra (3).
    pub const INTRA: usize = SKIP + 3;
    /// Long-term reference (1).
    pub const LONG: usize = INTRA + 3;
    /// Vector difference non-zero, per component (2).
    pub const MVD_NZ: usize = LONG + 1;
    /// Vector difference magnitude bins, per component × 4.
    pub const MVD_BIN: usize = MVD_NZ + 2;
}

/// Unary bins of a vector difference's magnitude before its Exp-Golomb tail.
const MVD_UNARY: u32 = 8;

/// Plane context offsets (luma, chroma) of the residual levels.
const PLANE_CTX: [usize; 3] = [0, 16, 16];

fn corrupt(reason: impl Into<String>) -> Error {
    FormatError::CorruptPayload {
        codec: "motion",
        reason: reason.into(),
    }
    .into()
}

/// The decoded syntax so far: what contexts and vector prediction read.
#[derive(Debug, Clone)]
pub struct Field {
    /// Macroblock rows and columns.
    pub grid_h: usize,
    /// Macroblock columns.
    pub grid_w: usize,
    width: usize,
    height: usize,
    modes: Vec<Option<MbMode>>,
    /// Per plane: blocks per row, per column, and the coded flags so far.
    coded: [(usize, usize, Vec<bool>); 3],
    /// Per plane: non-zero levels of each coded block so far.
    nonzero: [Vec<u8>; 3],
    /// Whether the frame predicts from the previous picture / the long-term reference.
    uses_last: bool,
    uses_long: bool,
}

impl Field {
    /// An empty field for a `width`×`height` picture.
    pub fn new(width: usize, height: usize, uses_last: bool, uses_long: bool) -> Self {
        let (grid_h, grid_w) = (height.div_ceil(super::MB), width.div_ceil(super::MB));
        let coded = plane_sizes(width, height).map(|(w, h)| {
            let (bw, bh) = (w.div_ceil(4), h.div_ceil(4));
            (bw, bh, vec![false; bw * bh])
        });
        let nonzero = [0, 1, 2].map(|p| vec![0u8; coded[p].0 * coded[p].1]);
        Field {
            grid_h,
            grid_w,
            width,
            height,
            modes: vec![None; grid_h * grid_w],
            coded,
            nonzero,
            uses_last,
            uses_long,
        }
    }

    /// The primary reference (what skip copies): the previous picture if the frame uses it.
    pub fn primary(&self) -> Reference {
        if self.uses_last {
            Reference::Last
        } else {
            Reference::Long
        }
    }

    /// Whether the frame may use `r`.
    pub fn allows(&self, r: Reference) -> bool {
        match r {
            Reference::Last => self.uses_last,
            Reference::Long => self.uses_long,
        }
    }

    fn mode(&self, row: usize, col: usize) -> Option<MbMode> {
        self.modes[row * self.grid_w + col]
    }

    fn neighbour_vector(&self, row: isize, col: isize) -> Option<Mv> {
        if row < 0 || col < 0 || col as usize >= self.grid_w {
            return None;
        }
        match self.mode(row as usize, col as usize)? {
            MbMode::Inter { mv, .. } => Some(mv),
            _ => Some(Mv::ZERO),
        }
    }

    /// The predicted vector of macroblock (`row`, `col`): the component-wise median of the
    /// left, top and top-right (top-left at the last column) neighbours' vectors, skip and
    /// intra neighbours counting as zero; the one available neighbour's vector where only one
    /// is; zero where none is.
    pub fn predictor(&self, row: usize, col: usize) -> Mv {
        let (r, c) = (row as isize, col as isize);
        let left = self.neighbour_vector(r, c - 1);
        let top = self.neighbour_vector(r - 1, c);
        let right = self
            .neighbour_vector(r - 1, c + 1)
            .or_else(|| self.neighbour_vector(r - 1, c - 1));
        match (left, top, right) {
            (Some(a), Some(b), Some(d)) => Mv::new(median(a.x, b.x, d.x), median(a.y, b.y, d.y)),
            (Some(a), None, None) => a,
            (None, Some(b), _) => b,
            (Some(a), Some(b), None) => Mv::new(median(a.x, b.x, 0), median(a.y, b.y, 0)),
            (Some(a), None, Some(_)) => a,
            (None, None, _) => Mv::ZERO,
        }
    }

    fn flag_ctx(&self, row: usize, col: usize, f: impl Fn(MbMode) -> bool) -> usize {
        let left = col > 0 && self.mode(row, col - 1).is_some_and(&f);
        let top = row > 0 && self.mode(row - 1, col).is_some_and(&f);
        usize::from(left) + usize::from(top)
    }

    fn skip_ctx(&self, row: usize, col: usize) -> usize {
        mctx::SKIP + self.flag_ctx(row, col, |m| m != MbMode::Skip)
    }

    fn intra_ctx(&self, row: usize, col: usize) -> usize {
        mctx::INTRA + self.flag_ctx(row, col, |m| m == MbMode::Intra)
    }

    /// The coded-flag context of block (`br`, `bc`) of plane `p`.
    fn coded_ctx(&self, p: usize, br: usize, bc: usize) -> usize {
        let (bw, _, coded) = &self.coded[p];
        let left = bc > 0 && coded[br * bw + bc - 1];
        let top = br > 0 && coded[(br - 1) * bw + bc];
        PLANE_CTX[p] + ctx::CODED + usize::from(left) + 2 * usize::from(top)
    }

    fn set_coded(&mut self, p: usize, br: usize, bc: usize, z: &[i32; 16]) {
        let (bw, _, coded) = &mut self.coded[p];
        coded[br * *bw + bc] = true;
        let n = z.iter().filter(|&&v| v != 0).count() as u8;
        self.nonzero[p][br * *bw + bc] = n;
    }

    /// The level contexts' offset of block (`br`, `bc`) of plane `p`: by the non-zero levels
    /// of its left and top neighbours (decoded syntax).
    fn level_ctx(&self, p: usize, br: usize, bc: usize) -> usize {
        let bw = self.coded[p].0;
        let nz = &self.nonzero[p];
        let left = if bc > 0 { nz[br * bw + bc - 1] } else { 0 };
        let top = if br > 0 { nz[(br - 1) * bw + bc] } else { 0 };
        coding::level_base(p > 0, u32::from(left) + u32::from(top))
    }

    /// The blocks of macroblock (`row`, `col`) inside the picture: (slot in
    /// [`Macroblock::blocks`], plane, block row, block column).
    pub fn blocks(&self, row: usize, col: usize) -> Vec<(usize, usize, usize, usize)> {
        let mut out = Vec::with_capacity(MB_BLOCKS);
        for p in 0..3 {
            let (bw, bh, _) = self.coded[p];
            let (per, first) = if p == 0 { (4, 0) } else { (2, 12 + 4 * p) };
            for (br, bc) in mb_blocks(p, row, col, bw, bh) {
                let slot = first + (br - row * per) * per + (bc - col * per);
                out.push((slot, p, br, bc));
            }
        }
        out
    }
}

fn median(a: i32, b: i32, c: i32) -> i32 {
    a.max(b).min(a.min(b).max(c))
}

/// Estimated bits of a macroblock's mode and vector (without its residual) under `contexts`.
pub fn mode_bits(contexts: &Contexts, field: &Field, row: usize, col: usize, mode: MbMode) -> f64 {
    let skip = field.skip_ctx(row, col);
    match mode {
        MbMode::Skip => contexts.cost(skip, false),
        MbMode::Intra => contexts.cost(skip, true) + contexts.cost(field.intra_ctx(row, col), true),
        MbMode::Inter { reference, mv } => {
            let mut bits =
                contexts.cost(skip, true) + contexts.cost(field.intra_ctx(row, col), false);
            if field.uses_last && field.uses_long {
                bits += contexts.cost(mctx::LONG, reference == Reference::Long);
            }
            let p = field.predictor(row, col);
            bits + mvd_bits(contexts, 0, mv.x - p.x) + mvd_bits(contexts, 1, mv.y - p.y)
        }
    }
}

fn mvd_bits(contexts: &Contexts, comp: usize, d: i32) -> f64 {
    if d == 0 {
        return contexts.cost(mctx::MVD_NZ + comp, false);
    }
    let a = d.unsigned_abs();
    let mut bits = contexts.cost(mctx::MVD_NZ + comp, true) + 1.0;
    for k in 0..MVD_UNARY {
        let more = a > k + 1;
        bits += contexts.cost(mctx::MVD_BIN + comp * 4 + (k as usize).min(3), more);
        if !more {
            return bits;
        }
    }
    bits + 1.0 + 2.0 * f64::from(32 - (a - MVD_UNARY).leading_zeros())
}

/// Estimated bits of block (`p`, `br`, `bc`)'s coded flag and, if `levels`, its levels.
pub fn block_bits(
    contexts: &Contexts,
    field: &Field,
    (p, br, bc): (usize, usize, usize),
    levels: Option<&[i32; 16]>,
) -> f64 {
    let c = field.coded_ctx(p, br, bc);
    match levels {
        None => contexts.cost(c, false),
        Some(z) => {
            contexts.cost(c, true) + coding::block_cost(contexts, field.level_ctx(p, br, bc), z)
        }
    }
}

/// Writes the frame-level fields (§11.3): the QP and the refresh window.
pub fn write_frame_fields(w: &mut Writer<'_>, s: &MotionSyntax, mbs: usize) -> Result<()> {
    w.uniform(u32::from(s.qp), u32::from(MAX_QP) + 1)?;
    w.uniform(s.refresh_start, mbs as u32)?;
    w.uniform(s.refresh_count, mbs as u32 + 1)
}

/// Writes macroblock (`row`, `col`) and records it in `field`.
pub fn write_mb(
    w: &mut Writer<'_>,
    field: &mut Field,
    row: usize,
    col: usize,
    mb: &Macroblock,
) -> Result<()> {
    w.bit(field.skip_ctx(row, col), mb.mode != MbMode::Skip)?;
    if mb.mode != MbMode::Skip {
        w.bit(field.intra_ctx(row, col), mb.mode == MbMode::Intra)?;
    }
    if let MbMode::Inter { reference, mv } = mb.mode {
        if !field.allows(reference) {
            return Err(corrupt(
                "a macroblock predicts from a reference the frame does not use",
            ));
        }
        if field.uses_last && field.uses_long {
            w.bit(mctx::LONG, reference == Reference::Long)?;
        }
        let p = field.predictor(row, col);
        write_mvd(w, 0, mv.x - p.x)?;
        write_mvd(w, 1, mv.y - p.y)?;
    }
    field.modes[row * field.grid_w + col] = Some(mb.mode);
    if mb.mode == MbMode::Skip {
        return Ok(());
    }
    for (slot, p, br, bc) in field.blocks(row, col) {
        let c = field.coded_ctx(p, br, bc);
        w.bit(c, mb.blocks[slot].is_some())?;
        if let Some(z) = &mb.blocks[slot] {
            coding::write_block(w, field.level_ctx(p, br, bc), z)?;
            field.set_coded(p, br, bc, z);
        }
    }
    Ok(())
}

fn write_mvd(w: &mut Writer<'_>, comp: usize, d: i32) -> Result<()> {
    w.bit(mctx::MVD_NZ + comp, d != 0)?;
    if d == 0 {
        return Ok(());
    }
    let a = d.unsigned_abs();
    for k in 0..MVD_UNARY {
        let more = a > k + 1;
        w.bit(mctx::MVD_BIN + comp * 4 + (k as usize).min(3), more)?;
        if !more {
            return w.uniform(u32::from(d < 0), 2);
        }
    }
    w.exp_golomb(a - MVD_UNARY - 1)?;
    w.uniform(u32::from(d < 0), 2)
}

fn read_mvd(r: &mut Reader<'_>, comp: usize) -> Result<i32> {
    if !r.bit(mctx::MVD_NZ + comp)? {
        return Ok(0);
    }
    let mut a = 1u32;
    let mut tail = true;
    for k in 0..MVD_UNARY {
        if !r.bit(mctx::MVD_BIN + comp * 4 + (k as usize).min(3))? {
            tail = false;
            break;
        }
        a += 1;
    }
    if tail {
        a = a.saturating_add(r.exp_golomb()?);
    }
    let negative = r.uniform(2)? == 1;
    // Bounded by the Exp-Golomb length (24 bits): no overflow.
    let a = a as i32;
    Ok(if negative { -a } else { a })
}

/// Reads the whole syntax of a motion frame of `width`×`height` (`docs/format.md` §11.3).
/// A stream that names a vector beyond the allowed margin, a reference the frame does not
/// use, or ends early is a typed error.
pub fn read(
    models: &Models,
    bytes: &[u8],
    width: usize,
    height: usize,
    uses_last: bool,
    uses_long: bool,
) -> Result<MotionSyntax> {
    let mut r = Reader::new(models, bytes)?;
    let mut field = Field::new(width, height, uses_last, uses_long);
    let n = field.grid_h * field.grid_w;
    let qp = r.uniform(u32::from(MAX_QP) + 1)? as u8;
    let refresh_start = r.uniform(n as u32)?;
    let refresh_count = r.uniform(n as u32 + 1)?;
    let mut mbs = Vec::with_capacity(n);
    for row in 0..field.grid_h {
        for col in 0..field.grid_w {
            mbs.push(read_mb(&mut r, &mut field, row, col)?);
        }
    }
    Ok(MotionSyntax {
        qp,
        refresh_start,
        refresh_count,
        mbs,
    })
}

fn read_mb(r: &mut Reader<'_>, field: &mut Field, row: usize, col: usize) -> Result<Macroblock> {
    let mode = if !r.bit(field.skip_ctx(row, col))? {
        MbMode::Skip
    } else if r.bit(field.intra_ctx(row, col))? {
        MbMode::Intra
    } else {
        let reference = match (field.uses_last, field.uses_long) {
            (true, true) => {
                if r.bit(mctx::LONG)? {
                    Reference::Long
                } else {
                    Reference::Last
                }
            }
            (true, false) => Reference::Last,
            (false, _) => Reference::Long,
        };
        let p = field.predictor(row, col);
        let dx = read_mvd(r, 0)?;
        let dy = read_mvd(r, 1)?;
        let mv = Mv::new(p.x + dx, p.y + dy);
        if !mv.allowed(row, col, field.width, field.height) {
            return Err(corrupt(format!(
                "macroblock ({row}, {col}): vector ({}, {}) quarter-pels reaches beyond the \
                 allowed margin (§5: |component| ≤ {MAX_MV_QPEL}, {} pixels past the edge)",
                mv.x,
                mv.y,
                super::MOTION_MARGIN
            )));
        }
        MbMode::Inter { reference, mv }
    };
    field.modes[row * field.grid_w + col] = Some(mode);
    let mut mb = Macroblock::new(mode);
    if mode == MbMode::Skip {
        return Ok(mb);
    }
    for (slot, p, br, bc) in field.blocks(row, col) {
        if r.bit(field.coded_ctx(p, br, bc))? {
            let z = coding::read_block(r, field.level_ctx(p, br, bc))?;
            field.set_coded(p, br, bc, &z);
            mb.blocks[slot] = Some(z);
        }
    }
    Ok(mb)
}

/// Writes a whole syntax (tests, and encoders that decided beforehand).
pub fn write(
    models: &Models,
    s: &MotionSyntax,
    width: usize,
    height: usize,
    uses_last: bool,
    uses_long: bool,
) -> Result<Vec<u8>> {
    let mut w = Writer::new(models);
    let mut field = Field::new(width, height, uses_last, uses_long);
    let n = field.grid_h * field.grid_w;
    if s.mbs.len() != n {
        return Err(crate::error::inconsistent(
            "macroblocks",
            n as u64,
            s.mbs.len() as u64,
        ));
    }
    write_frame_fields(&mut w, s, n)?;
    let gw = field.grid_w;
    for (i, mb) in s.mbs.iter().enumerate() {
        write_mb(&mut w, &mut field, i / gw, i % gw, mb)?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(width: usize, height: usize) -> MotionSyntax {
        let f = Field::new(width, height, true, true);
        let n = f.grid_h * f.grid_w;
        let mbs = (0..n)
            .map(|i| {
                let mode = match i % 5 {
                    0 => MbMode::Skip,
                    1 => MbMode::Intra,
                    2 => MbMode::Inter {
                        reference: Reference::Long,
                        mv: Mv::ZERO,
                    },
                    _ => MbMode::Inter {
                        reference: Reference::Last,
                        mv: Mv::new((i as i32 % 7) - 3, -(i as i32 % 5) * 9),
                    },
                };
                let mut mb = Macroblock::new(mode);
                if mode != MbMode::Skip {
                    for (slot, ..) in f.blocks(i / f.grid_w, i % f.grid_w) {
                        if (slot + i) % 3 == 0 {
                            let mut z = [0i32; 16];
                            z[0] = (slot as i32) - 7;
                            z[3] = 40;
                            mb.blocks[slot] = Some(z);
                        }
                    }
                }
                mb
            })
            .collect();
        MotionSyntax {
            qp: 28,
            refresh_start: 2 % n as u32,
            refresh_count: 3.min(n as u32),
            mbs,
        }
    }

    #[test]
    fn syntax_round_trips_and_partial_macroblocks_code_only_their_blocks() {
        let models = Models::new();
        for (w, h) in [(64, 48), (37, 21), (16, 16)] {
            let s = sample(w, h);
            let bytes = write(&models, &s, w, h, true, true).unwrap();
            assert_eq!(read(&models, &bytes, w, h, true, true).unwrap(), s);
        }
        // 37×21: the last macroblock has luma blocks in rows 4–5 and columns 8–9 only.
        let f = Field::new(37, 21, true, false);
        assert_eq!(f.blocks(1, 2).iter().filter(|b| b.1 == 0).count(), 4);
    }

    #[test]
    fn bad_streams_are_typed_errors() {
        let models = Models::new();
        // A long-term macroblock in a frame that does not use the long-term reference.
        let s = sample(64, 48);
        assert!(write(&models, &s, 64, 48, true, false).is_err());
        // A vector beyond the margin: written by hand, refused by the reader.
        let mut far = MotionSyntax {
            qp: 20,
            refresh_start: 0,
            refresh_count: 0,
            mbs: vec![Macroblock::new(MbMode::Skip); 12],
        };
        far.mbs[0].mode = MbMode::Inter {
            reference: Reference::Last,
            mv: Mv::new(-4 * 40, 0),
        };
        let bytes = write(&models, &far, 64, 48, true, false).unwrap();
        let err = read(&models, &bytes, 64, 48, true, false).unwrap_err();
        assert!(err.to_string().contains("margin"), "{err}");
        // Truncated and garbage streams.
        let good = write(&models, &sample(64, 48), 64, 48, true, true).unwrap();
        for cut in (0..good.len()).step_by(4) {
            let _ = read(&models, &good[..cut], 64, 48, true, true);
        }
        assert!(read(&models, &good[..good.len() - 1], 64, 48, true, true).is_err());
        for seed in 0..200u32 {
            let g: Vec<u8> = (0..(seed % 17) * 4)
                .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 9) as u8)
                .collect();
            let _ = read(&models, &g, 64, 48, true, true);
        }
    }
}
