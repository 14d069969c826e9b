//! WebRTC ingest: browsers send their AIC stream over a data channel; this node decodes it.
//!
//! - Signaling is WHIP-style (RFC 9725's shape on a data channel): `POST /v1/whip` with an
//!   SDP offer answers `201` with the SDP answer and a `Location: /v1/sessions/{id}`; the id
//!   names this node and 128 random bits (`{node}.{32 hex digits}`), and any node answers a
//!   request for another node's session with a `307` to it. `DELETE /v1/sessions/{id}` ends a
//!   session; `GET` gives its stats as JSON and `GET /v1/sessions/{id}/frame.png` its latest
//!   decoded frame.
//! - Access ([`access`]): WHIP needs a token with the `publish` grant; a session's routes answer
//!   only to the token that opened it, to a `view` token naming it or its stream, and to
//!   `admin` (everyone else gets the `404` of a session that does not exist); the list of
//!   sessions only to `admin`. The tokens are verified once per request by
//!   [`crate::serve::request`].
//! - Transport: str0m (sans-I/O, ICE-lite) with one UDP socket for every session of the node,
//!   demultiplexed by `Rtc::accepts` — [`run_loop`] drives them all from one task.
//! - Decoding: each session has a [`worker::DecodeWorker`] (the core receiver on its own
//!   thread, a bounded queue); its feedback (key-frame requests, reports) goes back to the
//!   browser on the same channel.

pub mod access;
pub mod session;
pub mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use str0m::change::SdpOffer;
use str0m::channel::ChannelId;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::auth::{Grant, Principal, random_hex};
use super::clients::ClientKey;
use super::config::WebRtc;
use super::error::{Kind, ServeError};
use super::request::Auth;
use super::service::{Service, SessionGuard, encode_png};
use crate::clock;
use access::{Denied, Owner, Want};
use session::SessionShared;
use worker::{DecodeWorker, WorkerOutput};

/// Random bytes in a session id (128 bits: not guessable).
pub const SESSION_ID_BYTES: usize = 16;

/// Most commands waiting for the UDP loop (new sessions, feedback to send, closes).
const COMMAND_QUEUE: usize = 1024;

/// Largest UDP datagram read.
const DATAGRAM_BYTES: usize = 2048;

/// What the HTTP side asks of the UDP loop.
enum Command {
    /// Start driving a new session.
    Add(Box<LiveSession>),
    /// Send a feedback message on a session's channel.
    Feedback(String, Vec<u8>),
    /// End a session.
    Close(String),
    /// End every session.
    CloseAll,
}

/// A session as the UDP loop holds it.
struct LiveSession {
    id: String,
    rtc: Rtc,
    channel: Option<ChannelId>,
    worker: Option<DecodeWorker>,
    shared: Arc<SessionShared>,
    next_timeout: Instant,
    last_input: Instant,
    _guard: SessionGuard,
}

/// The ingest side of one node.
#[derive(Debug)]
pub struct Ingest {
    service: Arc<Service>,
    config: WebRtc,
    udp: SocketAddr,
    candidate: SocketAddr,
    commands: mpsc::Sender<Command>,
    sessions: Arc<Registry>,
}

/// The sessions the HTTP API can see, by id (the UDP loop removes those that end).
type Registry = Mutex<HashMap<String, Arc<SessionShared>>>;

fn lock(r: &Registry) -> std::sync::MutexGuard<'_, HashMap<String, Arc<SessionShared>>> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Add(_) => "Add",
            Command::Feedback(..) => "Feedback",
            Command::Close(_) => "Close",
            Command::CloseAll => "CloseAll",
        })
    }
}

impl Ingest {
    /// Binds the UDP socket and starts the loop that drives every session.
    pub async fn start(service: Arc<Service>, config: WebRtc) -> Result<Self, String> {
        let socket = UdpSocket::bind(config.udp)
            .await
            .map_err(|e| format!("cannot bind the WebRTC UDP socket {}: {e}", config.udp))?;
        let udp = socket.local_addr().map_err(|e| e.to_string())?;
        let ip = config.public_ip.unwrap_or(udp.ip());
        if ip.is_unspecified() {
            return Err(format!(
                "the WebRTC socket listens on {udp}: give the address browsers reach it at with \
                 --public-ip (webrtc.public_ip)"
            ));
        }
        let candidate = SocketAddr::new(ip, udp.port());
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        let idle = Duration::from_secs(service.limits().session_idle_seconds);
        let sessions = Arc::new(Registry::default());
        tokio::spawn(run_loop(
            socket,
            rx,
            idle,
            Arc::clone(&service),
            Arc::clone(&sessions),
        ));
        Ok(Ingest {
            service,
            config,
            udp,
            candidate,
            commands,
            sessions,
        })
    }

