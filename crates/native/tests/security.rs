//! The attacker's test (`docs/server.md`, "Security"): a real `aic serve` on loopback with a
//! configured secret, and what a stranger would try against it — no token, an expired one, one
//! signed with another secret, `alg: none`, a publisher reading someone else's session, a
//! viewer ending one, guessed session ids, a 100 MB body, a garbage SDP, slow-loris headers and
//! bodies, and a flood from one client while another's requests must still be served in time.
//! Every attempt must be refused with the right status while the server keeps serving.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use aic_native::serve::RunningServer;
use aic_native::serve::auth::{Claims, Grant, Keyring};
use common::{Http, http_with, start};

const SECRET: &str = "attacker-test-secret-0123456789abcdef";
const OTHER_SECRET: &str = "another-servers-secret-0123456789abcdef";

fn now() -> u64 {
    aic_native::clock::unix_nanos() / 1_000_000_000
}

fn ring(secret: &str) -> Keyring {
    Keyring::new(&[("k1".into(), secret.into())]).unwrap()
}

/// A token of `sub` signed with `secret`, valid for `ttl` seconds from `from`.
fn token_at(secret: &str, sub: &str, grants: &[Grant], stream: Option<&str>, from: u64) -> String {
    let c = Keyring::claims(sub, grants.to_vec(), stream.map(str::to_string), 600, from).unwrap();
    ring(secret).mint(&c).unwrap()
}

fn token(sub: &str, grants: &[Grant], stream: Option<&str>) -> String {
    token_at(SECRET, sub, grants, stream, now())
}

fn view_of(sessions: &[&str]) -> String {
    let mut c: Claims = Keyring::claims("viewer", vec![Grant::View], None, 600, now()).unwrap();
    c.sessions = sessions.iter().map(|s| s.to_string()).collect();
    ring(SECRET).mint(&c).unwrap()
}

/// A token with header `{"alg":"none"}` and admin claims, no signature.
fn alg_none() -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let claims = format!(
        r#"{{"sub":"mallory","exp":{},"grants":["admin"]}}"#,
        now() + 600
    );
    format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&claims))
}

/// A real SDP offer with one data channel (str0m, as `aic send` makes it).
fn offer() -> String {
    let mut rtc = str0m::Rtc::builder().build(aic_native::clock::now());
    let mut change = rtc.sdp_api();
    change.add_channel("aic".into());
    let (offer, _pending) = change.apply().unwrap();
    offer.to_sdp_string()
}

fn secured() -> (tokio::runtime::Runtime, RunningServer) {
    start(|c| {
        c.auth.secret = Some(SECRET.into());
        c.auth.codec_requires_token = true;
        c.limits.header_timeout_ms = 1000;
        c.limits.body_timeout_ms = 1000;
        // The rate limit is the flood test's; here every attempt must reach its check.
        c.client_limits.requests_per_second = 10_000.0;
        c.client_limits.in_flight = 2;
        c.client_limits.sessions = 2;
    })
}

/// Asserts the status and error code of an answer; returns it.
#[track_caller]
fn expect(r: Http, status: u16, code: &str) -> Http {
    let body = String::from_utf8_lossy(&r.body).to_string();
    assert_eq!(r.status, status, "{body}");
    assert_eq!(r.json()["error"]["code"], code, "{body}");
    r
}

fn whip(a: SocketAddr, token: Option<&str>) -> Http {
    http_with(
        a,
        "POST",
        "/v1/whip",
        "application/sdp",
        token,
        offer().as_bytes(),
    )
}

/// Opens a session with `token`; returns its path (`/v1/sessions/{id}`).
fn open_session(a: SocketAddr, token: &str) -> String {
    let r = whip(a, Some(token));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.header("location").unwrap().to_string()
}

#[test]
fn tokens_missing_expired_foreign_or_unsigned_get_401() {
    let (_rt, server) = secured();
    let a = server.http;
    let publish = token("alice", &[Grant::Publish], Some("cam"));
    let session = open_session(a, &publish);
    let expired = token_at(SECRET, "alice", &[Grant::Admin], None, now() - 3600);
    let foreign = token_at(OTHER_SECRET, "alice", &[Grant::Admin], None, now());
    let none = alg_none();
    let cases: [(Option<&str>, &str); 5] = [
        (None, "token_missing"),
        (Some("not-a-jwt"), "token_malformed"),
        (Some(&expired), "token_expired"),
        (Some(&foreign), "token_signature"),
        (Some(&none), "token_algorithm"),
    ];
    let frame = format!("{session}/frame.png");
    for (t, code) in cases {
        let r = expect(whip(a, t), 401, code);
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"aic\""));
        for (method, path) in [
            ("GET", "/v1/sessions"),
            ("GET", session.as_str()),
            ("GET", frame.as_str()),
            ("DELETE", session.as_str()),
        ] {
            expect(http_with(a, method, path, "", t, b""), 401, code);
        }
        // The codec API, configured to need a token.
        expect(
            http_with(a, "POST", "/v1/compress", "image/png", t, b"x"),
            401,
            code,
        );
    }
    // The session is untouched, and its publisher still reaches it.
    let r = http_with(a, "GET", &session, "", Some(&publish), b"");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let m =
        String::from_utf8(http_with(server.admin, "GET", "/metrics", "", None, b"").body).unwrap();
    assert!(
        m.contains("aic_refusals_total{reason=\"token_algorithm\"} 6"),
        "{m}"
    );
}

