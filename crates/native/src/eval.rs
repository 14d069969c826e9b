//! Evaluation: code files at given codecs and qualities and measure size and quality.
//!
//! The JSON form of [`Report`] is a stable interface (`aic eval --json`): tools outside the
//! project parse it.

use std::io::Cursor;
use std::time::Duration;

use std::sync::Arc;

use aic_core::codec::{CodecChoice, Decoder, Encoder, EncoderConfig, NeuralCodec};
use aic_core::color::{to_i420, to_rgb8};
use aic_core::metrics::{ms_ssim, psnr, ssim};
use aic_core::wire::Codec;
use aic_core::{Frame, PixelFormat};
use image::ExtendedColorType;
use image::codecs::jpeg::JpegEncoder;
use serde::Serialize;

use crate::error::{NativeError, Result};
use crate::input::Input;

/// A codec `aic eval` can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalCodec {
    /// An AIC codec.
    Aic(CodecChoice),
    /// Baseline JPEG (the `image` crate's baseline encoder), quality 1..=100.
    Jpeg,
}

impl EvalCodec {
    /// Parses `auto`, `neural`, `zlib` or `jpeg`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "jpeg" => Some(EvalCodec::Jpeg),
            s => CodecChoice::parse(s).map(EvalCodec::Aic),
        }
    }

    /// The qualities `--quality all` stands for, given the neural model's level count.
    pub fn all_qualities(self, neural_levels: u8) -> Vec<u8> {
        match self {
            EvalCodec::Jpeg => vec![10, 20, 30, 40, 50, 60, 70, 80, 90, 95],
            EvalCodec::Aic(CodecChoice::Zlib) => vec![1, 6, 9],
            EvalCodec::Aic(_) => (1..=neural_levels).collect(),
        }
    }

    /// The quality used when none is given.
    pub fn default_quality(self) -> u8 {
        match self {
            EvalCodec::Jpeg => 75,
            EvalCodec::Aic(CodecChoice::Zlib) => aic_core::codec::zlib::DEFAULT_LEVEL,
            EvalCodec::Aic(_) => EncoderConfig::default().quality,
        }
    }
}

/// One file coded at one codec and quality.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// The input file.
    pub file: String,
    /// Codec that made the bytes (`zlib`, `neural`, `jpeg`).
    pub codec: String,
    /// Quality setting.
    pub quality: u8,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Encoded size in bytes, all frames, everything that goes on the wire.
    pub bytes: usize,
    /// Bits per pixel from `bytes`.
    pub bpp: f64,
    /// Mean PSNR over frames in dB; `null` when lossless.
    pub psnr: Option<f64>,
    /// Mean SSIM over frames.
    pub ssim: Option<f64>,
    /// Mean MS-SSIM over frames; `null` if a side is under 176 pixels.
    pub ms_ssim: Option<f64>,
    /// Encode time of all frames, ms.
    pub encode_ms: f64,
    /// Decode time of all frames, ms.
    pub decode_ms: f64,
}

/// The mean of the runs at one codec and quality.
#[derive(Debug, Clone, Serialize)]
pub struct Mean {
    /// Codec.
    pub codec: String,
    /// Quality setting.
    pub quality: u8,
    /// Number of files averaged.
    pub images: usize,
    /// Mean bits per pixel.
    pub bpp: f64,
    /// Mean PSNR; `null` if any run is lossless.
    pub psnr: Option<f64>,
    /// Mean SSIM.
    pub ssim: Option<f64>,
    /// Mean MS-SSIM; `null` if any run has none.
    pub ms_ssim: Option<f64>,
    /// Mean encode ms.
    pub encode_ms: f64,
    /// Mean decode ms.
    pub decode_ms: f64,
}

/// Everything `aic eval --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// One entry per file, codec and quality.
    pub runs: Vec<Run>,
    /// One entry per codec and quality.
    pub mean: Vec<Mean>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Codes every frame of `input` and measures the result, with the neural model `neural` when
