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

/// Parses arbitrary bytes as one feedback message (`docs/format.md` §10). Must never panic;
/// what parses must write back to the same bytes' meaning.
pub fn feedback(data: &[u8]) {
    if let Ok(f) = crate::wire::Feedback::parse(data) {
        let again =
            crate::wire::Feedback::parse(&f.to_bytes()).expect("a parsed message writes back");
        assert_eq!(again, f);
    }
}

/// Reads arbitrary bytes as the motion syntax of a frame (`docs/format.md` §11.3), its size
/// and references taken from the first 3 bytes. Must never panic, whatever the bytes say.
pub fn motion_syntax(data: &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    let width = 16 * (1 + usize::from(head[0] % 8));
    let height = 16 * (1 + usize::from(head[1] % 8));
    let models = crate::residual::coding::Models::new();
    let _ = crate::motion::syntax::read(
        &models,
        rest,
        width,
        height,
        head[2] & 1 != 0,
        head[2] & 2 != 0,
    );
}
