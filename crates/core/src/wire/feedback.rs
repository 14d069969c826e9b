//! Feedback messages from a receiver to a sender, on the same channel as the packets
//! (`docs/format.md` §10): key-frame requests and receiver reports.
//!
//! ```text
//! magic "AF" | version 1 | kind | body (fixed size per kind), all integers little-endian
//! ```

use crate::error::{FormatError, Result};

/// The two bytes every feedback message starts with.
pub const FEEDBACK_MAGIC: [u8; 2] = *b"AF";
/// The feedback version this crate writes and reads.
pub const FEEDBACK_VERSION: u8 = 1;
/// Length of a key-frame request.
pub const KEY_REQUEST_LEN: usize = 12;
/// Length of a receiver report.
pub const REPORT_LEN: usize = 24;
/// Length of a recovery request.
pub const RECOVERY_REQUEST_LEN: usize = 16;
/// Longest feedback message; anything longer is refused before it is read.
pub const MAX_FEEDBACK_BYTES: usize = 64;

/// One feedback message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// The receiver cannot decode the stream (a reference is missing): send a key frame.
    KeyFrameRequest {
        /// Sequence number of the last frame the receiver decoded (`None`: none yet).
        last_decoded: Option<u32>,
    },
    /// What arrived during the last interval (drives the sender's bandwidth estimate).
    Report(ReceiverReport),
    /// The receiver cannot decode the stream but holds the long-term reference `long_term`:
    /// a recovery frame (a motion frame predicting from it alone) will do; a sender whose
    /// long-term reference is another sends a key frame (§10.3).
    RecoveryRequest {
        /// Sequence number of the last frame the receiver decoded (`None`: none yet).
        last_decoded: Option<u32>,
        /// Sequence number of the long-term reference the receiver holds.
        long_term: u32,
    },
}

/// A receiver report (§10.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceiverReport {
    /// Highest frame sequence number received so far.
    pub highest_seq: u32,
    /// Frames completed during the interval.
    pub frames_received: u16,
    /// Frames found missing during the interval (gaps in the sequence).
    pub frames_lost: u16,
    /// Bytes of packets received during the interval.
    pub bytes_received: u32,
    /// Length of the interval, ms.
    pub interval_ms: u16,
    /// Median delay from capture to arrival minus its minimum so far, ms (queueing delay).
    pub queue_delay_ms: u16,
}

