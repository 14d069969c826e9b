//! The 4×4 integer transform and quantizer of the refinement layer (`docs/format.md` §9.2):
//! H.264's core transform, its quantization scales, and its exact integer inverse.
//!
//! The decoder's side (dequantization, inverse) is integer arithmetic only, so any two
//! decoders turn the same coefficients into the same residual.

/// Largest quantization parameter.
pub const MAX_QP: u8 = 51;

/// Largest magnitude a held (dequantized, accumulated) coefficient may reach.
pub const MAX_HELD: i32 = 1 << 20;

/// Dequantization scales per `qp % 6` and position class (a: even-even, b: odd-odd, c: mixed).
const V: [[i32; 3]; 6] = [
    [10, 16, 13],
    [11, 18, 14],
    [13, 20, 16],
    [14, 23, 18],
    [16, 25, 20],
    [18, 29, 23],
];

/// Quantization multipliers per `qp % 6` and position class (encoder only).
const MF: [[i64; 3]; 6] = [
    [13107, 5243, 8066],
    [11916, 4660, 7490],
    [10082, 4194, 6554],
    [9362, 3647, 5825],
    [8192, 3355, 5243],
    [7282, 2893, 4559],
];

/// Zig-zag scan order of a 4×4 block (row-major indices).
pub const ZIGZAG: [usize; 16] = [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15];

fn class(i: usize) -> usize {
    let (r, c) = (i / 4, i % 4);
    match (r % 2, c % 2) {
        (0, 0) => 0,
        (1, 1) => 1,
        _ => 2,
    }
}

/// Forward core transform of a 4×4 block of residual pixels (row-major), encoder only.
pub fn forward(x: &[i32; 16]) -> [i32; 16] {
    let mut t = [0i32; 16];
    for r in 0..4 {
        let [a, b, c, d] = [x[r * 4], x[r * 4 + 1], x[r * 4 + 2], x[r * 4 + 3]];
        let (s0, s1, s2, s3) = (a + d, b + c, b - c, a - d);
        t[r * 4] = s0 + s1;
        t[r * 4 + 1] = 2 * s3 + s2;
        t[r * 4 + 2] = s0 - s1;
        t[r * 4 + 3] = s3 - 2 * s2;
    }
    let mut y = [0i32; 16];
    for c in 0..4 {
        let [a, b, cc, d] = [t[c], t[4 + c], t[8 + c], t[12 + c]];
        let (s0, s1, s2, s3) = (a + d, b + cc, b - cc, a - d);
        y[c] = s0 + s1;
        y[4 + c] = 2 * s3 + s2;
        y[8 + c] = s0 - s1;
        y[12 + c] = s3 - 2 * s2;
    }
    y
}

/// Quantizes transform coefficients at `qp` (encoder only; rounding offset 1/3 of a step).
pub fn quantize(y: &[i32; 16], qp: u8) -> [i32; 16] {
    quantize_with(y, qp, 3)
}

/// Quantizes with a rounding offset of `1 / divisor` of a step (encoder only: 3 for the
/// refinement layer, as H.264 intra; 6 for motion residuals, as H.264 inter — a wider dead
/// zone, since a prediction residual's small coefficients are mostly noise).
pub fn quantize_with(y: &[i32; 16], qp: u8, divisor: i64) -> [i32; 16] {
    let shift = 15 + u32::from(qp / 6);
    let offset = (1i64 << shift) / divisor;
    let mut z = [0i32; 16];
    for i in 0..16 {
        let m = MF[usize::from(qp % 6)][class(i)];
        let v = (i64::from(y[i]).abs() * m + offset) >> shift;
        z[i] = if y[i] < 0 { -(v as i32) } else { v as i32 };
    }
    z
}

/// Dequantizes coefficients coded at `qp` into the held domain (integers).
pub fn dequantize(z: &[i32; 16], qp: u8) -> [i32; 16] {
    let mut w = [0i32; 16];
    for i in 0..16 {
        let v = V[usize::from(qp % 6)][class(i)];
        w[i] = z[i].saturating_mul(v).saturating_mul(1 << (qp / 6));
    }
    w
}

/// Exact integer inverse of held coefficients: the residual pixels (row-major).
pub fn inverse(w: &[i32; 16]) -> [i32; 16] {
    let mut t = [0i32; 16];
    for r in 0..4 {
        let [a, b, c, d] = [w[r * 4], w[r * 4 + 1], w[r * 4 + 2], w[r * 4 + 3]];
        let (e0, e1, e2, e3) = (a + c, a - c, (b >> 1) - d, b + (d >> 1));
        t[r * 4] = e0 + e3;
        t[r * 4 + 1] = e1 + e2;
        t[r * 4 + 2] = e1 - e2;
        t[r * 4 + 3] = e0 - e3;
    }
    let mut x = [0i32; 16];
    for c in 0..4 {
        let [a, b, cc, d] = [t[c], t[4 + c], t[8 + c], t[12 + c]];
        let (e0, e1, e2, e3) = (a + cc, a - cc, (b >> 1) - d, b + (d >> 1));
        x[c] = (e0 + e3 + 32) >> 6;
        x[4 + c] = (e1 + e2 + 32) >> 6;
        x[8 + c] = (e1 - e2 + 32) >> 6;
        x[12 + c] = (e0 - e3 + 32) >> 6;
    }
    x
}

/// The rate–distortion slope of `qp` (squared error per bit), as H.264 encoders use it.
pub fn lambda(qp: u8) -> f64 {
    0.85 * 2f64.powf((f64::from(qp) - 12.0) / 3.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_error_follows_the_step() {
        let x: [i32; 16] = core::array::from_fn(|i| (i as i32 * 7 % 23) - 11);
        for qp in [0u8, 12, 24, 36] {
            let r = inverse(&dequantize(&quantize(&forward(&x), qp), qp));
            let err: i32 = x.iter().zip(&r).map(|(a, b)| (a - b).abs()).max().unwrap();
            assert!(err <= 1 + i32::from(qp) / 3, "qp {qp}: {err}");
        }
        assert_eq!(inverse(&dequantize(&quantize(&forward(&x), 0), 0)), x);
    }
}
