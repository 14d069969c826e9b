//! `aic serve` on loopback, started by the tests: HTTP and gRPC round trips with a real photo,
//! a packet stream through `DecodeStream`, bad requests answered with typed errors while the
//! server keeps serving, a flood beyond the limits, and the drain.

mod common;

use std::sync::Arc;

use aic_core::wire::Packetizer;
use aic_native::serve::grpc::pb;
use common::{Http, http, http_with, model, photo, root, start};

fn psnr_rgb(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let se: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    10.0 * (255.0f64.powi(2) / (se / a.as_raw().len() as f64)).log10()
}

#[test]
fn http_round_trip_of_a_real_photo() {
    let (_rt, server) = start(|_| {});
    let png = photo();
    let original = image::load_from_memory(&png).unwrap().to_rgb8();
    let r = http(
        server.http,
        "POST",
        "/v1/compress?quality=4&metrics=true",
        "image/png",
        &png,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("x-aic-codec"), Some("neural"));
    let ratio: f64 = r
        .header("x-aic-compression-ratio")
        .unwrap()
        .parse()
        .unwrap();
    let psnr: f64 = r.header("x-aic-psnr-db").unwrap().parse().unwrap();
    assert!(ratio > 10.0 && psnr > 28.0, "ratio {ratio}, PSNR {psnr}");
    assert!(&r.body[..4] == b"AICF");

    let d = http(
        server.http,
        "POST",
        "/v1/decompress",
        "application/x-aic",
        &r.body,
    );
    assert_eq!(d.status, 200);
    assert_eq!(d.header("content-type"), Some("image/png"));
    let decoded = image::load_from_memory(&d.body).unwrap().to_rgb8();
    let p = psnr_rgb(&original, &decoded);
    assert!(
        (p - psnr).abs() < 0.01,
        "the server's PSNR {psnr} vs the PNG's {p}"
    );

    // A bitrate instead of a quality: at 25 fps, 300 kbps is ≈ 1.5 KB a frame on average; a
    // key frame may spend more, but far less than quality 4 did.
    let t = http(
        server.http,
        "POST",
        "/v1/compress?target_kbps=300&fps=25",
        "image/png",
        &png,
    );
    assert_eq!(t.status, 200);
    assert!(
        t.body.len() < r.body.len(),
        "{} vs {}",
        t.body.len(),
        r.body.len()
    );

    let m = http(server.admin, "GET", "/metrics", "text/plain", b"");
    let text = String::from_utf8(m.body).unwrap();
    assert!(
        text.contains("aic_frames_total{op=\"compress\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("aic_frames_total{op=\"decompress\"} 1"),
        "{text}"
    );
    assert_eq!(
        http(server.admin, "GET", "/readyz", "text/plain", b"").status,
        200
    );
    assert_eq!(
        http(server.http, "GET", "/healthz", "text/plain", b"").status,
        200
    );
}

#[test]
fn bad_requests_get_typed_errors_and_the_server_keeps_serving() {
    let (_rt, server) = start(|c| c.limits.max_body_bytes = 4 << 20);
    let a = server.http;
    let expect = |r: Http, status: u16, code: &str| {
        assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(
            r.json()["error"]["code"],
            code,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
    };
    expect(
        http(a, "POST", "/v1/decompress", "application/x-aic", b"garbage"),
        422,
        "format.truncated",
    );
    let garbage = vec![0x5a; 4096];
    expect(
        http(a, "POST", "/v1/decompress", "application/x-aic", &garbage),
        422,
        "format.bad_magic",
    );
    let good = http(a, "POST", "/v1/compress?quality=2", "image/png", &photo()).body;
    expect(
        http(
            a,
            "POST",
            "/v1/decompress",
            "application/x-aic",
            &good[..good.len() / 2],
        ),
        422,
        "format.truncated",
    );
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    expect(
        http(a, "POST", "/v1/decompress", "application/x-aic", &flipped),
        422,
        "format.bad_checksum",
    );
    expect(
        http(a, "POST", "/v1/compress", "image/png", b"not a png"),
        400,
        "bad_image",
    );
    expect(
        http(
            a,
            "POST",
            "/v1/compress?width=100000&height=100000",
            "application/octet-stream",
            b"x",
        ),
        413,
        "limits_exceeded",
    );
    expect(
        http(
            a,
            "POST",
            "/v1/compress?width=4&height=4&format=rgb8",
            "application/octet-stream",
            b"short",
        ),
        400,
        "parameter",
    );
    expect(
        http(a, "POST", "/v1/compress?quality=99", "image/png", &photo()),
        400,
        "bad_query",
    );
    expect(
        http(a, "POST", "/v1/compress?bogus=1", "image/png", &photo()),
        400,
        "bad_query",
    );
    expect(
        http(a, "POST", "/v1/compress", "image/png", &vec![0u8; 5 << 20]),
        413,
        "body_too_large",
    );
    // The development token (admin) of a server on loopback with no secret configured.
    let dev = server.dev_token();
    assert!(
        dev.is_some(),
        "a loopback server without a secret prints a token"
    );
    expect(
        http_with(a, "GET", "/v1/sessions/node.ffff", "", dev, b""),
        404,
        "no_session",
    );
    expect(
        http_with(
            a,
            "POST",
            "/v1/whip",
            "application/sdp",
            dev,
            b"v=0 garbage",
        ),
        400,
        "bad_sdp",
    );
    // A crafted header naming a huge frame is refused before any allocation.
    let mut huge = good.clone();
    huge[8..10].copy_from_slice(&60_000u16.to_le_bytes());
    let r = http(a, "POST", "/v1/decompress", "application/x-aic", &huge);
    assert!(r.status == 413 || r.status == 422, "{}", r.status);
    // Still serving.
    let ok = http(a, "POST", "/v1/decompress", "application/x-aic", &good);
    assert_eq!(ok.status, 200);
    let m = String::from_utf8(http(server.admin, "GET", "/metrics", "", b"").body).unwrap();
    assert!(
        m.contains("aic_errors_total{code=\"format.truncated\",op=\"decompress\"} 2"),
        "{m}"
    );
}

#[test]
fn a_flood_beyond_the_limits_gets_503_with_retry_after() {
    let (_rt, server) = start(|c| {
        c.limits.max_in_flight = 1;
        c.model.workers = 1;
        // The server-wide bound, not the per-client one (tests/security.rs).
        c.client_limits.in_flight = 64;
    });
    let png = Arc::new(photo());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let png = Arc::clone(&png);
            let a = server.http;
            std::thread::spawn(move || {
                http(
                    a,
                    "POST",
                    "/v1/compress?quality=6&metrics=true",
                    "image/png",
                    &png,
                )
            })
        })
        .collect();
    let answers: Vec<Http> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ok = answers.iter().filter(|r| r.status == 200).count();
    let busy: Vec<_> = answers.iter().filter(|r| r.status == 503).collect();
    assert_eq!(ok + busy.len(), 8, "every answer is 200 or 503");
    assert!(
        ok >= 1 && !busy.is_empty(),
        "{ok} served, {} refused",
        busy.len()
    );
    for r in &busy {
        assert_eq!(r.header("retry-after"), Some("1"));
        assert_eq!(r.json()["error"]["code"], "overloaded");
    }
    // The flood is over: served again.
    assert_eq!(
        http(server.http, "POST", "/v1/compress", "image/png", &png).status,
        200
    );
}