#[test]
fn sessions_answer_only_to_their_token_viewers_and_admin() {
    let (_rt, server) = secured();
    let a = server.http;
    let alice = token("alice", &[Grant::Publish], Some("cam"));
    let bob = token("bob", &[Grant::Publish], Some("door"));
    let session = open_session(a, &alice);
    let id = session.rsplit('/').next().unwrap().to_string();
    let (node, random) = id.split_once('.').unwrap();
    assert_eq!(node, "node");
    assert_eq!(random.len(), 32, "128 random bits: {id}");
    let frame = format!("{session}/frame.png");

    // Another publisher, and a viewer of another stream: the 404 of a session that does not
    // exist, byte for byte (apart from the id).
    let missing = format!("/v1/sessions/node.{}", "0".repeat(32));
    let absent = expect(
        http_with(a, "GET", &missing, "", Some(&bob), b""),
        404,
        "no_session",
    );
    let door_viewer = token("eve", &[Grant::View], Some("door"));
    for t in [&bob, &door_viewer] {
        for (method, path) in [("GET", &session), ("GET", &frame), ("DELETE", &session)] {
            let r = expect(
                http_with(a, method, path, "", Some(t), b""),
                404,
                "no_session",
            );
            let strip = |h: &Http, id: &str| String::from_utf8_lossy(&h.body).replace(id, "ID");
            assert_eq!(
                strip(&r, &id),
                strip(&absent, missing.rsplit('/').next().unwrap())
            );
        }
        // Only admin lists sessions.
        expect(
            http_with(a, "GET", "/v1/sessions", "", Some(t), b""),
            403,
            "forbidden",
        );
    }
    // A view token may not publish.
    expect(whip(a, Some(&door_viewer)), 403, "forbidden");

    // Viewers of the stream or of the session id read it and cannot end it.
    let cam_viewer = token("carol", &[Grant::View], Some("cam"));
    for t in [cam_viewer, view_of(&[&id])] {
        assert_eq!(http_with(a, "GET", &session, "", Some(&t), b"").status, 200);
        expect(
            http_with(a, "DELETE", &session, "", Some(&t), b""),
            403,
            "forbidden",
        );
    }

    // Guessing ids: every guess is the same 404.
    for i in 0..200u32 {
        let guess = format!(
            "/v1/sessions/node.{:032x}",
            u128::from(i) * 0x9e37_79b9_7f4a_7c15
        );
        expect(
            http_with(a, "GET", &guess, "", Some(&bob), b""),
            404,
            "no_session",
        );
    }

    // Admin lists and reads; the publisher ends its own session.
    let admin = token("ops", &[Grant::Admin], None);
    let list = http_with(a, "GET", "/v1/sessions", "", Some(&admin), b"");
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["sessions"][0]["id"], id.as_str());
    assert_eq!(
        http_with(a, "DELETE", &session, "", Some(&alice), b"").status,
        200
    );
    expect(
        http_with(a, "GET", &session, "", Some(&admin), b""),
        404,
        "no_session",
    );
}

#[test]
fn per_client_sessions_bodies_and_garbage_are_refused_and_the_server_serves_on() {
    let (_rt, server) = secured();
    let a = server.http;
    let alice = token("alice", &[Grant::Publish], None);
    // Two sessions per client, then 429 with Retry-After; another client still opens one.
    let _s1 = open_session(a, &alice);
    let _s2 = open_session(a, &token("alice", &[Grant::Publish], None));
    let r = expect(whip(a, Some(&alice)), 429, "client_sessions");
    assert!(r.header("retry-after").is_some());
    let _s3 = open_session(a, &token("bob", &[Grant::Publish], None));

    // A garbage SDP: 400.
    let bob = token("bob", &[Grant::Publish], None);
    expect(
        http_with(
            a,
            "POST",
            "/v1/whip",
            "application/sdp",
            Some(&bob),
            b"v=0\r\no=garbage\r\n\x00\xff",
        ),
        400,
        "bad_sdp",
    );

    // A 100 MB body: refused from its Content-Length, before it is read.
    let mut s = TcpStream::connect(a).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /v1/compress HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {bob}\r\n\
         Content-Type: image/png\r\nContent-Length: {}\r\n\r\n",
        100 << 20
    )
    .unwrap();
    let _ = s.write_all(&vec![0u8; 1 << 20]);
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");
    drop(s);

    // Still serving: a real frame through the codec API with a token.
    let ok = http_with(
        a,
        "POST",
        "/v1/compress?quality=1",
        "image/png",
        Some(&bob),
        &common::photo(),
    );
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
}

