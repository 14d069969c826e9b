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

/// A sender capped at 300 kbps at `fps`, with an optional latency budget (µs).
fn sender_300(neural: Arc<NeuralCodec>, fps: f64, latency_budget_us: Option<u64>) -> Sender {
    Sender::new(
        neural,
        SenderConfig {
            max_kbps: 300.0,
            fps,
            latency_budget_us,
            ..SenderConfig::default()
        },
    )
    .unwrap()
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
            rate_change: None,
            send_buffer_bytes: 0,
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
    let mut sender = sender_300(model(), fps, None);
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

#[test]
fn a_frame_dropped_unsent_rolls_the_encoder_back() {
    let (frames, fps) = clip();
    let neural = model();
    let mut sender = sender_300(Arc::clone(&neural), fps, None);
    let mut receiver = aic_core::codec::Decoder::with_neural(Arc::clone(&neural));
    let mut sent = Vec::new();
    for (i, f) in frames.iter().take(12).enumerate() {
        let t = (i as f64 * 1e6 / fps) as u64;
        let (bytes, _) = sender.push_frame(f, t).unwrap();
        // The channel is behind on every third frame: its packets stay queued, and the next
        // frame replaces it.
        if i % 3 == 1 {
            continue;
        }
        let mut packets = Vec::new();
        while let Some(p) = sender.poll_transmit() {
            packets.push(p);
        }
        assert!(!packets.is_empty());
        let d = receiver.decode(&bytes).unwrap();
        sent.push(d.header.seq);
        assert_eq!(
            receiver.sequence_state(),
            sender.encoder().state(),
            "frame {i}: the receiver holds what the encoder believes it holds"
        );
    }
    assert_eq!(sender.dropped_frames(), 4);
    // Sequence numbers stay contiguous: a dropped frame's number is reused.
    assert_eq!(sent, (0..sent.len() as u32).collect::<Vec<_>>());
}

/// A frame that has started to go out can be taken whole before the next encode (the
/// browser sends it during the encode); a frame not started stays, and is still dropped.
#[test]
fn the_started_frame_can_be_taken_before_an_encode() {
    let (frames, fps) = clip();
    let mut sender = Sender::new(
        model(),
        SenderConfig {
            max_kbps: 300.0,
            fps,
            max_packet_bytes: 300,
            ..SenderConfig::default()
        },
    )
    .unwrap();
    let (first, _) = sender.push_frame(&frames[0], 0).unwrap();
    assert!(sender.take_started().is_empty(), "nothing has started yet");
    let one = sender.poll_transmit().unwrap();
    let rest = sender.take_started();
    assert!(
        !rest.is_empty(),
        "a key frame spans several 300-byte packets"
    );
    assert_eq!(sender.queued_packets(), 0);
    // The packets, in order, are the whole frame.
    let mut r = aic_core::wire::Reassembler::new(Default::default());
    for p in std::iter::once(&one).chain(&rest) {
        r.push(p, 0).unwrap();
    }
    assert_eq!(r.poll_frame().unwrap(), first);
    // A frame not started is not taken, and the next push drops it.
    let t = (1e6 / fps) as u64;
    sender.push_frame(&frames[1], t).unwrap();
    assert!(sender.take_started().is_empty());
    sender.push_frame(&frames[2], 2 * t).unwrap();
    assert_eq!(sender.dropped_frames(), 1);
}

#[test]
fn pacing_follows_a_capacity_drop_without_delay_build_up() {
    let (clip_frames, fps) = clip();
    // The clip twice over (forwards, then backwards, so there is no cut): 9.6 s.
    let frames: Vec<Frame> = clip_frames
        .iter()
        .chain(clip_frames.iter().rev())
        .cloned()
        .collect();
    let neural = model();
    let change_s = 3.0;
    let channel = ChannelConfig {
        loss: 0.0,
        reorder: 0.0,
        duplicate: 0.0,
        delay_us: 50_000,
        rate_kbps: Some(300.0),
        rate_change: Some(((change_s * 1e6) as u64, 150.0)),
        send_buffer_bytes: 0,
        seed: 7,
    };
    let r = simulate(&neural, &frames, fps, 300.0, channel).unwrap();
    let s = &r.summary;
    let after = |sec: f64| (sec * fps) as usize;
    let settled: Vec<f64> = r.frames[after(change_s + 2.0)..]
        .iter()
        .filter_map(|f| f.delay_ms)
        .collect();
    let mut sorted = settled.clone();
    sorted.sort_by(f64::total_cmp);
    let p95 = sorted[((sorted.len() - 1) as f64 * 0.95) as usize];
    let tail = &r.frames[after(change_s + 2.0)..];
    let tail_kbps = tail
        .iter()
        .filter(|f| f.status != "dropped")
        .map(|f| f.bytes as f64 * 8.0 / 1000.0)
        .sum::<f64>()
        / (tail.len() as f64 / fps);
    eprintln!(
        "capacity 300 → 150 kbps at {change_s} s: {} shown, {} dropped unsent, {} late; from 2 s after the drop: {tail_kbps:.0} kbps sent, delay p95 {p95:.0} ms; overall p50/p95 {:.0}/{:.0} ms",
        s.shown, s.dropped, s.late, s.delay_p50_ms, s.delay_p95_ms
    );
    assert_eq!(s.corrupt, 0);
    assert!(s.dropped > 0, "the pacing never engaged");
    assert!(
        tail_kbps <= 160.0,
        "the sender did not follow the capacity: {tail_kbps:.0} kbps"
    );
    // A 50 ms path: a flat delay, not one that grows with the backlog (without pacing it
    // reached ≈ 470 ms at the 95th percentile, with late frames).
    assert!(p95 <= 300.0, "delay p95 {p95:.0} ms after the drop");
    assert_eq!(s.late, 0);
}

/// Frame `i` of the (looped) clip through `sender` (every packet taken) and decoded by
/// `receiver`: the decoded frame, the sender's stats, and its YUV-PSNR against the source.
fn send_and_show(
    sender: &mut Sender,
    receiver: &mut aic_core::codec::Decoder,
    clip: &[Frame],
    i: usize,
    fps: f64,
) -> (
    aic_core::codec::DecodedFrame,
    aic_core::sequence::VideoFrameStats,
    f64,
) {
    let f = &clip[i % clip.len()];
    let (bytes, stats) = sender.push_frame(f, (i as f64 * 1e6 / fps) as u64).unwrap();
    while sender.poll_transmit().is_some() {}
    let d = receiver.decode(&bytes).unwrap();
    let p = aic_core::metrics::psnr(
        &aic_core::color::to_i420(f),
        &aic_core::color::to_i420(&d.frame),
    )
    .unwrap()
    .overall;
    (d, stats, p)
}

#[test]
fn over_its_latency_budget_the_sender_drops_the_refinement_layer_and_comes_back() {
    use aic_core::session::{LatencyMode, STEP_UP_FRAMES};
    let (clip_frames, fps) = clip();
    let neural = model();
    let mut sender = sender_300(Arc::clone(&neural), fps, Some(20_000));
    let mut receiver = aic_core::codec::Decoder::with_neural(Arc::clone(&neural));
    let n = 10 + STEP_UP_FRAMES as usize + 10;
    let mut refined = Vec::new();
    let mut kinds = Vec::new();
    for i in 0..n {
        let (d, stats, p) = send_and_show(&mut sender, &mut receiver, &clip_frames, i, fps);
        // The layer's frames: refined key frames and motion frames (which carry their own
        // residual).
        refined.push(d.header.refined || d.header.motion);
        kinds.push(stats.kind);
        assert!(
            p > 30.0,
            "frame {i}: {p:.2} dB (a drifting layer would fall far lower)"
        );
        // The application's measurement: slow for the first 4 frames (one step down), then
        // fast.
        sender.on_encode_time(if i < 4 { 80_000 } else { 5_000 });
    }
    let on = refined
        .iter()
        .position(|&r| r)
        .expect("the layer is on at first (I420 input)");
    let off = on
        + refined[on..]
            .iter()
            .position(|&r| !r)
            .expect("the layer turned off");
    assert!(off <= 6, "turned off at frame {off}");
    assert_eq!(sender.latency_mode(), LatencyMode::Full, "stepped back up");
    assert_eq!(sender.latency_switches(), 2);
    // The layer restarts with a key frame: no refined frame between the switch down and it.
    // (With motion frames the switch down is a key frame too: the motion references end with
    // the layer.)
    let key = off
        + 1
        + kinds[off + 1..]
            .iter()
            .position(|&k| k == aic_core::wire::FrameKind::Key)
            .expect("a key frame when the layer comes back");
    assert!(
        key >= off + STEP_UP_FRAMES as usize,
        "key frame at {key}, switched down at {off}"
    );
    assert!(refined[off..key].iter().all(|&r| !r));
    assert!(
        refined[key..].iter().filter(|&&r| r).count() >= 5,
        "{:?}",
        &refined[key..]
    );
}

#[test]
fn far_over_its_budget_the_sender_halves_the_resolution_and_climbs_back_one_step_at_a_time() {
    use aic_core::session::{LatencyMode, STEP_UP_FRAMES};
    let (clip_frames, fps) = clip();
    let neural = model();
    let mut sender = sender_300(Arc::clone(&neural), fps, Some(20_000));
    let mut receiver = aic_core::codec::Decoder::with_neural(Arc::clone(&neural));
    let steps = STEP_UP_FRAMES as usize;
    let n = 12 + 2 * steps + 10;
    let mut modes = Vec::new();
    let (w, h) = (clip_frames[0].width(), clip_frames[0].height());
    for i in 0..n {
        let (d, stats, p) = send_and_show(&mut sender, &mut receiver, &clip_frames, i, fps);
        // Whatever the mode, the receiver shows the frame at its size, close to the source.
        assert_eq!((d.frame.width(), d.frame.height()), (w, h));
        assert!(p > 26.0, "frame {i}: {p:.2} dB");
        modes.push((
            d.header.half,
            d.header.refined || d.header.motion,
            stats.kind,
        ));
        // Slow for 12 frames (two steps down), then fast enough to climb back.
        sender.on_encode_time(if i < 12 { 80_000 } else { 2_000 });
    }
    let first_half = modes.iter().position(|m| m.0).expect("half resolution");
    assert!(first_half <= 12, "half resolution from frame {first_half}");
    // Every switch of resolution is a key frame, and half-resolution frames carry no layer.
    for (i, pair) in modes.windows(2).enumerate() {
        if pair[0].0 != pair[1].0 {
            assert_eq!(pair[1].2, aic_core::wire::FrameKind::Key, "frame {}", i + 1);
        }
    }
    assert!(modes.iter().all(|m| !(m.0 && m.1)));
    let back = first_half + modes[first_half..].iter().position(|m| !m.0).unwrap();
    assert!(back >= 12 + steps, "full resolution again at {back}");
    assert_eq!(sender.latency_mode(), LatencyMode::Full, "climbed back");
    assert_eq!(sender.latency_switches(), 4);
    assert!(modes[n - 5..].iter().any(|m| m.1), "the layer is back");
}

/// Frames of `clip` through a video encoder numbered from `first_seq`, as packets per frame;
/// `stamp(i)` gives frame i's capture time.
fn encode_packets(
    neural: &Arc<NeuralCodec>,
    clip: &[Frame],
    first_seq: u32,
    stamp: impl Fn(usize) -> u64,
) -> Vec<Vec<Vec<u8>>> {
    let mut enc = aic_core::sequence::VideoEncoder::new(
        Arc::clone(neural),
        aic_core::sequence::VideoConfig::default(),
    )
    .unwrap()
    .with_first_seq(first_seq);
    let mut packetizer = aic_core::wire::Packetizer::new(1200).unwrap();
    clip.iter()
        .enumerate()
        .map(|(i, f)| {
            packetizer
                .packetize(&enc.encode(f, stamp(i)).unwrap().bytes)
                .unwrap()
        })
        .collect()
}

/// Feeds each frame's packets at `arrive(i)` µs; returns the shown sequence numbers and the
/// other events.
fn receive(
    neural: &Arc<NeuralCodec>,
    frames: &[Vec<Vec<u8>>],
    arrive: impl Fn(usize) -> u64,
) -> (Vec<u32>, Vec<String>) {
    use aic_core::session::{Receiver, ReceiverConfig, ReceiverEvent};
    let mut rx = Receiver::new(Arc::clone(neural), ReceiverConfig::default());
    let (mut shown, mut other) = (Vec::new(), Vec::new());
    for (i, packets) in frames.iter().enumerate() {
        let t = arrive(i);
        for p in packets {
            rx.handle_packet(p, t).unwrap();
        }
        rx.handle_timeout(t + 1);
        while let Some(e) = rx.poll_event() {
            match e {
                ReceiverEvent::Show { seq, .. } => shown.push(seq),
                e => other.push(format!("{e:?}")),
            }
        }
    }
    (shown, other)
}

#[test]
fn a_sequence_wrap_around_and_a_frame_from_the_future_do_not_break_the_stream() {
    let (frames, _) = clip();
    let neural = model();
    let clip = &frames[..10];
    // Numbered across u32::MAX: every frame shown, in order, nothing lost.
    let first = u32::MAX - 4;
    let packets = encode_packets(&neural, clip, first, |i| i as u64 * 40_000);
    let (shown, other) = receive(&neural, &packets, |i| 1_000_000 + i as u64 * 40_000);
    let expected: Vec<u32> = (0..10).map(|i| first.wrapping_add(i)).collect();
    assert_eq!(shown, expected, "{other:?}");
    // Frame 4 stamped an hour in the future (a clock jump or a crafted header): it is shown,
    // and the frames after it are not judged late against it.
    let packets = encode_packets(&neural, clip, 0, |i| {
        i as u64 * 40_000 + if i == 4 { 3_600_000_000 } else { 0 }
    });
    let (shown, other) = receive(&neural, &packets, |i| 1_000_000 + i as u64 * 40_000);
    assert_eq!(shown, (0..10).collect::<Vec<u32>>(), "{other:?}");
    // The same hour-ahead stamp on the very first frame: the baseline restarts from the
    // frames that follow (after a few), and the stream is shown again.
    let packets = encode_packets(&neural, clip, 0, |i| {
        i as u64 * 40_000 + if i == 0 { 3_600_000_000 } else { 0 }
    });
    let (shown, other) = receive(&neural, &packets, |i| 1_000_000 + i as u64 * 40_000);
    assert!(
        shown.contains(&9) && shown.len() >= 2,
        "shown {shown:?}; {other:?}"
    );
}
