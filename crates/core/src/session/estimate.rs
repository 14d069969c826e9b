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

/// Frames a loss fraction is judged over: reports come every 200 ms, which at 10 fps is two
/// frames — one lost frame would read as 50 % loss. Reports accumulate until this many frames
/// (or [`LOSS_WINDOW_MS`]) before the loss rule acts.
const LOSS_WINDOW_FRAMES: u32 = 20;
/// See [`LOSS_WINDOW_FRAMES`], ms.
const LOSS_WINDOW_MS: u32 = 1000;

/// What the path is believed to carry, in kbps, within `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandwidthEstimate {
    kbps: f64,
    min: f64,
    max: f64,
    /// Frames received and lost, and ms, in the loss window so far.
    window: (u32, u32, u32),
}

impl BandwidthEstimate {
    /// Starts at `start` kbps, never below `min` or above `max` (the application's cap).
    pub fn new(start: f64, min: f64, max: f64) -> Self {
        BandwidthEstimate {
            kbps: start.clamp(min, max),
            min,
            max,
            window: (0, 0, 0),
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

    /// Folds in one report; returns the new estimate. The queueing-delay guard acts on every
    /// report; the loss rule (decrease, or growth on a clean path) once the loss window is full.
    pub fn on_report(&mut self, r: &ReceiverReport) -> f64 {
        let received_kbps = if r.interval_ms == 0 {
            0.0
        } else {
            f64::from(r.bytes_received) * 8.0 / f64::from(r.interval_ms)
        };
        if r.queue_delay_ms > QUEUE_LIMIT_MS && received_kbps > 0.0 {
            // Packets queue on the path: send no more than what arrives, less a margin.
            self.kbps = self.kbps.min(0.85 * received_kbps);
            self.window = (0, 0, 0);
        } else {
            let w = &mut self.window;
            w.0 = w.0.saturating_add(u32::from(r.frames_received));
            w.1 = w.1.saturating_add(u32::from(r.frames_lost));
            w.2 = w.2.saturating_add(u32::from(r.interval_ms));
            if w.0 + w.1 >= LOSS_WINDOW_FRAMES || w.2 >= LOSS_WINDOW_MS {
                let total = w.0 + w.1;
                let loss = if total == 0 {
                    0.0
                } else {
                    f64::from(w.1) / f64::from(total)
                };
                if loss > HIGH_LOSS {
                    self.kbps *= 1.0 - 0.5 * loss;
                } else if loss < LOW_LOSS {
                    // One growth step per 200 ms of clean window (a step per report, as GCC).
                    for _ in 0..(w.2 / 200).clamp(1, 10) {
                        self.kbps *= GROWTH;
                    }
                }
                self.window = (0, 0, 0);
            }
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
        // One lost frame of two in a report is not yet a verdict: the window is 20 frames.
        assert_eq!(e.on_report(&report(1, 1, 500.0, 0)), 500.0);
        // 8 received and 2 lost more make 9 of 12... then a full window: 4 of 22 lost (18 %).
        e.on_report(&report(8, 2, 500.0, 0));
        assert!(
            e.on_report(&report(9, 1, 500.0, 0)) <= 460.0,
            "{}",
            e.kbps()
        );
        assert!((e.on_report(&report(10, 0, 200.0, 150)) - 170.0).abs() < 1e-6);
        for _ in 0..100 {
            e.on_report(&report(10, 0, 0.0, 0));
        }
        assert_eq!(e.kbps(), 600.0);
    }
}
