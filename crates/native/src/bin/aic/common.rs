//! Parsers and the model loading that several commands share.

use std::path::Path;
use std::sync::Arc;

use aic_core::codec::{CodecChoice, NeuralCodec};
use aic_native::NativeError;
use aic_native::backend::Backend;

use crate::error::CliError;

/// `--backend`: flex, wgpu or ndarray.
pub(crate) fn parse_backend(s: &str) -> Result<Backend, String> {
    Backend::parse(s).ok_or_else(|| format!("unknown backend `{s}`: use flex, wgpu or ndarray"))
}

/// Loads the model for `codec`: required for `neural`, optional for `auto` (a note says why
/// it falls back), not loaded for `zlib`.
pub(crate) fn model_for(
    codec: CodecChoice,
    backend: Backend,
    what: &Path,
) -> Result<Option<Arc<NeuralCodec>>, CliError> {
    match codec {
        CodecChoice::Zlib => Ok(None),
        CodecChoice::Neural => backend
            .load_model()
            .map(Some)
            .map_err(|reason| NativeError::invalid(what, reason).into()),
        CodecChoice::Auto => Ok(backend
            .load_model()
            .inspect_err(|reason| {
                eprintln!("note: the neural codec cannot run ({reason}): using zlib")
            })
            .ok()),
    }
}

/// `--codec`: auto, neural or zlib.
pub(crate) fn parse_codec(s: &str) -> Result<CodecChoice, String> {
    CodecChoice::parse(s).ok_or_else(|| format!("unknown codec `{s}`: use auto, neural or zlib"))
}
