//! Configuration of `aic serve`: defaults that work with no configuration (loopback
//! addresses, the shipped model on the CPU), an optional TOML file, and flags over both.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::Deserialize;

use super::auth::{self, Keyring};
use super::clients::ClientLimits;
use super::limits::Limits;

/// Everything `aic serve` is configured with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: Listen,
    /// WebRTC ingest.
    pub webrtc: WebRtc,
    /// Bounds on requests and sessions.
    pub limits: Limits,
    /// The model and the workers that run it.
    pub model: ModelConfig,
    /// Access tokens: the secrets that sign them, what needs one.
    pub auth: AuthConfig,
    /// Which web origins may call the session routes.
    pub cors: CorsConfig,
    /// Per-client limits (per token subject, or per source address without a token).
    pub client_limits: ClientLimits,
    /// Structured logs.
    pub log: LogConfig,
}

/// Access tokens (`[auth]`; the environment variables `AIC_AUTH_SECRET`, `AIC_AUTH_KID`,
/// `AIC_AUTH_PREVIOUS_SECRET`, `AIC_AUTH_PREVIOUS_KID` take precedence over the file).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The secret that signs tokens and verifies them (at least 32 bytes). With none, a
    /// server on loopback makes one at start and prints a development token; off loopback it
    /// refuses to start.
    pub secret: Option<String>,
    /// The key id of `secret` (tokens name it in their header), default `k1`.
    pub kid: Option<String>,
    /// A previous secret still accepted (verify only) while tokens signed with it live out
    /// their expiry: the key rotation.
    pub previous_secret: Option<String>,
    /// The key id of `previous_secret`.
    pub previous_kid: Option<String>,
    /// Whether `/v1/compress`, `/v1/decompress` and the gRPC `aic.v1.Codec` need a token
    /// (any grant). Default false: the codec API is stateless and holds nobody's data.
    pub codec_requires_token: bool,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets.
        f.debug_struct("AuthConfig")
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .field("kid", &self.kid)
            .field(
                "previous_secret",
                &self.previous_secret.as_ref().map(|_| "<set>"),
            )
            .field("previous_kid", &self.previous_kid)
            .field("codec_requires_token", &self.codec_requires_token)
            .finish()
    }
}

impl AuthConfig {
    /// Takes the secrets and key ids from the environment where set (`AIC_AUTH_*`).
    pub fn apply_env(&mut self) {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(s) = get(auth::SECRET_ENV) {
            self.secret = Some(s);
        }
        if let Some(s) = get(auth::KID_ENV) {
            self.kid = Some(s);
        }
        if let Some(s) = get(auth::PREVIOUS_SECRET_ENV) {
            self.previous_secret = Some(s);
        }
        if let Some(s) = get(auth::PREVIOUS_KID_ENV) {
            self.previous_kid = Some(s);
        }
    }

    /// The configured keyring, or `None` when no secret is configured.
    pub fn keyring(&self) -> Result<Option<Keyring>, String> {
        let Some(secret) = &self.secret else {
            if self.previous_secret.is_some() {
                return Err("auth.previous_secret is set without auth.secret".into());
            }
            return Ok(None);
        };
        let mut keys = vec![(
            self.kid.clone().unwrap_or_else(|| auth::DEFAULT_KID.into()),
            secret.clone(),
        )];
        if let Some(p) = &self.previous_secret {
            let kid = self
                .previous_kid
                .clone()
                .ok_or("auth.previous_secret needs auth.previous_kid (AIC_AUTH_PREVIOUS_KID)")?;
            keys.push((kid, p.clone()));
        }
        Keyring::new(&keys)
            .map(Some)
            .map_err(|e| format!("auth: {e}"))
    }
}

/// Allowed web origins of the session routes (`[cors]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins (`https://app.example`, or `*` for any). Unset: loopback origins
    /// (`http://localhost:*`, `http://127.0.0.1:*`, `http://[::1]:*`) when the HTTP listener is
    /// on loopback, none otherwise.
    pub origins: Option<Vec<String>>,
}

/// The CORS policy in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    /// Any origin.
    Any,
    /// Loopback origins only.
    Loopback,
    /// These origins exactly.
    List(Vec<String>),
}

