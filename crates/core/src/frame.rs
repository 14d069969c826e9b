//! Frames: owned pixels with their dimensions and pixel format. No tensors here.

use crate::error::{ParameterError, Result, check_limit};
use crate::limits::MAX_DIMENSION;

/// How a frame's pixels are laid out in memory (`docs/format.md` §2.2, field `format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// 8-bit R, G, B interleaved, rows top to bottom, no padding.
    Rgb8,
    /// 8-bit R, G, B, A interleaved, rows top to bottom, no padding.
    Rgba8,
    /// 8-bit planar Y, then U, then V; chroma subsampled 2×2 (sizes rounded up).
    I420,
}

impl PixelFormat {
    /// The wire value of this format (§2.2).
    pub fn to_wire(self) -> u8 {
        match self {
            PixelFormat::Rgb8 => 0,
            PixelFormat::Rgba8 => 1,
            PixelFormat::I420 => 2,
        }
    }

    /// Parses a wire value (§2.2); `None` for an undefined one.
    pub fn from_wire(v: u8) -> Option<Self> {
        match v {
            0 => Some(PixelFormat::Rgb8),
            1 => Some(PixelFormat::Rgba8),
            2 => Some(PixelFormat::I420),
            _ => None,
        }
    }

    /// Short lowercase name: `rgb8`, `rgba8`, `i420`.
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Rgb8 => "rgb8",
            PixelFormat::Rgba8 => "rgba8",
            PixelFormat::I420 => "i420",
        }
    }

    /// Bytes a `width`×`height` frame of this format takes.
    pub fn frame_len(self, width: u32, height: u32) -> usize {
        let (w, h) = (width as usize, height as usize);
        match self {
            PixelFormat::Rgb8 => w * h * 3,
            PixelFormat::Rgba8 => w * h * 4,
            PixelFormat::I420 => w * h + 2 * w.div_ceil(2) * h.div_ceil(2),
        }
    }
}

/// Checks that `width`×`height` is a frame size the format allows (both in 1..=[`MAX_DIMENSION`]).
pub fn check_dimensions(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(ParameterError::new(
            "dimensions",
            format!("{width}×{height}: width and height must be at least 1"),
        )
        .into());
    }
    check_limit("width", width.into(), MAX_DIMENSION.into())?;
    check_limit("height", height.into(), MAX_DIMENSION.into())
}

/// One plane of samples: a borrowed view used by the metrics.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    /// Samples, row-major with `stride` between rows.
    pub data: &'a [u8],
    /// Width in samples.
    pub width: usize,
    /// Height in samples.
    pub height: usize,
    /// Distance between horizontally adjacent samples (3 for RGB8's R channel).
    pub step: usize,
    /// Distance between vertically adjacent samples.
    pub stride: usize,
}

impl Plane<'_> {
    /// The sample at column `x`, row `y`.
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> u8 {
        self.data[y * self.stride + x * self.step]
    }
}

/// An owned video frame or image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    format: PixelFormat,
    data: Vec<u8>,
}

impl Frame {
    /// Wraps `data` as a frame, checking the dimensions against the limits and the buffer size
    /// against the format.
    pub fn new(width: u32, height: u32, format: PixelFormat, data: Vec<u8>) -> Result<Self> {
        check_dimensions(width, height)?;
        let expected = format.frame_len(width, height);
        if data.len() != expected {
            return Err(ParameterError::new(
                "frame data",
                format!(
                    "{} bytes for a {width}×{height} {} frame, expected {expected}",
                    data.len(),
                    format.name()
                ),
            )
            .into());
        }
        Ok(Frame {
            width,
            height,
            format,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The pixel bytes, laid out as [`PixelFormat`] describes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Takes the pixel bytes out.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The colour planes that quality metrics compare: R, G, B for RGB8/RGBA8 (alpha is not
    /// compared), Y, U, V for I420.
    pub fn planes(&self) -> Vec<Plane<'_>> {
        let (w, h) = (self.width as usize, self.height as usize);
        match self.format {
            PixelFormat::Rgb8 | PixelFormat::Rgba8 => {
                let step = if self.format == PixelFormat::Rgb8 {
                    3
                } else {
                    4
                };
                (0..3)
                    .map(|c| Plane {
                        data: &self.data[c..],
                        width: w,
                        height: h,
                        step,
                        stride: w * step,
                    })
                    .collect()
            }
            PixelFormat::I420 => {
                let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
                let (y, rest) = self.data.split_at(w * h);
                let (u, v) = rest.split_at(cw * ch);
                vec![
                    Plane {
                        data: y,
                        width: w,
                        height: h,
                        step: 1,
                        stride: w,
                    },
                    Plane {
                        data: u,
                        width: cw,
                        height: ch,
                        step: 1,
                        stride: cw,
                    },
                    Plane {
                        data: v,
                        width: cw,
                        height: ch,
                        step: 1,
                        stride: cw,
                    },
                ]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_len_rounds_chroma_up() {
        assert_eq!(PixelFormat::I420.frame_len(3, 3), 9 + 2 * 4);
        assert_eq!(PixelFormat::Rgb8.frame_len(2, 2), 12);
        assert_eq!(PixelFormat::Rgba8.frame_len(2, 2), 16);
    }

    #[test]
    fn new_rejects_wrong_size_and_limits() {
        assert!(Frame::new(2, 2, PixelFormat::Rgb8, vec![0; 11]).is_err());
        assert!(Frame::new(0, 2, PixelFormat::Rgb8, vec![]).is_err());
        let e = Frame::new(MAX_DIMENSION + 1, 1, PixelFormat::Rgb8, vec![]).unwrap_err();
        assert_eq!(e.code(), "limits_exceeded");
        assert!(Frame::new(2, 2, PixelFormat::Rgb8, vec![0; 12]).is_ok());
    }

    #[test]
    fn planes_view_channels() {
        let f = Frame::new(2, 1, PixelFormat::Rgba8, vec![1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        let p = f.planes();
        assert_eq!((p[0].at(1, 0), p[1].at(0, 0), p[2].at(1, 0)), (5, 2, 7));
        let f = Frame::new(2, 2, PixelFormat::I420, vec![1, 2, 3, 4, 5, 6]).unwrap();
        let p = f.planes();
        assert_eq!((p[0].at(1, 1), p[1].at(0, 0), p[2].at(0, 0)), (4, 5, 6));
    }
}
