//! The sender's bandwidth estimate from receiver reports: the loss-based half of WebRTC's
//! congestion control (GCC, draft-ietf-rmcat-gcc §6) plus a queueing-delay guard.

use crate::wire::ReceiverReport;

/// Above this loss fraction the estimate falls by half the loss.
const HIGH_LOSS: f64 = 0.10;
/// Below this loss fraction (and no queueing) the estimate grows.
const LOW_LOSS: f64 = 0.02;
/// Growth per report when the path is clean.
const GROWTH: f64 = 1.05;
/// Factor applied when the sender's channel is behind (GCC's β = 0.85).
const OVERUSE_DECREASE: f64 = 0.85;
/// Queueing delay, ms, above which the estimate drops to what arrived.
const QUEUE_LIMIT_MS: u16 = 80;

/// What the path is believed to carry, in kbps, within `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandwidthEstimate {
    kbps: f64,
    min: f64,
    max: f64,
}

impl BandwidthEstimate {
    /// Starts at `start` kbps, never below `min` or above `max` (the application's cap).
    pub fn new(start: f64, min: f64, max: f64) -> Self {
        BandwidthEstimate {
            kbps: start.clamp(min, max),
            min,
            max,
        }
    }

    /// The estimate, kbps.
    pub fn kbps(&self) -> f64 {
        self.kbps
    }

    /// Sets the application's cap (the estimate follows it down at once).
    pub fn set_max(&mut self, max: f64) {
        self.max = max.max(self.min);
        self.kbps = self.kbps.min(self.max);
    }

    /// The sender's own channel could not keep up (a frame was dropped unsent): multiplicative
    /// decrease, as GCC's delay-based controller does when it sees overuse; returns the new
    /// estimate.
    pub fn on_overuse(&mut self) -> f64 {
        self.kbps = (self.kbps * OVERUSE_DECREASE).clamp(self.min, self.max);
        self.kbps
    }

    /// Folds in one report; returns the new estimate.
    pub fn on_report(&mut self, r: &ReceiverReport) -> f64 {
        let total = u32::from(r.frames_received) + u32::from(r.frames_lost);
        let loss = if total == 0 {
            0.0
        } else {
            f64::from(r.frames_lost) / f64::from(total)
        };
        let received_kbps = if r.interval_ms == 0 {
            0.0
        } else {
            f64::from(r.bytes_received) * 8.0 / f64::from(r.interval_ms)
        };
        if loss > HIGH_LOSS {
            self.kbps *= 1.0 - 0.5 * loss;
        } else if r.queue_delay_ms > QUEUE_LIMIT_MS && received_kbps > 0.0 {
            // Packets queue on the path: send no more than what arrives, less a margin.
            self.kbps = self.kbps.min(0.85 * received_kbps);
        } else if loss < LOW_LOSS {
            self.kbps *= GROWTH;
        }
        self.kbps = self.kbps.clamp(self.min, self.max);
        self.kbps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(received: u16, lost: u16, kbps: f64, delay: u16) -> ReceiverReport {
        ReceiverReport {
            highest_seq: 0,
            frames_received: received,
            frames_lost: lost,
            bytes_received: (kbps * 200.0 / 8.0) as u32,
            interval_ms: 200,
            queue_delay_ms: delay,
        }
    }

    #[test]
    fn falls_on_loss_and_queueing_grows_when_clean_within_the_cap() {
        let mut e = BandwidthEstimate::new(500.0, 50.0, 600.0);
        assert!(e.on_report(&report(8, 2, 500.0, 0)) <= 450.0);
        assert!((e.on_report(&report(10, 0, 200.0, 150)) - 170.0).abs() < 1e-6);
        for _ in 0..100 {
            e.on_report(&report(10, 0, 0.0, 0));
        }
        assert_eq!(e.kbps(), 600.0);
    }
}