    /// The UDP socket's address.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<SessionShared>>> {
        lock(&self.sessions)
    }

    /// Live sessions of this node.
    pub fn session_count(&self) -> usize {
        self.sessions().len()
    }

    /// Takes an SDP offer of `owner` (counted against `client`'s sessions), starts a session,
    /// returns its id and the SDP answer.
    pub async fn offer(
        self: &Arc<Self>,
        sdp: &str,
        owner: Owner,
        client: &ClientKey,
    ) -> Result<(String, String), ServeError> {
        let guard = self.service.admit_session("whip", Some(client))?;
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| {
            ServeError::new(
                Kind::BadRequest,
                "bad_sdp",
                format!("the SDP offer does not parse: {e}"),
            )
        })?;
        let now = clock::now();
        let mut rtc = Rtc::builder().set_ice_lite(true).build(now);
        let candidate = Candidate::host(self.candidate, "udp")
            .map_err(|e| ServeError::internal(format!("host candidate {}: {e}", self.candidate)))?;
        rtc.add_local_candidate(candidate);
        let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| {
            ServeError::new(
                Kind::BadRequest,
                "bad_sdp",
                format!("the SDP offer is not accepted: {e}"),
            )
        })?;
        let id = format!(
            "{}.{}",
            self.config.node_id,
            random_hex(SESSION_ID_BYTES).map_err(ServeError::internal)?
        );
        let record = self
            .config
            .record_dir
            .as_ref()
            .map(|d| d.join(format!("{id}.y4m")));
        let shared = Arc::new(SessionShared::new(&id, record, owner));
        let worker =
            {
                let shared = Arc::clone(&shared);
                let service = Arc::clone(&self.service);
                let commands = self.commands.clone();
                let sid = id.clone();
                let max_wait = Duration::from_millis(self.service.limits().session_backlog_ms);
                DecodeWorker::spawn(Arc::clone(&self.service), &id, Some(max_wait), move |out| {
                    match out {
                        WorkerOutput::Event(e) => {
                            if matches!(e, aic_core::session::ReceiverEvent::Show { .. }) {
                                service
                                    .metrics()
                                    .frames
                                    .with_label_values(&["ingest_decode"])
                                    .inc();
                            }
                            if let Some(reason) = shared.on_event(e) {
                                service
                                    .metrics()
                                    .ingest_dropped
                                    .with_label_values(&[reason])
                                    .inc();
                            }
                        }
                        WorkerOutput::Rejected(_) => shared.on_rejected(),
                        WorkerOutput::Stale(n) => {
                            shared.on_stale(n);
                            service
                                .metrics()
                                .ingest_dropped
                                .with_label_values(&["stale"])
                                .inc_by(n as u64);
                        }
                        WorkerOutput::Feedback(bytes) => {
                            if commands
                                .try_send(Command::Feedback(sid.clone(), bytes))
                                .is_ok()
                            {
                                shared.on_feedback();
                            }
                        }
                    }
                })
                .map_err(ServeError::internal)?
            };
        let live = LiveSession {
            id: id.clone(),
            rtc,
            channel: None,
            worker: Some(worker),
            shared: Arc::clone(&shared),
            next_timeout: now,
            last_input: now,
            _guard: guard,
        };
        self.sessions().insert(id.clone(), shared);
        if self
            .commands
            .send(Command::Add(Box::new(live)))
            .await
            .is_err()
        {
            self.sessions().remove(&id);
            return Err(ServeError::internal("the ingest loop has stopped"));
        }
        Ok((id, answer.to_sdp_string()))
    }

    /// Ends a session.
    pub fn close(&self, id: &str) -> Result<(), ServeError> {
        let shared = self.sessions().remove(id).ok_or_else(|| not_found(id))?;
        shared.set_state("closed");
        let _ = self.commands.try_send(Command::Close(id.to_string()));
        Ok(())
    }

    /// Ends every session (the end of a drain).
    pub fn close_all(&self) {
        self.sessions().clear();
        let _ = self.commands.try_send(Command::CloseAll);
    }

    fn get(&self, id: &str) -> Option<Arc<SessionShared>> {
        self.sessions().get(id).cloned()
    }

    /// Where a session that belongs to another node lives: its URL for a `307`, if known.
    fn redirect(&self, id: &str, uri: &Uri) -> Option<Response> {
        let node = id.split_once('.').map(|(n, _)| n)?;
        if node == self.config.node_id {
            return None;
        }
        let base = self.config.peer_url(node)?;
        let location = format!(
            "{base}{}",
            uri.path_and_query().map_or(uri.path(), |p| p.as_str())
        );
        let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
        r.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_str(&location).ok()?);
        Some(r)
    }
}

