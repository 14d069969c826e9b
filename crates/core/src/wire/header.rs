//! The frame header: read and write one AIC frame (`docs/format.md` §2).
//!
//! A frame on the wire is `header (40 bytes) | payload (payload_len bytes) | crc32 (4 bytes)`,
//! all integers little-endian. The CRC-32 (IEEE) covers the header and the payload.

use crate::error::{Error, FormatError, Result, check_limit, inconsistent};
use crate::frame::{PixelFormat, check_dimensions};
use crate::limits::MAX_PAYLOAD_BYTES;

/// The four bytes every frame starts with (§2.1).
pub const FRAME_MAGIC: [u8; 4] = *b"AICF";
/// The format version this crate writes (§3). Version 2 carries the neural quality as a step
/// of the fine quality grid and defines neural delta frames; version 3 adds motion delta
/// frames (§11, `flags` bits 2 and 3); version 1 frames (quality = trained level, key frames
/// only) and version 2 frames are still read.
pub const FORMAT_VERSION: u8 = 3;
/// The oldest format version this crate reads (§3).
pub const MIN_FORMAT_VERSION: u8 = 1;
/// Length of the frame header in bytes (§2.2).
pub const FRAME_HEADER_LEN: usize = 40;
/// Length of the CRC-32 trailer in bytes (§2.4).
pub const FRAME_TRAILER_LEN: usize = 4;

/// Which codec made the payload (§2.2, field `codec`; §2.3 for the model fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Uncompressed pixels.
    Raw,
    /// Lossless zlib (RFC 1950) of the pixels.
    Zlib,
    /// The learned codec; the decoder needs exactly these weights.
    Neural {
        /// Model architecture id.
        model_id: u16,
        /// First 8 bytes (little-endian) of the SHA-256 of the weights file.
        weights_hash: u64,
    },
}

impl Codec {
    /// Short lowercase name: `raw`, `zlib`, `neural`.
    pub fn name(&self) -> &'static str {
        match self {
            Codec::Raw => "raw",
            Codec::Zlib => "zlib",
            Codec::Neural { .. } => "neural",
        }
    }

    fn to_wire(self) -> (u8, u16, u64) {
        match self {
            Codec::Raw => (0, 0, 0),
            Codec::Zlib => (1, 0, 0),
            Codec::Neural {
                model_id,
                weights_hash,
            } => (2, model_id, weights_hash),
        }
    }
}

/// Key frames decode on their own; delta frames need the previous frame (§2.2, field `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// Decodes without reference to any other frame.
    Key,
    /// Decodes relative to the previous decoded frame.
    Delta,
}

impl FrameKind {
    /// `"key"` or `"delta"`.
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Key => "key",
            FrameKind::Delta => "delta",
        }
    }
}

/// The fields of a frame header (§2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Codec of the payload.
    pub codec: Codec,
    /// Key or delta frame.
    pub kind: FrameKind,
    /// Width in pixels, 1..=[`crate::limits::MAX_DIMENSION`].
    pub width: u32,
    /// Height in pixels, 1..=[`crate::limits::MAX_DIMENSION`].
    pub height: u32,
    /// Pixel format of the decoded frame.
    pub format: PixelFormat,
    /// Codec-specific quality: the neural quality level, or the zlib level.
    pub quality: u8,
    /// Sequence number, incremented per frame by the sender (wraps).
    pub seq: u32,
    /// Capture time in microseconds, on the sender's clock.
    pub timestamp_us: u64,
    /// Length of the payload that follows the header.
    pub payload_len: u32,
    /// Neural frames: the payload carries a refinement layer after the latent (§9; `flags`
    /// bit 0).
    pub refined: bool,
    /// Neural frames: the payload codes the picture at half resolution, [`Self::coded_size`],
    /// and the decoder upsamples it to `width` × `height` (`flags` bit 1; the sender's latency
    /// budget, `crate::session`). Never together with `refined`.
    pub half: bool,
    /// Neural delta frames: the payload is a motion delta frame (§11: macroblocks predicted
    /// from the reference pictures, a residual, intra latent positions; `flags` bit 2, version
    /// ≥ 3). Never together with `refined` or `half`.
    pub motion: bool,
    /// Motion frames: the frame predicts from the long-term reference only, so a receiver that
    /// lost the frames before it still decodes it (a recovery point; `flags` bit 3).
    pub recovery: bool,
}

impl FrameHeader {
    /// The quality as users name it: for a neural frame its level (fractional between the
    /// trained levels: step 5 is level 1.5, `crate::quality`), else the zlib level.
    pub fn quality_level(&self) -> f64 {
        match self.codec {
            Codec::Neural { .. } => f64::from(crate::quality::step_to_level(self.quality)),
            _ => f64::from(self.quality),
        }
    }