impl Cors {
    /// The policy of `config` for an HTTP listener on `http`.
    pub fn new(config: &CorsConfig, http: SocketAddr) -> Self {
        match &config.origins {
            None if http.ip().is_loopback() => Cors::Loopback,
            None => Cors::List(Vec::new()),
            Some(l) if l.iter().any(|o| o == "*") => Cors::Any,
            Some(l) => Cors::List(
                l.iter()
                    .map(|o| o.trim_end_matches('/').to_string())
                    .collect(),
            ),
        }
    }

    /// Whether a request from `origin` (the `Origin` header's bytes) may read the answer.
    pub fn allows(&self, origin: &[u8]) -> bool {
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        match self {
            Cors::Any => true,
            Cors::List(l) => l.iter().any(|o| o == origin),
            Cors::Loopback => {
                let Some(rest) = origin.strip_prefix("http://") else {
                    return false;
                };
                let host = match rest.rsplit_once(':') {
                    Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
                    _ => rest,
                };
                matches!(host, "localhost" | "127.0.0.1" | "[::1]")
            }
        }
    }
}

/// Logs (`[log]`): `tracing` to stderr.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (default) or `json` (one object a line).
    pub format: String,
    /// `error`, `warn`, `info` (default), `debug` or `trace`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// Listening addresses. HTTP and gRPC on the same address share one port (HTTP/1.1 and
/// HTTP/2 cleartext).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Listen {
    /// The HTTP API (`/v1/...`, `/healthz`, `/metrics`).
    pub http: SocketAddr,
    /// The gRPC service `aic.v1.Codec` and `grpc.health.v1.Health`.
    pub grpc: SocketAddr,
    /// The admin endpoints: `/metrics`, `/livez`, `/readyz`.
    pub admin: SocketAddr,
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            grpc: SocketAddr::from(([127, 0, 0, 1], 50051)),
            admin: SocketAddr::from(([127, 0, 0, 1], 9090)),
        }
    }
}

/// WebRTC ingest settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebRtc {
    /// The one UDP socket all sessions of this node share.
    pub udp: SocketAddr,
    /// The address advertised in the ICE candidate (default: the socket's own address).
    pub public_ip: Option<IpAddr>,
    /// This node's name in session ids and URLs (default: `node`).
    pub node_id: String,
    /// How to reach another node's HTTP API for a `307`: `{node}` is replaced by its id, e.g.
    /// `http://{node}.aic-ingest.aic.svc:8080`.
    pub peer_url_template: Option<String>,
    /// Explicit node id → base URL pairs (take precedence over the template).
    pub peers: std::collections::BTreeMap<String, String>,
    /// If set, each session's shown frames are recorded to `{record_dir}/{session}.y4m`.
    pub record_dir: Option<std::path::PathBuf>,
}

impl Default for WebRtc {
    fn default() -> Self {
        WebRtc {
            udp: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_ip: None,
            node_id: "node".into(),
            peer_url_template: None,
            peers: Default::default(),
            record_dir: None,
        }
    }
}

impl WebRtc {
    /// The base URL of node `node`'s HTTP API, if this node knows it.
    pub fn peer_url(&self, node: &str) -> Option<String> {
        if let Some(u) = self.peers.get(node) {
            return Some(u.trim_end_matches('/').to_string());
        }
        self.peer_url_template
            .as_ref()
            .map(|t| t.replace("{node}", node).trim_end_matches('/').to_string())
    }
}

/// Which backend runs the model and how many workers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// `flex` (CPU) or `wgpu`.
    pub backend: String,
    /// Inference workers; 0 = one per core.
    pub workers: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            backend: "flex".into(),
            workers: 0,
        }
    }
}

