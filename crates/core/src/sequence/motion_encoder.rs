//! The encoder's side of motion delta frames (`docs/video.md`, "Motion"): the search, the
//! per-macroblock mode decision by Lagrangian cost, the QP that fits the budget, and the
//! payload. The picture it ends with is built by the decoder's own functions
//! ([`super::inter::intra_pixels`], [`super::inter::compose`]), so the two are identical.
//!
//! Per frame: (1) a motion search per macroblock on the previous picture (quarter-pel) and on
//! the long-term reference (whole-pel); (2) macroblocks that prediction serves badly become
//! intra candidates, and only then does the analysis transform run, and the synthesis on
//! their positions; (3) for a QP, each macroblock takes the cheapest of skip, inter + residual
//! and intra + residual (`D + λ(QP)·R`, D the squared error over Y, U and V, R the adaptive
//! contexts' cost), written as it goes; a few QPs are probed for the one that fits the budget.

use super::inter::{
    MotionHeader, RefPicture, References, compose, in_refresh, intra_pixels, mb_qp, write_payload,
};
use super::state::Update;
use crate::codec::NeuralCodec;
use crate::entropy::encode_symbols;
use crate::error::Result;
use crate::frame::Frame;
use crate::motion::search::search;
use crate::motion::syntax::{
    Field, Macroblock, MbMode, MotionSyntax, Reference, block_bits, mode_bits, write_frame_fields,
    write_mb,
};
use crate::motion::{MB, Mv, Planes, interp::predict, plane_sizes, planes};
use crate::residual::coding::Writer;
use crate::residual::transform::{
    MAX_QP, ZIGZAG, dequantize, forward, inverse, lambda, quantize_with,
};

use super::decoder::models;

/// Finest QP a motion frame uses.
pub const MIN_MOTION_QP: u8 = 8;
/// A macroblock whose best prediction misses by more than this mean absolute luma error is
/// an intra candidate.
const INTRA_MEAN_ABS: u32 = 8;

/// How the frame's QP is chosen.
#[derive(Debug, Clone, Copy)]
pub(crate) enum QpChoice {
    /// This QP.
    Fixed(u8),
    /// The finest QP whose frame fits `bits`, searched from `hint`.
    Budget { bits: f64, hint: u8 },
}

/// What the encoder needs for one motion frame.
pub(crate) struct MotionInput<'a> {
    pub neural: &'a NeuralCodec,
    pub refs: &'a References,
    /// The frame as given (for the analysis transform of intra candidates).
    pub frame: &'a Frame,
    /// The frame in I420.
    pub src: &'a Frame,
    pub header: MotionHeader,
    pub seq: u32,
    pub qp: QpChoice,
    /// The cyclic refresh window: first macroblock and count.
    pub refresh: (u32, u32),
    /// The previous motion frame's vectors per macroblock (co-located predictors).
    pub prev_mvs: &'a [Mv],
    /// Highest step of the fine grid.
    pub max_step: u8,
}

/// What one motion frame did.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MotionStats {
    /// Its QP.
    pub qp: u8,
    /// Macroblocks skipped.
    pub skip: usize,
    /// Macroblocks predicted from the previous picture.
    pub inter: usize,
    /// Macroblocks predicted from the long-term reference.
    pub long: usize,
    /// Macroblocks coded intra (latent positions replaced).
    pub intra: usize,
    /// Macroblocks in the refresh window.
    pub refresh: usize,
    /// Estimated bits of modes and vectors.
    pub mode_bits: f64,
    /// Estimated bits of the residual.
    pub residual_bits: f64,
    /// Bytes of the intra latent symbols.
    pub latent_bytes: usize,
    /// Bytes of the range-coded syntax.
    pub syntax_bytes: usize,
}

/// The result.
pub(crate) struct MotionOutput {
    pub payload: Vec<u8>,
    pub picture: RefPicture,
    pub step: u8,
    pub stats: MotionStats,
    pub mvs: Vec<Mv>,
}

