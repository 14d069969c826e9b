//! Packets: one frame cut into messages that fit a transport's size limit (`docs/format.md` §4).
//!
//! A packet is `packet header (16 bytes) | data`, integers little-endian. Packet `i` of a frame
//! of `frame_len` bytes cut into `count` packets carries bytes
//! `[i·chunk, min((i+1)·chunk, frame_len))` with `chunk = ceil(frame_len / count)`.

use crate::error::{Error, FormatError, ParameterError, Result, check_limit, inconsistent};
use crate::limits::{MAX_PACKET_BYTES, MAX_PACKETS_PER_FRAME, MIN_PACKET_BYTES};
use crate::wire::header::{FRAME_HEADER_LEN, FRAME_TRAILER_LEN, FrameHeader, FrameKind};

/// The two bytes every packet starts with (§4.1).
pub const PACKET_MAGIC: [u8; 2] = *b"AP";
/// Packet format version (§4.1).
pub const PACKET_VERSION: u8 = 1;
/// Length of the packet header in bytes (§4.1).
pub const PACKET_HEADER_LEN: usize = 16;
/// Largest frame, in bytes on the wire, that packets can carry (§5).
pub const MAX_FRAME_BYTES: usize =
    FRAME_HEADER_LEN + crate::limits::MAX_PAYLOAD_BYTES as usize + FRAME_TRAILER_LEN;

const FLAG_KEY: u8 = 1;

/// The fields of a packet header (§4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketHeader {
    /// Id of the frame this packet belongs to (the packetizer's counter; wraps).
    pub frame_id: u32,
    /// Index of this packet in the frame, `0..count`.
    pub index: u16,
    /// Number of packets of the frame, `1..=MAX_PACKETS_PER_FRAME`.
    pub count: u16,
    /// Length of the whole frame in bytes.
    pub frame_len: u32,
    /// Whether the frame is a key frame.
    pub key: bool,
}

impl PacketHeader {
    /// Bytes per packet (all but possibly the last) for this frame.
    pub fn chunk_len(&self) -> usize {
        (self.frame_len as usize).div_ceil(usize::from(self.count))
    }

    /// The byte range of the frame that packet `index` carries.
    pub fn range(&self) -> core::ops::Range<usize> {
        let chunk = self.chunk_len();
        let start = usize::from(self.index) * chunk;
        start..(start + chunk).min(self.frame_len as usize)
    }

    /// Parses a packet: validates its header (§4.1, §4.2) and that the data length is the one
    /// its index implies. Returns the header and the data.
    pub fn parse(packet: &[u8]) -> Result<(PacketHeader, &[u8])> {
        let b = packet
            .get(..PACKET_HEADER_LEN)
            .ok_or(FormatError::Truncated {
                needed: PACKET_HEADER_LEN,
                got: packet.len(),
            })?;
        if b[..2] != PACKET_MAGIC {
            return Err(FormatError::BadPacketMagic {
                found: [b[0], b[1]],
            }
            .into());
        }
        if b[2] != PACKET_VERSION {
            return Err(FormatError::UnsupportedVersion {
                found: b[2],
                supported: PACKET_VERSION,
            }
            .into());
        }
        if b[3] & !FLAG_KEY != 0 {
            return Err(FormatError::Reserved {
                field: "packet flags",
                value: b[3].into(),
            }
            .into());
        }
        let h = PacketHeader {
            key: b[3] & FLAG_KEY != 0,
            frame_id: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            index: u16::from_le_bytes([b[8], b[9]]),
            count: u16::from_le_bytes([b[10], b[11]]),
            frame_len: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
        };
        h.validate()?;
        let data = &packet[PACKET_HEADER_LEN..];
        let range = h.range();
        if data.len() != range.len() {
            return Err(inconsistent(
                "packet data length",
                range.len() as u64,
                data.len() as u64,
            ));
        }
        Ok((h, data))
    }

    fn validate(&self) -> Result<()> {
        check_limit(
            "packet count",
            self.count.into(),
            MAX_PACKETS_PER_FRAME.into(),
        )?;
        check_limit(
            "frame length",
            self.frame_len.into(),
            MAX_FRAME_BYTES as u64,
        )?;
        if self.count == 0 {
            return Err(inconsistent("packet count", 1, 0));
        }
        if self.index >= self.count {
            return Err(inconsistent(
                "packet index (must be below count)",
                u64::from(self.count) - 1,
                self.index.into(),
            ));
        }
        // Every packet carries at least one byte: the last one starts inside the frame.
        let last_start = (usize::from(self.count) - 1) * self.chunk_len();
        if (self.frame_len as usize) < (FRAME_HEADER_LEN + FRAME_TRAILER_LEN).max(1)
            || last_start >= self.frame_len as usize
        {
            return Err(inconsistent(
                "frame length for this packet count",
                (last_start + 1).max(FRAME_HEADER_LEN + FRAME_TRAILER_LEN) as u64,
                self.frame_len.into(),
            ));
        }
        Ok(())
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&PACKET_MAGIC);
        out.push(PACKET_VERSION);
        out.push(if self.key { FLAG_KEY } else { 0 });
        out.extend_from_slice(&self.frame_id.to_le_bytes());
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.frame_len.to_le_bytes());
    }
}

