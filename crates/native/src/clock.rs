//! The native crate's one door to the clock (the core never reads it: clippy's
//! `disallowed-methods` keeps `Instant::now` out of every other file).

use std::time::Instant;

/// The current instant.
#[allow(clippy::disallowed_methods)] // the native crate may read the clock, here only
pub fn now() -> Instant {
    Instant::now()
}

/// Measures the time since it started.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    /// Starts now.
    pub fn start() -> Self {
        Stopwatch(now())
    }

    /// Seconds since the start.
    pub fn elapsed_s(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }

    /// Milliseconds since the start.
    pub fn elapsed_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1000.0
    }
}

/// Nanoseconds since the Unix epoch (0 if the clock is before it).
#[allow(clippy::disallowed_methods)] // the native crate may read the clock, here only
pub fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