/// One prediction of a macroblock, with what its residual coding needs.
#[derive(Clone)]
struct Candidate {
    /// Residual samples per block slot (source − prediction; outside the plane: the edge's).
    e: Box<[[i32; 16]; 24]>,
    /// Forward transform of `e` per slot.
    coef: Box<[[i32; 16]; 24]>,
    /// Squared error of the prediction alone per slot (samples inside the plane).
    d0: [i64; 24],
}

struct MbCache {
    inter: Option<(Reference, Mv, Candidate)>,
    skip_d: i64,
    intra: Option<(Candidate, f64)>,
}

/// One probe's outcome.
struct Probe {
    qp: u8,
    syntax_bytes: Vec<u8>,
    syntax: MotionSyntax,
    latent_bits: f64,
    stats: MotionStats,
}

impl Probe {
    fn bits(&self) -> f64 {
        ((super::inter::MOTION_HEADER_LEN + self.syntax_bytes.len() + 48) * 8) as f64
            + self.latent_bits
    }
}

fn mask(p_w: usize, p_h: usize, br: usize, bc: usize) -> [bool; 16] {
    core::array::from_fn(|k| br * 4 + k / 4 < p_h && bc * 4 + k % 4 < p_w)
}

/// Builds a candidate from the macroblock's prediction `pred` (per plane, `16 >> s` wide).
fn candidate(
    src: &Planes<'_>,
    field: &Field,
    row: usize,
    col: usize,
    pred: &[[u8; 256]; 3],
) -> Candidate {
    let mut e = Box::new([[0i32; 16]; 24]);
    let mut coef = Box::new([[0i32; 16]; 24]);
    let mut d0 = [0i64; 24];
    for (slot, p, br, bc) in field.blocks(row, col) {
        let plane = &src.planes[p];
        let s = usize::from(p > 0);
        let side = MB >> s;
        let (x0, y0) = ((col * MB) >> s, (row * MB) >> s);
        let m = mask(plane.width, plane.height, br, bc);
        let mut blk = [0i32; 16];
        for k in 0..16 {
            // Outside the plane, the nearest sample inside (edges repeat).
            let y = (br * 4 + k / 4).min(plane.height - 1);
            let x = (bc * 4 + k % 4).min(plane.width - 1);
            let sv = i32::from(plane.data[y * plane.width + x]);
            let pv = i32::from(pred[p][(y - y0) * side + (x - x0)]);
            blk[k] = sv - pv;
            if m[k] {
                d0[slot] += i64::from(blk[k] * blk[k]);
            }
        }
        e[slot] = blk;
        coef[slot] = forward(&blk);
    }
    Candidate { e, coef, d0 }
}

/// The prediction of macroblock (`row`, `col`) from `r` at `mv`, per plane.
fn predict_mb(r: &Planes<'_>, row: usize, col: usize, mv: Mv) -> [[u8; 256]; 3] {
    let mut out = [[0u8; 256]; 3];
    for (p, o) in out.iter_mut().enumerate() {
        let s = usize::from(p > 0);
        let plane = &r.planes[p];
        let (x0, y0) = ((col * MB) >> s, (row * MB) >> s);
        let side = MB >> s;
        // The whole 16×16 (8×8) square: samples beyond the plane repeat its edge.
        predict(
            plane,
            (x0, y0),
            (side, side),
            (mv.x, mv.y),
            2 + s as u32,
            &mut o[..side * side],
        );
    }
    out
}

fn copy_mb(pic: &Planes<'_>, row: usize, col: usize) -> [[u8; 256]; 3] {
    predict_mb(pic, row, col, Mv::ZERO)
}

fn sse(src: &Planes<'_>, row: usize, col: usize, pred: &[[u8; 256]; 3]) -> i64 {
    let mut d = 0i64;
    for (p, plane) in src.planes.iter().enumerate() {
        let s = usize::from(p > 0);
        let side = MB >> s;
        let (x0, y0) = ((col * MB) >> s, (row * MB) >> s);
        for y in y0..(y0 + side).min(plane.height) {
            for x in x0..(x0 + side).min(plane.width) {
                let v = i64::from(plane.data[y * plane.width + x])
                    - i64::from(pred[p][(y - y0) * side + (x - x0)]);
                d += v * v;
            }
        }
    }
    d
}

