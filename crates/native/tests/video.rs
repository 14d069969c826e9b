//! Live video on real clips: inter frames that cannot drift across backends, rate control
//! that lands on its target and follows a new one, and bad streams refused with typed errors.
//! The clips come from `scripts/fetch-clips.sh --tests-only` (scripts/test.sh runs it).

use std::path::PathBuf;
use std::sync::Arc;

use aic_core::codec::NeuralCodec;
use aic_core::rate::RateTarget;
use aic_core::sequence::{VideoConfig, VideoEncoder};
use aic_core::wire::{FrameKind, read_frame, write_frame};
use aic_core::{Decoder, Frame};
use aic_native::backend::Backend;
use aic_native::video::load_clip;

fn clip(name: &str, fps: Option<f64>) -> (Vec<Frame>, f64) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/generated/clips")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-clips.sh --tests-only",
        path.display()
    );
    load_clip(&path, fps, None).unwrap()
}

fn model(b: Backend) -> Arc<NeuralCodec> {
    b.load_model()
        .unwrap_or_else(|e| panic!("{}: {e}", b.name()))
}

fn encoder(neural: &Arc<NeuralCodec>, kbps: f64, fps: f64) -> VideoEncoder {
    let target = RateTarget::Bitrate { kbps, fps };
    VideoEncoder::new(
        Arc::clone(neural),
        VideoConfig {
            target,
            ..VideoConfig::default()
        },
    )
    .unwrap()
}

/// 120 frames of a real webcam clip encoded on wgpu (lavapipe), decoded on Flex and on wgpu:
/// every frame's integer state is identical on all three, and the two pictures stay within
/// ±1 level of each other with no growth over the frames.
#[test]
fn delta_frames_do_not_drift_across_backends() {
    let (gpu, cpu) = (model(Backend::Wgpu), model(Backend::Flex));
    let (frames, fps) = clip("talking-320x240.y4m", None);
    assert!(frames.len() >= 100);
    let mut enc = encoder(&gpu, 300.0, fps);
    let (mut on_cpu, mut on_gpu) = (Decoder::with_neural(cpu), Decoder::with_neural(gpu));
    let mut deltas = 0;
    let mut worst_per_decile = [0u8; 10];
    for (i, f) in frames.iter().enumerate() {
        let e = enc.encode(f, i as u64 * 40_000).unwrap();
        deltas += usize::from(e.header.kind == FrameKind::Delta);
        let a = on_cpu.decode(&e.bytes).unwrap();
        let b = on_gpu.decode(&e.bytes).unwrap();
        let sent = enc.state().unwrap().checksum();
        assert_eq!(
            on_cpu.sequence_state().unwrap().checksum(),
            sent,
            "frame {i}"
        );
        assert_eq!(
            on_gpu.sequence_state().unwrap().checksum(),
            sent,
            "frame {i}"
        );
        let worst = a
            .frame
            .data()
            .iter()
            .zip(b.frame.data())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap();
        let d = &mut worst_per_decile[i * 10 / frames.len()];
        *d = (*d).max(worst);
    }
    eprintln!(
        "{deltas} delta frames; worst pixel difference per tenth of the clip: {worst_per_decile:?}"
    );
    assert!(deltas >= frames.len() - 2, "only {deltas} delta frames");
    assert!(
        worst_per_decile.iter().all(|&w| w <= 1),
        "CPU and GPU pictures differ by more than 1: {worst_per_decile:?}"
    );
}

/// Bits per 2-second window, kbps.
fn windows(bytes: &[usize], fps: f64) -> Vec<f64> {
    let per = (2.0 * fps).round() as usize;
    bytes
        .chunks(per)
        .filter(|w| w.len() == per)
        .map(|w| w.iter().sum::<usize>() as f64 * 8.0 / 2.0 / 1000.0)
        .collect()
}