/// A session route's target for the token `p`: a `307` to the node that holds `id`, or this
/// node's session if `p` may do `want` to it; the same `404` for "no such session" and "not
/// yours".
fn lookup(
    ingest: &Ingest,
    id: &str,
    uri: &Uri,
    p: &Principal,
    want: Want,
) -> Result<Result<Arc<SessionShared>, Response>, ServeError> {
    if let Some(r) = ingest.redirect(id, uri) {
        return Ok(Err(r));
    }
    let s = ingest.get(id).ok_or_else(|| not_found(id))?;
    match s.owner().check(id, p, want) {
        Ok(()) => Ok(Ok(s)),
        Err(Denied::Hidden) => Err(not_found(id)),
        Err(Denied::Forbidden) => Err(ServeError::forbidden(
            "this token may read the session, not end it",
        )),
    }
}

fn not_found(id: &str) -> ServeError {
    ServeError::new(
        Kind::NotFound,
        "no_session",
        format!("no session {id:?} on this node"),
    )
}

/// The ingest routes: WHIP signaling and sessions. Browsers call them from a page of another
/// origin: CORS preflights and headers come from [`crate::serve::request`], for the origins the
/// configuration allows.
pub fn routes(ingest: Arc<Ingest>) -> Router {
    Router::new()
        .route("/v1/whip", post(whip))
        .route("/v1/sessions", get(list))
        .route("/v1/sessions/{id}", get(stats).delete(delete))
        .route("/v1/sessions/{id}/frame.png", get(frame_png))
        .with_state(ingest)
}

