//! The neural codec end to end on the CPU backend with the shipped weights.

use std::sync::Arc;

use aic_core::codec::NeuralCodec;
use aic_core::metrics::psnr;
use aic_core::model::weights::MODEL_ID;
use aic_core::wire::{Codec, FrameHeader, read_frame, write_frame};
use aic_core::{CodecChoice, Decoder, Encoder, EncoderConfig, Frame, PixelFormat};
use burn::tensor::Device;

fn codec() -> Arc<NeuralCodec> {
    Arc::new(NeuralCodec::shipped(Device::flex()).unwrap())
}

/// A smooth picture with edges and texture, `w`×`h` RGB (sides not multiples of 16).
fn picture(w: u32, h: u32) -> Frame {
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let disc = ((fx - 0.5).powi(2) + (fy - 0.5).powi(2) < 0.08) as u8 as f32;
            let tex = ((x * 7 + y * 3) % 11) as f32;
            data.push((40.0 + 150.0 * fx + 50.0 * disc) as u8);
            data.push((60.0 + 120.0 * fy + tex) as u8);
            data.push((200.0 - 100.0 * fx * fy - 80.0 * disc) as u8);
        }
    }
    Frame::new(w, h, PixelFormat::Rgb8, data).unwrap()
}

fn encoder(neural: &Arc<NeuralCodec>, quality: u8) -> Encoder {
    let config = EncoderConfig {
        codec: CodecChoice::Neural,
        quality,
        ..Default::default()
    };
    Encoder::with_neural(config, neural.clone()).unwrap()
}

#[test]
fn round_trip_at_every_quality() {
    let neural = codec();
    let frame = picture(90, 70);
    let mut dec = Decoder::with_neural(neural.clone());
    let mut runs = Vec::new();
    for q in 1..=neural.levels() {
        let e = encoder(&neural, q).encode(&frame, 0).unwrap();
        assert!(matches!(
            e.header.codec,
            Codec::Neural {
                model_id: MODEL_ID,
                ..
            }
        ));
        let d = dec.decode(&e.bytes).unwrap();
        assert_eq!((d.frame.width(), d.frame.height()), (90, 70));
        let p = psnr(&frame, &d.frame).unwrap().overall;
        assert!(p > 18.0, "quality {q}: {p} dB");
        assert!(
            e.bytes.len() < frame.data().len() / 4,
            "quality {q}: {} bytes",
            e.bytes.len()
        );
        runs.push((e.bytes.len(), p));
    }
    // The top quality spends more bytes for a better picture than the lowest.
    let (lo, hi) = (runs[0], runs[runs.len() - 1]);
    assert!(hi.0 > lo.0 && hi.1 > lo.1, "{runs:?}");
}

#[test]
fn every_pixel_format_round_trips() {
    let neural = codec();
    let rgb = picture(40, 24);
    let rgba = Frame::new(
        40,
        24,
        PixelFormat::Rgba8,
        rgb.data()
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
    )
    .unwrap();
    let i420 = aic_core::color::to_i420(&rgb);
    for frame in [rgb, rgba, i420] {
        let e = encoder(&neural, 4).encode(&frame, 0).unwrap();
        let d = Decoder::with_neural(neural.clone())
            .decode(&e.bytes)
            .unwrap();
        assert_eq!(d.frame.format(), frame.format());
        assert!(psnr(&frame, &d.frame).unwrap().overall > 18.0);
    }
}

#[test]
fn decoded_symbols_equal_encoded_symbols() {
    let neural = codec();
    let frame = picture(64, 48);
    let latent = pollster::block_on(neural.analyze(&frame, 2)).unwrap();
    let payload = pollster::block_on(neural.encode_payload(&frame, 2)).unwrap();
    assert_eq!(neural.decode_latent(&payload, 2, 64, 48).unwrap(), latent);
}

#[test]
fn other_weights_and_corrupt_payloads_are_refused_and_harmless() {
    let neural = codec();
    let frame = picture(48, 32);
    let good = encoder(&neural, 3).encode(&frame, 0).unwrap().bytes;
    // No model at all.
    assert_eq!(
        Decoder::new().decode(&good).unwrap_err().code(),
        "model_mismatch"
    );
    let mut dec = Decoder::with_neural(neural.clone());
    // Same frame claiming other weights.
    let (h, payload, _) = read_frame(&good).unwrap();
    let other = FrameHeader {
        codec: Codec::Neural {
            model_id: MODEL_ID,
            weights_hash: 0x1234,
        },
        ..h
    };
    let other = write_frame(&other, payload).unwrap();
    assert_eq!(dec.decode(&other).unwrap_err().code(), "model_mismatch");
    // A damaged payload with a valid checksum: decoding fails cleanly or yields a frame.
    for cut in [0, 4, payload.len() / 2] {
        let bad = write_frame(&h, &payload[..cut]).unwrap();
        let _ = dec.decode(&bad);
    }
    let odd = write_frame(&h, &payload[..payload.len() - 1]).unwrap();
    assert_eq!(
        dec.decode(&odd).unwrap_err().code(),
        "format.corrupt_payload"
    );
    // The decoder is unharmed.
    let d = dec.decode(&good).unwrap();
    assert!(psnr(&frame, &d.frame).unwrap().overall > 18.0);
}

