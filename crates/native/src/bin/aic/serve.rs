//! `aic serve`: the model over HTTP and gRPC, browsers' live streams over WebRTC.

use std::path::PathBuf;

use aic_native::backend::Backend;

use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// TOML configuration (every key optional; docs/server.md lists them).
    #[arg(long)]
    config: Option<PathBuf>,
    /// HTTP API address (default 127.0.0.1:8080).
    #[arg(long)]
    http: Option<std::net::SocketAddr>,
    /// gRPC address (default 127.0.0.1:50051); the HTTP address serves both on one port.
    #[arg(long)]
    grpc: Option<std::net::SocketAddr>,
    /// Admin address: /metrics, /livez, /readyz (default 127.0.0.1:9090).
    #[arg(long)]
    admin: Option<std::net::SocketAddr>,
    /// WebRTC ingest UDP socket (default 127.0.0.1, any port).
    #[arg(long)]
    udp: Option<std::net::SocketAddr>,
    /// The address advertised to browsers in the ICE candidate.
    #[arg(long)]
    public_ip: Option<std::net::IpAddr>,
    /// This node's name in session ids.
    #[arg(long)]
    node_id: Option<String>,
    /// URL of another node for 307s, `{node}` standing for its id.
    #[arg(long)]
    peer_url_template: Option<String>,
    /// Another node's URL: NAME=URL (repeatable).
    #[arg(long = "peer", value_parser = parse_peer)]
    peers: Vec<(String, String)>,
    /// Record each session's shown frames to DIR/{session}.y4m.
    #[arg(long)]
    record_dir: Option<PathBuf>,
    /// Seconds a drain may take after SIGTERM.
    #[arg(long)]
    drain_seconds: Option<u64>,
    /// Inference workers (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
}

fn parse_peer(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| format!("{s:?}: use NAME=URL"))
}

/// Runs `aic serve` until SIGTERM (then drains).
pub(crate) fn run(args: Args, backend: Backend) -> Result<(), CliError> {
    use aic_native::serve::ServeConfig;
    let mut c = match &args.config {
        Some(p) => ServeConfig::from_file(p).map_err(CliError::Usage)?,
        None => ServeConfig::default(),
    };
    if backend != Backend::Flex {
        c.model.backend = backend.name().to_string();
    }
    if let Some(a) = args.http {
        c.listen.http = a;
    }
    if let Some(a) = args.grpc {
        c.listen.grpc = a;
    }
    if let Some(a) = args.admin {
        c.listen.admin = a;
    }
    if let Some(a) = args.udp {
        c.webrtc.udp = a;
    }
    if let Some(a) = args.public_ip {
        c.webrtc.public_ip = Some(a);
    }
    if let Some(n) = args.node_id {
        c.webrtc.node_id = n;
    }
    if let Some(t) = args.peer_url_template {
        c.webrtc.peer_url_template = Some(t);
    }
    c.webrtc.peers.extend(args.peers);
    if let Some(d) = args.record_dir {
        c.webrtc.record_dir = Some(d);
    }
    if let Some(s) = args.drain_seconds {
        c.limits.drain_seconds = s;
    }
    if let Some(w) = args.workers {
        c.model.workers = w;
    }
    aic_native::serve::run(c).map_err(CliError::Failed)
}
