//! The server's limits: one struct of named fields, loaded from flags or the `[limits]` table of
//! the TOML file, documented in `docs/server.md` ("Limits"). Every request is checked against
//! them before work starts; beyond them the server answers with a typed error (HTTP 4xx/503 with
//! a JSON body, a gRPC status), never with an unbounded queue.

use serde::Deserialize;

use super::error::{Kind, ServeError};

/// Bounds on what one `aic serve` process accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest request body (HTTP) or message (gRPC), bytes: `413` / `RESOURCE_EXHAUSTED`.
    pub max_body_bytes: usize,
    /// Largest frame width, pixels: `413` / `RESOURCE_EXHAUSTED` (`limits_exceeded`).
    pub max_width: u32,
    /// Largest frame height, pixels.
    pub max_height: u32,
    /// Most live ingest sessions (WebRTC and gRPC `DecodeStream`) at once: `503`.
    pub max_sessions: usize,
    /// Most compress/decompress requests admitted at once (running or waiting for a worker):
    /// beyond it `503` with `Retry-After` / `UNAVAILABLE`.
    pub max_in_flight: usize,
    /// Longest a request may take, from admission to answer: `504` / `DEADLINE_EXCEEDED`.
    pub request_timeout_ms: u64,
    /// On SIGTERM: unready at once; keep serving for `unready_grace_ms` so load balancers see
    /// it; then take no new connections, finish what is in flight (requests and ingest
    /// sessions), and stop at the latest this many seconds after the signal.
    pub drain_seconds: u64,
    /// How long a draining server keeps serving while unready, ms.
    pub unready_grace_ms: u64,
    /// Most packets waiting for a session's decoder: when decoding falls behind, newer
    /// packets are dropped (the frame counts as lost, the sender is asked for a key frame)
    /// rather than building delay.
    pub session_queue_packets: usize,
    /// A packet that waited longer than this for a session's decoder is dropped as stale, with
    /// every packet behind it (decoding fell behind: skip to the present, ask for a key
    /// frame), ms.
    pub session_backlog_ms: u64,
    /// Most bytes a session's reassembly holds (incomplete frames), bytes.
    pub session_reassembly_bytes: usize,
    /// An ingest session that receives nothing for this long is closed, seconds.
    pub session_idle_seconds: u64,
    /// Largest SDP offer, bytes.
    pub max_sdp_bytes: usize,
    /// A client must send its request line and headers within this, ms, or the connection is
    /// closed (slow-loris).
    pub header_timeout_ms: u64,
    /// A request body must arrive whole within this, ms: `408 body_timeout`.
    pub body_timeout_ms: u64,
    /// Most open connections per listener; beyond it new ones are closed at once.
    pub max_connections: usize,
    /// Most concurrent HTTP/2 streams (gRPC calls) on one connection.
    pub http2_max_streams: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            max_width: 3840,
            max_height: 2160,
            max_sessions: 64,
            max_in_flight: 32,
            request_timeout_ms: 10_000,
            drain_seconds: 30,
            unready_grace_ms: 3000,
            session_queue_packets: 64,
            session_backlog_ms: 300,
            session_reassembly_bytes: 4 * 1024 * 1024,
            session_idle_seconds: 30,
            max_sdp_bytes: 64 * 1024,
            header_timeout_ms: 5_000,
            body_timeout_ms: 10_000,
            max_connections: 1024,
            http2_max_streams: 64,
        }
    }
}

impl Limits {
    /// Checks a frame's dimensions against `max_width` × `max_height`: beyond them a
    /// `limits_exceeded` error.
    pub fn check_dimensions(&self, width: u32, height: u32) -> Result<(), ServeError> {
        if width > self.max_width || height > self.max_height {
            return Err(ServeError::new(
                Kind::TooLarge,
                "limits_exceeded",
                format!(
                    "{width}×{height} exceeds this server's limit of {}×{}",
                    self.max_width, self.max_height
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_beyond_the_limit_are_refused() {
        let l = Limits::default();
        assert!(l.check_dimensions(3840, 2160).is_ok());
        assert!(l.check_dimensions(3841, 16).is_err());
        assert!(l.check_dimensions(16, 2161).is_err());
    }
}
