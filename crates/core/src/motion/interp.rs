//! Motion-compensated prediction: a block of a reference plane at a sub-pixel vector.
//!
//! Bilinear interpolation with non-negative integer taps, `(Σ wᵢ·xᵢ + 2ᵏ⁻¹) >> k` with
//! `Σ wᵢ = 2ᵏ` (VP8's version 1–3 profiles use the same filter). Two references that differ by
//! at most `d` in every sample give predictions that differ by at most `d`: the error a
//! backend's ±1 leaves in a picture cannot grow through prediction (`docs/video.md`, "Why it
//! cannot drift"). Samples outside the plane repeat its edge (an integer copy).

use super::PlaneView;

/// Predicts the `bw`×`bh` block whose top-left sample is (`x0`, `y0`) in `plane`, displaced by
/// (`mvx`, `mvy`) in units of `1 / 2^frac_bits` sample (2: quarter-pel luma, 3: eighth-pel
/// chroma). Writes `bw · bh` samples, row-major, into `out`.
pub fn predict(
    plane: &PlaneView<'_>,
    (x0, y0): (usize, usize),
    (bw, bh): (usize, usize),
    (mvx, mvy): (i32, i32),
    frac_bits: u32,
    out: &mut [u8],
) {
    let one = 1i32 << frac_bits;
    let (fx, fy) = (mvx & (one - 1), mvy & (one - 1));
    let (ix, iy) = (
        x0 as i32 + (mvx >> frac_bits),
        y0 as i32 + (mvy >> frac_bits),
    );
    let (w, h) = (plane.width as i32, plane.height as i32);
    let inside = ix >= 0 && iy >= 0 && ix + (bw as i32) < w && iy + (bh as i32) < h;
    if fx == 0 && fy == 0 {
        for r in 0..bh {
            let y = iy + r as i32;
            if inside {
                let start = y as usize * plane.width + ix as usize;
                out[r * bw..(r + 1) * bw].copy_from_slice(&plane.data[start..start + bw]);
            } else {
                for c in 0..bw {
                    out[r * bw + c] = plane.clamped(ix + c as i32, y);
                }
            }
        }
        return;
    }
    let shift = 2 * frac_bits;
    let round = 1i32 << (shift - 1);
    let (w00, w01) = ((one - fx) * (one - fy), fx * (one - fy));
    let (w10, w11) = ((one - fx) * fy, fx * fy);
    for r in 0..bh {
        let y = iy + r as i32;
        for c in 0..bw {
            let x = ix + c as i32;
            let (a, b, cc, d) = if inside {
                let i = y as usize * plane.width + x as usize;
                let s = plane.data;
                (s[i], s[i + 1], s[i + plane.width], s[i + plane.width + 1])
            } else {
                (
                    plane.clamped(x, y),
                    plane.clamped(x + 1, y),
                    plane.clamped(x, y + 1),
                    plane.clamped(x + 1, y + 1),
                )
            };
            let v = w00 * i32::from(a)
                + w01 * i32::from(b)
                + w10 * i32::from(cc)
                + w11 * i32::from(d)
                + round;
            out[r * bw + c] = (v >> shift) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(data: &[u8], w: usize, h: usize) -> PlaneView<'_> {
        PlaneView {
            data,
            width: w,
            height: h,
        }
    }

    #[test]
    fn whole_pel_vectors_copy_and_edges_repeat() {
        let d: Vec<u8> = (0..64).map(|i| i as u8).collect();
        let p = plane(&d, 8, 8);
        let mut out = [0u8; 4];
        predict(&p, (2, 2), (2, 2), (4, 0), 2, &mut out);
        assert_eq!(out, [19, 20, 27, 28]);
        predict(&p, (0, 0), (2, 2), (-8, -8), 2, &mut out);
        assert_eq!(out, [0, 0, 0, 0]);
        // Half-pel between 18 and 19, 26 and 27: (18 + 19 + 26 + 27 + 2) / 4 = 22.5 → 23.
        predict(&p, (2, 2), (1, 1), (2, 2), 2, &mut out[..1]);
        assert_eq!(out[0], 23);
    }

    /// The drift bound: references within ±d give predictions within ±d, at every fraction.
    #[test]
    fn prediction_is_non_expansive_in_the_max_norm() {
        let (w, h) = (24, 20);
        let a: Vec<u8> = (0..w * h).map(|i| ((i * 37 + i / 7) % 256) as u8).collect();
        for d in [1i32, 2, 5] {
            let b: Vec<u8> = a
                .iter()
                .enumerate()
                .map(|(i, &v)| (i32::from(v) + [d, -d, 0][i % 3]).clamp(0, 255) as u8)
                .collect();
            let (pa, pb) = (plane(&a, w, h), plane(&b, w, h));
            for frac in [2u32, 3] {
                for mvy in -9..9 {
                    for mvx in -9..9 {
                        let (mut oa, mut ob) = ([0u8; 64], [0u8; 64]);
                        predict(&pa, (4, 4), (8, 8), (mvx * 3, mvy * 5), frac, &mut oa);
                        predict(&pb, (4, 4), (8, 8), (mvx * 3, mvy * 5), frac, &mut ob);
                        let worst = oa
                            .iter()
                            .zip(&ob)
                            .map(|(x, y)| (i32::from(*x) - i32::from(*y)).abs())
                            .max()
                            .unwrap();
                        assert!(worst <= d, "d {d}, frac {frac}, mv ({mvx}, {mvy}): {worst}");
                    }
                }
            }
        }
    }
}