/// Residual levels of a candidate at `qp`: per slot the zig-zag levels if coding them pays.
/// Returns (levels, distortion, residual bits).
#[allow(clippy::type_complexity)]
fn code_blocks(
    c: &Candidate,
    w: &Writer<'_>,
    field: &Field,
    sizes: [(usize, usize); 3],
    (row, col): (usize, usize),
    qp: u8,
    lam: f64,
) -> ([Option<[i32; 16]>; 24], i64, f64) {
    let mut levels = [None; 24];
    let (mut dist, mut bits) = (0i64, 0.0f64);
    for (slot, p, br, bc) in field.blocks(row, col) {
        let uncoded_bits = block_bits(&w.ctx, field, (p, br, bc), None);
        let d0 = c.d0[slot];
        let z = quantize_with(&c.coef[slot], qp, 6);
        if z.iter().all(|&v| v == 0) {
            dist += d0;
            bits += uncoded_bits;
            continue;
        }
        let r = inverse(&dequantize(&z, qp));
        let (pw, ph) = sizes[p];
        let m = mask(pw, ph, br, bc);
        let d1: i64 = (0..16)
            .filter(|&k| m[k])
            .map(|k| i64::from((c.e[slot][k] - r[k]).pow(2)))
            .sum();
        let zz: [i32; 16] = core::array::from_fn(|k| z[ZIGZAG[k]]);
        let coded_bits = block_bits(&w.ctx, field, (p, br, bc), Some(&zz));
        if (d1 as f64) + lam * coded_bits < (d0 as f64) + lam * uncoded_bits {
            levels[slot] = Some(zz);
            dist += d1;
            bits += coded_bits;
        } else {
            dist += d0;
            bits += uncoded_bits;
        }
    }
    (levels, dist, bits)
}

fn median(a: i32, b: i32, c: i32) -> i32 {
    a.max(b).min(a.min(b).max(c))
}

/// The step of the intra positions for a QP (the fixed-step streams' QP rule inverted).
pub(crate) fn step_for_qp(qp: u8, max_step: u8) -> u8 {
    (80i32 - 2 * i32::from(qp)).clamp(1, i32::from(max_step)) as u8
}

/// The QP of a fixed-step stream.
pub(crate) fn qp_for_step(step: u8) -> u8 {
    40u8.saturating_sub(step / 2).max(MIN_MOTION_QP)
}

