//! Writing decoded frames: PNG or PPM for one frame, Y4M for a sequence.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use aic_core::color::{to_i420, to_rgb8};
use aic_core::{Frame, PixelFormat};
use image::codecs::pnm::{PnmEncoder, PnmSubtype, SampleEncoding};
use image::{ExtendedColorType, ImageEncoder, ImageFormat};

use crate::error::{NativeError, Result};

/// Writes `frames` to `path`, in the format its extension names: `.png`, `.ppm`/`.pnm` (one
/// frame only) or `.y4m` (any number; RGB frames are converted to I420).
pub fn write_frames(path: &Path, frames: &[Frame], frame_interval_us: u64) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "y4m" => write_y4m(path, frames, frame_interval_us),
        "png" | "ppm" | "pnm" => match frames {
            [one] => write_image(path, one, ext == "png"),
            _ => Err(NativeError::invalid(
                path,
                format!(
                    "the input holds {} frames: write a sequence to a .y4m file",
                    frames.len()
                ),
            )),
        },
        _ => Err(NativeError::invalid(
            path,
            "unknown output type: use .png, .ppm or .y4m",
        )),
    }
}

fn write_image(path: &Path, frame: &Frame, png: bool) -> Result<()> {
    let (data, color) = match frame.format() {
        PixelFormat::Rgba8 if png => (frame.data().to_vec(), ExtendedColorType::Rgba8),
        _ => (to_rgb8(frame).into_data(), ExtendedColorType::Rgb8),
    };
    let image_err = |source| NativeError::Image {
        path: path.to_path_buf(),
        source,
    };
    if png {
        return image::save_buffer_with_format(
            path,
            &data,
            frame.width(),
            frame.height(),
            color,
            ImageFormat::Png,
        )
        .map_err(image_err);
    }
    // A binary PPM (P6), which every reader knows; the image crate's default would be PAM (P7).
    let file = File::create(path).map_err(|e| NativeError::io(path, e))?;
    let mut writer = BufWriter::new(file);
    PnmEncoder::new(&mut writer)
        .with_subtype(PnmSubtype::Pixmap(SampleEncoding::Binary))
        .write_image(&data, frame.width(), frame.height(), color)
        .map_err(image_err)?;
    writer.flush().map_err(|e| NativeError::io(path, e))
}

fn write_y4m(path: &Path, frames: &[Frame], frame_interval_us: u64) -> Result<()> {
    let Some(first) = frames.first() else {
        return Err(NativeError::invalid(path, "no frame to write"));
    };
    if frames
        .iter()
        .any(|f| (f.width(), f.height()) != (first.width(), first.height()))
    {
        return Err(NativeError::invalid(
            path,
            "frames differ in size: Y4M needs one size",
        ));
    }
    let file = File::create(path).map_err(|e| NativeError::io(path, e))?;
    let mut writer = BufWriter::new(file);
    let rate = if frame_interval_us == 0 {
        y4m::Ratio::new(30, 1)
    } else {
        y4m::Ratio::new(1_000_000, frame_interval_us as usize)
    };
    let y4m_err = |e: y4m::Error| NativeError::invalid(path, format!("writing Y4M: {e}"));
    {
        let mut enc = y4m::encode(first.width() as usize, first.height() as usize, rate)
            .with_colorspace(y4m::Colorspace::C420jpeg)
            .write_header(&mut writer)
            .map_err(y4m_err)?;
        for f in frames {
            let yuv = to_i420(f);
            let p = yuv.planes();
            let planes = [p[0].data, p[1].data, p[2].data];
            enc.write_frame(&y4m::Frame::new(planes, None))
                .map_err(y4m_err)?;
        }
    }
    writer.flush().map_err(|e| NativeError::io(path, e))
}
