//! `aic bench`: encode and decode times of the neural codec at several frame sizes, with zlib
//! and JPEG measured on the same frames in the same run as baselines. Medians.

use std::io::Cursor;
use std::sync::Arc;

use aic_core::codec::{CodecChoice, Decoder, Encoder, EncoderConfig, NeuralCodec};
use aic_core::color::to_rgb8;
use aic_core::planar::padded;
use aic_core::{Frame, PixelFormat, Result};
use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, RgbImage, imageops};
use serde::Serialize;

use crate::backend::Backend;

/// Timings at one frame size.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Neural frame size in bytes (whole AIC frame).
    pub bytes: usize,
    /// Bits per pixel of the neural frame.
    pub bpp: f64,
    /// Median neural encode time (model, quantization, entropy coding, header), ms.
    pub encode_ms: f64,
    /// Median neural decode time, ms (on Flex, the synthesis convolutions by Winograd).
    pub decode_ms: f64,
    /// Median neural decode time with Burn's own convolutions (im2col + gemm), ms: the
    /// baseline of the Winograd path, measured in the same run (equal to `decode_ms` on
    /// backends without it).
    pub decode_direct_ms: f64,
    /// Achieved analysis throughput, GMAC/s.
    pub encode_gmac_per_s: f64,
    /// Achieved synthesis throughput, GMAC/s, counting the direct convolution's multiply-adds
    /// (so Winograd shows as a higher rate).
    pub decode_gmac_per_s: f64,
    /// Median zlib (level 6) encode time of the same frame, ms.
    pub zlib_encode_ms: f64,
    /// Median zlib decode time, ms.
    pub zlib_decode_ms: f64,
    /// Median JPEG (q 75, `image` crate) encode time of the same frame, ms.
    pub jpeg_encode_ms: f64,
    /// Median JPEG decode time, ms.
    pub jpeg_decode_ms: f64,
}

/// A whole benchmark run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// `flex` or `wgpu`.
    pub backend: &'static str,
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// Neural quality level.
    pub quality: u8,
    /// Timed iterations per median.
    pub iterations: usize,
    /// Analysis and synthesis multiply-adds per (padded) pixel.
    pub macs_per_pixel: (u64, u64),
    /// One row per size.
    pub rows: Vec<BenchRow>,
}

fn time_ms(mut f: impl FnMut()) -> f64 {
    let t = crate::clock::Stopwatch::start();
    f();
    t.elapsed_ms()
}

/// The median of `v` (the upper of the two middle values for an even count); `v` not empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `f` twice untimed, then `n` times timed; the median in ms.
fn measure(n: usize, mut f: impl FnMut()) -> f64 {
    f();
    f();
    median((0..n).map(|_| time_ms(&mut f)).collect())
}

/// A smooth synthetic picture, for runs without a photo.
fn synthetic(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let t = ((x * 7 + y * 13) % 29) as u8;
        image::Rgb([
            (x * 255 / w) as u8 ^ t,
            (y * 255 / h) as u8,
            128u8.wrapping_add(t),
        ])
    })
}

fn frame_at(source: Option<&Frame>, w: u32, h: u32) -> Frame {
    let img = match source {
        Some(f) => {
            let rgb = to_rgb8(f);
            let img =
                RgbImage::from_raw(f.width(), f.height(), rgb.into_data()).expect("RGB8 size");
            imageops::resize(&img, w, h, imageops::FilterType::Lanczos3)
        }
        None => synthetic(w, h),
    };
    Frame::new(w, h, PixelFormat::Rgb8, img.into_raw()).expect("frame of the requested size")
}