/// Cuts AIC frames into packets of at most `max_packet_bytes` each (§4).
#[derive(Debug, Clone)]
pub struct Packetizer {
    max_packet_bytes: usize,
    next_frame_id: u32,
}

impl Packetizer {
    /// A packetizer for messages of at most `max_packet_bytes` (header included), between
    /// [`MIN_PACKET_BYTES`] and [`MAX_PACKET_BYTES`]; 16 KiB
    /// ([`crate::limits::DEFAULT_PACKET_BYTES`]) suits every RTCDataChannel.
    pub fn new(max_packet_bytes: usize) -> Result<Self> {
        if !(MIN_PACKET_BYTES..=MAX_PACKET_BYTES).contains(&max_packet_bytes) {
            return Err(ParameterError::new(
                "max packet bytes",
                format!("{max_packet_bytes}, expected {MIN_PACKET_BYTES}..={MAX_PACKET_BYTES}"),
            )
            .into());
        }
        Ok(Packetizer {
            max_packet_bytes,
            next_frame_id: 0,
        })
    }

    /// Largest packet this packetizer emits.
    pub fn max_packet_bytes(&self) -> usize {
        self.max_packet_bytes
    }

    /// Cuts one AIC frame (as written by [`crate::wire::write_frame`]) into packets. The frame
    /// header is read to mark key frames; a frame needing more than
    /// [`MAX_PACKETS_PER_FRAME`] packets is refused (use larger packets).
    pub fn packetize(&mut self, frame: &[u8]) -> Result<Vec<Vec<u8>>> {
        let header = FrameHeader::parse(frame)?;
        if frame.len() != header.wire_len() {
            return Err(inconsistent(
                "frame length",
                header.wire_len() as u64,
                frame.len() as u64,
            ));
        }
        let max_data = self.max_packet_bytes - PACKET_HEADER_LEN;
        let count = frame.len().div_ceil(max_data);
        check_limit("packet count", count as u64, MAX_PACKETS_PER_FRAME.into()).map_err(
            |e| match e {
                Error::LimitsExceeded(l) => Error::Parameter(ParameterError::new(
                    "max packet bytes",
                    format!(
                        "{l}: packets of {} bytes are too small for a frame of {} bytes",
                        self.max_packet_bytes,
                        frame.len()
                    ),
                )),
                e => e,
            },
        )?;
        let mut h = PacketHeader {
            frame_id: self.next_frame_id,
            index: 0,
            count: count as u16,
            frame_len: frame.len() as u32,
            key: header.kind == FrameKind::Key,
        };
        self.next_frame_id = self.next_frame_id.wrapping_add(1);
        let packets = (0..count)
            .map(|i| {
                h.index = i as u16;
                let range = h.range();
                let mut p = Vec::with_capacity(PACKET_HEADER_LEN + range.len());
                h.write(&mut p);
                p.extend_from_slice(&frame[range]);
                p
            })
            .collect();
        Ok(packets)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::frame::PixelFormat;
    use crate::wire::header::{Codec, write_frame};

    pub(crate) fn frame(payload_len: usize, kind: FrameKind) -> Vec<u8> {
        let h = FrameHeader {
            codec: Codec::Neural {
                model_id: 1,
                weights_hash: 2,
            },
            kind,
            width: 64,
            height: 64,
            format: PixelFormat::Rgb8,
            quality: 3,
            seq: 0,
            timestamp_us: 0,
            payload_len: 0,
            refined: false,
            half: false,
            motion: false,
            recovery: false,
        };
        let payload: Vec<u8> = (0..payload_len).map(|i| (i * 7 % 251) as u8).collect();
        write_frame(&h, &payload).unwrap()
    }

    #[test]
    fn packets_cover_the_frame_and_fit() {
        for len in [0, 1, 100, 16_000, 40_000] {
            let f = frame(len, FrameKind::Key);
            let mut p = Packetizer::new(1024).unwrap();
            let packets = p.packetize(&f).unwrap();
            let mut joined = Vec::new();
            for (i, pk) in packets.iter().enumerate() {
                assert!(pk.len() <= 1024);
                let (h, data) = PacketHeader::parse(pk).unwrap();
                assert_eq!((h.index as usize, h.count as usize), (i, packets.len()));
                assert!(h.key && !data.is_empty());
                joined.extend_from_slice(data);
            }
            assert_eq!(joined, f);
        }
    }

    #[test]
    fn bad_packets_are_typed_errors() {
        let f = frame(3000, FrameKind::Delta);
        let packets = Packetizer::new(1024).unwrap().packetize(&f).unwrap();
        let p = &packets[1];
        for n in 0..p.len() {
            assert!(PacketHeader::parse(&p[..n]).is_err());
        }
        let with = |i: usize, v: u8| {
            let mut b = p.clone();
            b[i] = v;
            PacketHeader::parse(&b).unwrap_err().code()
        };
        assert_eq!(with(0, 0), "format.bad_packet_magic");
        assert_eq!(with(2, 9), "format.unsupported_version");
        assert_eq!(with(3, 2), "format.reserved");
        assert_eq!(with(8, 200), "format.inconsistent"); // index >= count
        assert_eq!(with(11, 0x7f), "limits_exceeded"); // count too large
        assert_eq!(with(15, 0x7f), "limits_exceeded"); // frame_len too large
        assert!(Packetizer::new(10).is_err());
        assert!(Packetizer::new(MAX_PACKET_BYTES + 1).is_err());
    }
}
