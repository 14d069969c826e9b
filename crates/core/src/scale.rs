//! Half resolution, for the sender's latency budget (`crate::session`): a frame halved in
//! each direction (2×2 box average) before coding, and the decoded half-size picture doubled
//! back (2× bilinear, weights 1 and 3 in quarters per axis). Integer arithmetic only, so every
//! platform upsamples to the same pixels. Each format is scaled plane by plane (I420: Y, U and
//! V at their own sizes; RGB and RGBA: every channel of the interleaved plane).

use crate::error::Result;
use crate::frame::{Frame, PixelFormat};

/// One plane of a frame's bytes: where it starts, its size and its interleaved channels.
#[derive(Debug, Clone, Copy)]
struct Layout {
    offset: usize,
    width: usize,
    height: usize,
    channels: usize,
}

fn layouts(format: PixelFormat, width: u32, height: u32) -> Vec<Layout> {
    let (w, h) = (width as usize, height as usize);
    match format {
        PixelFormat::Rgb8 | PixelFormat::Rgba8 => vec![Layout {
            offset: 0,
            width: w,
            height: h,
            channels: if format == PixelFormat::Rgb8 { 3 } else { 4 },
        }],
        PixelFormat::I420 => {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            vec![
                Layout {
                    offset: 0,
                    width: w,
                    height: h,
                    channels: 1,
                },
                Layout {
                    offset: w * h,
                    width: cw,
                    height: ch,
                    channels: 1,
                },
                Layout {
                    offset: w * h + cw * ch,
                    width: cw,
                    height: ch,
                    channels: 1,
                },
            ]
        }
    }
}

/// The frame at ⌈width/2⌉ × ⌈height/2⌉: each pixel the rounded mean of the 2×2 block it
/// covers (a block past the right or bottom edge repeats the edge).
pub fn halve(frame: &Frame) -> Result<Frame> {
    let (w, h) = (frame.width().div_ceil(2), frame.height().div_ceil(2));
    let src = frame.data();
    let mut out = vec![0u8; frame.format().frame_len(w, h)];
    let from = layouts(frame.format(), frame.width(), frame.height());
    let to = layouts(frame.format(), w, h);
    for (a, b) in from.iter().zip(&to) {
        let at = |x: usize, y: usize, c: usize| {
            let (x, y) = (x.min(a.width - 1), y.min(a.height - 1));
            u32::from(src[a.offset + (y * a.width + x) * a.channels + c])
        };
        for y in 0..b.height {
            for x in 0..b.width {
                for c in 0..b.channels {
                    let (sx, sy) = (2 * x, 2 * y);
                    let sum = at(sx, sy, c)
                        + at(sx + 1, sy, c)
                        + at(sx, sy + 1, c)
                        + at(sx + 1, sy + 1, c);
                    out[b.offset + (y * b.width + x) * b.channels + c] = ((sum + 2) / 4) as u8;
                }
            }
        }
    }
    Frame::new(w, h, frame.format(), out)
}

/// The source pixels and weights (in quarters) that 2× bilinear takes for output index `i`
/// of an axis whose source has `n` samples.
fn taps(i: usize, n: usize) -> [(usize, u32); 2] {
    let s = i / 2;
    let clamp = |v: isize| v.clamp(0, n as isize - 1) as usize;
    if i.is_multiple_of(2) {
        [(clamp(s as isize - 1), 1), (s.min(n - 1), 3)]
    } else {
        [(s.min(n - 1), 3), (clamp(s as isize + 1), 1)]
    }
}

/// `frame` (a half-resolution picture) doubled to `width` × `height` (each at most twice the
/// frame's side): 2× bilinear, rounded.
pub fn double(frame: &Frame, width: u32, height: u32) -> Result<Frame> {
    let src = frame.data();
    let mut out = vec![0u8; frame.format().frame_len(width, height)];
    let from = layouts(frame.format(), frame.width(), frame.height());
    let to = layouts(frame.format(), width, height);
    for (a, b) in from.iter().zip(&to) {
        for y in 0..b.height {
            let ty = taps(y, a.height);
            for x in 0..b.width {
                let tx = taps(x, a.width);
                for c in 0..b.channels {
                    let mut sum = 0u32;
                    for (sy, wy) in ty {
                        for (sx, wx) in tx {
                            sum += wy
                                * wx
                                * u32::from(src[a.offset + (sy * a.width + sx) * a.channels + c]);
                        }
                    }
                    out[b.offset + (y * b.width + x) * b.channels + c] = ((sum + 8) / 16) as u8;
                }
            }
        }
    }
    Frame::new(width, height, frame.format(), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: u32, h: u32, format: PixelFormat) -> Frame {
        let data = (0..format.frame_len(w, h))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        Frame::new(w, h, format, data).unwrap()
    }

    #[test]
    fn sizes_round_up_and_come_back() {
        for format in [PixelFormat::Rgb8, PixelFormat::Rgba8, PixelFormat::I420] {
            for (w, h) in [(1, 1), (2, 2), (5, 3), (320, 240), (321, 241)] {
                let half = halve(&ramp(w, h, format)).unwrap();
                assert_eq!(
                    (half.width(), half.height()),
                    (w.div_ceil(2), h.div_ceil(2))
                );
                let back = double(&half, w, h).unwrap();
                assert_eq!((back.width(), back.height(), back.format()), (w, h, format));
            }
        }
    }

    #[test]
    fn flat_pictures_stay_flat_and_edges_survive() {
        for format in [PixelFormat::Rgb8, PixelFormat::I420] {
            let flat = Frame::new(33, 17, format, vec![77; format.frame_len(33, 17)]).unwrap();
            let back = double(&halve(&flat).unwrap(), 33, 17).unwrap();
            assert_eq!(back, flat);
        }
        // A vertical edge: the left half dark, the right half light, within one level of its
        // position after the round trip.
        let (w, h) = (16u32, 4u32);
        let data: Vec<u8> = (0..w * h)
            .flat_map(|i| [if i % w < 8 { 20 } else { 220 }; 3])
            .collect();
        let edge = Frame::new(w, h, PixelFormat::Rgb8, data).unwrap();
        let back = double(&halve(&edge).unwrap(), w, h).unwrap();
        let row: Vec<u8> = back.data()[..(w * 3) as usize]
            .iter()
            .step_by(3)
            .copied()
            .collect();
        assert_eq!(&row[..6], &[20; 6]);
        assert_eq!(&row[10..], &[220; 6]);
    }
}