/// Codes one motion frame.
pub(crate) async fn encode(input: MotionInput<'_>) -> Result<MotionOutput> {
    let MotionInput {
        neural,
        refs,
        frame,
        src,
        header: h,
        seq,
        qp,
        refresh,
        prev_mvs,
        max_step,
    } = input;
    let (w, hgt) = (src.width() as usize, src.height() as usize);
    let sizes = plane_sizes(w, hgt);
    let src_p = planes(src.data(), w, hgt);
    let last_p = planes(&refs.last.picture, w, hgt);
    let long = refs.long_for(h.long_seq).filter(|_| h.uses_long);
    let long_p = long.map(|l| planes(&l.picture, w, hgt));
    let long_distinct = long.is_some_and(|l| l.state.seq != refs.last.state.seq);
    let field0 = Field::new(w, hgt, h.uses_last, h.uses_long);
    let (gh, gw) = (field0.grid_h, field0.grid_w);
    let n = gh * gw;
    let hint = match qp {
        QpChoice::Fixed(q) => q,
        QpChoice::Budget { hint, .. } => hint,
    }
    .clamp(MIN_MOTION_QP, MAX_QP);
    let primary_p = if h.uses_last {
        last_p
    } else {
        long_p.expect("recovery needs the long-term reference")
    };

    // (1) Motion search and the inter candidates.
    let lam_sad = lambda(hint).sqrt();
    let mut found: Vec<Mv> = vec![Mv::ZERO; n];
    let mut cache: Vec<MbCache> = Vec::with_capacity(n);
    let mut intra_candidates = vec![false; n];
    for i in 0..n {
        let (row, col) = (i / gw, i % gw);
        let at = |r: isize, c: isize| -> Option<Mv> {
            (r >= 0 && c >= 0 && (c as usize) < gw && (r as usize) < gh)
                .then(|| found[r as usize * gw + c as usize])
        };
        let (r, c) = (row as isize, col as isize);
        let left = at(r, c - 1).unwrap_or(Mv::ZERO);
        let top = at(r - 1, c).unwrap_or(Mv::ZERO);
        let right = at(r - 1, c + 1).or(at(r - 1, c - 1)).unwrap_or(Mv::ZERO);
        let pred = Mv::new(
            median(left.x, top.x, right.x),
            median(left.y, top.y, right.y),
        );
        let colocated = prev_mvs.get(i).copied().unwrap_or(Mv::ZERO);
        let mut best: Option<(Reference, crate::motion::search::Found)> = None;
        if h.uses_last {
            let f = search(
                &src_p.planes[0],
                &last_p.planes[0],
                (row, col),
                &[pred, left, top, right, colocated],
                pred,
                lam_sad,
                false,
            );
            best = Some((Reference::Last, f));
        }
        if let Some(lp) = &long_p
            && (long_distinct || !h.uses_last)
        {
            let f = search(
                &src_p.planes[0],
                &lp.planes[0],
                (row, col),
                &[colocated, pred],
                pred,
                lam_sad,
                h.uses_last,
            );
            let extra = if h.uses_last { lam_sad } else { 0.0 };
            if best.is_none_or(|(_, b)| f.cost + extra < b.cost) {
                best = Some((Reference::Long, f));
            }
        }
        let (reference, f) = best.expect("a frame uses at least one reference");
        found[i] = f.mv;
        let rp = if reference == Reference::Long {
            long_p.as_ref().expect("long")
        } else {
            &last_p
        };
        let pred_px = predict_mb(rp, row, col, f.mv);
        let inter = candidate(&src_p, &field0, row, col, &pred_px);
        let skip_d = sse(&src_p, row, col, &copy_mb(&primary_p, row, col));
        let pixels = ((w - col * MB).min(MB) * (hgt - row * MB).min(MB)) as u32;
        intra_candidates[i] = f.sad > INTRA_MEAN_ABS * pixels;
        cache.push(MbCache {
            inter: Some((reference, f.mv, inter)),
            skip_d,
            intra: None,
        });
    }

    // (2) Intra candidates: the analysis transform, their symbols and their synthesis.
    let step = step_for_qp(hint, max_step);
    let base = if h.uses_last {
        &refs.last
    } else {
        long.expect("long")
    };
    let mut y: Option<Vec<f32>> = None;
    let mut intra_pic: Option<Vec<u8>> = None;
    if intra_candidates.iter().any(|&c| c) {
        let (yy, _, _) = neural.analyze_y(frame).await?;
        let (update, bits) =
            intra_update(neural, &yy, base.state.channels, &intra_candidates, step);
        let mut state = base.state.clone();
        state.apply(&update, seq)?;
        let pic = intra_pixels(neural, &state, &intra_candidates).await?;
        fill_intra(
            &mut cache,
            &intra_candidates,
            &bits,
            pic.as_deref(),
            &src_p,
            &field0,
            w,
            hgt,
        );
        y = Some(yy);
        intra_pic = pic;
    }

    // (3) The QP, by probes.
    let refresh_syntax = |q: u8| MotionSyntax {
        qp: q,
        refresh_start: refresh.0 % n as u32,
        refresh_count: refresh.1.min(n as u32),
        mbs: Vec::new(),
    };
    let probe = |q: u8, forced: Option<&[MbMode]>| {
        code_frame(&cache, refresh_syntax(q), sizes, (w, hgt), h, forced)
    };
    let mut chosen = match qp {
        QpChoice::Fixed(q) => probe(q.clamp(MIN_MOTION_QP, MAX_QP), None)?,
        QpChoice::Budget { bits, .. } => {
            let mut q = hint;
            let first = probe(q, None)?;
            if first.bits() <= bits {
                let mut best = first;
                // Finer by single steps (a QP step is ≈ 12 % of bits: the frame lands close
                // under its budget, so the rate does not fall short of the target).
                for _ in 0..4 {
                    if q <= MIN_MOTION_QP {
                        break;
                    }
                    q -= 1;
                    let p = probe(q, None)?;
                    if p.bits() > bits {
                        break;
                    }
                    best = p;
                }
                best
            } else {
                let mut last = first;
                for _ in 0..5 {
                    if q >= MAX_QP {
                        break;
                    }
                    q = (q + 3).min(MAX_QP);
                    last = probe(q, None)?;
                    if last.bits() <= bits {
                        break;
                    }
                }
                last
            }
        }
    };

    // (4) The intra set as chosen: if it differs from the candidates, synthesize it again
    // (neighbouring latent positions changed) and code the residuals against that picture.
    let chosen_intra: Vec<bool> = chosen
        .syntax
        .mbs
        .iter()
        .map(|m| m.mode == MbMode::Intra)
        .collect();
    let mut update = Update {
        step,
        updated: vec![false; n],
        symbols: Vec::new(),
    };
    if chosen_intra.iter().any(|&c| c) {
        let yy = y.as_ref().expect("intra macroblocks had the analysis");
        let (u, bits) = intra_update(neural, yy, base.state.channels, &chosen_intra, step);
        if chosen_intra != intra_candidates {
            let mut state = base.state.clone();
            state.apply(&u, seq)?;
            intra_pic = intra_pixels(neural, &state, &chosen_intra).await?;
            for c in cache.iter_mut() {
                c.intra = None;
            }
            fill_intra(
                &mut cache,
                &chosen_intra,
                &bits,
                intra_pic.as_deref(),
                &src_p,
                &field0,
                w,
                hgt,
            );
            let modes: Vec<MbMode> = chosen.syntax.mbs.iter().map(|m| m.mode).collect();
            chosen = code_frame(
                &cache,
                refresh_syntax(chosen.qp),
                sizes,
                (w, hgt),
                h,
                Some(&modes),
            )?;
        }
        update = u;
    } else {
        intra_pic = None;
    }
    let count = update.count();
    let latent = if count > 0 {
        encode_symbols(
            &neural.fine().tables,
            usize::from(step) - 1,
            &update.symbols,
            count,
        )?
    } else {
        Vec::new()
    };
    let mut stats = chosen.stats;
    stats.latent_bytes = latent.len();
    stats.syntax_bytes = chosen.syntax_bytes.len();
    let payload = write_payload(&h, &chosen.syntax_bytes, &latent);
    let mut state = base.state.clone();
    state.apply(&update, seq)?;
    let picture = compose(refs, &h, &chosen.syntax, intra_pic.as_deref(), w, hgt)?;
    let mvs = chosen
        .syntax
        .mbs
        .iter()
        .map(|m| match m.mode {
            MbMode::Inter { mv, .. } => mv,
            _ => Mv::ZERO,
        })
        .collect();
    Ok(MotionOutput {
        payload,
        picture: RefPicture { picture, state },
        step,
        stats,
        mvs,
    })
}