async fn whip(
    State(ingest): State<Arc<Ingest>>,
    Extension(auth): Extension<Auth>,
    Extension(client): Extension<ClientKey>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServeError> {
    let count = |e: ServeError| {
        ingest.service.count_error("whip", &e);
        e
    };
    let owner = Owner::of(auth.require_grant(Grant::Publish).map_err(count)?);
    let body = body.map_err(super::http::body_error).map_err(count)?;
    let ct = headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes());
    if ct.is_some_and(|ct| !ct.starts_with(b"application/sdp")) {
        return Err(count(ServeError::new(
            Kind::BadRequest,
            "bad_content_type",
            "send the SDP offer as application/sdp",
        )));
    }
    if body.len() > ingest.service.limits().max_sdp_bytes {
        return Err(count(ServeError::new(
            Kind::TooLarge,
            "body_too_large",
            "the SDP offer is too large",
        )));
    }
    let sdp = std::str::from_utf8(&body).map_err(|_| {
        count(ServeError::new(
            Kind::BadRequest,
            "bad_sdp",
            "the SDP offer is not UTF-8",
        ))
    })?;
    let (id, answer) = ingest.offer(sdp, owner, &client).await?;
    let mut r = (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/sdp")],
        answer,
    )
        .into_response();
    let location = format!("/v1/sessions/{id}");
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

async fn list(
    State(ingest): State<Arc<Ingest>>,
    Extension(auth): Extension<Auth>,
) -> Result<Response, ServeError> {
    auth.require_grant(Grant::Admin)?;
    let all: Vec<_> = ingest.sessions().values().map(|s| s.stats()).collect();
    Ok(
        axum::Json(serde_json::json!({ "node": ingest.config.node_id, "sessions": all }))
            .into_response(),
    )
}

async fn stats(
    State(ingest): State<Arc<Ingest>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ServeError> {
    match lookup(&ingest, &id, &uri, auth.require()?, Want::Read)? {
        Ok(s) => Ok(axum::Json(s.stats()).into_response()),
        Err(redirect) => Ok(redirect),
    }
}

async fn delete(
    State(ingest): State<Arc<Ingest>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ServeError> {
    if let Err(redirect) = lookup(&ingest, &id, &uri, auth.require()?, Want::End)? {
        return Ok(redirect);
    }
    ingest.close(&id)?;
    Ok(StatusCode::OK.into_response())
}

async fn frame_png(
    State(ingest): State<Arc<Ingest>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ServeError> {
    let s = match lookup(&ingest, &id, &uri, auth.require()?, Want::Read)? {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let (frame, seq) = s.latest().ok_or_else(|| {
        ServeError::new(
            Kind::NotFound,
            "no_frame",
            format!("session {id:?} has shown no frame yet"),
        )
    })?;
    let png = tokio::task::spawn_blocking(move || encode_png(&frame))
        .await
        .map_err(|e| ServeError::internal(e.to_string()))??;
    let mut r = ([(header::CONTENT_TYPE, "image/png")], png).into_response();
    if let Ok(v) = HeaderValue::from_str(&seq.to_string()) {
        r.headers_mut().insert("x-aic-seq", v);
    }
    Ok(r)
}

/// Drives every session of the node: one UDP socket, str0m's run loop per session
/// (`handle_input`, then `poll_output` until `Timeout`), commands from the HTTP side.
async fn run_loop(
    socket: UdpSocket,
    mut commands: mpsc::Receiver<Command>,
    idle: Duration,
    service: Arc<Service>,
    registry: Arc<Registry>,
) {
    let local = match socket.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let mut sessions: Vec<LiveSession> = Vec::new();
    let mut buf = vec![0u8; DATAGRAM_BYTES];
    loop {
        let now = clock::now();
        let next = sessions
            .iter()
            .map(|s| s.next_timeout)
            .min()
            .unwrap_or(now + Duration::from_millis(500))
            .max(now);
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { continue };
                let Ok(receive) = Receive::new(Protocol::Udp, source, local, &buf[..n]) else { continue };
                let input = Input::Receive(clock::now(), receive);
                if let Some(s) = sessions.iter_mut().find(|s| s.rtc.accepts(&input)) {
                    s.last_input = clock::now();
                    if s.rtc.handle_input(input).is_err() {
                        s.rtc.disconnect();
                    }
                    drive(s, &socket, &service);
                }
            }
            c = commands.recv() => match c {
                None => return,
                Some(Command::Add(mut s)) => {
                    drive(&mut s, &socket, &service);
                    sessions.push(*s);
                }
                Some(Command::Feedback(id, bytes)) => {
                    if let Some(s) = sessions.iter_mut().find(|s| s.id == id)
                        && let Some(mut ch) = s.channel.and_then(|c| s.rtc.channel(c))
                    {
                        // A full send buffer drops the message: feedback is periodic.
                        let _ = ch.write(true, &bytes);
                        drive(s, &socket, &service);
                    }
                }
                Some(Command::Close(id)) => {
                    if let Some(s) = sessions.iter_mut().find(|s| s.id == id) {
                        s.rtc.disconnect();
                    }
                }
                Some(Command::CloseAll) => {
                    for s in &mut sessions {
                        s.rtc.disconnect();
                    }
                }
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(next)) => {
                let now = clock::now();
                for s in sessions.iter_mut().filter(|s| s.next_timeout <= now) {
                    if s.rtc.handle_input(Input::Timeout(now)).is_err() {
                        s.rtc.disconnect();
                    }
                    drive(s, &socket, &service);
                }
            }
        }
        let now = clock::now();
        let mut i = 0;
        while i < sessions.len() {
            let s = &mut sessions[i];
            if s.rtc.is_alive() && now.duration_since(s.last_input) < idle {
                i += 1;
                continue;
            }
            let mut s = sessions.swap_remove(i);
            s.shared.set_state("closed");
            lock(&registry).remove(&s.id);
            // Joining the worker waits for the frame it decodes: not on the loop's thread.
            if let Some(w) = s.worker.take() {
                tokio::task::spawn_blocking(move || drop(w));
            }
        }
    }
}

/// Polls a session's output until it has nothing more to do now.
fn drive(s: &mut LiveSession, socket: &UdpSocket, service: &Service) {
    loop {
        let out = match s.rtc.poll_output() {
            Ok(o) => o,
            Err(_) => {
                s.rtc.disconnect();
                s.next_timeout = clock::now();
                return;
            }
        };
        match out {
            Output::Timeout(t) => {
                s.next_timeout = t;
                return;
            }
            Output::Transmit(t) => {
                // UDP: a full socket buffer drops the datagram, as the network may.
                let _ = socket.try_send_to(&t.contents, t.destination);
            }
            Output::Event(e) => match e {
                Event::Connected => s.shared.set_state("connected"),
                Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                    s.rtc.disconnect()
                }
                Event::ChannelOpen(id, _) => s.channel = Some(id),
                Event::ChannelData(d) => {
                    let n = d.data.len();
                    let queued = s.worker.as_ref().is_some_and(|w| w.push(d.data));
                    s.shared.on_packet(n, queued);
                    service
                        .metrics()
                        .bytes_in
                        .with_label_values(&["ingest"])
                        .inc_by(n as u64);
                    if !queued {
                        service
                            .metrics()
                            .ingest_dropped
                            .with_label_values(&["queue_full"])
                            .inc();
                    }
                }
                Event::ChannelClose(_) => s.rtc.disconnect(),
                _ => {}
            },
        }
    }
}