    /// The size the payload codes: `width` × `height`, or ⌈width/2⌉ × ⌈height/2⌉ for a
    /// half-resolution frame.
    pub fn coded_size(&self) -> (u32, u32) {
        if self.half {
            (self.width.div_ceil(2), self.height.div_ceil(2))
        } else {
            (self.width, self.height)
        }
    }

    /// Total bytes of the frame on the wire: header, payload and checksum.
    pub fn wire_len(&self) -> usize {
        FRAME_HEADER_LEN + self.payload_len as usize + FRAME_TRAILER_LEN
    }

    /// Checks the fields against each other and the limits (§2.2, §5).
    pub fn validate(&self) -> Result<()> {
        check_dimensions(self.width, self.height)?;
        check_limit(
            "payload length",
            self.payload_len.into(),
            MAX_PAYLOAD_BYTES.into(),
        )?;
        match self.codec {
            Codec::Raw => {
                let expected = self.format.frame_len(self.width, self.height) as u64;
                if u64::from(self.payload_len) != expected {
                    return Err(inconsistent(
                        "raw payload length",
                        expected,
                        self.payload_len.into(),
                    ));
                }
                self.require_key()
            }
            Codec::Zlib => self.require_key(),
            Codec::Neural { .. } => {
                let motion_ok =
                    !self.motion || (!self.refined && !self.half && self.kind == FrameKind::Delta);
                if !motion_ok || (self.recovery && !self.motion) || (self.refined && self.half) {
                    return Err(FormatError::Reserved {
                        field: "flags (motion only on delta frames, without refined or half; \
                                recovery only with motion; refined and half not together)",
                        value: u32::from(self.refined)
                            | u32::from(self.half) << 1
                            | u32::from(self.motion) << 2
                            | u32::from(self.recovery) << 3,
                    }
                    .into());
                }
                Ok(())
            }
        }
    }

    fn require_key(&self) -> Result<()> {
        if self.kind != FrameKind::Key {
            return Err(FormatError::UndefinedValue {
                field: "kind (delta is defined for the neural codec only)",
                value: 1,
            }
            .into());
        }
        Ok(())
    }

    /// Writes the 40 header bytes.
    fn write(&self, out: &mut Vec<u8>) {
        let (codec, model_id, weights_hash) = self.codec.to_wire();
        out.extend_from_slice(&FRAME_MAGIC);
        out.push(FORMAT_VERSION);
        out.push(codec);
        out.push(match self.kind {
            FrameKind::Key => 0,
            FrameKind::Delta => 1,
        });
        out.push(self.format.to_wire());
        out.extend_from_slice(&(self.width as u16).to_le_bytes());
        out.extend_from_slice(&(self.height as u16).to_le_bytes());
        out.push(self.quality);
        // flags: bit 0 refined, bit 1 half resolution, bit 2 motion, bit 3 recovery, the rest
        // reserved
        out.push(
            u8::from(self.refined)
                | u8::from(self.half) << 1
                | u8::from(self.motion) << 2
                | u8::from(self.recovery) << 3,
        );
        out.extend_from_slice(&model_id.to_le_bytes());
        out.extend_from_slice(&weights_hash.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.timestamp_us.to_le_bytes());
        out.extend_from_slice(&self.payload_len.to_le_bytes());
    }

