//! Configuration of `aic serve`: defaults that work with no configuration (loopback
//! addresses, the shipped model on the CPU), an optional TOML file, and flags over both.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::Deserialize;

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

    /// Checks the values that have to make sense together.
    pub fn validate(&self) -> Result<(), String> {
        let l = &self.limits;
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
    fn bad_node_id_is_refused() {
        let mut c = ServeConfig::default();
        c.webrtc.node_id = "a/b".into();
        assert!(c.validate().is_err());
    }
}