impl Feedback {
    /// The message's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(REPORT_LEN);
        out.extend_from_slice(&FEEDBACK_MAGIC);
        out.push(FEEDBACK_VERSION);
        match *self {
            Feedback::KeyFrameRequest { last_decoded } => {
                out.push(1);
                out.extend_from_slice(&last_decoded.unwrap_or(u32::MAX).to_le_bytes());
                out.push(u8::from(last_decoded.is_some()));
                out.extend_from_slice(&[0; 3]);
            }
            Feedback::RecoveryRequest {
                last_decoded,
                long_term,
            } => {
                out.push(3);
                out.extend_from_slice(&last_decoded.unwrap_or(u32::MAX).to_le_bytes());
                out.push(u8::from(last_decoded.is_some()));
                out.extend_from_slice(&[0; 3]);
                out.extend_from_slice(&long_term.to_le_bytes());
            }
            Feedback::Report(r) => {
                out.push(2);
                out.extend_from_slice(&r.highest_seq.to_le_bytes());
                out.extend_from_slice(&r.frames_received.to_le_bytes());
                out.extend_from_slice(&r.frames_lost.to_le_bytes());
                out.extend_from_slice(&r.bytes_received.to_le_bytes());
                out.extend_from_slice(&r.interval_ms.to_le_bytes());
                out.extend_from_slice(&r.queue_delay_ms.to_le_bytes());
                out.extend_from_slice(&[0; 4]);
            }
        }
        out
    }

    /// Whether `bytes` starts like a feedback message (to tell it from a packet).
    pub fn is_feedback(bytes: &[u8]) -> bool {
        bytes.starts_with(&FEEDBACK_MAGIC)
    }

    /// Parses one message; a wrong size, version, kind or reserved byte is a typed error.
    pub fn parse(bytes: &[u8]) -> Result<Feedback> {
        if bytes.len() > MAX_FEEDBACK_BYTES {
            return Err(FormatError::Inconsistent {
                what: "feedback length (at most 64 bytes)",
                expected: MAX_FEEDBACK_BYTES as u64,
                found: bytes.len() as u64,
            }
            .into());
        }
        if bytes.len() < 4 {
            return Err(FormatError::Truncated {
                needed: 4,
                got: bytes.len(),
            }
            .into());
        }
        if bytes[..2] != FEEDBACK_MAGIC {
            return Err(FormatError::BadPacketMagic {
                found: [bytes[0], bytes[1]],
            }
            .into());
        }
        if bytes[2] != FEEDBACK_VERSION {
            return Err(FormatError::UnsupportedVersion {
                found: bytes[2],
                supported: FEEDBACK_VERSION,
            }
            .into());
        }
        let need = match bytes[3] {
            1 => KEY_REQUEST_LEN,
            2 => REPORT_LEN,
            3 => RECOVERY_REQUEST_LEN,
            v => {
                return Err(FormatError::UndefinedValue {
                    field: "feedback kind",
                    value: v.into(),
                }
                .into());
            }
        };
        if bytes.len() != need {
            return Err(FormatError::Inconsistent {
                what: "feedback length for its kind",
                expected: need as u64,
                found: bytes.len() as u64,
            }
            .into());
        }
        let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
        let u32_at =
            |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let reserved = |r: &[u8]| -> Result<()> {
            if r.iter().any(|&b| b != 0) {
                return Err(FormatError::Reserved {
                    field: "feedback reserved bytes",
                    value: r.iter().fold(0, |a, &b| a << 8 | u32::from(b)),
                }
                .into());
            }
            Ok(())
        };
        Ok(match bytes[3] {
            1 | 3 => {
                reserved(&bytes[9..12])?;
                let has = match bytes[8] {
                    0 => false,
                    1 => true,
                    v => {
                        return Err(FormatError::UndefinedValue {
                            field: "key-frame request has_last",
                            value: v.into(),
                        }
                        .into());
                    }
                };
                let last_decoded = has.then(|| u32_at(4));
                if bytes[3] == 1 {
                    Feedback::KeyFrameRequest { last_decoded }
                } else {
                    Feedback::RecoveryRequest {
                        last_decoded,
                        long_term: u32_at(12),
                    }
                }
            }
            _ => {
                reserved(&bytes[20..24])?;
                Feedback::Report(ReceiverReport {
                    highest_seq: u32_at(4),
                    frames_received: u16_at(8),
                    frames_lost: u16_at(10),
                    bytes_received: u32_at(12),
                    interval_ms: u16_at(16),
                    queue_delay_ms: u16_at(18),
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_typed_errors() {
        for f in [
            Feedback::KeyFrameRequest { last_decoded: None },
            Feedback::KeyFrameRequest {
                last_decoded: Some(77),
            },
            Feedback::RecoveryRequest {
                last_decoded: Some(80),
                long_term: 50,
            },
            Feedback::Report(ReceiverReport {
                highest_seq: 9,
                frames_received: 10,
                frames_lost: 1,
                bytes_received: 40_000,
                interval_ms: 200,
                queue_delay_ms: 12,
            }),
        ] {
            let b = f.to_bytes();
            assert!(Feedback::is_feedback(&b));
            assert_eq!(Feedback::parse(&b).unwrap(), f);
            for n in 0..b.len() {
                assert!(Feedback::parse(&b[..n]).is_err());
            }
        }
        let mut b = Feedback::KeyFrameRequest { last_decoded: None }.to_bytes();
        b[3] = 9;
        assert_eq!(
            Feedback::parse(&b).unwrap_err().code(),
            "format.undefined_value"
        );
        b[3] = 1;
        b[10] = 1;
        assert_eq!(Feedback::parse(&b).unwrap_err().code(), "format.reserved");
        assert!(Feedback::parse(&[b'A'; 200]).is_err());
        assert!(Feedback::parse(b"APxxxxxxxxxx").is_err());
    }
}