/// The update that replaces the `flagged` positions with `y` quantized at `step`, and each
/// position's estimated bits.
fn intra_update(
    neural: &NeuralCodec,
    y: &[f32],
    channels: usize,
    flagged: &[bool],
    step: u8,
) -> (Update, Vec<f64>) {
    let n = flagged.len();
    let tables = &neural.fine().tables;
    let k = usize::from(step) - 1;
    let positions: Vec<usize> = (0..n).filter(|&p| flagged[p]).collect();
    let count = positions.len();
    let mut symbols = vec![0i32; channels * count];
    let mut bits = vec![0.0f64; n];
    for c in 0..channels {
        for (j, &p) in positions.iter().enumerate() {
            let s = neural.quantize_one(y[c * n + p], c, step).unwrap_or(0);
            symbols[c * count + j] = s;
            bits[p] += f64::from(tables.symbol_cost(k, c, s)) / 256.0;
        }
    }
    (
        Update {
            step,
            updated: flagged.to_vec(),
            symbols,
        },
        bits,
    )
}

#[allow(clippy::too_many_arguments)]
fn fill_intra(
    cache: &mut [MbCache],
    flagged: &[bool],
    bits: &[f64],
    pic: Option<&[u8]>,
    src: &Planes<'_>,
    field: &Field,
    w: usize,
    h: usize,
) {
    let Some(pic) = pic else {
        return;
    };
    let pp = planes(pic, w, h);
    for (i, c) in cache.iter_mut().enumerate() {
        if !flagged[i] {
            continue;
        }
        let (row, col) = (i / field.grid_w, i % field.grid_w);
        let pred = copy_mb(&pp, row, col);
        c.intra = Some((candidate(src, field, row, col, &pred), bits[i]));
    }
}

