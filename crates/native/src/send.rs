//! `aic send`: a native WebRTC peer that streams a clip to an `aic serve` node, the way a
//! browser does — WHIP signaling (`POST` the SDP offer, `DELETE` the session at the end), an
//! unordered channel without retransmissions (`maxRetransmits: 0`), the core [`Sender`]
//! (rate control, packets, feedback). The server's three-node and load tests use it to open
//! ingest sessions without a browser.
//!
//! str0m is the offerer here (full ICE, controlling); the server is ICE-lite. Each session is
//! one thread with one UDP socket.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aic_core::Frame;
use aic_core::codec::NeuralCodec;
use aic_core::session::{Sender, SenderConfig};
use serde::Serialize;
use str0m::change::SdpAnswer;
use str0m::channel::{ChannelConfig, ChannelId, Reliability};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use crate::clock::{self, Stopwatch};

/// How one session sends.
#[derive(Debug, Clone)]
pub struct SendConfig {
    /// The WHIP endpoint, e.g. `http://127.0.0.1:8080/v1/whip`.
    pub whip: String,
    /// The access token (`publish` grant) sent as `Authorization: Bearer`; it also reads and
    /// ends the session it opens.
    pub token: Option<String>,
    /// The bitrate cap, kbps.
    pub target_kbps: f64,
    /// Frames a second.
    pub fps: f64,
    /// How long to send, seconds.
    pub seconds: f64,
    /// Largest packet, bytes.
    pub packet_bytes: usize,
    /// The encoder's time budget per frame, ms (over it the sender drops the refinement layer,
    /// then halves the resolution).
    pub latency_budget_ms: Option<f64>,
}

/// What one session did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SendReport {
    /// The session's URL (after redirects).
    pub session: String,
    /// Time from the offer to the open channel, ms.
    pub connect_ms: f64,
    /// Frames encoded and handed to the channel.
    pub frames_sent: u64,
    /// Frames dropped unsent because the channel was behind (the encoder rolled back).
    pub frames_dropped: u64,
    /// Times the sender switched its latency mode (refinement layer off or on, half or full
    /// resolution).
    pub latency_switches: u64,
    /// The latency mode at the end: `full`, `no_refinement` or `half_resolution`.
    pub latency_mode: &'static str,
    /// Packets written to the channel.
    pub packets_sent: u64,
    /// Packets the channel's buffer refused (dropped, as a congested sender drops).
    pub packets_dropped: u64,
    /// Bytes written.
    pub bytes_sent: u64,
    /// Mean bitrate over the run, kbps.
    pub kbps: f64,
    /// Key-frame requests received.
    pub key_requests: u64,
    /// Feedback messages received.
    pub feedback: u64,
    /// The server's stats of the session just before it ended (`GET` on the session URL).
    pub server: Option<serde_json::Value>,
}

/// Largest UDP datagram read.
const DATAGRAM_BYTES: usize = 2048;

/// How long the channel may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// With no feedback (receiver reports every 200 ms) for this long, the server is gone.
const FEEDBACK_TIMEOUT: Duration = Duration::from_secs(3);

/// The session's connection: str0m, its socket, the channel once open.
struct Link {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    channel: Option<ChannelId>,
    buf: Vec<u8>,
}

impl Link {
    /// Polls str0m until it waits; returns when it next wants the time.
    fn drain(
        &mut self,
        sender: &mut Sender,
        report: &mut SendReport,
        clock: &Stopwatch,
        last_feedback: &mut Instant,
    ) -> Result<Instant, String> {
        loop {
            match self.rtc.poll_output().map_err(|e| e.to_string())? {
                Output::Timeout(t) => return Ok(t),
                Output::Transmit(t) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Output::Event(e) => match e {
                    Event::ChannelOpen(id, _) => self.channel = Some(id),
                    Event::ChannelData(d) => {
                        report.feedback += 1;
                        *last_feedback = clock::now();
                        let _ = sender.handle_feedback(&d.data, (clock.elapsed_s() * 1e6) as u64);
                    }
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected)
                    | Event::ChannelClose(_) => {
                        return Err("the connection ended early".into());
                    }
                    _ => {}
                },
            }
        }
    }

    /// Paced: packets go to the channel only while it holds less than two frames; a frame
    /// still waiting when the next one comes is dropped by the sender (and its encoder rolled
    /// back), so delay cannot build up in the channel.
    fn pace(&mut self, sender: &mut Sender, report: &mut SendReport) {
        let Some(id) = self.channel else { return };
        let low_water = sender.channel_low_water_bytes();
        while let Some(mut ch) = self.rtc.channel(id) {
            if ch.buffered_amount() >= low_water {
                break;
            }
            let Some(p) = sender.poll_transmit() else {
                break;
            };
            match ch.write(true, &p) {
                Ok(true) => {
                    report.packets_sent += 1;
                    report.bytes_sent += p.len() as u64;
                }
                _ => report.packets_dropped += 1,
            }
        }
    }

    /// Waits for a datagram until `wake` (at least a moment) and feeds it to str0m, or feeds
    /// the time; says whether a datagram came (then more may be waiting).
    fn read(&mut self, wake: Instant) -> Result<bool, String> {
        let wait = wake
            .saturating_duration_since(clock::now())
            .max(Duration::from_micros(10));
        self.socket
            .set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        let input = match self.socket.recv_from(&mut self.buf) {
            Ok((n, source)) => {
                match Receive::new(Protocol::Udp, source, self.local, &self.buf[..n]) {
                    Ok(r) => Input::Receive(clock::now(), r),
                    Err(_) => return Ok(true),
                }
            }
            Err(_) => Input::Timeout(clock::now()),
        };
        let got = matches!(input, Input::Receive(..));
        self.rtc.handle_input(input).map_err(|e| e.to_string())?;
        Ok(got)
    }
}

