//! What every request passes through before its handler (one axum middleware over every
//! route): a request id (`x-request-id`, taken from the client when it is a short token of
//! safe characters, else made here) and a `tracing` span with it; the access token, verified
//! once ([`Auth`] in the request's extensions); the per-client limits ([`super::clients`]); the
//! body read whole within `body_timeout_ms` and `max_body_bytes` (gRPC bodies stream and are
//! bounded by tonic); the token requirement of the codec API and of `/metrics`; CORS. After
//! the handler, every refused request is counted (`aic_refusals_total{reason}`) and gets one
//! audit line (target `aic::audit`), never with a token or a secret in it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::auth::{AuthError, Grant, Principal, bearer};
use super::clients::{ClientKey, Limited};
use super::error::{Kind, Refused, ServeError};
use super::service::Service;
use crate::clock::Stopwatch;

/// The longest request id taken from a client.
pub const MAX_REQUEST_ID: usize = 64;

/// The verified token of a request, or why there is none.
#[derive(Debug, Clone)]
pub struct Auth(pub Result<Principal, AuthError>);

impl Auth {
    /// The principal, or the `401` to answer.
    pub fn require(&self) -> Result<&Principal, ServeError> {
        self.0.as_ref().map_err(|e| ServeError::unauthorized(*e))
    }

    /// The principal, which must carry `grant` (`403` otherwise).
    pub fn require_grant(&self, grant: Grant) -> Result<&Principal, ServeError> {
        let p = self.require()?;
        if p.has(grant) {
            Ok(p)
        } else {
            Err(ServeError::forbidden(format!(
                "this token does not grant {grant:?}"
            )))
        }
    }
}

/// The request's id, as logged and answered in `x-request-id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Which rules a path falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// `/v1/compress`, `/v1/decompress`, `aic.v1.Codec`: a token when configured.
    Codec,
    /// `/metrics` on the HTTP listener: admin.
    Metrics,
    /// WHIP and sessions: the handlers decide (ownership).
    Sessions,
    /// Health checks and the rest.
    Open,
}

fn classify(path: &str) -> Class {
    if path == "/v1/compress" || path == "/v1/decompress" || path.starts_with("/aic.v1.Codec/") {
        Class::Codec
    } else if path == "/metrics" {
        Class::Metrics
    } else if path == "/v1/whip" || path.starts_with("/v1/sessions") {
        Class::Sessions
    } else {
        Class::Open
    }
}

fn is_grpc(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// A request id from the client if it is safe to log, else a fresh one.
fn request_id(h: &HeaderMap) -> String {
    h.get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_REQUEST_ID
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
        .map(str::to_string)
        .unwrap_or_else(|| super::auth::random_hex(8).unwrap_or_else(|_| "-".into()))
}

/// The shared state of the middleware.
#[derive(Debug, Clone)]
pub struct Gate {
    /// The service (keys, clients, limits, metrics, CORS policy).
    pub service: Arc<Service>,
}

/// The middleware: see the module's documentation.
pub async fn gate(State(g): State<Gate>, req: Request, next: Next) -> Response {
    let timer = Stopwatch::start();
    let id = request_id(req.headers());
    let remote = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let auth = Auth(match req.headers().get(header::AUTHORIZATION) {
        None => Err(AuthError::Missing),
        Some(v) => bearer(v.as_bytes())
            .ok_or(AuthError::Malformed)
            .and_then(|t| g.service.keyring().verify(t)),
    });
    let key = match &auth.0 {
        Ok(p) => ClientKey::Subject(p.subject().to_string()),
        Err(_) => ClientKey::Address(remote),
    };
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(),
        path = %req.uri().path(), client = %key);
    let origin = req.headers().get(header::ORIGIN).cloned();
    let path = req.uri().path().to_string();
    let grpc = is_grpc(req.headers());
    let service = Arc::clone(&g.service);
    let counted = Arc::clone(&service);
    let mut response = async move {
        let service = counted;
        let r = admit_and_run(&g, req, next, auth, &key, grpc).await;
        let status = r.status();
        if let Some(Refused(code)) = r.extensions().get::<Refused>() {
            if is_refusal(status) {
                service.count_refusal(code);
                tracing::warn!(target: "aic::audit", status = status.as_u16(), reason = %code,
                    client = %key, "refused");
            } else {
                tracing::info!(status = status.as_u16(), code = %code,
                    ms = timer.elapsed_ms(), "error answered");
            }
        } else {
            tracing::debug!(
                status = status.as_u16(),
                ms = timer.elapsed_ms(),
                "answered"
            );
        }
        r
    }
    .instrument(span)
    .await;
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    cors(&service, origin.as_ref(), h, &path);
    response
}

