//! SSIM and MS-SSIM, computed exactly as scikit-image's
//! `structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
//! data_range=255)`: an 11-tap Gaussian (σ = 1.5, truncated at 3.5σ), mirror-reflected borders
//! (`d c b a | a b c d`), f64 arithmetic, and the mean over the map with 5 pixels cropped from
//! every border.

use crate::frame::Plane;

const SIGMA: f64 = 1.5;
const RADIUS: usize = 5; // int(3.5 * 1.5 + 0.5)
const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);

/// MS-SSIM weights of Wang, Simoncelli & Bovik (2003), finest scale first.
pub const MS_SSIM_WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

/// Smallest side MS-SSIM accepts: the coarsest of its 5 scales must still be 11 pixels wide.
pub const MS_SSIM_MIN_SIDE: usize = 11 << 4;

fn kernel() -> [f64; 2 * RADIUS + 1] {
    let mut k = [0.0; 2 * RADIUS + 1];
    for (i, v) in k.iter_mut().enumerate() {
        let x = i as f64 - RADIUS as f64;
        *v = (-0.5 * x * x / (SIGMA * SIGMA)).exp();
    }
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

/// scipy's `reflect` mode: `d c b a | a b c d | d c b a`.
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let period = 2 * n;
    let mut i = i.rem_euclid(period);
    if i >= n {
        i = period - 1 - i;
    }
    i as usize
}

/// A plane of f64 samples.
#[derive(Debug, Clone)]
struct Image {
    w: usize,
    h: usize,
    v: Vec<f64>,
}

impl Image {
    fn from_plane(p: &Plane<'_>) -> Image {
        let mut v = Vec::with_capacity(p.width * p.height);
        for y in 0..p.height {
            for x in 0..p.width {
                v.push(f64::from(p.at(x, y)));
            }
        }
        Image {
            w: p.width,
            h: p.height,
            v,
        }
    }

    fn map(&self, other: &Image, f: impl Fn(f64, f64) -> f64) -> Image {
        Image {
            w: self.w,
            h: self.h,
            v: self
                .v
                .iter()
                .zip(&other.v)
                .map(|(&a, &b)| f(a, b))
                .collect(),
        }
    }

    /// Separable Gaussian blur, rows then columns, reflected borders.
    fn blur(&self, k: &[f64]) -> Image {
        let (w, h) = (self.w, self.h);
        let mut tmp = vec![0.0; w * h];
        for y in 0..h {
            let row = &self.v[y * w..(y + 1) * w];
            for x in 0..w {
                let mut s = 0.0;
                for (j, kv) in k.iter().enumerate() {
                    s += kv * row[reflect(x as isize + j as isize - RADIUS as isize, w)];
                }
                tmp[y * w + x] = s;
            }
        }
        let mut out = vec![0.0; w * h];
        for y in 0..h {
            for (j, kv) in k.iter().enumerate() {
                let src = reflect(y as isize + j as isize - RADIUS as isize, h) * w;
                for x in 0..w {
                    out[y * w + x] += kv * tmp[src + x];
                }
            }
        }
        Image { w, h, v: out }
    }

    /// 2×2 mean, dropping an odd last row or column.
    fn downsample(&self) -> Image {
        let (w, h) = (self.w / 2, self.h / 2);
        let mut v = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let at = |dx: usize, dy: usize| self.v[(2 * y + dy) * self.w + 2 * x + dx];
                v.push((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4.0);
            }
        }
        Image { w, h, v }
    }
}

/// Mean SSIM and mean contrast-structure term of two same-size images.
fn ssim_terms(a: &Image, b: &Image) -> (f64, f64) {
    let k = kernel();
    let ux = a.blur(&k);
    let uy = b.blur(&k);
    let uxx = a.map(a, |p, q| p * q).blur(&k);
    let uyy = b.map(b, |p, q| p * q).blur(&k);
    let uxy = a.map(b, |p, q| p * q).blur(&k);
    let (mut ssim_sum, mut cs_sum, mut n) = (0.0, 0.0, 0usize);
    for y in RADIUS..a.h.saturating_sub(RADIUS) {
        for x in RADIUS..a.w.saturating_sub(RADIUS) {
            let i = y * a.w + x;
            let (mx, my) = (ux.v[i], uy.v[i]);
            let vx = uxx.v[i] - mx * mx;
            let vy = uyy.v[i] - my * my;
            let vxy = uxy.v[i] - mx * my;
            let cs = (2.0 * vxy + C2) / (vx + vy + C2);
            let l = (2.0 * mx * my + C1) / (mx * mx + my * my + C1);
            ssim_sum += l * cs;
            cs_sum += cs;
            n += 1;
        }
    }
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    (ssim_sum / n as f64, cs_sum / n as f64)
}

/// SSIM of two planes of equal size. `NaN` if a side is 10 pixels or less (nothing is left
/// after cropping the borders).
pub fn ssim_plane(a: &Plane<'_>, b: &Plane<'_>) -> f64 {
    ssim_terms(&Image::from_plane(a), &Image::from_plane(b)).0
}

/// MS-SSIM of two planes of equal size over 5 scales with [`MS_SSIM_WEIGHTS`], each scale
/// computed as [`ssim_plane`] and halved by 2×2 averaging; negative terms count as 0 (as in
/// `pytorch_msssim`). `None` if a side is below [`MS_SSIM_MIN_SIDE`].
pub fn ms_ssim_plane(a: &Plane<'_>, b: &Plane<'_>) -> Option<f64> {
    if a.width.min(a.height) < MS_SSIM_MIN_SIDE {
        return None;
    }
    let (mut x, mut y) = (Image::from_plane(a), Image::from_plane(b));
    let mut result = 1.0;
    for (scale, w) in MS_SSIM_WEIGHTS.iter().enumerate() {
        let (s, cs) = ssim_terms(&x, &y);
        let term = if scale + 1 == MS_SSIM_WEIGHTS.len() {
            s
        } else {
            cs
        };
        result *= term.max(0.0).powf(*w);
        x = x.downsample();
        y = y.downsample();
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(data: &[u8], w: usize) -> Plane<'_> {
        Plane {
            data,
            width: w,
            height: data.len() / w,
            step: 1,
            stride: w,
        }
    }

    #[test]
    fn reflect_matches_scipy() {
        let got: Vec<_> = (-3..7).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
    }

    #[test]
    fn identical_is_one_and_distortion_lowers_it() {
        let a: Vec<u8> = (0..200 * 200)
            .map(|i| ((i % 200) ^ (i / 200)) as u8)
            .collect();
        let b: Vec<u8> = a.iter().map(|v| v.saturating_add(40)).collect();
        let (pa, pb) = (plane(&a, 200), plane(&b, 200));
        assert!((ssim_plane(&pa, &pa) - 1.0).abs() < 1e-12);
        assert!((ms_ssim_plane(&pa, &pa).unwrap() - 1.0).abs() < 1e-12);
        assert!(ssim_plane(&pa, &pb) < 0.99);
        assert!(ms_ssim_plane(&pa, &pb).unwrap() < 0.999);
        assert!(ms_ssim_plane(&plane(&a[..175 * 200], 200), &pa).is_none());
    }
}