    /// Parses and validates the 40 header bytes at the start of `bytes` (no checksum check:
    /// the payload may not have arrived yet). Use [`read_frame`] for a whole frame.
    pub fn parse(bytes: &[u8]) -> Result<FrameHeader> {
        let b: &[u8; FRAME_HEADER_LEN] = bytes
            .get(..FRAME_HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(FormatError::Truncated {
                needed: FRAME_HEADER_LEN,
                got: bytes.len(),
            })?;
        let magic = [b[0], b[1], b[2], b[3]];
        if magic != FRAME_MAGIC {
            return Err(FormatError::BadMagic { found: magic }.into());
        }
        if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&b[4]) {
            return Err(FormatError::UnsupportedVersion {
                found: b[4],
                supported: FORMAT_VERSION,
            }
            .into());
        }
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
        let model_id = u16_at(14);
        let weights_hash = u64_at(16);
        let codec = match b[5] {
            0 | 1 => {
                if model_id != 0 || weights_hash != 0 {
                    return Err(FormatError::Reserved {
                        field: "model_id/weights_hash (non-neural codec)",
                        value: u32::from(model_id) | u32::from(weights_hash != 0) << 16,
                    }
                    .into());
                }
                if b[5] == 0 { Codec::Raw } else { Codec::Zlib }
            }
            2 => Codec::Neural {
                model_id,
                weights_hash,
            },
            v => return Err(undefined("codec", v)),
        };
        let kind = match b[6] {
            0 => FrameKind::Key,
            1 => FrameKind::Delta,
            v => return Err(undefined("kind", v)),
        };
        let format = PixelFormat::from_wire(b[7]).ok_or_else(|| undefined("format", b[7]))?;
        let neural = matches!(codec, Codec::Neural { .. });
        let f = b[13];
        let (refined, half, motion, recovery) = (f & 1 != 0, f & 2 != 0, f & 4 != 0, f & 8 != 0);
        let reserved = f & !15 != 0
            || (refined && half)
            || (f != 0 && (!neural || b[4] < 2))
            || ((motion || recovery) && b[4] < 3)
            || (motion && (refined || half || kind != FrameKind::Delta))
            || (recovery && !motion);
        if reserved {
            return Err(FormatError::Reserved {
                field: "flags (bits 0–1 on version ≥ 2 neural frames, not both; bit 2 on \
                        version 3 neural delta frames alone; bit 3 with bit 2)",
                value: f.into(),
            }
            .into());
        }
        let (width, height) = (u16_at(8), u16_at(10));
        if width == 0 || height == 0 {
            return Err(FormatError::Inconsistent {
                what: "frame size (width and height must be at least 1)",
                expected: 1,
                found: u64::from(width.min(height)),
            }
            .into());
        }
        let header = FrameHeader {
            codec,
            kind,
            width: width.into(),
            height: height.into(),
            format,
            // Version 1 carried the neural level; version 2 its step on the fine grid.
            quality: match codec {
                Codec::Neural { .. } if b[4] == 1 => crate::quality::level_to_step(b[12]),
                _ => b[12],
            },
            seq: u32_at(24),
            timestamp_us: u64_at(28),
            payload_len: u32_at(36),
            refined,
            half,
            motion,
            recovery,
        };
        header.validate()?;
        Ok(header)
    }
}

fn undefined(field: &'static str, value: u8) -> Error {
    FormatError::UndefinedValue {
        field,
        value: value.into(),
    }
    .into()
}

/// Serialises one frame: header, payload and CRC-32 (§2). `header.payload_len` is set from
/// `payload`; the header is validated first.
pub fn write_frame(header: &FrameHeader, payload: &[u8]) -> Result<Vec<u8>> {
    let mut header = *header;
    header.payload_len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    header.validate()?;
    let mut out = Vec::with_capacity(header.wire_len());
    header.write(&mut out);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Parses the frame at the start of `bytes`: validates the header and the checksum and returns
/// the header, the payload, and how many bytes the frame took (so sequences of frames, stored
/// back to back, can be walked).
pub fn read_frame(bytes: &[u8]) -> Result<(FrameHeader, &[u8], usize)> {
    let header = FrameHeader::parse(bytes)?;
    let total = header.wire_len();
    if bytes.len() < total {
        return Err(FormatError::Truncated {
            needed: total,
            got: bytes.len(),
        }
        .into());
    }
    let body_end = total - FRAME_TRAILER_LEN;
    let stored = u32::from_le_bytes([
        bytes[body_end],
        bytes[body_end + 1],
        bytes[body_end + 2],
        bytes[body_end + 3],
    ]);
    let computed = crc32fast::hash(&bytes[..body_end]);
    if stored != computed {
        return Err(FormatError::BadChecksum { stored, computed }.into());
    }
    Ok((header, &bytes[FRAME_HEADER_LEN..body_end], total))
}

/// Walks a sequence of frames stored back to back (an AIC sequence file, §2.5).
/// Yields each frame's header, payload and byte range; stops after the first error.
pub fn frames(bytes: &[u8]) -> Frames<'_> {
    Frames {
        rest: bytes,
        offset: 0,
        failed: false,
    }
}

/// Iterator returned by [`frames`].
#[derive(Debug)]
pub struct Frames<'a> {
    rest: &'a [u8],
    offset: usize,
    failed: bool,
}

