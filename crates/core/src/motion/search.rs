//! The encoder's motion search (encoder only: nothing here is in the bitstream's definition).
//!
//! Per macroblock, on the luma plane: the best of a few predictor vectors (zero, the
//! predicted vector, the neighbours', the co-located vector of the previous frame), then a
//! small diamond at whole pels until it stops improving, then the eight half-pel and the eight
//! quarter-pel neighbours. The cost is SAD + λ · (estimated vector bits), as realtime encoders
//! do it (libvpx at speed 8, x264's `--me dia`): cheap enough for a browser's budget.

use super::interp::predict;
use super::{MB, Mv, PlaneView};

/// Most whole-pel diamond steps per macroblock.
const MAX_DIAMOND_STEPS: usize = 16;

/// What a search found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    /// The vector.
    pub mv: Mv,
    /// Its luma SAD over the macroblock's samples inside the picture.
    pub sad: u32,
    /// SAD + λ · vector bits.
    pub cost: f64,
}

/// Estimated bits of a vector difference (both components).
pub fn mvd_bits(d: Mv) -> f64 {
    let one = |v: i32| {
        if v == 0 {
            1.0
        } else {
            3.0 + 2.0 * f64::from(31 - v.unsigned_abs().leading_zeros())
        }
    };
    one(d.x) + one(d.y)
}

/// The luma SAD of macroblock (`row`, `col`) of `src` against `reference` at `mv`.
pub fn sad(src: &PlaneView<'_>, reference: &PlaneView<'_>, row: usize, col: usize, mv: Mv) -> u32 {
    let (x0, y0) = (col * MB, row * MB);
    let (bw, bh) = ((src.width - x0).min(MB), (src.height - y0).min(MB));
    let mut pred = [0u8; MB * MB];
    predict(
        reference,
        (x0, y0),
        (bw, bh),
        (mv.x, mv.y),
        2,
        &mut pred[..bw * bh],
    );
    let mut total = 0u32;
    for r in 0..bh {
        let s = &src.data[(y0 + r) * src.width + x0..][..bw];
        let p = &pred[r * bw..(r + 1) * bw];
        total += s
            .iter()
            .zip(p)
            .map(|(a, b)| u32::from(a.abs_diff(*b)))
            .sum::<u32>();
    }
    total
}

/// Searches macroblock (`row`, `col`) of `src` in `reference`, starting from `candidates`,
/// with vectors coded against `pred` at `lambda` (SAD units per bit). Only vectors that
/// [`Mv::allowed`] accepts are tried; `whole_pel_only` stops after the diamond.
pub fn search(
    src: &PlaneView<'_>,
    reference: &PlaneView<'_>,
    (row, col): (usize, usize),
    candidates: &[Mv],
    pred: Mv,
    lambda: f64,
    whole_pel_only: bool,
) -> Found {
    let (w, h) = (src.width, src.height);
    let eval = |mv: Mv| -> Option<Found> {
        if !mv.allowed(row, col, w, h) {
            return None;
        }
        let s = sad(src, reference, row, col, mv);
        let d = Mv::new(mv.x - pred.x, mv.y - pred.y);
        Some(Found {
            mv,
            sad: s,
            cost: f64::from(s) + lambda * mvd_bits(d),
        })
    };
    let mut best = eval(Mv::ZERO).expect("the zero vector is always allowed");
    let mut tried: Vec<Mv> = vec![Mv::ZERO];
    for &c in candidates {
        // Candidates are tried at whole pels (the refinement below finds the fraction).
        let c = Mv::new(c.x & !3, c.y & !3);
        if tried.contains(&c) {
            continue;
        }
        tried.push(c);
        if let Some(f) = eval(c)
            && f.cost < best.cost
        {
            best = f;
        }
    }
    for _ in 0..MAX_DIAMOND_STEPS {
        let centre = best.mv;
        for (dx, dy) in [(4, 0), (-4, 0), (0, 4), (0, -4)] {
            if let Some(f) = eval(Mv::new(centre.x + dx, centre.y + dy))
                && f.cost < best.cost
            {
                best = f;
            }
        }
        if best.mv == centre {
            break;
        }
    }
    if whole_pel_only {
        return best;
    }
    for step in [2, 1] {
        let centre = best.mv;
        for (dx, dy) in [
            (-1, -1),
            (0, -1),
            (1, -1),
            (-1, 0),
            (1, 0),
            (-1, 1),
            (0, 1),
            (1, 1),
        ] {
            if let Some(f) = eval(Mv::new(centre.x + dx * step, centre.y + dy * step))
                && f.cost < best.cost
            {
                best = f;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_shifted_picture() {
        let (w, h) = (64, 48);
        // A smooth pattern, and the same pattern 3 pixels to the right and 2 down.
        let f =
            |x: i32, y: i32| (255 - ((x - 30).pow(2) + (y - 22).pow(2)) / 5).clamp(0, 255) as u8;
        let reference: Vec<u8> = (0..w * h)
            .map(|i| f((i % w) as i32, (i / w) as i32))
            .collect();
        let src: Vec<u8> = (0..w * h)
            .map(|i| f((i % w) as i32 - 3, (i / w) as i32 - 2))
            .collect();
        let (s, r) = (
            PlaneView {
                data: &src,
                width: w,
                height: h,
            },
            PlaneView {
                data: &reference,
                width: w,
                height: h,
            },
        );
        let found = search(&s, &r, (1, 1), &[], Mv::ZERO, 1.0, false);
        assert_eq!(found.mv, Mv::new(-12, -8));
        assert_eq!(found.sad, 0);
    }
}
