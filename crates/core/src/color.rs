//! Colour conversion between RGB8/RGBA8 and I420, BT.601 limited range (`docs/format.md` §2.2).
//!
//! Used where a frame's format must change: decoding I420 to a PNG, writing RGB frames to a
//! Y4M file, and (with the neural codec) feeding camera frames to an RGB model.

use crate::frame::{Frame, PixelFormat};

fn clamp_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// Converts any frame to RGB8 (alpha dropped; I420 chroma upsampled by repetition).
pub fn to_rgb8(frame: &Frame) -> Frame {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let data = match frame.format() {
        PixelFormat::Rgb8 => frame.data().to_vec(),
        PixelFormat::Rgba8 => frame
            .data()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        PixelFormat::I420 => {
            let planes = frame.planes();
            let mut out = Vec::with_capacity(w * h * 3);
            for y in 0..h {
                for x in 0..w {
                    let l = 1.164 * (f32::from(planes[0].at(x, y)) - 16.0);
                    let u = f32::from(planes[1].at(x / 2, y / 2)) - 128.0;
                    let v = f32::from(planes[2].at(x / 2, y / 2)) - 128.0;
                    out.extend_from_slice(&[
                        clamp_u8(l + 1.596 * v),
                        clamp_u8(l - 0.392 * u - 0.813 * v),
                        clamp_u8(l + 2.017 * u),
                    ]);
                }
            }
            out
        }
    };
    Frame::new(frame.width(), frame.height(), PixelFormat::Rgb8, data)
        .expect("same dimensions, RGB8 length")
}

/// Converts any frame to RGBA8 (opaque alpha where the frame has none).
pub fn to_rgba8(frame: &Frame) -> Frame {
    if frame.format() == PixelFormat::Rgba8 {
        return frame.clone();
    }
    let data = to_rgb8(frame)
        .data()
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    Frame::new(frame.width(), frame.height(), PixelFormat::Rgba8, data)
        .expect("same dimensions, RGBA8 length")
}

/// Converts any frame to I420 (chroma averaged over each 2×2 block).
pub fn to_i420(frame: &Frame) -> Frame {
    if frame.format() == PixelFormat::I420 {
        return frame.clone();
    }
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let p = frame.planes();
    let rgb = |x: usize, y: usize| {
        (
            f32::from(p[0].at(x, y)),
            f32::from(p[1].at(x, y)),
            f32::from(p[2].at(x, y)),
        )
    };
    let mut out = Vec::with_capacity(frame.format().frame_len(frame.width(), frame.height()));
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = rgb(x, y);
            out.push(clamp_u8(
                16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0,
            ));
        }
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut us = Vec::with_capacity(cw * ch);
    let mut vs = Vec::with_capacity(cw * ch);
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut u, mut v, mut n) = (0.0, 0.0, 0.0);
            for y in 2 * cy..(2 * cy + 2).min(h) {
                for x in 2 * cx..(2 * cx + 2).min(w) {
                    let (r, g, b) = rgb(x, y);
                    u += (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0;
                    v += (112.0 * r - 93.786 * g - 18.214 * b) / 255.0;
                    n += 1.0;
                }
            }
            us.push(clamp_u8(128.0 + u / n));
            vs.push(clamp_u8(128.0 + v / n));
        }
    }
    out.extend(us);
    out.extend(vs);
    Frame::new(frame.width(), frame.height(), PixelFormat::I420, out)
        .expect("same dimensions, I420 length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_and_colours_survive_a_round_trip() {
        let px = [
            [0u8, 0, 0],
            [255, 255, 255],
            [128, 128, 128],
            [200, 30, 40],
            [20, 180, 60],
            [30, 60, 220],
        ];
        for c in px {
            let data: Vec<u8> = (0..9).flat_map(|_| c).collect();
            let f = Frame::new(3, 3, PixelFormat::Rgb8, data).unwrap();
            let back = to_rgb8(&to_i420(&f));
            for (a, b) in f.data().iter().zip(back.data()) {
                assert!(
                    (i32::from(*a) - i32::from(*b)).abs() <= 2,
                    "{c:?}: {a} vs {b}"
                );
            }
        }
    }
}
