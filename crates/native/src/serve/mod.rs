//! `aic serve`: the model over HTTP and gRPC, and server-side decoding of browsers' live
//! streams over WebRTC (`docs/server.md`).
//!
//! # Module overview
//! - [`config`]: flags and the TOML file; [`limits`]: every bound, named; [`clients`]: the
//!   per-client limits.
//! - [`auth`]: access tokens (JWT, HS256) and their grants; [`request`]: what every request
//!   passes through (request id, token, per-client limits, body timeout, audit lines);
//!   [`conn`]: the accept loop (header timeout, connection cap).
//! - [`service`]: the one shared object (model, worker pool, limits, metrics) behind every
//!   interface; [`error`]: its typed errors as HTTP statuses and gRPC codes.
//! - [`http`]: the axum API; [`grpc`]: the tonic service `aic.v1.Codec` and gRPC health;
//!   [`admin`]: `/metrics`, `/livez`, `/readyz`; [`metrics`]: the Prometheus registry.
//! - [`ingest`]: WHIP-style signaling, str0m sessions on one UDP socket, per-session decoding.
//!
//! The server drains on SIGTERM or Ctrl-C: it turns unready at once (`/readyz` answers `503`,
//! new sessions are refused), keeps serving for `unready_grace_ms` so load balancers notice,
//! then stops taking connections, finishes what is in flight, and stops at the latest
//! `drain_seconds` after the signal.

pub mod admin;
pub mod auth;
pub mod clients;
pub mod config;
pub mod conn;
pub mod error;
pub mod grpc;
pub mod http;
pub mod ingest;
pub mod limits;
pub mod metrics;
pub mod request;
pub mod service;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aic_core::codec::NeuralCodec;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::ServeConfig;
pub use limits::Limits;
pub use service::Service;

/// How long the development token printed on loopback is valid, seconds.
pub const DEV_TOKEN_TTL_SECONDS: u64 = 12 * 3600;

/// The part of `drain_seconds` kept for closing what is left after waiting.
const TEARDOWN: Duration = Duration::from_millis(500);

/// A started server: its bound addresses (useful with port 0) and what stops it.
#[derive(Debug)]
pub struct RunningServer {
    /// The HTTP API's address.
    pub http: SocketAddr,
    /// The gRPC address (the HTTP one when they share a port).
    pub grpc: SocketAddr,
    /// The admin address.
    pub admin: SocketAddr,
    /// The WebRTC ingest's UDP address.
    pub udp: SocketAddr,
    dev_token: Option<String>,
    service: Arc<Service>,
    ingest: Arc<ingest::Ingest>,
    stop: watch::Sender<bool>,
    admin_stop: watch::Sender<bool>,
    listeners: Vec<JoinHandle<()>>,
    admin_task: JoinHandle<()>,
}

async fn bind(addr: SocketAddr, what: &str) -> Result<(TcpListener, SocketAddr), String> {
    let l = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen for {what} on {addr}: {e}"))?;
    let a = l.local_addr().map_err(|e| e.to_string())?;
    Ok((l, a))
}

fn serve_on(
    listener: TcpListener,
    router: axum::Router,
    service: &Arc<Service>,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let router = router.layer(axum::middleware::from_fn_with_state(
        request::Gate {
            service: Arc::clone(service),
        },
        request::gate,
    ));
    conn::serve(listener, router, Arc::clone(service), stop)
}

/// The keyring of `config`, or — with no secret configured and every listener on loopback —
/// one made of a random secret, with an admin development token. Off loopback without a
/// secret: an error that says how to configure one.
pub fn keyring(config: &ServeConfig) -> Result<(auth::Keyring, Option<String>), String> {
    if let Some(k) = config.auth.keyring()? {
        return Ok((k, None));
    }
    if !config.is_loopback() {
        return Err(format!(
            "refusing to listen on {} / {} without a token secret: anyone who reaches the \
             port could publish and watch streams. Set one (at least {} bytes) in the \
             configuration's [auth] secret or in the environment variable {}, e.g. \
             `export {}=$(head -c 32 /dev/urandom | base64)`, then mint tokens with `aic token`",
            config.listen.http,
            config.listen.grpc,
            auth::MIN_SECRET_BYTES,
            auth::SECRET_ENV,
            auth::SECRET_ENV
        ));
    }
    let secret = auth::random_hex(32)?;
    let ring = auth::Keyring::new(&[("dev".to_string(), secret)])?;
    let now = crate::clock::unix_nanos() / 1_000_000_000;
    let claims = auth::Keyring::claims(
        "dev",
        vec![auth::Grant::Admin],
        None,
        DEV_TOKEN_TTL_SECONDS,
        now,
    )?;
    let token = ring.mint(&claims)?;
    Ok((ring, Some(token)))
}