impl ServeConfig {
    /// Reads a TOML file; every key is optional, unknown keys are an error.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The number of inference workers: `model.workers`, or the machine's cores.
    pub fn workers(&self) -> usize {
        match self.model.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// Whether every listener (HTTP, gRPC) is on a loopback address.
    pub fn is_loopback(&self) -> bool {
        self.listen.http.ip().is_loopback() && self.listen.grpc.ip().is_loopback()
    }

    /// Checks the values that have to make sense together.
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(format!(
                "log.format {:?}: use text or json",
                self.log.format
            ));
        }
        if !matches!(
            self.log.level.as_str(),
            "error" | "warn" | "info" | "debug" | "trace"
        ) {
            return Err(format!(
                "log.level {:?}: use error, warn, info, debug or trace",
                self.log.level
            ));
        }
        let k = &self.client_limits;
        if !(k.requests_per_second > 0.0 && k.bytes_per_second > 0.0)
            || k.in_flight == 0
            || k.sessions == 0
        {
            return Err("client_limits: every limit must be > 0".into());
        }
        self.auth.keyring()?;
        let l = &self.limits;
        if l.header_timeout_ms == 0 || l.body_timeout_ms == 0 || l.max_connections == 0 {
            return Err(
                "limits: header_timeout_ms, body_timeout_ms and max_connections must be > 0".into(),
            );
        }
        if l.max_in_flight == 0 || l.max_body_bytes == 0 || l.session_queue_packets == 0 {
            return Err(
                "limits: max_in_flight, max_body_bytes and session_queue_packets must be > 0"
                    .into(),
            );
        }
        if self.webrtc.node_id.is_empty()
            || !self
                .webrtc
                .node_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "webrtc.node_id {:?} must be non-empty ASCII letters, digits, '-' or '_'",
                self.webrtc.node_id
            ));
        }
        let admin = self.listen.admin;
        if admin.port() != 0 && (self.listen.http == admin || self.listen.grpc == admin) {
            return Err("the admin address must differ from the HTTP and gRPC addresses".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_defaults() {
        let c = ServeConfig::from_toml("").unwrap();
        assert_eq!(c.listen, Listen::default());
        assert_eq!(c.limits, Limits::default());
        c.validate().unwrap();
    }

    #[test]
    fn toml_overrides_and_rejects_unknown_keys() {
        let c = ServeConfig::from_toml(
            "[listen]\nhttp = \"0.0.0.0:80\"\n[limits]\nmax_sessions = 3\n[webrtc]\nnode_id = \"n2\"\npeer_url_template = \"http://{node}:8080\"\n",
        )
        .unwrap();
        assert_eq!(c.listen.http.port(), 80);
        assert_eq!(c.limits.max_sessions, 3);
        assert_eq!(c.webrtc.peer_url("n1").as_deref(), Some("http://n1:8080"));
        assert!(ServeConfig::from_toml("[limits]\nmax_sesions = 3\n").is_err());
    }

    #[test]
    fn the_kubernetes_configs_parse() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for f in ["deploy/compress/aic.toml", "deploy/ingest/aic.toml"] {
            let c = ServeConfig::from_file(&root.join(f)).unwrap();
            c.validate().unwrap();
            assert_eq!(
                c.listen.http, c.listen.grpc,
                "{f}: one port for HTTP and gRPC"
            );
        }
    }

    #[test]
    fn loopback_cors_allows_loopback_origins_only() {
        let c = Cors::new(&CorsConfig::default(), "127.0.0.1:8080".parse().unwrap());
        assert!(c.allows(b"http://127.0.0.1:5173"));
        assert!(c.allows(b"http://localhost"));
        assert!(!c.allows(b"http://evil.example"));
        assert!(!c.allows(b"http://127.0.0.1.evil.example:80"));
        let off = Cors::new(&CorsConfig::default(), "0.0.0.0:8080".parse().unwrap());
        assert!(!off.allows(b"http://127.0.0.1:5173"));
        let listed = CorsConfig {
            origins: Some(vec!["https://app.example/".into()]),
        };
        let l = Cors::new(&listed, "0.0.0.0:8080".parse().unwrap());
        assert!(l.allows(b"https://app.example") && !l.allows(b"https://app.example.evil"));
    }

    #[test]
    fn auth_config_needs_long_secrets_and_a_previous_kid() {
        let mut a = AuthConfig {
            secret: Some("short".into()),
            ..AuthConfig::default()
        };
        assert!(a.keyring().is_err());
        a.secret = Some("x".repeat(32));
        assert_eq!(a.keyring().unwrap().unwrap().signing_kid(), "k1");
        a.previous_secret = Some("y".repeat(32));
        assert!(a.keyring().is_err());
        a.previous_kid = Some("k0".into());
        assert!(a.keyring().unwrap().is_some());
        assert!(!format!("{a:?}").contains("xxxx"));
    }

    #[test]
    fn bad_node_id_is_refused() {
        let mut c = ServeConfig::default();
        c.webrtc.node_id = "a/b".into();
        assert!(c.validate().is_err());
    }
}
