//! The accept loop under every listener: HTTP/1.1 and HTTP/2 (cleartext, for gRPC) through
//! hyper, with the bounds `axum::serve` does not set: a header read timeout (a slow-loris
//! client that trickles its request line and headers is cut off), a cap on open connections,
//! and each connection's peer address in the request's extensions (per-address limits, logs).
//! On stop it takes no new connection and lets the open ones finish their requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_service::Service as _;

use super::service::Service;

/// How long a failed `accept` (e.g. out of file descriptors) waits before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `router` on `listener` until `stop` turns true, then drains the open connections.
pub fn serve(
    listener: TcpListener,
    router: axum::Router,
    service: Arc<Service>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let limits = *service.limits();
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_millis(limits.header_timeout_ms));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.http2_max_streams)
            .keep_alive_interval(Duration::from_secs(20))
            .keep_alive_timeout(Duration::from_secs(20));
        let graceful = GracefulShutdown::new();
        let open = Arc::new(AtomicUsize::new(0));
        loop {
            let accepted = tokio::select! {
                r = listener.accept() => r,
                _ = stop.wait_for(|s| *s) => break,
            };
            let (stream, remote) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            if open.fetch_add(1, Ordering::SeqCst) >= limits.max_connections {
                open.fetch_sub(1, Ordering::SeqCst);
                service.count_refusal("connections");
                tracing::warn!(target: "aic::audit", client = %remote.ip(), reason = "connections",
                    "refused: too many open connections");
                drop(stream);
                continue;
            }
            let _ = stream.set_nodelay(true);
            let guard = Open(Arc::clone(&open));
            let router = router.clone();
            let svc = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(remote));
                    let mut router = router.clone();
                    async move { router.call(req.map(axum::body::Body::new)).await }
                },
            );
            let conn = builder
                .serve_connection(TokioIo::new(stream), svc)
                .into_owned();
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                let _ = conn.await;
                drop(guard);
            });
        }
        drop(listener);
        graceful.shutdown().await;
    })
}
