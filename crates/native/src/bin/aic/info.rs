//! `aic info`: the header fields of each frame of an AIC file (and, if asked, latent checksums).

use std::path::{Path, PathBuf};

use aic_core::codec::Decoder;
use aic_core::wire::{Codec, frames};
use aic_native::NativeError;
use aic_native::backend::Backend;
use serde::Serialize;

use crate::decode::read_aic;
use crate::error::CliError;

/// Flags of `aic info`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Input AIC file.
    input: PathBuf,
    /// Print JSON: {"frames":[{"seq","kind","codec","width","height","quality","bytes","timestamp_us"}, ...]}.
    #[arg(long)]
    json: bool,
    /// Also decode each neural frame and print its latent symbol count and CRC-32
    /// (`latent_symbols`, `latent_crc32`, key frames) and the CRC-32 of the sequence
    /// state after it (`state_crc32`): compares latents across platforms.
    #[arg(long)]
    latents: bool,
}

/// Runs `aic info`.
pub(crate) fn run(a: Args, backend: Backend) -> Result<(), CliError> {
    info(&a.input, a.json, a.latents.then_some(backend))
}

#[derive(Serialize)]
struct FrameInfo {
    seq: u32,
    kind: &'static str,
    codec: &'static str,
    width: u32,
    height: u32,
    /// The neural level (fractional between trained levels), or the zlib level.
    quality: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<u8>,
    bytes: usize,
    timestamp_us: u64,
    format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    weights_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latent_symbols: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latent_crc32: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_crc32: Option<String>,
}

#[derive(Serialize)]
struct InfoReport {
    frames: Vec<FrameInfo>,
}

/// A header's quality as users name it: the neural level (an integer at trained levels,
/// else fractional), or the zlib level.
fn quality_value(h: &aic_core::wire::FrameHeader) -> serde_json::Value {
    let level = h.quality_level();
    if level.fract() == 0.0 {
        serde_json::Value::from(level as u64)
    } else {
        serde_json::Value::from(level)
    }
}

/// `latents`: the backend whose model entropy-decodes neural frames, if asked to.
fn info(input: &Path, json: bool, latents: Option<Backend>) -> Result<(), CliError> {
    let bytes = read_aic(input)?;
    let mut dec = match latents {
        Some(backend) => Some(Decoder::with_neural(
            backend
                .load_model()
                .map_err(|r| NativeError::invalid(input, r))?,
        )),
        None => None,
    };
    let mut list = Vec::new();
    for f in frames(&bytes) {
        let f = f.map_err(|e| NativeError::codec(input, e))?;
        let neural = matches!(f.header.codec, Codec::Neural { .. });
        let latent = match &dec {
            Some(dec) if f.header.kind == aic_core::wire::FrameKind::Key => dec
                .latent(f.bytes)
                .map_err(|e| NativeError::codec(input, e))?,
            _ => None,
        };
        // The sequence state after the frame (delta frames update it): decode it.
        let state_crc32 = match &mut dec {
            Some(dec) if neural => {
                dec.decode_payload(&f.header, f.payload)
                    .map_err(|e| NativeError::codec(input, e))?;
                dec.sequence_state()
                    .map(|s| format!("{:08x}", s.checksum()))
            }
            _ => None,
        };
        let h = f.header;
        let (model_id, weights_hash) = match h.codec {
            Codec::Neural {
                model_id,
                weights_hash,
            } => (Some(model_id), Some(format!("{weights_hash:016x}"))),
            _ => (None, None),
        };
        list.push(FrameInfo {
            seq: h.seq,
            kind: h.kind.name(),
            codec: h.codec.name(),
            width: h.width,
            height: h.height,
            quality: quality_value(&h),
            step: matches!(h.codec, Codec::Neural { .. }).then_some(h.quality),
            bytes: f.bytes.len(),
            timestamp_us: h.timestamp_us,
            format: h.format.name(),
            model_id,
            weights_hash,
            latent_symbols: latent.as_ref().map(|l| l.symbols.len()),
            latent_crc32: latent.as_ref().map(|l| format!("{:08x}", l.checksum())),
            state_crc32,
        });
    }
    if json {
        println!(
            "{}",
            serde_json::to_string(&InfoReport { frames: list }).expect("serialisable")
        );
        return Ok(());
    }
    println!("{}: {} frame(s)", input.display(), list.len());
    println!(
        "{:>6} {:>5} {:>6} {:>11} {:>6} {:>7} {:>9} {:>14}",
        "seq", "kind", "codec", "size", "format", "quality", "bytes", "timestamp_us"
    );
    for f in &list {
        println!(
            "{:>6} {:>5} {:>6} {:>11} {:>6} {:>7} {:>9} {:>14}{}",
            f.seq,
            f.kind,
            f.codec,
            format!("{}x{}", f.width, f.height),
            f.format,
            f.quality.to_string(),
            f.bytes,
            f.timestamp_us,
            f.weights_hash
                .as_ref()
                .map(|h| format!("  model {} weights {h}", f.model_id.unwrap_or(0)))
                .unwrap_or_default()
                + &f.latent_crc32
                    .as_ref()
                    .map(|c| format!("  latent crc32 {c}"))
                    .unwrap_or_default()
        );
    }
    Ok(())
}