#[test]
fn grpc_round_trip_and_decode_stream() {
    let (rt, server) = start(|c| c.listen.grpc = c.listen.http);
    assert_eq!(server.grpc, server.http, "one port serves both");
    let url = format!("http://{}", server.grpc);
    rt.block_on(async move {
        let mut client = pb::codec_client::CodecClient::connect(url.clone())
            .await
            .unwrap();
        let r = client
            .compress_frame(pb::CompressRequest {
                input: Some(pb::compress_request::Input::Image(photo())),
                quality: 3,
                metrics: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.codec, "neural");
        assert_eq!(r.model_id, u32::from(aic_core::model::weights::MODEL_ID));
        assert!(
            r.psnr_db.unwrap() > 27.0 && r.compression_ratio > 10.0,
            "{r:?}"
        );
        let d = client
            .decompress_frame(pb::DecompressRequest {
                aic: r.aic.clone(),
                png: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let f = d.frame.unwrap();
        assert_eq!((f.width, f.height), (512, 512));
        assert!(d.png.starts_with(b"\x89PNG"));

        // Typed errors, and still serving.
        let e = client
            .decompress_frame(pb::DecompressRequest {
                aic: b"garbage".to_vec(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
        let e = client
            .compress_frame(pb::CompressRequest::default())
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");

        // gRPC health.
        let channel = tonic::transport::Endpoint::from_shared(url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        let h = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "aic.v1.Codec".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            h.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );

        // A live stream: a real clip through the video encoder, packetized, in one call.
        let (clip, _) = aic_native::video::load_clip(
            &root().join("tests/fixtures/generated/clips/talking-320x240.y4m"),
            None,
            Some(12),
        )
        .unwrap();
        let mut enc = aic_core::sequence::VideoEncoder::new(
            model(),
            aic_core::sequence::VideoConfig::default(),
        )
        .unwrap();
        let mut packetizer = Packetizer::new(1200).unwrap();
        let mut frames = vec![vec![pb::StreamPacket {
            packet: b"not a packet".to_vec(),
        }]];
        for (i, frame) in clip.iter().enumerate() {
            let f = enc.encode(frame, i as u64 * 80_000).unwrap();
            let packets = packetizer.packetize(&f.bytes).unwrap();
            frames.push(
                packets
                    .into_iter()
                    .map(|packet| pb::StreamPacket { packet })
                    .collect(),
            );
        }
        // Sent in real time, a frame every 80 ms (12.5 fps), as a live source would: frames
        // sent all at once would look late against their capture times, and a backlog would be
        // skipped as stale.
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            for packets in frames {
                for p in packets {
                    tx.send(p).await.unwrap();
                }
                tokio::time::sleep(std::time::Duration::from_millis(80)).await;
            }
        });
        let mut events = client
            .decode_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        let (mut shown, mut late, mut rejected) = (Vec::new(), Vec::new(), 0);
        while let Some(e) = events.message().await.unwrap() {
            match e.event {
                Some(pb::stream_event::Event::Shown(f)) => {
                    assert_eq!((f.width, f.height), (320, 240));
                    shown.push(e.seq);
                }
                Some(pb::stream_event::Event::Rejected(_)) => rejected += 1,
                // Decoded after its deadline (this machine is busy running the other tests in
                // parallel): applied, not shown.
                Some(pb::stream_event::Event::Dropped(r)) if r == "late" => late.push(e.seq),
                other => panic!("unexpected event {other:?}"),
            }
        }
        assert_eq!(rejected, 1);
        let mut all: Vec<u32> = shown.iter().chain(&late).copied().collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..12).collect::<Vec<u32>>(),
            "every frame decoded, in order"
        );
        assert!(shown.len() >= 6, "shown {shown:?}, late {late:?}");
    });
}

#[test]
fn drain_turns_unready_refuses_new_sessions_and_stops() {
    let (rt, server) = start(|c| {
        c.limits.unready_grace_ms = 1500;
        c.limits.drain_seconds = 5;
    });
    let (http_addr, admin) = (server.http, server.admin);
    let dev = server.dev_token().map(str::to_string);
    let drained = rt.spawn(server.drain());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(http(admin, "GET", "/readyz", "", b"").status, 503);
    // During the grace period requests are still served; new sessions are not.
    assert_eq!(
        http(
            http_addr,
            "POST",
            "/v1/compress?quality=1",
            "image/png",
            &photo()
        )
        .status,
        200
    );
    let w = http_with(
        http_addr,
        "POST",
        "/v1/whip",
        "application/sdp",
        dev.as_deref(),
        b"v=0\r\n",
    );
    assert_eq!(w.status, 503);
    assert_eq!(w.json()["error"]["code"], "draining");
    rt.block_on(drained).unwrap();
    assert!(
        std::net::TcpStream::connect(http_addr).is_err(),
        "the listener is closed after the drain"
    );
}

#[test]
fn a_request_past_its_deadline_gets_504_and_the_server_goes_on() {
    let (_rt, server) = start(|c| c.limits.request_timeout_ms = 1);
    // A 512×512 photo takes tens of ms to compress: far past a 1 ms deadline.
    let r = http(
        server.http,
        "POST",
        "/v1/compress?quality=3",
        "image/png",
        &photo(),
    );
    assert_eq!(r.status, 504, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"]["code"], "timeout");
    assert_eq!(http(server.http, "GET", "/healthz", "", b"").status, 200);
}