/// CORS headers on the session routes, for an origin the configuration allows.
fn cors(service: &Service, origin: Option<&HeaderValue>, h: &mut HeaderMap, path: &str) {
    if classify(path) != Class::Sessions {
        return;
    }
    let Some(origin) = origin else { return };
    if !service.cors().allows(origin.as_bytes()) {
        return;
    }
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    h.append(header::VARY, HeaderValue::from_static("origin"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("location, x-aic-seq, x-request-id"),
    );
}

/// Which statuses count as a refusal (metric and audit line), not a failure of the request's
/// own content.
fn is_refusal(s: StatusCode) -> bool {
    matches!(s.as_u16(), 401 | 403 | 404 | 408 | 413 | 429 | 503)
}

fn refuse(e: ServeError, grpc: bool) -> Response {
    if grpc {
        let code = e.code.clone();
        let mut r = tonic::Status::from(e).into_http::<Body>();
        r.extensions_mut().insert(Refused(code));
        r
    } else {
        e.into_response()
    }
}

fn limited(l: Limited) -> ServeError {
    ServeError::too_many(l.refusal.code(), l.retry_after_s)
}

async fn admit_and_run(
    g: &Gate,
    req: Request,
    next: Next,
    auth: Auth,
    key: &ClientKey,
    grpc: bool,
) -> Response {
    let service = &g.service;
    let class = classify(req.uri().path());
    // CORS preflights carry no token; they are answered here.
    if req.method() == Method::OPTIONS && class == Class::Sessions {
        return StatusCode::NO_CONTENT.into_response();
    }
    let needs = match class {
        Class::Codec if service.codec_requires_token() => Some(None),
        Class::Metrics => Some(Some(Grant::Admin)),
        _ => None,
    };
    if let Some(grant) = needs {
        let checked = match grant {
            None => auth.require().map(|_| ()),
            Some(g) => auth.require_grant(g).map(|_| ()),
        };
        if let Err(e) = checked {
            return refuse(e, grpc);
        }
    }
    let _guard = match service.clients().admit(key) {
        Ok(g) => g,
        Err(l) => return refuse(limited(l), grpc),
    };
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(auth);
    parts.extensions.insert(key.clone());
    let body = if grpc {
        body
    } else {
        let max = service.limits().max_body_bytes;
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max as u64) {
            return refuse(body_too_large(max), grpc);
        }
        let timeout = Duration::from_millis(service.limits().body_timeout_ms);
        let bytes = match tokio::time::timeout(timeout, axum::body::to_bytes(body, max)).await {
            Err(_) => {
                return refuse(
                    ServeError::new(
                        Kind::RequestTimeout,
                        "body_timeout",
                        format!(
                            "the body did not arrive within {} ms",
                            service.limits().body_timeout_ms
                        ),
                    ),
                    grpc,
                );
            }
            Ok(Err(e)) => {
                let too_large = std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
                return refuse(
                    if too_large {
                        body_too_large(max)
                    } else {
                        ServeError::bad_request(format!("the body could not be read: {e}"))
                    },
                    grpc,
                );
            }
            Ok(Ok(b)) => b,
        };
        if !bytes.is_empty()
            && let Err(l) = service.clients().charge_bytes(key, bytes.len())
        {
            return refuse(limited(l), grpc);
        }
        Body::from(bytes)
    };
    next.run(Request::from_parts(parts, body)).await
}

fn body_too_large(max: usize) -> ServeError {
    ServeError::new(
        Kind::TooLarge,
        "body_too_large",
        format!("the body is larger than this server's limit of {max} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_clients_are_kept_only_when_safe() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert("x-request-id", HeaderValue::from_static("a b\"c"));
        assert_ne!(request_id(&h), "a b\"c");
        assert_eq!(request_id(&HeaderMap::new()).len(), 16);
    }

    #[test]
    fn paths_are_classified() {
        assert_eq!(classify("/v1/compress"), Class::Codec);
        assert_eq!(classify("/aic.v1.Codec/CompressFrame"), Class::Codec);
        assert_eq!(classify("/metrics"), Class::Metrics);
        assert_eq!(classify("/v1/sessions/x/frame.png"), Class::Sessions);
        assert_eq!(classify("/healthz"), Class::Open);
    }
}