/// given. `fallback` receives the reason when `auto` had to fall back to the lossless codec.
pub fn evaluate(
    input: &Input,
    codec: EvalCodec,
    quality: u8,
    neural: Option<&Arc<NeuralCodec>>,
    fallback: &mut dyn FnMut(&str),
) -> Result<Run> {
    let path = &input.path;
    let mut bytes = 0usize;
    let (mut enc_t, mut dec_t) = (Duration::ZERO, Duration::ZERO);
    let mut decoded = Vec::with_capacity(input.frames.len());
    let mut label = None;
    match codec {
        EvalCodec::Aic(choice) => {
            let config = EncoderConfig {
                codec: choice,
                quality,
                zlib_level: if choice == CodecChoice::Zlib {
                    quality
                } else {
                    aic_core::codec::zlib::DEFAULT_LEVEL
                },
            };
            let (enc, mut dec) = match neural {
                Some(n) if choice != CodecChoice::Zlib => (
                    Encoder::with_neural(config, n.clone()),
                    Decoder::with_neural(n.clone()),
                ),
                _ => (Encoder::new(config), Decoder::new()),
            };
            let mut enc = enc.map_err(|e| NativeError::codec(path, e))?;
            for (i, f) in input.frames.iter().enumerate() {
                let t = crate::clock::now();
                let e = enc
                    .encode(f, i as u64 * input.frame_interval_us)
                    .map_err(|e| NativeError::codec(path, e))?;
                enc_t += t.elapsed();
                if let (Some(r), 0) = (&e.fallback_reason, i) {
                    fallback(r);
                }
                label.get_or_insert(match e.header.codec {
                    Codec::Raw | Codec::Zlib => "zlib",
                    Codec::Neural { .. } => "neural",
                });
                bytes += e.bytes.len();
                let t = crate::clock::now();
                let d = dec
                    .decode(&e.bytes)
                    .map_err(|e| NativeError::codec(path, e))?;
                dec_t += t.elapsed();
                decoded.push(d.frame);
            }
        }
        EvalCodec::Jpeg => {
            label = Some("jpeg");
            for f in &input.frames {
                let rgb = to_rgb8(f);
                let t = crate::clock::now();
                let mut buf = Vec::new();
                JpegEncoder::new_with_quality(&mut buf, quality.clamp(1, 100))
                    .encode(rgb.data(), f.width(), f.height(), ExtendedColorType::Rgb8)
                    .map_err(|source| NativeError::Image {
                        path: path.clone(),
                        source,
                    })?;
                enc_t += t.elapsed();
                bytes += buf.len();
                let t = crate::clock::now();
                let img =
                    image::ImageReader::with_format(Cursor::new(&buf), image::ImageFormat::Jpeg)
                        .decode()
                        .map_err(|source| NativeError::Image {
                            path: path.clone(),
                            source,
                        })?
                        .into_rgb8();
                dec_t += t.elapsed();
                let back = Frame::new(f.width(), f.height(), PixelFormat::Rgb8, img.into_raw())
                    .map_err(|e| NativeError::codec(path, e))?;
                decoded.push(match f.format() {
                    PixelFormat::I420 => to_i420(&back),
                    PixelFormat::Rgba8 | PixelFormat::Rgb8 => back,
                });
            }
        }
    }
    let n = input.frames.len() as f64;
    let mut sums = (0.0, 0.0, 0.0);
    let (mut lossless, mut has_ssim, mut has_ms) = (true, true, true);
    for (orig, dec) in input.frames.iter().zip(&decoded) {
        // JPEG drops alpha: compare colour planes only, as every metric here does.
        let orig_cmp;
        let orig = if orig.format() == PixelFormat::Rgba8 && dec.format() == PixelFormat::Rgb8 {
            orig_cmp = to_rgb8(orig);
            &orig_cmp
        } else {
            orig
        };
        let p = psnr(orig, dec)
            .ok_or_else(|| NativeError::invalid(path, "decoded frame differs in size"))?;
        if p.overall.is_finite() {
            lossless = false;
            sums.0 += p.overall;
        }
        match ssim(orig, dec) {
            Some(s) => sums.1 += s,
            None => has_ssim = false,
        }
        match ms_ssim(orig, dec) {
            Some(s) => sums.2 += s,
            None => has_ms = false,
        }
    }
    let first = &input.frames[0];
    Ok(Run {
        file: path.display().to_string(),
        codec: label.unwrap_or("zlib").to_string(),
        quality,
        width: first.width(),
        height: first.height(),
        bytes,
        bpp: bytes as f64 * 8.0 / (f64::from(first.width()) * f64::from(first.height()) * n),
        // A partly lossless sequence has infinite frames: report its PSNR from lossy ones only
        // would mislead, so any lossless frame makes it null as well.
        psnr: (!lossless && decoded.len() == input.frames.len()).then(|| sums.0 / n),
        ssim: has_ssim.then(|| sums.1 / n),
        ms_ssim: has_ms.then(|| sums.2 / n),
        encode_ms: ms(enc_t),
        decode_ms: ms(dec_t),
    })
}

/// Averages runs per codec and quality, in the order they first appear.
pub fn summarize(runs: &[Run]) -> Vec<Mean> {
    let mut keys: Vec<(String, u8)> = Vec::new();
    for r in runs {
        if !keys.iter().any(|(c, q)| *c == r.codec && *q == r.quality) {
            keys.push((r.codec.clone(), r.quality));
        }
    }
    keys.into_iter()
        .map(|(codec, quality)| {
            let group: Vec<&Run> = runs
                .iter()
                .filter(|r| r.codec == codec && r.quality == quality)
                .collect();
            let n = group.len() as f64;
            let mean = |f: &dyn Fn(&Run) -> f64| group.iter().map(|r| f(r)).sum::<f64>() / n;
            let mean_opt = |f: &dyn Fn(&Run) -> Option<f64>| {
                group
                    .iter()
                    .map(|r| f(r))
                    .sum::<Option<f64>>()
                    .map(|s| s / n)
            };
            Mean {
                images: group.len(),
                bpp: mean(&|r| r.bpp),
                psnr: mean_opt(&|r| r.psnr),
                ssim: mean_opt(&|r| r.ssim),
                ms_ssim: mean_opt(&|r| r.ms_ssim),
                encode_ms: mean(&|r| r.encode_ms),
                decode_ms: mean(&|r| r.decode_ms),
                codec,
                quality,
            }
        })
        .collect()
}