/// One frame found by [`frames`].
#[derive(Debug, Clone, Copy)]
pub struct WireFrame<'a> {
    /// The parsed header.
    pub header: FrameHeader,
    /// The payload bytes.
    pub payload: &'a [u8],
    /// The whole frame (header, payload, checksum).
    pub bytes: &'a [u8],
    /// Offset of the frame in the sequence.
    pub offset: usize,
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<WireFrame<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match read_frame(self.rest) {
            Ok((header, payload, used)) => {
                let frame = WireFrame {
                    header,
                    payload,
                    bytes: &self.rest[..used],
                    offset: self.offset,
                };
                self.rest = &self.rest[used..];
                self.offset += used;
                Some(Ok(frame))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> FrameHeader {
        FrameHeader {
            codec: Codec::Zlib,
            kind: FrameKind::Key,
            width: 4,
            height: 2,
            format: PixelFormat::Rgb8,
            quality: 6,
            seq: 7,
            timestamp_us: 1_234_567_890_123,
            payload_len: 0,
            refined: false,
            half: false,
            motion: false,
            recovery: false,
        }
    }

    #[test]
    fn round_trip() {
        let bytes = write_frame(&header(), b"hello").unwrap();
        assert_eq!(bytes.len(), FRAME_HEADER_LEN + 5 + FRAME_TRAILER_LEN);
        let (h, p, used) = read_frame(&bytes).unwrap();
        assert_eq!(p, b"hello");
        assert_eq!(used, bytes.len());
        assert_eq!(
            h,
            FrameHeader {
                payload_len: 5,
                ..header()
            }
        );
        let neural = FrameHeader {
            codec: Codec::Neural {
                model_id: 3,
                weights_hash: 0xdead_beef_0123_4567,
            },
            kind: FrameKind::Delta,
            ..header()
        };
        let bytes = write_frame(&neural, &[1, 2]).unwrap();
        assert_eq!(read_frame(&bytes).unwrap().0.codec, neural.codec);
    }

    #[test]
    fn half_resolution_flag() {
        let neural = FrameHeader {
            codec: Codec::Neural {
                model_id: 2,
                weights_hash: 7,
            },
            width: 321,
            height: 240,
            half: true,
            motion: false,
            recovery: false,
            ..header()
        };
        let bytes = write_frame(&neural, &[1]).unwrap();
        let h = read_frame(&bytes).unwrap().0;
        assert!(h.half && !h.refined);
        assert_eq!(h.coded_size(), (161, 120));
        assert_eq!((h.width, h.height), (321, 240));
        // Half and refined together, or half on a lossless frame: reserved.
        for (codec, flags) in [(neural.codec, 3u8), (Codec::Zlib, 2)] {
            let mut b = write_frame(&FrameHeader { codec, ..neural }, &[1]).unwrap();
            b[13] = flags;
            let e = FrameHeader::parse(&b).unwrap_err();
            assert_eq!(e.code(), "format.reserved", "flags {flags}");
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = write_frame(&header(), b"hello").unwrap();
        for n in 0..bytes.len() {
            let e = read_frame(&bytes[..n]).unwrap_err();
            assert_eq!(e.code(), "format.truncated", "at {n}");
        }
    }

    #[test]
    fn every_bit_flip_is_caught() {
        let bytes = write_frame(&header(), b"hello").unwrap();
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(read_frame(&b).is_err(), "flip of bit {i} went unnoticed");
        }
    }

    #[test]
    fn typed_errors() {
        let good = write_frame(&header(), b"x").unwrap();
        let with = |i: usize, v: u8| {
            let mut b = good.clone();
            b[i] = v;
            FrameHeader::parse(&b).unwrap_err().code()
        };
        assert_eq!(with(0, b'X'), "format.bad_magic");
        assert_eq!(with(4, 4), "format.unsupported_version");
        assert_eq!(with(4, 0), "format.unsupported_version");
        assert_eq!(with(5, 9), "format.undefined_value");
        assert_eq!(with(6, 9), "format.undefined_value");
        assert_eq!(with(7, 9), "format.undefined_value");
        assert_eq!(with(13, 1), "format.reserved");
        assert_eq!(with(14, 1), "format.reserved");
        assert_eq!(with(8, 0), "format.inconsistent"); // width 0
        assert_eq!(with(9, 0xff), "limits_exceeded"); // width > 8192
        assert_eq!(with(39, 0xff), "limits_exceeded"); // payload > limit
        let raw = FrameHeader {
            codec: Codec::Raw,
            ..header()
        };
        assert_eq!(
            write_frame(&raw, b"short").unwrap_err().code(),
            "format.inconsistent"
        );
        let delta = FrameHeader {
            kind: FrameKind::Delta,
            ..header()
        };
        assert!(write_frame(&delta, b"").is_err());
    }

    #[test]
    fn sequence_walks_frames() {
        let mut seq = write_frame(&header(), b"a").unwrap();
        seq.extend(write_frame(&FrameHeader { seq: 8, ..header() }, b"bc").unwrap());
        let v: Vec<_> = frames(&seq).collect::<Result<_>>().unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[1].header.seq, v[1].payload), (8, &b"bc"[..]));
        seq.push(0);
        let v: Vec<_> = frames(&seq).collect();
        assert!(v[2].is_err() && v.len() == 3);
    }
}
