//! The server's Prometheus metrics (served as text at `/metrics` on the HTTP and admin
//! listeners): frames, bytes in and out, latency histograms, errors by kind, sessions, and the
//! depth of the work queue.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Every metric of one server.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Frames handled, by operation (`compress`, `decompress`, `stream_decode`, `ingest_decode`).
    pub frames: IntCounterVec,
    /// Bytes received, by operation.
    pub bytes_in: IntCounterVec,
    /// Bytes answered, by operation.
    pub bytes_out: IntCounterVec,
    /// Time from admission to answer, by operation, seconds.
    pub latency: HistogramVec,
    /// Time in the codec alone, by operation, seconds.
    pub inference: HistogramVec,
    /// Errors answered, by operation and error code.
    pub errors: IntCounterVec,
    /// Live ingest sessions (WebRTC and gRPC streams).
    pub sessions: IntGauge,
    /// Requests admitted and not answered yet (running or waiting for a worker).
    pub in_flight: IntGauge,
    /// Requests waiting for a worker.
    pub queue_depth: IntGauge,
    /// Ingest frames not shown, by reason (`late`, `no_reference`, `corrupt`, `lost`, `stale`).
    pub ingest_dropped: IntCounterVec,
    /// Requests refused, by reason: the token's fault (`token_missing`, `token_expired`, …),
    /// `forbidden`, `no_session`, a per-client limit (`rate_limited`, `client_in_flight`, …),
    /// `body_too_large`, `body_timeout`, `overloaded`, `connections`.
    pub refusals: IntCounterVec,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let histogram = |name: &str, help: &str| {
            let h = HistogramVec::new(
                HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()),
                &["op"],
            )
            .expect("valid metric");
            registry
                .register(Box::new(h.clone()))
                .expect("unique metric");
            h
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        Metrics {
            frames: counter("aic_frames_total", "Frames handled.", &["op"]),
            bytes_in: counter("aic_bytes_in_total", "Bytes received.", &["op"]),
            bytes_out: counter("aic_bytes_out_total", "Bytes answered.", &["op"]),
            latency: histogram("aic_request_seconds", "Admission to answer."),
            inference: histogram("aic_inference_seconds", "Time in the codec."),
            errors: counter("aic_errors_total", "Errors answered.", &["op", "code"]),
            sessions: gauge("aic_sessions", "Live ingest sessions."),
            in_flight: gauge("aic_in_flight", "Requests admitted, not answered."),
            queue_depth: gauge("aic_queue_depth", "Requests waiting for a worker."),
            ingest_dropped: counter(
                "aic_ingest_dropped_total",
                "Ingest frames not shown.",
                &["reason"],
            ),
            refusals: counter(
                "aic_refusals_total",
                "Requests refused, by reason.",
                &["reason"],
            ),
            registry,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.frames.with_label_values(&["compress"]).inc();
        m.errors
            .with_label_values(&["compress", "overloaded"])
            .inc();
        m.latency.with_label_values(&["compress"]).observe(0.02);
        let text = m.render();
        assert!(
            text.contains("aic_request_seconds_bucket{op=\"compress\",le=\"0.025\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("aic_frames_total{op=\"compress\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("aic_errors_total{code=\"overloaded\",op=\"compress\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE aic_request_seconds histogram"),
            "{text}"
        );
    }
}