#[test]
fn auto_uses_the_model_and_bad_quality_is_a_parameter_error() {
    let neural = codec();
    let cfg = EncoderConfig {
        codec: CodecChoice::Auto,
        quality: 2,
        ..Default::default()
    };
    let e = Encoder::with_neural(cfg, neural.clone())
        .unwrap()
        .encode(&picture(32, 32), 5)
        .unwrap();
    assert!(e.fallback_reason.is_none());
    assert!(matches!(e.header.codec, Codec::Neural { .. }));
    let cfg = EncoderConfig {
        codec: CodecChoice::Neural,
        quality: neural.levels() + aic_core::quality::EXTRA_LEVELS + 1,
        ..Default::default()
    };
    assert_eq!(
        Encoder::with_neural(cfg, neural).unwrap_err().code(),
        "parameter"
    );
}

#[test]
fn frames_above_the_neural_size_limit_are_refused_or_sent_losslessly() {
    use aic_core::limits::MAX_NEURAL_PIXELS;
    let neural = codec();
    // 3856×2160 pads to 3856×2160: just above 3840×2160.
    let (w, h) = (3856, 2160);
    assert!(u64::from(w) * u64::from(h) > MAX_NEURAL_PIXELS);
    let big = Frame::new(w, h, PixelFormat::Rgb8, vec![90; (w * h * 3) as usize]).unwrap();
    let err = encoder(&neural, 3).encode(&big, 0).unwrap_err();
    assert_eq!(err.code(), "limits_exceeded");
    let auto = EncoderConfig {
        codec: CodecChoice::Auto,
        ..Default::default()
    };
    let e = Encoder::with_neural(auto, neural.clone())
        .unwrap()
        .encode(&big, 0)
        .unwrap();
    assert_eq!(e.header.codec, Codec::Zlib);
    assert!(e.fallback_reason.unwrap().contains("limit"));
    // A crafted header naming a huge neural frame with a tiny payload: refused, no allocation.
    let good = encoder(&neural, 3)
        .encode(&picture(32, 32), 0)
        .unwrap()
        .bytes;
    let (header, payload, _) = read_frame(&good).unwrap();
    let huge = FrameHeader {
        width: 8192,
        height: 8192,
        ..header
    };
    let mut dec = Decoder::with_neural(neural);
    let huge = write_frame(&huge, payload).unwrap();
    assert_eq!(dec.decode(&huge).unwrap_err().code(), "limits_exceeded");
    assert_eq!(dec.latent(&huge).unwrap_err().code(), "limits_exceeded");
    assert!(dec.decode(&good).is_ok());
}

/// The CPU backend's Winograd synthesis shows the picture Burn's own convolutions show, to
/// within the ±1 level allowed between backends, at every quality, and it is on by default.
#[test]
fn winograd_synthesis_matches_burn_convolutions() {
    let fast = codec();
    assert!(fast.winograd(), "on by default on Flex");
    let mut direct = NeuralCodec::clone(&fast);
    direct.set_winograd(false).unwrap();
    assert!(!direct.winograd());
    let direct = Arc::new(direct);
    let frame = picture(150, 100);
    for q in 1..=fast.levels() {
        let bytes = encoder(&fast, q).encode(&frame, 0).unwrap().bytes;
        let a = Decoder::with_neural(fast.clone())
            .decode(&bytes)
            .unwrap()
            .frame;
        let b = Decoder::with_neural(direct.clone())
            .decode(&bytes)
            .unwrap()
            .frame;
        let diffs: Vec<u8> = a
            .data()
            .iter()
            .zip(b.data())
            .map(|(x, y)| x.abs_diff(*y))
            .collect();
        let worst = diffs.iter().copied().max().unwrap_or(0);
        let off = diffs.iter().filter(|d| **d > 0).count();
        assert!(worst <= 1, "quality {q}: a sample off by {worst}");
        assert!(
            off * 100 < diffs.len(),
            "quality {q}: {off} of {} samples differ",
            diffs.len()
        );
    }
}
