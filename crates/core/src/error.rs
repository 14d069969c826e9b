//! The one error type of `aic-core`, with one variant per actor that caused the failure.
//!
//! # Module Overview
//! - [`Error::Format`]: the bytes (a frame or a packet from the network) are malformed.
//!   Each [`FormatError`] names the section of `docs/format.md` it enforces.
//! - [`Error::Parameter`]: the caller passed something inconsistent (buffer size, quality).
//! - [`Error::LimitsExceeded`]: input asks for more than a named limit in [`crate::limits`].
//! - [`Error::Model`]: a neural frame was made with weights this build does not have.
//! - [`Error::Unavailable`]: the codec asked for cannot run here (e.g. no model in this build).
//! - [`Error::Reference`]: a delta frame's reference is not held (lost or never received).
//!
//! [`Error::code`] gives a stable, machine-readable code for every variant (the wasm bindings
//! pass it to JavaScript as `error.code`).

use thiserror::Error as ThisError;

/// Result alias used across the crate.
pub type Result<T> = core::result::Result<T, Error>;

/// Every failure `aic-core` reports. Parsing never panics: it returns one of these.
#[derive(Debug, ThisError, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// Untrusted bytes are malformed. Drop the frame or packet; the next one is unaffected.
    #[error("malformed input: {0}")]
    Format(#[from] FormatError),
    /// The caller passed inconsistent arguments. Fix the call.
    #[error("invalid parameter: {0}")]
    Parameter(#[from] ParameterError),
    /// The input asks for more than a documented limit (`docs/format.md` §5).
    #[error("limit exceeded: {0}")]
    LimitsExceeded(#[from] LimitError),
    /// The frame needs model weights this decoder does not have (`docs/format.md` §2.3).
    #[error("model mismatch: {0}")]
    Model(#[from] ModelError),
    /// The requested codec cannot run in this build or on this input; use another codec.
    #[error("codec unavailable: {0}")]
    Unavailable(String),
    /// A delta frame needs a reference this decoder does not hold (a frame was lost, or the
    /// stream started mid-way). The decoder's state is unchanged: keep showing the last good
    /// picture and ask the sender for a key frame (`docs/format.md` §7).
    #[error("missing reference: {0}")]
    Reference(#[from] ReferenceError),
}

impl Error {
    /// A stable code for the error's kind, e.g. `"format.bad_checksum"`; safe to match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Format(e) => e.code(),
            Error::Parameter(_) => "parameter",
            Error::LimitsExceeded(_) => "limits_exceeded",
            Error::Model(_) => "model_mismatch",
            Error::Unavailable(_) => "unavailable",
            Error::Reference(_) => "reference_missing",
        }
    }
}

/// Malformed bytes: a frame or packet that does not follow `docs/format.md`.
#[derive(Debug, ThisError, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// Fewer bytes than the structure needs (§2, §4). Wait for the rest, or drop it.
    #[error("truncated: needs {needed} bytes, got {got}")]
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// The frame does not start with the magic `AICF` (§2.1).
    #[error("bad frame magic {found:02x?}, expected \"AICF\"")]
    BadMagic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// The packet does not start with the magic `AP` (§4.1).
    #[error("bad packet magic {found:02x?}, expected \"AP\"")]
    BadPacketMagic {
        /// The two bytes found.
        found: [u8; 2],
    },
    /// The format version is not one this decoder reads (§3).
    #[error("unsupported version {found}, this decoder reads version {supported}")]
    UnsupportedVersion {
        /// Version byte found.
        found: u8,
        /// Version this decoder reads.
        supported: u8,
    },
    /// A field holds a value the format does not define (§2.2).
    #[error("field `{field}` has undefined value {value}")]
    UndefinedValue {
        /// Field name as in the spec.
        field: &'static str,
        /// Value found.
        value: u32,
    },
    /// Reserved bits or bytes are not zero (§2.2, §4.1).
    #[error("reserved field `{field}` is {value:#x}, must be 0")]
    Reserved {
        /// Field name as in the spec.
        field: &'static str,
        /// Value found.
        value: u32,
    },
    /// The CRC-32 over header and payload does not match (§2.4): the frame was corrupted.
    #[error("bad checksum: stored {stored:#010x}, computed {computed:#010x}")]
    BadChecksum {
        /// Checksum stored in the frame.
        stored: u32,
        /// Checksum computed over the received bytes.
        computed: u32,
    },
    /// Fields contradict each other or the payload (§2.2, §4.2); `what` says which.
    #[error("inconsistent: {what}: expected {expected}, found {found}")]
    Inconsistent {
        /// What disagrees.
        what: &'static str,
        /// The value implied by the rest of the input.
        expected: u64,
        /// The value found.
        found: u64,
    },
    /// The payload cannot be decoded by its codec (§6).
    #[error("corrupt {codec} payload: {reason}")]
    CorruptPayload {
        /// Codec name.
        codec: &'static str,
        /// What went wrong.
        reason: String,
    },
}

impl FormatError {
    /// Stable code of this kind of format error.
    pub fn code(&self) -> &'static str {
        match self {
            FormatError::Truncated { .. } => "format.truncated",
            FormatError::BadMagic { .. } => "format.bad_magic",
            FormatError::BadPacketMagic { .. } => "format.bad_packet_magic",
            FormatError::UnsupportedVersion { .. } => "format.unsupported_version",
            FormatError::UndefinedValue { .. } => "format.undefined_value",
            FormatError::Reserved { .. } => "format.reserved",
            FormatError::BadChecksum { .. } => "format.bad_checksum",
            FormatError::Inconsistent { .. } => "format.inconsistent",
            FormatError::CorruptPayload { .. } => "format.corrupt_payload",
        }
    }
}

