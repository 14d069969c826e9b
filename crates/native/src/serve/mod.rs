//! `aic serve`: the model over HTTP and gRPC, and server-side decoding of browsers' live
//! streams over WebRTC (`docs/server.md`).
//!
//! # Module overview
//! - [`config`]: flags and the TOML file; [`limits`]: every bound, named.
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
pub mod config;
pub mod error;
pub mod grpc;
pub mod http;
pub mod ingest;
pub mod limits;
pub mod metrics;
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
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            eprintln!("aic serve: listener failed: {e}");
        }
    })
}

/// Starts every listener of `config` with the model `neural`; returns once they are bound.
pub async fn start(config: ServeConfig, neural: Arc<NeuralCodec>) -> Result<RunningServer, String> {
    config.validate()?;
    let service = Arc::new(Service::new(
        neural,
        config.limits,
        config.workers(),
        &config.model.backend,
    ));
    let ingest =
        Arc::new(ingest::Ingest::start(Arc::clone(&service), config.webrtc.clone()).await?);
    let http_router = http::routes(Arc::clone(&service)).merge(ingest::routes(Arc::clone(&ingest)));
    let grpc_router = grpc::routes(Arc::clone(&service));
    let (stop, stop_rx) = watch::channel(false);
    let mut listeners = Vec::new();
    let (http, grpc) = if config.listen.http == config.listen.grpc {
        let (l, a) = bind(config.listen.http, "HTTP and gRPC").await?;
        listeners.push(serve_on(l, http_router.merge(grpc_router), stop_rx.clone()));
        (a, a)
    } else {
        let (hl, ha) = bind(config.listen.http, "HTTP").await?;
        let (gl, ga) = bind(config.listen.grpc, "gRPC").await?;
        listeners.push(serve_on(hl, http_router, stop_rx.clone()));
        listeners.push(serve_on(gl, grpc_router, stop_rx));
        (ha, ga)
    };
    // The admin listener stays up until the very end, so probes see the drain.
    let (al, admin) = bind(config.listen.admin, "admin").await?;
    let (admin_stop, admin_rx) = watch::channel(false);
    let admin_task = serve_on(al, admin::routes(Arc::clone(&service)), admin_rx);
    Ok(RunningServer {
        http,
        grpc,
        admin,
        udp: ingest.udp_addr(),
        service,
        ingest,
        stop,
        admin_stop,
        listeners,
        admin_task,
    })
}

impl RunningServer {
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
        eprintln!(
            "aic serve: draining (unready; stopping within {} s)",
            limits.drain_seconds
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
            eprintln!(
                "aic serve: drain deadline reached with {} requests and {} sessions open",
                self.service.in_flight(),
                self.service.sessions()
            );
        }
        self.ingest.close_all();
        let _ = self.admin_stop.send(true);
        let _ = tokio::time::timeout(TEARDOWN / 2, self.admin_task).await;
        eprintln!("aic serve: stopped");
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

/// Runs `aic serve` until SIGTERM or Ctrl-C, then drains: loads the model, builds the async
/// runtime, prints the bound addresses.
pub fn run(config: ServeConfig) -> Result<(), String> {
    config.validate()?;
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