/// A real clip at 10 fps (12 s) at 160 kbps, then 80 kbps from 6 s: every 2-second window
/// after the first lands within ±10 % of its target, and the new target holds within 1 s.
#[test]
fn rate_control_lands_on_target_and_follows_a_change() {
    let cpu = model(Backend::Flex);
    let (talking, _) = clip("talking-320x240.y4m", Some(10.0));
    // 12 s: the talking clip forwards, backwards, forwards (no cut, so no key frame).
    let frames: Vec<&Frame> = talking
        .iter()
        .chain(talking.iter().rev())
        .chain(talking.iter())
        .take(120)
        .collect();
    assert_eq!(frames.len(), 120);
    let fps = 10.0;
    let mut enc = encoder(&cpu, 160.0, fps);
    let mut sizes = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        if i == 60 {
            enc.set_target(RateTarget::Bitrate { kbps: 80.0, fps })
                .unwrap();
        }
        sizes.push(enc.encode(f, i as u64 * 100_000).unwrap().bytes.len());
    }
    let w = windows(&sizes, fps);
    eprintln!("kbps per 2 s window: {w:.1?}");
    let n = w.len();
    assert!(n >= 4, "{n} windows");
    for (k, &kbps) in w.iter().enumerate().skip(1) {
        // Windows before the change at 6 s aim at 160, those after it at 80.
        let target = if (k + 1) * 20 <= 60 { 160.0 } else { 80.0 };
        assert!(
            (kbps / target - 1.0).abs() <= 0.10,
            "window {k}: {kbps:.1} kbps against {target}"
        );
    }
    // Within 1 s of the change the frames already spend at the new rate (±25 % per second).
    let second: f64 = sizes[70..80].iter().sum::<usize>() as f64 * 8.0 / 1000.0;
    assert!(
        (second / 80.0 - 1.0).abs() <= 0.25,
        "{second:.1} kbps in the second after the change"
    );
}