/// Times the neural codec on `model` at each size, with zlib and JPEG baselines.
pub fn run(
    model: &Arc<NeuralCodec>,
    backend: Backend,
    source: Option<&Frame>,
    sizes: &[(u32, u32)],
    iterations: usize,
    quality: u8,
) -> Result<BenchReport> {
    let macs = model.config().macs_per_pixel();
    // The baseline of the Winograd decode: the same model with Burn's own convolutions.
    let direct = if model.winograd() {
        let mut direct = NeuralCodec::clone(model);
        direct.set_winograd(false)?;
        Some(Arc::new(direct))
    } else {
        None
    };
    let mut rows = Vec::new();
    for &(w, h) in sizes {
        let frame = frame_at(source, w, h);
        let neural_cfg = EncoderConfig {
            codec: CodecChoice::Neural,
            quality,
            ..Default::default()
        };
        let mut enc = Encoder::with_neural(neural_cfg, model.clone())?;
        let mut dec = Decoder::with_neural(model.clone());
        let bytes = enc.encode(&frame, 0)?.bytes;
        dec.decode(&bytes)?;
        let encode_ms = measure(iterations, || {
            enc.encode(&frame, 0).expect("encode");
        });
        let decode_ms = measure(iterations, || {
            dec.decode(&bytes).expect("decode");
        });
        let decode_direct_ms = if let Some(direct) = &direct {
            let mut dec = Decoder::with_neural(Arc::clone(direct));
            dec.decode(&bytes)?;
            measure(iterations, || {
                dec.decode(&bytes).expect("decode");
            })
        } else {
            decode_ms
        };
        let mut zenc = Encoder::new(EncoderConfig {
            codec: CodecChoice::Zlib,
            ..Default::default()
        })?;
        let zbytes = zenc.encode(&frame, 0)?.bytes;
        let zlib_encode_ms = measure(iterations, || {
            zenc.encode(&frame, 0).expect("zlib encode");
        });
        let zlib_decode_ms = measure(iterations, || {
            Decoder::new().decode(&zbytes).expect("zlib decode");
        });
        let jpeg = |out: &mut Vec<u8>| {
            out.clear();
            JpegEncoder::new_with_quality(&mut *out, 75)
                .encode(frame.data(), w, h, ExtendedColorType::Rgb8)
                .expect("jpeg encode");
        };
        let mut jbytes = Vec::new();
        jpeg(&mut jbytes);
        let jpeg_encode_ms = measure(iterations, || jpeg(&mut Vec::new()));
        let jpeg_decode_ms = measure(iterations, || {
            image::ImageReader::with_format(Cursor::new(&jbytes), image::ImageFormat::Jpeg)
                .decode()
                .expect("jpeg decode");
        });
        let padded_px = (padded(w) * padded(h)) as f64;
        rows.push(BenchRow {
            width: w,
            height: h,
            bytes: bytes.len(),
            bpp: bytes.len() as f64 * 8.0 / f64::from(w * h),
            encode_ms,
            decode_ms,
            decode_direct_ms,
            encode_gmac_per_s: macs.0 as f64 * padded_px / encode_ms / 1e6,
            decode_gmac_per_s: macs.1 as f64 * padded_px / decode_ms / 1e6,
            zlib_encode_ms,
            zlib_decode_ms,
            jpeg_encode_ms,
            jpeg_decode_ms,
        });
    }
    Ok(BenchReport {
        backend: backend.name(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        quality,
        iterations,
        macs_per_pixel: macs,
        rows,
    })
}

/// Prints a report as a table.
pub fn print(r: &BenchReport) {
    println!(
        "backend {}, {} CPUs, quality {}, medians of {} runs; model {} MAC/px encode, {} MAC/px decode",
        r.backend, r.cpus, r.quality, r.iterations, r.macs_per_pixel.0, r.macs_per_pixel.1
    );
    println!(
        "{:>10} {:>7} {:>6} {:>9} {:>9} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "size",
        "bytes",
        "bpp",
        "enc ms",
        "dec ms",
        "dec direct",
        "enc GMAC/s",
        "dec GMAC/s",
        "zlib enc",
        "zlib dec",
        "jpeg enc",
        "jpeg dec"
    );
    for row in &r.rows {
        println!(
            "{:>10} {:>7} {:>6.3} {:>9.1} {:>9.1} {:>10.1} {:>10.1} {:>10.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            format!("{}x{}", row.width, row.height),
            row.bytes,
            row.bpp,
            row.encode_ms,
            row.decode_ms,
            row.decode_direct_ms,
            row.encode_gmac_per_s,
            row.decode_gmac_per_s,
            row.zlib_encode_ms,
            row.zlib_decode_ms,
            row.jpeg_encode_ms,
            row.jpeg_decode_ms
        );
    }
}