/// A macroblock's choice: mode, levels, cost J, mode bits, residual bits, latent bits.
type Choice = (MbMode, [Option<[i32; 16]>; 24], f64, f64, f64, f64);

/// Codes the frame at `syntax.qp` with the cached candidates (or the `forced` modes).
fn code_frame(
    cache: &[MbCache],
    mut syntax: MotionSyntax,
    sizes: [(usize, usize); 3],
    (w, h): (usize, usize),
    header: MotionHeader,
    forced: Option<&[MbMode]>,
) -> Result<Probe> {
    let mut wr = Writer::new(models());
    let mut field = Field::new(w, h, header.uses_last, header.uses_long);
    let n = field.grid_h * field.grid_w;
    write_frame_fields(&mut wr, &syntax, n)?;
    let mut stats = MotionStats {
        qp: syntax.qp,
        ..Default::default()
    };
    let mut latent_bits = 0.0;
    for (i, c) in cache.iter().enumerate() {
        let (row, col) = (i / field.grid_w, i % field.grid_w);
        let qp = mb_qp(&syntax, i, n);
        let lam = lambda(qp);
        let refresh = in_refresh(&syntax, i, n);
        // (mode, levels, J, mode bits, residual bits, latent bits)
        let mut best: Option<Choice> = None;
        let mut consider = |mode: MbMode, levels, d: i64, mb: f64, rb: f64, lb: f64| {
            let allowed = match forced {
                Some(f) => f[i] == mode,
                None => true,
            };
            let j = d as f64 + lam * (mb + rb + lb);
            if allowed && best.as_ref().is_none_or(|b| j < b.2) {
                best = Some((mode, levels, j, mb, rb, lb));
            }
        };
        if !refresh || forced.is_some() {
            let mb = mode_bits(&wr.ctx, &field, row, col, MbMode::Skip);
            consider(MbMode::Skip, [None; 24], c.skip_d, mb, 0.0, 0.0);
        }
        if let Some((reference, mv, cand)) = &c.inter {
            let mode = MbMode::Inter {
                reference: *reference,
                mv: *mv,
            };
            let (levels, d, rb) = code_blocks(cand, &wr, &field, sizes, (row, col), qp, lam);
            let mb = mode_bits(&wr.ctx, &field, row, col, mode);
            consider(mode, levels, d, mb, rb, 0.0);
        }
        if let Some((cand, lb)) = &c.intra {
            let (levels, d, rb) = code_blocks(cand, &wr, &field, sizes, (row, col), qp, lam);
            let mb = mode_bits(&wr.ctx, &field, row, col, MbMode::Intra);
            consider(MbMode::Intra, levels, d, mb, rb, *lb);
        }
        let (mode, levels, _, mb, rb, lb) = best.expect("skip or inter is always available");
        let m = Macroblock {
            mode,
            blocks: levels,
        };
        write_mb(&mut wr, &mut field, row, col, &m)?;
        match mode {
            MbMode::Skip => stats.skip += 1,
            MbMode::Intra => stats.intra += 1,
            MbMode::Inter {
                reference: Reference::Long,
                ..
            } => stats.long += 1,
            MbMode::Inter { .. } => stats.inter += 1,
        }
        stats.refresh += usize::from(refresh);
        stats.mode_bits += mb;
        stats.residual_bits += rb;
        latent_bits += lb;
        syntax.mbs.push(m);
    }
    let syntax_bytes = wr.finish()?;
    Ok(Probe {
        qp: syntax.qp,
        syntax_bytes,
        syntax,
        latent_bits,
        stats,
    })
}
