//! The command line's error: a usage mistake (exit status 2) or a failure (exit status 1).

use aic_native::NativeError;

/// A failure of the command line, printed with its cause chain.
#[derive(Debug)]
pub(crate) enum CliError {
    /// A file or codec failure; the message carries its cause.
    Native(NativeError),
    /// The command line is wrong (exit status 2).
    Usage(String),
    /// The command ran and failed (exit status 1).
    Failed(String),
}

impl From<NativeError> for CliError {
    fn from(e: NativeError) -> Self {
        CliError::Native(e)
    }
}
