//! The admin listener: `/metrics` (Prometheus text), `/livez` (the process answers) and
//! `/readyz` (`503` while draining, so load balancers and Kubernetes stop sending work).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::service::Service;

/// The admin routes over `service`.
pub fn routes(service: Arc<Service>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(service)
}

/// `GET /metrics`: the Prometheus text exposition (served on the admin and HTTP listeners).
pub async fn metrics(State(service): State<Arc<Service>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        service.metrics().render(),
    )
        .into_response()
}

async fn readyz(State(service): State<Arc<Service>>) -> Response {
    if service.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response()
    } else {
        "ready\n".into_response()
    }
}
