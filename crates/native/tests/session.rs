//! Live video over a lossy channel, in virtual time: seeded loss, reordering and duplication
//! over a real clip never show a corrupt frame, and the stream recovers; bad feedback and a
//! key-frame request storm are handled.

use std::path::PathBuf;
use std::sync::Arc;

use aic_core::Frame;
use aic_core::codec::NeuralCodec;
use aic_core::session::{Sender, SenderConfig};
use aic_core::wire::Feedback;
use aic_native::backend::Backend;
use aic_native::simulate::{ChannelConfig, simulate};
use aic_native::video::load_clip;

fn clip() -> (Vec<Frame>, f64) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/generated/clips/talking-320x240.y4m");
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-clips.sh --tests-only",
        path.display()
    );
    load_clip(&path, None, None).unwrap()
}

fn model() -> Arc<NeuralCodec> {
    Backend::Flex.load_model().unwrap()
}

#[test]
fn loss_reordering_and_duplicates_never_show_a_corrupt_frame() {
    let (frames, fps) = clip();
    let neural = model();
    // (loss, seed, least fraction of frames shown): every lost frame freezes the picture
    // until the next key frame (a round trip plus the reorder wait), so heavy loss shows less.
    for (loss, seed, least) in [(0.01, 1, 0.6), (0.05, 2, 0.5), (0.20, 3, 0.15)] {
        let channel = ChannelConfig {
            loss,
            reorder: 0.05,
            duplicate: 0.02,
            delay_us: 50_000,
            rate_kbps: None,
            seed,
        };
        let r = simulate(&neural, &frames, fps, 300.0, channel).unwrap();
        let s = &r.summary;
        eprintln!(
            "loss {:.0} %: {} of {} shown, {} refused, {} late, {} key frames, {} requests, recovery max {:.0} ms {:?}, delay p50/p95 {:.0}/{:.0} ms, {:.2} dB",
            loss * 100.0,
            s.shown,
            s.frames,
            s.refused,
            s.late,
            s.key_frames,
            s.key_requests,
            s.max_recovery_ms,
            s.recovery_ms,
            s.delay_p50_ms,
            s.delay_p95_ms,
            s.mean_psnr
        );
        assert_eq!(s.corrupt, 0, "loss {loss}: corrupt frames shown");
        assert!(
            s.shown as f64 >= least * s.frames as f64,
            "loss {loss}: only {} shown",
            s.shown
        );
        assert!(s.recovery_ms.len() >= 2, "loss {loss}: no recovery episode");
        if loss <= 0.05 {
            assert!(
                s.max_recovery_ms <= 1000.0,
                "loss {loss}: recovery took {} ms",
                s.max_recovery_ms
            );
            // The last frames are shown: the stream recovered.
            assert!(
                r.frames[r.frames.len() - 10..]
                    .iter()
                    .any(|f| f.status == "shown")
            );
        }
    }
}

#[test]
fn bad_feedback_and_a_request_storm_are_contained() {
    let (frames, fps) = clip();
    let mut sender = Sender::new(
        model(),
        SenderConfig {
            max_kbps: 300.0,
            fps,
            ..SenderConfig::default()
        },
    )
    .unwrap();
    for bad in [
        &b""[..],
        b"AF",
        b"AF\x01\x09xxxxxxxx",
        &[0xAA; 300],
        b"APxxxxxxxxxxxxxxxxxxxx",
    ] {
        assert!(sender.handle_feedback(bad, 0).is_err());
    }
    let request = Feedback::KeyFrameRequest { last_decoded: None }.to_bytes();
    let mut keys = 0;
    for (i, f) in frames.iter().take(50).enumerate() {
        let t = (i as f64 * 1e6 / fps) as u64;
        // A request before every frame: at most one key frame per 500 ms is honoured.
        sender.handle_feedback(&request, t).unwrap();
        let (_, stats) = sender.push_frame(f, t).unwrap();
        keys += usize::from(stats.kind == aic_core::wire::FrameKind::Key);
        while sender.poll_transmit().is_some() {}
    }
    let seconds = 50.0 / fps;
    assert!(
        keys as f64 <= seconds / 0.5 + 1.0,
        "{keys} key frames in {seconds} s under a request storm"
    );
}
