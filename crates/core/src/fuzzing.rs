//! Entry points for the fuzz targets in `fuzz/` and for the regression tests that replay their
//! corpus. Not a stable API.

use crate::codec::Decoder;
use crate::wire::{Reassembler, ReassemblyConfig, frames};

/// Parses and decodes arbitrary bytes as a sequence of AIC frames. Must never panic.
pub fn frame_parse(data: &[u8]) {
    let mut dec = Decoder::new();
    for f in frames(data) {
        match f {
            Ok(f) => {
                let _ = dec.decode_payload(&f.header, f.payload);
            }
            Err(_) => break,
        }
    }
    let _ = dec.decode(data);
}

/// Feeds arbitrary bytes to a small reassembler as a sequence of packets (each prefixed by a
/// 2-byte length and a 1-byte time step) and checks its memory bound after every push.
/// Must never panic.
pub fn reassembly(data: &[u8]) {
    let config = ReassemblyConfig {
        max_buffered_bytes: 64 * 1024,
        max_frames_in_flight: 4,
        window_us: 1000,
        max_frame_bytes: 32 * 1024,
    };
    let mut r = Reassembler::new(config);
    let (mut rest, mut now) = (data, 0u64);
    while rest.len() >= 3 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % 2048;
        now += u64::from(rest[2]) * 10;
        rest = &rest[3..];
        let (packet, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        let _ = r.push(packet, now);
        assert!(r.buffered_bytes() <= config.max_buffered_bytes);
        assert!(r.frames_in_flight() <= config.max_frames_in_flight);
        while let Some(frame) = r.poll_frame() {
            frame_parse(&frame);
        }
    }
}
