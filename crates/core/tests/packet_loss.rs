//! Reassembly under a hostile network: shuffled, duplicated, dropped and garbage packets.

mod common;

use aic_core::wire::{Codec, FrameHeader, Packetizer, write_frame};
use aic_core::wire::{FrameKind, PushStatus, Reassembler, ReassemblyConfig};
use aic_core::{Decoder, PixelFormat};
use common::Rng;

fn frame(seq: u32, kind: FrameKind, payload_len: usize, rng: &mut Rng) -> Vec<u8> {
    let header = FrameHeader {
        codec: Codec::Neural {
            model_id: 1,
            weights_hash: 7,
        },
        kind,
        width: 320,
        height: 240,
        format: PixelFormat::Rgb8,
        quality: 3,
        seq,
        timestamp_us: u64::from(seq) * 33_333,
        payload_len: 0,
        refined: false,
        half: false,
        motion: false,
        recovery: false,
    };
    let payload: Vec<u8> = (0..payload_len).map(|_| rng.next() as u8).collect();
    write_frame(&header, &payload).unwrap()
}

#[test]
fn shuffled_and_duplicated_packets_give_back_every_frame() {
    let mut rng = Rng::new(1);
    let mut tx = Packetizer::new(1200).unwrap();
    let frames: Vec<Vec<u8>> = (0..20)
        .map(|i| {
            let kind = if i % 5 == 0 {
                FrameKind::Key
            } else {
                FrameKind::Delta
            };
            let len = 500 + rng.below(20_000);
            frame(i, kind, len, &mut rng)
        })
        .collect();
    let mut rx = Reassembler::default();
    let mut got = Vec::new();
    for f in &frames {
        let mut packets = tx.packetize(f).unwrap();
        // Duplicate about a third of the packets, then shuffle within the frame.
        let dups: Vec<Vec<u8>> = packets
            .iter()
            .filter(|_| rng.chance(0.3))
            .cloned()
            .collect();
        packets.extend(dups);
        rng.shuffle(&mut packets);
        for p in &packets {
            rx.push(p, 0).unwrap();
        }
        while let Some(f) = rx.poll_frame() {
            got.push(f);
        }
    }
    assert_eq!(got, frames);
    assert!(rx.stats().duplicates > 0);
    assert_eq!(rx.buffered_bytes(), 0);
}

#[test]
fn packets_of_neighbouring_frames_interleaved() {
    let mut rng = Rng::new(2);
    let mut tx = Packetizer::new(1000).unwrap();
    let frames: Vec<Vec<u8>> = (0..6)
        .map(|i| frame(i, FrameKind::Delta, 8000, &mut rng))
        .collect();
    let mut packets: Vec<Vec<u8>> = frames
        .iter()
        .flat_map(|f| tx.packetize(f).unwrap())
        .collect();
    rng.shuffle(&mut packets);
    let mut rx = Reassembler::default();
    for p in &packets {
        rx.push(p, 0).unwrap();
    }
    let mut got: Vec<Vec<u8>> = std::iter::from_fn(|| rx.poll_frame()).collect();
    got.sort();
    let mut want = frames.clone();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn dropped_packets_lose_only_their_frames() {
    let mut rng = Rng::new(3);
    let mut tx = Packetizer::new(1200).unwrap();
    let mut rx = Reassembler::new(ReassemblyConfig {
        window_us: 100_000,
        ..Default::default()
    });
    let (mut sent_whole, mut complete) = (Vec::new(), Vec::new());
    for i in 0..200u32 {
        let kind = if i % 10 == 0 {
            FrameKind::Key
        } else {
            FrameKind::Delta
        };
        let len = 100 + rng.below(6000);
        let f = frame(i, kind, len, &mut rng);
        let now = u64::from(i) * 33_333;
        let mut lost = false;
        for p in tx.packetize(&f).unwrap() {
            if rng.chance(0.05) {
                lost = true;
                continue;
            }
            rx.push(&p, now).unwrap();
        }
        if !lost {
            sent_whole.push(f);
        }
        complete.extend(std::iter::from_fn(|| rx.poll_frame()));
        // Bounded: a 100 ms window at 30 fps keeps at most 4 incomplete frames.
        assert!(
            rx.frames_in_flight() <= 4,
            "{} in flight",
            rx.frames_in_flight()
        );
    }
    assert_eq!(complete, sent_whole);
    assert!(rx.stats().dropped > 0);
    // Every delivered frame still decodes its header and checksum.
    for f in &complete {
        assert_eq!(
            Decoder::new().decode(f).unwrap_err().code(),
            "model_mismatch"
        );
    }
}

#[test]
fn garbage_flood_keeps_memory_bounded_and_good_frames_flow() {
    let mut rng = Rng::new(4);
    let config = ReassemblyConfig {
        max_buffered_bytes: 1 << 20,
        max_frames_in_flight: 8,
        window_us: 1_000_000,
        max_frame_bytes: 1 << 20,
    };
    let mut rx = Reassembler::new(config);
    let mut tx = Packetizer::new(16 * 1024).unwrap();
    let (mut errors, mut delivered) = (0, 0);
    for round in 0..2_000u64 {
        // Well-formed headers with random ids, counts and lengths: the costly kind of garbage.
        for _ in 0..20 {
            let count = 1 + rng.below(64) as u16;
            let chunk = 1 + rng.below(16_000);
            let frame_len = (chunk * usize::from(count)).clamp(44, 1 << 20) as u32;
            let index = rng.below(usize::from(count)) as u16;
            let mut p = Vec::new();
            p.extend_from_slice(b"AP\x01");
            p.push((rng.next() & 1) as u8);
            p.extend_from_slice(&(rng.next() as u32).to_le_bytes());
            p.extend_from_slice(&index.to_le_bytes());
            p.extend_from_slice(&count.to_le_bytes());
            p.extend_from_slice(&frame_len.to_le_bytes());
            let clen = frame_len as usize;
            let ch = clen.div_ceil(usize::from(count));
            let start = usize::from(index) * ch;
            let len = if start < clen {
                (clen - start).min(ch)
            } else {
                1
            };
            p.extend((0..len).map(|_| rng.next() as u8));
            if rx.push(&p, round * 1000).is_err() {
                errors += 1;
            }
            // And pure noise.
            let noise: Vec<u8> = (0..rng.below(100)).map(|_| rng.next() as u8).collect();
            assert!(rx.push(&noise, round * 1000).is_err());
            assert!(rx.buffered_bytes() <= config.max_buffered_bytes);
            assert!(rx.frames_in_flight() <= config.max_frames_in_flight);
        }
        // A real key frame still gets through the flood.
        if round % 100 == 0 {
            let f = frame(round as u32, FrameKind::Key, 3000, &mut rng);
            for p in tx.packetize(&f).unwrap() {
                let s = rx.push(&p, round * 1000).unwrap();
                assert_ne!(s, PushStatus::Duplicate);
            }
            let mut found = false;
            while let Some(g) = rx.poll_frame() {
                found |= g == f;
            }
            assert!(found, "key frame lost in round {round}");
            delivered += 1;
        }
    }
    assert_eq!(delivered, 20);
    assert!(errors > 0);
}
