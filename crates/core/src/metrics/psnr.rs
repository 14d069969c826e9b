//! PSNR with an 8-bit peak (255), overall and per plane.

use crate::frame::{Frame, Plane};

/// PSNR of a decoded frame against its original, in dB. `f64::INFINITY` where identical.
#[derive(Debug, Clone, PartialEq)]
pub struct Psnr {
    /// From the mean squared error over every compared sample (all planes pooled).
    pub overall: f64,
    /// One value per plane: R, G, B (alpha is not compared), or Y, U, V.
    pub per_plane: Vec<f64>,
}

/// Sum of squared differences and sample count of two planes of equal size.
fn sse(a: &Plane<'_>, b: &Plane<'_>) -> (f64, usize) {
    let mut sum = 0u64;
    for y in 0..a.height {
        for x in 0..a.width {
            let d = i32::from(a.at(x, y)) - i32::from(b.at(x, y));
            sum += (d * d) as u64;
        }
    }
    (sum as f64, a.width * a.height)
}

/// PSNR from a mean squared error, 8-bit peak.
pub fn psnr_from_mse(mse: f64) -> f64 {
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// PSNR of `decoded` against `original`; `None` if their size or format differ.
pub fn psnr(original: &Frame, decoded: &Frame) -> Option<Psnr> {
    super::same_shape(original, decoded)?;
    let (pa, pb) = (original.planes(), decoded.planes());
    let (mut total, mut count) = (0.0, 0usize);
    let per_plane = pa
        .iter()
        .zip(&pb)
        .map(|(a, b)| {
            let (s, n) = sse(a, b);
            total += s;
            count += n;
            psnr_from_mse(s / n as f64)
        })
        .collect();
    Some(Psnr {
        overall: psnr_from_mse(total / count as f64),
        per_plane,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;

    #[test]
    fn known_values() {
        let a = Frame::new(2, 1, PixelFormat::Rgb8, vec![0, 0, 0, 0, 0, 0]).unwrap();
        let b = Frame::new(2, 1, PixelFormat::Rgb8, vec![10, 0, 0, 10, 0, 0]).unwrap();
        let p = psnr(&a, &b).unwrap();
        assert!((p.per_plane[0] - 10.0 * (65025.0f64 / 100.0).log10()).abs() < 1e-12);
        assert!(p.per_plane[1].is_infinite());
        assert!((p.overall - 10.0 * (65025.0f64 / (200.0 / 6.0)).log10()).abs() < 1e-12);
        assert!(psnr(&a, &a).unwrap().overall.is_infinite());
    }
}