/// A caller's argument is out of range or inconsistent with another.
#[derive(Debug, ThisError, Clone, PartialEq, Eq)]
#[error("{what}: {detail}")]
pub struct ParameterError {
    /// Which argument.
    pub what: &'static str,
    /// What was wrong, with the actual and the expected value.
    pub detail: String,
}

impl ParameterError {
    /// Builds a parameter error.
    pub fn new(what: &'static str, detail: impl Into<String>) -> Self {
        ParameterError {
            what,
            detail: detail.into(),
        }
    }
}

/// A value above one of the named limits of [`crate::limits`].
#[derive(Debug, ThisError, Clone, PartialEq, Eq)]
#[error("{what} is {value}, limit is {limit}")]
pub struct LimitError {
    /// Which quantity.
    pub what: &'static str,
    /// Its value.
    pub value: u64,
    /// The limit it exceeds.
    pub limit: u64,
}

/// A neural frame names model weights this decoder does not have.
#[derive(Debug, ThisError, Clone, PartialEq, Eq)]
#[error("frame needs model {model_id} with weights {weights_hash:#018x}; {available}")]
pub struct ModelError {
    /// Model id in the frame header.
    pub model_id: u16,
    /// Weights hash in the frame header.
    pub weights_hash: u64,
    /// What this decoder has instead.
    pub available: String,
}

/// A delta frame whose reference the decoder does not hold (`docs/format.md` §7).
#[derive(Debug, ThisError, Clone, PartialEq, Eq)]
#[error("delta frame {seq} needs frame {needed} decoded before it; {held}")]
pub struct ReferenceError {
    /// Sequence number of the refused frame.
    pub seq: u32,
    /// The frame it refers to.
    pub needed: u32,
    /// What the decoder holds instead.
    pub held: String,
}

/// Shorthand for the `Inconsistent` format error.
pub(crate) fn inconsistent(what: &'static str, expected: u64, found: u64) -> Error {
    Error::Format(FormatError::Inconsistent {
        what,
        expected,
        found,
    })
}

/// Shorthand for a limit check.
pub(crate) fn check_limit(what: &'static str, value: u64, limit: u64) -> Result<()> {
    if value > limit {
        Err(Error::LimitsExceeded(LimitError { what, value, limit }))
    } else {
        Ok(())
    }
}
