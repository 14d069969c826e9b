//! Frames ⇄ planar float images: the network's input and output layout, with padding.
//!
//! The network needs sides that are multiples of its stride ([`STRIDE`]); a frame is padded by
//! repeating its last row and column (which costs fewer bits than a black border), and the
//! decoded image is cropped back.

use crate::color::{to_i420, to_rgb8};
use crate::frame::{Frame, PixelFormat};

/// Total downsampling of the analysis transform: latent sides are `ceil(side / STRIDE)`.
pub const STRIDE: usize = 16;

/// A 3-channel planar float image `[3, height, width]`, values in `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Planar {
    /// Samples, channel-major then row-major.
    pub data: Vec<f32>,
    /// Height (padded).
    pub height: usize,
    /// Width (padded).
    pub width: usize,
}

/// Pads `side` up to a multiple of [`STRIDE`].
pub fn padded(side: u32) -> usize {
    (side as usize).div_ceil(STRIDE) * STRIDE
}

/// Converts a frame to a padded planar RGB image in `[0, 1]` (I420 via BT.601; alpha dropped).
pub fn frame_to_planar(frame: &Frame) -> Planar {
    let rgb = to_rgb8(frame);
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (pw, ph) = (padded(frame.width()), padded(frame.height()));
    let src = rgb.data();
    let mut data = vec![0.0f32; 3 * pw * ph];
    for y in 0..ph {
        let sy = y.min(h - 1);
        for x in 0..pw {
            let sx = x.min(w - 1);
            let p = &src[(sy * w + sx) * 3..];
            for c in 0..3 {
                data[(c * ph + y) * pw + x] = f32::from(p[c]) / 255.0;
            }
        }
    }
    Planar {
        data,
        height: ph,
        width: pw,
    }
}

/// Crops a planar image to `width`×`height`, rounds it to 8 bits and converts it to `format`
/// (RGBA8 gets an opaque alpha: the neural codec does not code alpha).
pub fn planar_to_frame(p: &Planar, width: u32, height: u32, format: PixelFormat) -> Frame {
    let (w, h) = (width as usize, height as usize);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let v = p.data[(c * p.height + y) * p.width + x];
                rgb.push((v * 255.0).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    let frame = Frame::new(width, height, PixelFormat::Rgb8, rgb).expect("cropped RGB8 frame");
    match format {
        PixelFormat::Rgb8 => frame,
        PixelFormat::I420 => to_i420(&frame),
        PixelFormat::Rgba8 => {
            let data = frame
                .data()
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect();
            Frame::new(width, height, PixelFormat::Rgba8, data).expect("RGBA8 frame")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_by_repeating_edges_and_crops_back() {
        let f = Frame::new(3, 2, PixelFormat::Rgb8, (0..18).map(|v| v * 10).collect()).unwrap();
        let p = frame_to_planar(&f);
        assert_eq!((p.width, p.height), (16, 16));
        // Red channel, row 0: 0, 30, 60, then 60 repeated.
        assert_eq!(p.data[2] * 255.0, 60.0);
        assert_eq!(p.data[15] * 255.0, 60.0);
        // Last padded row repeats row 1.
        assert_eq!(p.data[15 * 16], p.data[16]);
        assert_eq!(planar_to_frame(&p, 3, 2, PixelFormat::Rgb8), f);
        let rgba = planar_to_frame(&p, 3, 2, PixelFormat::Rgba8);
        assert_eq!(&rgba.data()[..4], &[0, 10, 20, 255]);
    }
}