/// Starts every listener of `config` with the model `neural`; returns once they are bound.
pub async fn start(config: ServeConfig, neural: Arc<NeuralCodec>) -> Result<RunningServer, String> {
    config.validate()?;
    let (keyring, dev_token) = keyring(&config)?;
    let access = service::Access {
        keyring,
        cors: config::Cors::new(&config.cors, config.listen.http),
        codec_requires_token: config.auth.codec_requires_token,
        client_limits: config.client_limits,
    };
    let service = Arc::new(Service::new(
        neural,
        config.limits,
        config.workers(),
        &config.model.backend,
        access,
    ));
    let ingest =
        Arc::new(ingest::Ingest::start(Arc::clone(&service), config.webrtc.clone()).await?);
    let http_router = http::routes(Arc::clone(&service)).merge(ingest::routes(Arc::clone(&ingest)));
    let grpc_router = grpc::routes(Arc::clone(&service));
    let (stop, stop_rx) = watch::channel(false);
    let mut listeners = Vec::new();
    let (http, grpc) = if config.listen.http == config.listen.grpc {
        let (l, a) = bind(config.listen.http, "HTTP and gRPC").await?;
        listeners.push(serve_on(
            l,
            http_router.merge(grpc_router),
            &service,
            stop_rx.clone(),
        ));
        (a, a)
    } else {
        let (hl, ha) = bind(config.listen.http, "HTTP").await?;
        let (gl, ga) = bind(config.listen.grpc, "gRPC").await?;
        listeners.push(serve_on(hl, http_router, &service, stop_rx.clone()));
        listeners.push(serve_on(gl, grpc_router, &service, stop_rx));
        (ha, ga)
    };
    // The admin listener stays up until the very end, so probes see the drain.
    let (al, admin) = bind(config.listen.admin, "admin").await?;
    let (admin_stop, admin_rx) = watch::channel(false);
    // The admin listener (probes, Prometheus) is for the cluster only: no tokens, no per-client
    // limits; its accept loop still has the header timeout and the connection cap.
    let admin_task = conn::serve(
        al,
        admin::routes(Arc::clone(&service)),
        Arc::clone(&service),
        admin_rx,
    );
    Ok(RunningServer {
        http,
        grpc,
        admin,
        udp: ingest.udp_addr(),
        dev_token,
        service,
        ingest,
        stop,
        admin_stop,
        listeners,
        admin_task,
    })
}

impl RunningServer {
    /// With no secret configured (loopback only): an admin token signed with the secret made
    /// at start, valid for [`DEV_TOKEN_TTL_SECONDS`].
    pub fn dev_token(&self) -> Option<&str> {
        self.dev_token.as_deref()
    }

    /// Signs `claims` with this server's signing key (tests, `aic token` in-process).
    pub fn mint(&self, claims: &auth::Claims) -> Result<String, String> {
        self.service.keyring().mint(claims)
    }

    /// The shared service (metrics, limits, draining state).
    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    /// Drains and stops: unready at once, serve on for `unready_grace_ms`, then take no new
    /// connections, finish requests and sessions in flight, and return at the latest
    /// `drain_seconds` after the call.
    pub async fn drain(self) {
        let limits = *self.service.limits();
        let start = tokio::time::Instant::now();
        // Waiting ends a moment before the deadline, so closing what is left (sessions, the
        // admin listener) still fits within `drain_seconds`.
        let deadline = start
            + Duration::from_secs(limits.drain_seconds)
                .saturating_sub(TEARDOWN)
                .max(Duration::from_millis(10));
        self.service.start_draining();
        tracing::info!(
            drain_seconds = limits.drain_seconds,
            "draining: unready, stopping within the drain deadline"
        );
        let grace = Duration::from_millis(limits.unready_grace_ms);
        tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + grace)).await;
        // Live sessions keep the listeners up (their clients may still read stats or DELETE
        // them); new sessions are refused.
        let service = Arc::clone(&self.service);
        let sessions_end = async move {
            while service.sessions() > 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let _ = tokio::time::timeout_at(deadline, sessions_end).await;
        let _ = self.stop.send(true);
        let finish = async move {
            for t in self.listeners {
                let _ = t.await;
            }
        };
        if tokio::time::timeout_at(deadline, finish).await.is_err() || self.service.sessions() > 0 {
            tracing::warn!(
                requests = self.service.in_flight(),
                sessions = self.service.sessions(),
                "drain deadline reached with work open"
            );
        }
        self.ingest.close_all();
        let _ = self.admin_stop.send(true);
        let _ = tokio::time::timeout(TEARDOWN / 2, self.admin_task).await;
        tracing::info!("stopped");
    }
}

async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Sends `tracing` events to stderr as `config.log` says (text or JSON lines, a level).
pub fn init_logs(config: &config::LogConfig) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = match config.level.as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("aic_native", level)
        .with_target("aic", level);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    // A second call (tests) keeps the first subscriber.
    let _ = if config.format == "json" {
        registry
            .with(fmt.json().with_current_span(true).with_span_list(false))
            .try_init()
    } else {
        registry.with(fmt.with_ansi(false)).try_init()
    };
}

/// Runs `aic serve` until SIGTERM or Ctrl-C, then drains: loads the model, builds the async
/// runtime, prints the bound addresses (and, with no secret on loopback, a development token).
pub fn run(mut config: ServeConfig) -> Result<(), String> {
    config.auth.apply_env();
    config.validate()?;
    init_logs(&config.log);
    // Refuse a non-loopback bind without a secret before the model loads.
    keyring(&config)?;
    let backend = crate::backend::Backend::parse(&config.model.backend).ok_or_else(|| {
        format!(
            "unknown backend {:?}: use flex or wgpu",
            config.model.backend
        )
    })?;
    let neural = backend.load_model()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("aic-serve")
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = runtime.block_on(async move {
        let server = start(config, neural).await?;
        if let Some(t) = &server.dev_token {
            println!(
                "aic serve: development token (admin, loopback only, {} h; no secret configured): {t}",
                DEV_TOKEN_TTL_SECONDS / 3600
            );
        }
        tracing::info!(http = %server.http, grpc = %server.grpc, admin = %server.admin,
            udp = %server.udp, workers = server.service.worker_count(), "listening");
        println!(
            "aic serve: http://{} grpc://{} admin http://{} webrtc udp {} ({} workers, backend {})",
            server.http,
            server.grpc,
            server.admin,
            server.udp,
            server.service.worker_count(),
            server.service.backend()
        );
        signal().await;
        server.drain().await;
        Ok(())
    });
    // Work still running past the drain (a request stuck in the codec) is abandoned.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}