/// Reads until the server closes the connection or answers; returns how long that took and
/// the bytes it sent.
fn wait_closed(s: &mut TcpStream) -> (Duration, Vec<u8>) {
    let t = aic_native::clock::now();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    (t.elapsed(), out)
}

#[test]
fn slow_loris_headers_are_cut_off_and_slow_bodies_get_408() {
    let (_rt, server) = secured();
    let a = server.http;
    // Headers trickled one byte every 200 ms: the connection is closed at the header timeout
    // (1 s here), not held for as long as the client likes.
    let mut s = TcpStream::connect(a).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || {
            for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
                if w.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let (took, _) = wait_closed(&mut s);
    assert!(took < Duration::from_secs(10), "held for {took:?}");
    writer.join().unwrap();

    // A body trickled in: 408 at the body timeout.
    let bob = token("bob", &[Grant::Publish], None);
    let mut s = TcpStream::connect(a).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /v1/whip HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {bob}\r\n\
         Content-Type: application/sdp\r\nContent-Length: 1000\r\n\r\nv=0\r\n"
    )
    .unwrap();
    let (took, answer) = wait_closed(&mut s);
    assert!(
        answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(took < Duration::from_secs(10), "held for {took:?}");
    // Still serving.
    assert_eq!(http_with(a, "GET", "/healthz", "", None, b"").status, 200);
}

fn p99(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[((ms.len() as f64 * 0.99).ceil() as usize).clamp(1, ms.len()) - 1]
}

/// The honest client's requests: a small real frame through the codec API, `n` times in a
/// row; each one's time in ms (every answer must be 200).
fn honest_requests(a: SocketAddr, token: &str, png: &[u8], n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let t = aic_native::clock::now();
            let r = http_with(
                a,
                "POST",
                "/v1/compress?quality=1",
                "image/png",
                Some(token),
                png,
            );
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect()
}

/// A 64×64 crop of the real photo, as PNG.
fn small_png() -> Vec<u8> {
    let img = image::load_from_memory(&common::photo()).unwrap().to_rgb8();
    let crop = image::imageops::crop_imm(&img, 200, 100, 64, 64).to_image();
    let mut out = std::io::Cursor::new(Vec::new());
    crop.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn a_flood_from_one_client_is_refused_429_and_the_other_client_is_served_in_time() {
    let (_rt, server) = start(|c| {
        c.auth.secret = Some(SECRET.into());
        c.auth.codec_requires_token = true;
        // The honest client sends at most 20 requests a second.
        c.client_limits.requests_per_second = 20.0;
        c.client_limits.in_flight = 1;
    });
    let a = server.http;
    let png = Arc::new(small_png());
    let honest = token("honest", &[Grant::Publish], None);
    let _ = honest_requests(a, &honest, &png, 5);
    // Paced under the honest client's own rate limit.
    let paced = |n| {
        (0..n)
            .flat_map(|_| {
                std::thread::sleep(Duration::from_millis(60));
                honest_requests(a, &honest, &png, 1)
            })
            .collect::<Vec<_>>()
    };
    let unloaded = p99(paced(40));

    let stop = Arc::new(AtomicBool::new(false));
    let (served, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let flood = token("mallory", &[Grant::Publish], None);
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (stop, served, refused) =
                (Arc::clone(&stop), Arc::clone(&served), Arc::clone(&refused));
            let (png, flood) = (Arc::clone(&png), flood.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let r = http_with(
                        a,
                        "POST",
                        "/v1/compress?quality=1",
                        "image/png",
                        Some(&flood),
                        &png,
                    );
                    match r.status {
                        200 => served.fetch_add(1, Ordering::Relaxed),
                        429 => {
                            assert!(r.header("retry-after").is_some());
                            refused.fetch_add(1, Ordering::Relaxed)
                        }
                        s => panic!("the flood got {s}"),
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let loaded = p99(paced(40));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let (served, refused) = (
        served.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    eprintln!(
        "flood: {served} served, {refused} refused (429); honest p99 {unloaded:.1} ms unloaded, \
         {loaded:.1} ms under the flood"
    );
    assert!(
        refused > 10 * served.max(1),
        "{served} served, {refused} refused"
    );
    assert!(
        loaded <= 2.0 * unloaded.max(5.0),
        "honest p99 {loaded:.1} ms under the flood vs {unloaded:.1} ms unloaded"
    );
}