/// Bad streams: a delta frame without its reference, one claiming a reference the decoder
/// cannot have, and a corrupt one, are refused with typed errors and change nothing: the
/// next good frame decodes.
#[test]
fn bad_delta_frames_are_refused_and_the_stream_goes_on() {
    let cpu = model(Backend::Flex);
    let (frames, fps) = clip("static-320x240.y4m", None);
    let mut enc = encoder(&cpu, 300.0, fps);
    let coded: Vec<Vec<u8>> = frames[..6]
        .iter()
        .enumerate()
        .map(|(i, f)| enc.encode(f, i as u64 * 40_000).unwrap().bytes)
        .collect();
    assert_eq!(read_frame(&coded[0]).unwrap().0.kind, FrameKind::Key);
    assert_eq!(read_frame(&coded[1]).unwrap().0.kind, FrameKind::Delta);

    // A delta frame first: no reference.
    let mut dec = Decoder::with_neural(Arc::clone(&cpu));
    assert_eq!(
        dec.decode(&coded[1]).unwrap_err().code(),
        "reference_missing"
    );
    dec.decode(&coded[0]).unwrap();
    // Skipping frame 1: frame 2 refers to a frame this decoder never saw.
    assert_eq!(
        dec.decode(&coded[2]).unwrap_err().code(),
        "reference_missing"
    );
    // A frame "from the future" and one of another size are refused alike.
    let (h, payload, _) = read_frame(&coded[1]).unwrap();
    let future = write_frame(&aic_core::wire::FrameHeader { seq: 1000, ..h }, payload).unwrap();
    assert_eq!(dec.decode(&future).unwrap_err().code(), "reference_missing");
    let resized = write_frame(&aic_core::wire::FrameHeader { width: 64, ..h }, payload).unwrap();
    assert_eq!(
        dec.decode(&resized).unwrap_err().code(),
        "format.inconsistent"
    );
    // Corrupt motion payloads with valid checksums (`docs/format.md` §11.2): a syntax length
    // beyond the payload (a truncated vector field), reserved flags, a frame that uses no
    // reference, and a recovery frame naming a long-term reference that was never set.
    assert!(h.motion, "delta frames of an I420 stream are motion frames");
    let with = |edit: &dyn Fn(&mut Vec<u8>), header: aic_core::wire::FrameHeader| {
        let mut p = payload.to_vec();
        edit(&mut p);
        write_frame(&header, &p).unwrap()
    };
    let truncated = with(&|p| p[5..9].copy_from_slice(&u32::MAX.to_le_bytes()), h);
    assert_eq!(
        dec.decode(&truncated).unwrap_err().code(),
        "format.corrupt_payload"
    );
    let cut = with(&|p| p.truncate(12), h);
    assert!(dec.decode(&cut).is_err());
    let reserved = with(&|p| p[0] = 0xF1, h);
    assert_eq!(dec.decode(&reserved).unwrap_err().code(), "format.reserved");
    let no_reference = with(&|p| p[0] = 0, h);
    assert_eq!(
        dec.decode(&no_reference).unwrap_err().code(),
        "format.corrupt_payload"
    );
    let recovery = aic_core::wire::FrameHeader {
        recovery: true,
        ..h
    };
    let never_set = with(
        &|p| {
            p[0] = 2;
            p[1..5].copy_from_slice(&999u32.to_le_bytes());
        },
        recovery,
    );
    assert_eq!(
        dec.decode(&never_set).unwrap_err().code(),
        "reference_missing"
    );
    // The recovery flag must agree with the payload.
    let disagree = write_frame(&recovery, payload).unwrap();
    assert_eq!(
        dec.decode(&disagree).unwrap_err().code(),
        "format.corrupt_payload"
    );
    // None of that changed the state: frames 1..6 decode, as the encoder holds them.
    let held = dec.sequence_state().unwrap().clone();
    assert_eq!(held.seq, 0);
    for bytes in &coded[1..] {
        dec.decode(bytes).unwrap();
    }
    assert_eq!(
        dec.sequence_state().unwrap().checksum(),
        enc.state().unwrap().checksum()
    );
    // After a requested key frame, a fresh decoder joins the stream.
    enc.request_key_frame();
    let key = enc.encode(&frames[6], 6 * 40_000).unwrap();
    assert_eq!(key.header.kind, FrameKind::Key);
    let mut late = Decoder::with_neural(cpu);
    late.decode(&key.bytes).unwrap();
    let next = enc.encode(&frames[7], 7 * 40_000).unwrap();
    late.decode(&next.bytes).unwrap();
}

/// A still scene converges: after 3 s (once the latent is held at the top step and the
/// refinement layer has caught up) a frame costs little, and the picture is far better than
/// the first key frame's.
#[test]
fn a_still_scene_sharpens_and_then_costs_little() {
    let cpu = model(Backend::Flex);
    let (frames, fps) = clip("static-320x240.y4m", None);
    let still = &frames[0];
    let mut enc = encoder(&cpu, 300.0, fps);
    let mut dec = Decoder::with_neural(cpu);
    let mut sizes = Vec::new();
    let mut psnrs = Vec::new();
    for i in 0..75u64 {
        let e = enc.encode(still, i * 40_000).unwrap();
        let d = dec.decode(&e.bytes).unwrap();
        sizes.push(e.bytes.len());
        psnrs.push(aic_core::metrics::psnr(still, &d.frame).unwrap().overall);
    }
    let target_bytes_per_frame = 300_000.0 / 8.0 / fps;
    let tail: f64 = sizes[65..].iter().sum::<usize>() as f64 / 10.0;
    eprintln!("sizes: {sizes:?}");
    eprintln!(
        "first frame {} B {:.2} dB; last ten frames {tail:.0} B each, {:.2} dB",
        sizes[0], psnrs[0], psnrs[74]
    );
    assert!(psnrs[74] > psnrs[0] + 0.5, "{psnrs:?}");
    assert!(
        tail < 0.05 * target_bytes_per_frame,
        "{tail} B a frame once converged"
    );
}
