//! The server's one error type: a stable code, a message, and how each protocol says it (an
//! HTTP status with a JSON body, a gRPC status code). Handlers return it; nothing panics on a
//! client's bytes.

use std::fmt;

/// What went wrong, as the client should see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request is malformed (bad query, unreadable image, garbage bytes).
    BadRequest,
    /// The request is too large (body, dimensions).
    TooLarge,
    /// The AIC bytes do not decode (truncated, bad checksum, unknown version...).
    Unprocessable,
    /// More requests or sessions than the limits allow; try again later.
    Overloaded,
    /// The server is draining and takes nothing new.
    Draining,
    /// The request took longer than `request_timeout_ms`.
    Timeout,
    /// No such session, or not one this token may see (the same answer for both).
    NotFound,
    /// No valid access token: `401` with `WWW-Authenticate: Bearer`.
    Unauthorized,
    /// A valid token without the grant: `403`.
    Forbidden,
    /// Over a per-client limit: `429` with `Retry-After`.
    TooManyRequests,
    /// The body did not arrive in time: `408`.
    RequestTimeout,
    /// A fault of the server itself.
    Internal,
}

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeError {
    /// Its kind (decides the HTTP status and gRPC code).
    pub kind: Kind,
    /// A stable, matchable code, e.g. `format.bad_checksum`, `overloaded`.
    pub code: String,
    /// A human-readable message.
    pub message: String,
    /// Seconds for `Retry-After` (`429`; `503` answers 1).
    pub retry_after_s: Option<u64>,
}

/// The code of a refused request, in the response's extensions: the request middleware counts
/// it and writes the audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// The server's result type.
pub type Result<T, E = ServeError> = std::result::Result<T, E>;

impl ServeError {
    /// An error of `kind` with `code` and `message`.
    pub fn new(kind: Kind, code: impl Into<String>, message: impl Into<String>) -> Self {
        ServeError {
            kind,
            code: code.into(),
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// No valid token: `401`, its reason as the code.
    pub fn unauthorized(e: super::auth::AuthError) -> Self {
        Self::new(Kind::Unauthorized, e.code(), e.message())
    }

    /// A valid token without the grant: `403 forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, "forbidden", message)
    }

    /// Over a per-client limit (`code`): `429`, try again after `retry_after_s`.
    pub fn too_many(code: &str, retry_after_s: u64) -> Self {
        let mut e = Self::new(
            Kind::TooManyRequests,
            code,
            format!("over this client's limit ({code}); retry after {retry_after_s} s"),
        );
        e.retry_after_s = Some(retry_after_s);
        e
    }

    /// A malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, "bad_request", message)
    }

    /// More work than the limits allow.
    pub fn overloaded(what: &str) -> Self {
        Self::new(
            Kind::Overloaded,
            "overloaded",
            format!("{what}: the server is at its limit, retry later"),
        )
    }

    /// A server fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Kind::Internal, "internal", message)
    }

    /// The HTTP status of this error.
    pub fn http_status(&self) -> u16 {
        match self.kind {
            Kind::BadRequest => 400,
            Kind::Unauthorized => 401,
            Kind::Forbidden => 403,
            Kind::NotFound => 404,
            Kind::RequestTimeout => 408,
            Kind::TooManyRequests => 429,
            Kind::TooLarge => 413,
            Kind::Unprocessable => 422,
            Kind::Overloaded | Kind::Draining => 503,
            Kind::Timeout => 504,
            Kind::Internal => 500,
        }
    }

    /// The gRPC status code of this error.
    pub fn grpc_code(&self) -> tonic::Code {
        match self.kind {
            Kind::BadRequest | Kind::Unprocessable => tonic::Code::InvalidArgument,
            Kind::TooLarge => tonic::Code::ResourceExhausted,
            Kind::NotFound => tonic::Code::NotFound,
            Kind::Unauthorized => tonic::Code::Unauthenticated,
            Kind::Forbidden => tonic::Code::PermissionDenied,
            Kind::TooManyRequests => tonic::Code::ResourceExhausted,
            Kind::RequestTimeout => tonic::Code::DeadlineExceeded,
            Kind::Overloaded | Kind::Draining => tonic::Code::Unavailable,
            Kind::Timeout => tonic::Code::DeadlineExceeded,
            Kind::Internal => tonic::Code::Internal,
        }
    }

    /// The JSON body of an HTTP error: `{"error":{"code":…,"message":…}}`.
    pub fn json(&self) -> String {
        serde_json::json!({ "error": { "code": self.code, "message": self.message } }).to_string()
    }
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ServeError {}

impl From<aic_core::Error> for ServeError {
    fn from(e: aic_core::Error) -> Self {
        let kind = match &e {
            aic_core::Error::LimitsExceeded(_) => Kind::TooLarge,
            aic_core::Error::Parameter(_) => Kind::BadRequest,
            aic_core::Error::Unavailable(_) => Kind::Internal,
            _ => Kind::Unprocessable,
        };
        ServeError::new(kind, e.code(), e.to_string())
    }
}

impl From<ServeError> for tonic::Status {
    fn from(e: ServeError) -> Self {
        tonic::Status::new(e.grpc_code(), e.to_string())
    }
}

impl axum::response::IntoResponse for ServeError {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.http_status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.json(),
        )
            .into_response();
        let retry = match self.kind {
            Kind::Overloaded | Kind::Draining => Some(1),
            _ => self.retry_after_s,
        };
        if let Some(s) = retry {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        if self.kind == Kind::Unauthorized {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"aic\""),
            );
        }
        r.extensions_mut().insert(Refused(self.code));
        r
    }
}
