//! `aic encode`: an image or a Y4M sequence into an AIC file (key frames at a quality, or live
//! video at a bitrate).

use std::path::{Path, PathBuf};

use aic_core::codec::{CodecChoice, Encoder, EncoderConfig, zlib};
use aic_core::rate::RateTarget;
use aic_core::sequence::{VideoConfig, VideoEncoder};
use aic_native::NativeError;
use aic_native::backend::Backend;
use aic_native::input::read_input;
use aic_native::video::load_clip;

use crate::common::{model_for, parse_codec};
use crate::error::CliError;

/// Flags of `aic encode`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Input file.
    input: PathBuf,
    /// Output AIC file (frames back to back).
    #[arg(short, long)]
    output: PathBuf,
    /// Codec: auto (neural, else zlib), neural, or zlib.
    #[arg(long, default_value = "auto", value_parser = parse_codec)]
    codec: CodecChoice,
    /// Quality: the neural quality level (1-7; 7 is extrapolated above the trained 6), or
    /// the zlib level (0-9) with --codec zlib. Every frame is a key frame.
    #[arg(long, conflicts_with = "target_kbps")]
    quality: Option<u8>,
    /// Code a Y4M sequence as live video (key and delta frames) at this bitrate.
    #[arg(long)]
    target_kbps: Option<f64>,
    /// The frame rate for --target-kbps (default: the clip's).
    #[arg(long, requires = "target_kbps")]
    fps: Option<f64>,
}

/// Runs `aic encode`.
pub(crate) fn run(a: Args, backend: Backend) -> Result<(), CliError> {
    match a.target_kbps {
        Some(kbps) => encode_video(&a.input, &a.output, a.codec, kbps, a.fps, backend),
        None => encode(&a.input, &a.output, a.codec, a.quality, backend),
    }
}

fn encoder_config(codec: CodecChoice, quality: Option<u8>) -> EncoderConfig {
    let default = EncoderConfig::default();
    match codec {
        CodecChoice::Zlib => EncoderConfig {
            codec,
            zlib_level: quality.unwrap_or(zlib::DEFAULT_LEVEL),
            ..default
        },
        _ => EncoderConfig {
            codec,
            quality: quality.unwrap_or(default.quality),
            ..default
        },
    }
}

fn encode(
    input: &Path,
    output: &Path,
    codec: CodecChoice,
    quality: Option<u8>,
    backend: Backend,
) -> Result<(), CliError> {
    let src = read_input(input)?;
    let config = encoder_config(codec, quality);
    let enc = match model_for(codec, backend, input)? {
        Some(model) => Encoder::with_neural(config, model),
        None => Encoder::new(config),
    };
    let mut enc = enc.map_err(|e| NativeError::codec(input, e))?;
    let mut out = Vec::new();
    for (i, frame) in src.frames.iter().enumerate() {
        let e = enc
            .encode(frame, i as u64 * src.frame_interval_us)
            .map_err(|e| NativeError::codec(input, e))?;
        if let (Some(reason), 0) = (&e.fallback_reason, i) {
            eprintln!(
                "note: {}: using the lossless zlib codec: {reason}",
                input.display()
            );
        }
        out.extend_from_slice(&e.bytes);
    }
    std::fs::write(output, &out).map_err(|e| NativeError::io(output, e))?;
    Ok(())
}

/// `aic encode clip.y4m --target-kbps K [--fps F]`: the clip as live video.
fn encode_video(
    input: &Path,
    output: &Path,
    codec: CodecChoice,
    kbps: f64,
    fps: Option<f64>,
    backend: Backend,
) -> Result<(), CliError> {
    if codec == CodecChoice::Zlib {
        return Err(CliError::Usage(
            "--target-kbps needs the neural codec".into(),
        ));
    }
    let model = backend
        .load_model()
        .map_err(|r| NativeError::invalid(input, r))?;
    let (frames, fps) = load_clip(input, fps, None)?;
    let mut enc = VideoEncoder::new(
        model,
        VideoConfig {
            target: RateTarget::Bitrate { kbps, fps },
            ..VideoConfig::default()
        },
    )
    .map_err(|e| NativeError::codec(input, e))?;
    let mut out = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let e = enc
            .encode(frame, (i as f64 * 1e6 / fps) as u64)
            .map_err(|e| NativeError::codec(input, e))?;
        out.extend_from_slice(&e.bytes);
    }
    std::fs::write(output, &out).map_err(|e| NativeError::io(output, e))?;
    eprintln!(
        "{} frames, {:.1} kbps at {fps} fps (target {kbps})",
        frames.len(),
        out.len() as f64 * 8.0 / (frames.len() as f64 / fps) / 1000.0
    );
    Ok(())
}