/// Streams `frames` (looped) to the WHIP endpoint for `config.seconds`, then ends the session.
pub fn send_clip(
    neural: Arc<NeuralCodec>,
    frames: &[Frame],
    config: &SendConfig,
) -> Result<SendReport, String> {
    if frames.is_empty() {
        return Err("no frames to send".into());
    }
    let clock = Stopwatch::start();
    let mut rtc = Rtc::builder().build(clock::now());
    let mut change = rtc.sdp_api();
    change.add_channel_with_config(ChannelConfig {
        label: "aic".into(),
        ordered: false,
        reliability: Reliability::MaxRetransmits { retransmits: 0 },
        ..ChannelConfig::default()
    });
    let (offer, pending) = change.apply().ok_or("no SDP change to offer")?;
    let (session, answer_sdp) = post_offer(
        &config.whip,
        &offer.to_sdp_string(),
        config.token.as_deref(),
    )?;
    let answer = SdpAnswer::from_sdp_string(&answer_sdp)
        .map_err(|e| format!("the SDP answer does not parse: {e}"))?;
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .map_err(|e| format!("the SDP answer is not accepted: {e}"))?;
    let remote = answer_candidate(&answer_sdp)?;
    let socket =
        UdpSocket::bind(SocketAddr::new(unspecified(remote.ip()), 0)).map_err(|e| e.to_string())?;
    let local = SocketAddr::new(
        route_to(remote)?,
        socket.local_addr().map_err(|e| e.to_string())?.port(),
    );
    rtc.add_local_candidate(
        Candidate::host(local, "udp").map_err(|e| format!("local candidate {local}: {e}"))?,
    );

    let mut sender = Sender::new(
        neural,
        SenderConfig {
            max_kbps: config.target_kbps,
            min_kbps: (config.target_kbps / 10.0).min(50.0),
            fps: config.fps,
            max_packet_bytes: config.packet_bytes,
            latency_budget_us: config.latency_budget_ms.map(|ms| (ms * 1000.0) as u64),
            ..SenderConfig::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let mut report = SendReport {
        session: session.clone(),
        ..SendReport::default()
    };
    let mut link = Link {
        rtc,
        socket,
        local,
        channel: None,
        buf: vec![0u8; DATAGRAM_BYTES],
    };
    let interval = Duration::from_secs_f64(1.0 / config.fps);
    let connect_deadline = clock::now() + CONNECT_TIMEOUT;
    let mut frame_index = 0usize;
    let mut schedule: Option<(Instant, Instant)> = None; // (next frame, end)
    let mut last_feedback = clock::now();
    // Whether the last read found a datagram: then read again before encoding the next frame,
    // so acknowledgements and feedback never wait behind a slow encoder.
    let mut more_input = false;
    loop {
        // Everything str0m has to say, then everything the network has for us: acknowledgements
        // and feedback are read between any two frames, however slow encoding is.
        let timeout = link.drain(&mut sender, &mut report, &clock, &mut last_feedback)?;
        let now = clock::now();
        if link.channel.is_none() {
            if now > connect_deadline {
                return Err(format!(
                    "the data channel to {session} did not open within {CONNECT_TIMEOUT:?}"
                ));
            }
        } else if schedule.is_none() {
            report.connect_ms = clock.elapsed_ms();
            schedule = Some((now, now + Duration::from_secs_f64(config.seconds)));
            last_feedback = now;
        }
        if let Some((next, end)) = schedule {
            if now >= end {
                break;
            }
            if now.duration_since(last_feedback) > FEEDBACK_TIMEOUT {
                return Err(format!(
                    "{session}: no feedback from the server for {FEEDBACK_TIMEOUT:?}"
                ));
            }
            if now >= next && !more_input {
                let frame = &frames[frame_index % frames.len()];
                frame_index += 1;
                let encode = Stopwatch::start();
                sender
                    .push_frame(frame, (clock.elapsed_s() * 1e6) as u64)
                    .map_err(|e| e.to_string())?;
                sender.on_encode_time((encode.elapsed_s() * 1e6) as u64);
                report.frames_sent += 1;
                // The next frame is due an interval later, or now if encoding took longer —
                // but only after the network has been read (the loop's top).
                schedule = Some(((next + interval).max(clock::now()), end));
            }
            link.pace(&mut sender, &mut report);
        }
        let wake = if more_input {
            clock::now()
        } else {
            schedule.map_or(timeout, |(next, _)| next.min(timeout))
        };
        more_input = link.read(wake)?;
    }
    report.key_requests = sender.key_requests();
    let mut rtc = link.rtc;
    report.frames_dropped = sender.dropped_frames();
    report.latency_switches = sender.latency_switches();
    report.latency_mode = sender.latency_mode().name();
    let seconds = config.seconds.max(1e-3);
    report.kbps = report.bytes_sent as f64 * 8.0 / 1000.0 / seconds;
    // Give the last frames time to be decoded, then read the server's view of the session.
    std::thread::sleep(Duration::from_millis(300));
    report.server = request("GET", &session, config.token.as_deref(), "", b"", 3)
        .ok()
        .filter(|a| a.status == 200)
        .and_then(|a| serde_json::from_slice(&a.body).ok());
    rtc.disconnect();
    // Ending the session is a courtesy: the server also closes idle sessions.
    let _ = request("DELETE", &session, config.token.as_deref(), "", b"", 3);
    Ok(report)
}

fn unspecified(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::from([0, 0, 0, 0]),
        IpAddr::V6(_) => IpAddr::from([0u16; 8]),
    }
}

/// The local address the system routes `remote` from (a connected UDP socket sends nothing).
fn route_to(remote: SocketAddr) -> Result<IpAddr, String> {
    let s =
        UdpSocket::bind(SocketAddr::new(unspecified(remote.ip()), 0)).map_err(|e| e.to_string())?;
    s.connect(remote)
        .map_err(|e| format!("no route to {remote}: {e}"))?;
    Ok(s.local_addr().map_err(|e| e.to_string())?.ip())
}

/// The first UDP host candidate of an SDP answer.
fn answer_candidate(sdp: &str) -> Result<SocketAddr, String> {
    for line in sdp.lines() {
        let Some(c) = line.trim().strip_prefix("a=candidate:") else {
            continue;
        };
        let f: Vec<&str> = c.split_whitespace().collect();
        if f.len() >= 6
            && f[2].eq_ignore_ascii_case("udp")
            && let (Ok(ip), Ok(port)) = (f[4].parse::<IpAddr>(), f[5].parse::<u16>())
        {
            return Ok(SocketAddr::new(ip, port));
        }
    }
    Err("the SDP answer has no UDP candidate".into())
}

/// POSTs an SDP offer (following redirects); returns the session URL and the answer.
fn post_offer(whip: &str, offer: &str, token: Option<&str>) -> Result<(String, String), String> {
    let r = request("POST", whip, token, "application/sdp", offer.as_bytes(), 3)?;
    if r.status != 201 {
        return Err(format!(
            "{whip} answered {} to the offer: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
    }
    let location = r.location.ok_or("the answer has no Location")?;
    let session = resolve(&r.url, &location)?;
    Ok((session, String::from_utf8_lossy(&r.body).into_owned()))
}

/// An HTTP answer.
struct Answer {
    url: String,
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
}

/// `http://host:port` + `/path` of an absolute URL.
fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    Ok((host.to_string(), path.to_string()))
}

/// Resolves a Location against the URL it answered.
fn resolve(base: &str, location: &str) -> Result<String, String> {
    if location.starts_with("http://") {
        return Ok(location.to_string());
    }
    let (host, _) = split_url(base)?;
    Ok(format!("http://{host}{location}"))
}

/// A minimal HTTP/1.1 request on its own connection, with `token` as a bearer token, following
/// up to `redirects` 307s (a session URL may name another node).
fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
    redirects: u32,
) -> Result<Answer, String> {
    let (host, path) = split_url(url)?;
    let addr = host
        .to_socket_addrs()
        .map_err(|e| format!("{host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}: no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("{url}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|_| s.write_all(body))
        .map_err(|e| format!("{url}: {e}"))?;
    let mut raw = Vec::new();
    s.take(1 << 20)
        .read_to_end(&mut raw)
        .map_err(|e| format!("{url}: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{url}: no HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{url}: bad status line"))?;
    let location = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.trim().to_string());
    if status == 307
        && redirects > 0
        && let Some(l) = &location
    {
        return request(
            method,
            &resolve(url, l)?,
            token,
            content_type,
            body,
            redirects - 1,
        );
    }
    Ok(Answer {
        url: url.to_string(),
        status,
        location,
        body: raw[split + 4..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_candidates_parse() {
        assert_eq!(
            split_url("http://10.0.0.1:8080/v1/whip").unwrap(),
            ("10.0.0.1:8080".into(), "/v1/whip".into())
        );
        assert!(split_url("https://x/").is_err());
        assert_eq!(
            resolve("http://lb:80/v1/whip", "/v1/sessions/n1.ab").unwrap(),
            "http://lb:80/v1/sessions/n1.ab"
        );
        let sdp = "v=0\r\na=candidate:1 1 udp 2130706175 127.0.0.1 50000 typ host\r\n";
        assert_eq!(
            answer_candidate(sdp).unwrap(),
            "127.0.0.1:50000".parse().unwrap()
        );
        assert!(answer_candidate("v=0\r\n").is_err());
    }
}
