//! Errors of the native library: every one names the file it concerns.

use std::path::PathBuf;

/// A failure reading, writing or coding a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NativeError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not an image this tool reads, or is damaged.
    #[error("{}: cannot read image: {source}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// The image decoder's reason.
        source: image::ImageError,
    },
    /// The file's content is not what its kind requires.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Encoding or decoding failed in the codec.
    #[error("{}: {source}", path.display())]
    Codec {
        /// The file.
        path: PathBuf,
        /// The codec's error.
        source: aic_core::Error,
    },
}

impl NativeError {
    /// An [`NativeError::Invalid`] for `path`.
    pub fn invalid(path: &std::path::Path, reason: impl Into<String>) -> Self {
        NativeError::Invalid {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    /// A [`NativeError::Codec`] for `path`.
    pub fn codec(path: &std::path::Path, source: aic_core::Error) -> Self {
        NativeError::Codec {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A [`NativeError::Io`] for `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        NativeError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Result alias of the native library.
pub type Result<T> = std::result::Result<T, NativeError>;
