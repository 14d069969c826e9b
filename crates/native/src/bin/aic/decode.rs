//! `aic decode`: an AIC file to PNG/PPM (one frame) or Y4M (a sequence).

use std::path::{Path, PathBuf};

use aic_core::codec::Decoder;
use aic_core::wire::{Codec, frames};
use aic_native::NativeError;
use aic_native::backend::Backend;
use aic_native::output::write_frames;

use crate::error::CliError;

/// Flags of `aic decode`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Input AIC file.
    input: PathBuf,
    /// Output file: .png, .ppm or .y4m.
    #[arg(short, long)]
    output: PathBuf,
}

/// Runs `aic decode`.
pub(crate) fn run(a: Args, backend: Backend) -> Result<(), CliError> {
    decode(&a.input, &a.output, backend)
}

/// The bytes of an AIC file.
pub(crate) fn read_aic(input: &Path) -> Result<Vec<u8>, CliError> {
    Ok(std::fs::read(input).map_err(|e| NativeError::io(input, e))?)
}

fn decode(input: &Path, output: &Path, backend: Backend) -> Result<(), CliError> {
    let bytes = read_aic(input)?;
    let neural =
        frames(&bytes).any(|f| f.is_ok_and(|f| matches!(f.header.codec, Codec::Neural { .. })));
    let mut dec = if neural {
        Decoder::with_neural(
            backend
                .load_model()
                .map_err(|r| NativeError::invalid(input, r))?,
        )
    } else {
        Decoder::new()
    };
    let mut decoded = Vec::new();
    let mut stamps = Vec::new();
    for f in frames(&bytes) {
        let f = f.map_err(|e| NativeError::codec(input, e))?;
        let d = dec
            .decode_payload(&f.header, f.payload)
            .map_err(|e| NativeError::codec(input, e))?;
        stamps.push(f.header.timestamp_us);
        decoded.push(d.frame);
    }
    if decoded.is_empty() {
        return Err(NativeError::invalid(input, "no frame in the file").into());
    }
    let interval = match stamps.as_slice() {
        [a, b, ..] => b.saturating_sub(*a),
        _ => 0,
    };
    write_frames(output, &decoded, interval)?;
    Ok(())
}
