//! Quality metrics of a decoded frame against its original: PSNR, SSIM, MS-SSIM.
//!
//! # Module Overview
//! All metrics use an 8-bit peak (255) and compare the colour planes of
//! [`Frame::planes`]: R, G, B for RGB8/RGBA8 (alpha ignored), Y, U, V for I420. PSNR pools
//! every compared sample; SSIM and MS-SSIM average over the full-resolution planes (R, G, B,
//! or Y alone for I420), as scikit-image does with `channel_axis`.

mod psnr;
mod ssim;

pub use psnr::{Psnr, psnr, psnr_from_mse};
pub use ssim::{MS_SSIM_MIN_SIDE, MS_SSIM_WEIGHTS, ms_ssim_plane, ssim_plane};

use crate::frame::{Frame, Plane};

/// `Some(())` when the two frames have the same size and format.
fn same_shape(a: &Frame, b: &Frame) -> Option<()> {
    (a.width() == b.width() && a.height() == b.height() && a.format() == b.format()).then_some(())
}

/// The planes SSIM and MS-SSIM average over.
fn full_res_planes(f: &Frame) -> Vec<Plane<'_>> {
    let mut p = f.planes();
    if f.format() == crate::frame::PixelFormat::I420 {
        p.truncate(1);
    }
    p
}

/// Mean SSIM over the full-resolution planes; `None` if the frames differ in size or format
/// or are too small (a side of 10 pixels or less).
pub fn ssim(original: &Frame, decoded: &Frame) -> Option<f64> {
    same_shape(original, decoded)?;
    let (a, b) = (full_res_planes(original), full_res_planes(decoded));
    let v: f64 = a.iter().zip(&b).map(|(x, y)| ssim_plane(x, y)).sum::<f64>() / a.len() as f64;
    v.is_finite().then_some(v)
}

/// Mean MS-SSIM over the full-resolution planes; `None` if the frames differ in size or
/// format or a side is below [`MS_SSIM_MIN_SIDE`].
pub fn ms_ssim(original: &Frame, decoded: &Frame) -> Option<f64> {
    same_shape(original, decoded)?;
    let (a, b) = (full_res_planes(original), full_res_planes(decoded));
    let mut sum = 0.0;
    for (x, y) in a.iter().zip(&b) {
        sum += ms_ssim_plane(x, y)?;
    }
    Some(sum / a.len() as f64)
}
