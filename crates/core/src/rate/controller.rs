//! The rate controller: a target, a virtual buffer, and the step search.

use crate::error::{ParameterError, Result};

/// What the encoder aims at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateTarget {
    /// A fixed step of the fine quality grid (1-based): no rate control.
    Step(u8),
    /// A bitrate at a frame rate: each frame may spend `kbps · 1000 / fps` bits on average.
    Bitrate {
        /// Target bitrate in kilobits per second.
        kbps: f64,
        /// Frame rate the budget is spread over.
        fps: f64,
    },
    /// A compressed size relative to the raw frame (`adaptive` mode of the original design):
    /// compressed bytes ÷ raw RGB bytes, in `(0, 1]`. At the frame rate `fps`.
    Ratio {
        /// Target compressed ÷ raw size.
        ratio: f64,
        /// Frame rate (for the buffer's pay-back time).
        fps: f64,
    },
}

impl RateTarget {
    /// Checks the numbers: positive, finite, a ratio within `(0, 1]`, a step ≥ 1.
    pub fn validate(&self) -> Result<()> {
        let ok = match *self {
            RateTarget::Step(s) => s >= 1,
            RateTarget::Bitrate { kbps, fps } => {
                kbps.is_finite() && kbps > 0.0 && fps.is_finite() && (0.1..=1000.0).contains(&fps)
            }
            RateTarget::Ratio { ratio, fps } => {
                ratio.is_finite()
                    && ratio > 0.0
                    && ratio <= 1.0
                    && fps.is_finite()
                    && (0.1..=1000.0).contains(&fps)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(ParameterError::new(
                "rate target",
                format!("{self:?}: needs kbps > 0, fps in 0.1..=1000, ratio in (0, 1], step ≥ 1"),
            )
            .into())
        }
    }

    fn fps(&self) -> Option<f64> {
        match *self {
            RateTarget::Step(_) => None,
            RateTarget::Bitrate { fps, .. } | RateTarget::Ratio { fps, .. } => Some(fps),
        }
    }
}

/// What the controller chose for one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// The step to code the frame at.
    pub step: u8,
    /// The frame's budget in bits (`None` at a fixed step).
    pub budget_bits: Option<f64>,
    /// The estimated size at that step, in bits.
    pub estimated_bits: u64,
}

/// Seconds over which the buffer's excess is paid back.
const PAYBACK_S: f64 = 0.5;
/// Most credit the buffer may bank from under-spending, in seconds of target rate.
const MAX_CREDIT_S: f64 = 0.5;
/// A delta frame's budget stays within these multiples of the average frame.
const DELTA_BUDGET: (f64, f64) = (0.25, 3.0);
/// A key frame's budget stays within these multiples of the average frame (it becomes the
/// long-term reference that motion frames predict from, so it is worth bits).
const KEY_BUDGET: (f64, f64) = (6.0, 10.0);
/// A live key frame's budget ([`RateController::set_live`]): as low as one average frame when
/// the buffer is in debt — over a narrow link a key frame several times the average overflows
/// the bottleneck's queue, is lost, and is asked for again.
const LIVE_KEY_BUDGET: (f64, f64) = (1.0, 6.0);
/// Most steps a delta frame's step may rise above the previous frame's (no oscillation).
const MAX_RISE: u8 = 4;

/// The encoder's rate controller (sans-I/O: times are arguments).
#[derive(Debug, Clone)]
pub struct RateController {
    target: RateTarget,
    max_step: u8,
    /// Bits spent beyond what the target allowed so far (negative: under-spent).
    buffer_bits: f64,
    last_step: Option<u8>,
    /// Capture time of the last frame sent, µs.
    last_us: Option<u64>,
    /// The interval the frame being coded covers, s (set by `choose_step`).
    pending_s: Option<f64>,
    /// Key frames within [`LIVE_KEY_BUDGET`] rather than [`KEY_BUDGET`].
    live: bool,
}

impl RateController {
    /// A controller aiming at `target` on a grid of steps `1..=max_step`.
    pub fn new(target: RateTarget, max_step: u8) -> Result<Self> {
        target.validate()?;
        Ok(RateController {
            target,
            max_step: max_step.max(1),
            buffer_bits: 0.0,
            last_step: None,
            last_us: None,
            pending_s: None,
            live: false,
        })
    }

    /// Budgets key frames for a live channel ([`LIVE_KEY_BUDGET`]): small when the buffer is
    /// in debt, so that a key frame asked for after a loss fits the link.
    pub fn set_live(&mut self, live: bool) {
        self.live = live;
    }

    /// The target.
    pub fn target(&self) -> RateTarget {
        self.target
    }

    /// Sets a new target, in effect from the next frame (the buffer starts afresh).
    pub fn set_target(&mut self, target: RateTarget) -> Result<()> {
        target.validate()?;
        self.target = target;
        self.buffer_bits = 0.0;
        Ok(())
    }

    /// Changes a bitrate target's kbps keeping the buffer (a bandwidth estimate's small,
    /// frequent corrections); other targets are left as they are.
    pub fn adjust_kbps(&mut self, new_kbps: f64) -> Result<()> {
        if let RateTarget::Bitrate { fps, .. } = self.target {
            let t = RateTarget::Bitrate {
                kbps: new_kbps,
                fps,
            };
            t.validate()?;
            self.target = t;
        }
        Ok(())
    }

    /// The average bits per frame the target allows for a frame of `raw_bytes` RGB bytes at
    /// the nominal frame rate.
    pub fn frame_allowance(&self, raw_bytes: usize) -> Option<f64> {
        match self.target {
            RateTarget::Step(_) => None,
            RateTarget::Bitrate { kbps, fps } => Some(kbps * 1000.0 / fps),
            RateTarget::Ratio { ratio, .. } => Some(ratio * raw_bytes as f64 * 8.0),
        }
    }

    /// The interval a frame captured at `now_us` covers, in seconds: the time since the last
    /// frame sent, within ¼–4 nominal frame intervals (frames the application skipped leave
    /// their bits to the next one; a burst does not get more than its share).
    fn interval_s(&self, now_us: u64, fps: f64) -> f64 {
        let nominal = 1.0 / fps;
        match self.last_us {
            Some(last) if now_us > last => {
                ((now_us - last) as f64 / 1e6).clamp(0.25 * nominal, 4.0 * nominal)
            }
            _ => nominal,
        }
    }

    /// The allowance of a frame covering `interval_s` seconds.
    fn allowance_for(&self, raw_bytes: usize, interval_s: f64) -> Option<f64> {
        match self.target {
            RateTarget::Step(_) => None,
            RateTarget::Bitrate { kbps, .. } => Some(kbps * 1000.0 * interval_s),
            RateTarget::Ratio { ratio, .. } => Some(ratio * raw_bytes as f64 * 8.0),
        }
    }

    /// The virtual buffer: bits spent beyond the target so far (negative: credit).
    pub fn buffer_bits(&self) -> f64 {
        self.buffer_bits
    }

    /// Chooses the step of the next frame, captured at `now_us`: the highest step whose
    /// estimated size (`estimate(step)` in bits, assumed to grow with the step) fits the
    /// frame's budget. `key`: the frame is a key frame; `raw_bytes`: its raw RGB size.
    pub fn choose_step(
        &mut self,
        key: bool,
        raw_bytes: usize,
        now_us: u64,
        mut estimate: impl FnMut(u8) -> Result<u64>,
    ) -> Result<Decision> {
        let interval = self.target.fps().map(|fps| self.interval_s(now_us, fps));
        self.pending_s = interval;
        let (Some(interval), Some(avg)) = (interval, self.frame_allowance(raw_bytes)) else {
            // A fixed step.
            let step = match self.target {
                RateTarget::Step(s) => s,
                _ => self.max_step,
            }
            .clamp(1, self.max_step);
            return Ok(Decision {
                step,
                budget_bits: None,
                estimated_bits: estimate(step)?,
            });
        };
        let budget = self.budget_for(key, raw_bytes, interval, avg);
        let top = match (key, self.last_step) {
            (false, Some(last)) => last.saturating_add(MAX_RISE).min(self.max_step),
            _ => self.max_step,
        };
        // Binary search for the highest step within budget.
        let (mut best, mut best_bits) = (1u8, estimate(1)?);
        if best_bits as f64 <= budget {
            let (mut a, mut b) = (2u8, top);
            while a <= b {
                let mid = a + (b - a) / 2;
                let bits = estimate(mid)?;
                if bits as f64 <= budget {
                    (best, best_bits) = (mid, bits);
                    a = mid + 1;
                } else {
                    b = mid - 1;
                }
            }
        }
        Ok(Decision {
            step: best,
            budget_bits: Some(budget),
            estimated_bits: best_bits,
        })
    }

    fn budget_for(&self, key: bool, raw_bytes: usize, interval: f64, avg: f64) -> f64 {
        let allowance = self.allowance_for(raw_bytes, interval).unwrap_or(avg);
        let (lo, hi) = match (key, self.live) {
            (true, false) => KEY_BUDGET,
            (true, true) => LIVE_KEY_BUDGET,
            (false, _) => DELTA_BUDGET,
        };
        (allowance - self.buffer_bits * (interval / PAYBACK_S).min(1.0))
            .clamp(lo * avg, hi * avg.max(allowance))
    }

    /// The budget in bits of the next frame, captured at `now_us`, for coders that choose
    /// their own quality within it (motion frames choose a QP): the same budget
    /// [`Self::choose_step`] fits a step into. `None` for a fixed-step target.
    pub fn budget(&mut self, key: bool, raw_bytes: usize, now_us: u64) -> Option<f64> {
        let interval = self.target.fps().map(|fps| self.interval_s(now_us, fps));
        self.pending_s = interval;
        let (Some(interval), Some(avg)) = (interval, self.frame_allowance(raw_bytes)) else {
            return None;
        };
        Some(self.budget_for(key, raw_bytes, interval, avg))
    }

    /// The step a fixed-step target names (`None` for a bitrate or ratio target).
    pub fn fixed_step(&self) -> Option<u8> {
        match self.target {
            RateTarget::Step(s) => Some(s.clamp(1, self.max_step)),
            _ => None,
        }
    }

    /// A frame captured at `captured_us` was dropped unsent and the controller rolled back to
    /// before it (the sender's pacing): its interval is forfeited, not left to the next frame —
    /// the channel was behind, so the next frame must not grow.
    pub fn forfeit(&mut self, captured_us: u64) {
        if self.last_us.is_none_or(|last| captured_us > last) {
            self.last_us = Some(captured_us);
        }
    }

    /// Records what a sent frame (coded at `step`, captured at `now_us`) cost, in bits.
    pub fn on_frame_sent(&mut self, bits: u64, step: u8, raw_bytes: usize, now_us: u64) {
        self.last_step = Some(step);
        self.last_us = Some(now_us);
        let (Some(interval), Some(fps)) = (self.pending_s.take(), self.target.fps()) else {
            return;
        };
        let Some(allowance) = self.allowance_for(raw_bytes, interval) else {
            return;
        };
        let avg = self.frame_allowance(raw_bytes).unwrap_or(allowance);
        self.buffer_bits += bits as f64 - allowance;
        self.buffer_bits = self.buffer_bits.max(-avg * fps * MAX_CREDIT_S);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame whose size doubles every 8 steps, scaled by `content`.
    fn size(step: u8, content: f64) -> u64 {
        (content * 2f64.powf(f64::from(step) / 8.0)) as u64
    }

    #[test]
    fn a_forfeited_interval_does_not_grow_the_next_frame() {
        let target = RateTarget::Bitrate {
            kbps: 300.0,
            fps: 10.0,
        };
        let mut rc = RateController::new(target, 48).unwrap();
        let d = rc
            .choose_step(false, 1000, 0, |s| Ok(size(s, 400.0)))
            .unwrap();
        rc.on_frame_sent(d.estimated_bits, d.step, 1000, 0);
        // The frame at 100 ms is dropped unsent: roll back, forfeit its interval.
        let mut rolled = rc.clone();
        rolled.forfeit(100_000);
        let without = rolled
            .choose_step(false, 1000, 200_000, |s| Ok(size(s, 400.0)))
            .unwrap();
        // Without the forfeit, the frame at 200 ms would cover both intervals.
        let with = rc
            .choose_step(false, 1000, 200_000, |s| Ok(size(s, 400.0)))
            .unwrap();
        let (a, b) = (without.budget_bits.unwrap(), with.budget_bits.unwrap());
        assert!(a < 0.6 * b, "forfeited {a:.0} bits vs {b:.0}");
    }

    #[test]
    fn lands_on_target_and_follows_a_new_one() {
        let mut rc = RateController::new(
            RateTarget::Bitrate {
                kbps: 300.0,
                fps: 10.0,
            },
            49,
        )
        .unwrap();
        let raw = 640 * 480 * 3;
        let mut spent = Vec::new();
        for i in 0..100 {
            if i == 50 {
                rc.set_target(RateTarget::Bitrate {
                    kbps: 150.0,
                    fps: 10.0,
                })
                .unwrap();
            }
            let content = 2000.0 + 500.0 * f64::from(i % 7);
            let d = rc
                .choose_step(i == 0, raw, i as u64 * 100_000, |s| Ok(size(s, content)))
                .unwrap();
            let bits = size(d.step, content);
            rc.on_frame_sent(bits, d.step, raw, i as u64 * 100_000);
            spent.push(bits);
        }
        let kbps = |r: std::ops::Range<usize>| {
            spent[r.clone()].iter().sum::<u64>() as f64 / r.len() as f64 * 10.0 / 1000.0
        };
        for w in [10..30, 30..50] {
            assert!(
                (kbps(w.clone()) / 300.0 - 1.0).abs() < 0.1,
                "{w:?}: {}",
                kbps(w.clone())
            );
        }
        for w in [60..80, 80..100] {
            assert!(
                (kbps(w.clone()) / 150.0 - 1.0).abs() < 0.1,
                "{w:?}: {}",
                kbps(w.clone())
            );
        }
    }

    #[test]
    fn skipped_frames_leave_their_bits_to_the_next() {
        let mut rc = RateController::new(
            RateTarget::Bitrate {
                kbps: 100.0,
                fps: 10.0,
            },
            49,
        )
        .unwrap();
        let d = rc
            .choose_step(false, 1000, 0, |s| Ok(u64::from(s) * 1000))
            .unwrap();
        rc.on_frame_sent(u64::from(d.step) * 1000, d.step, 1000, 0);
        // The application skipped two frames: the next covers 0.3 s.
        let d = rc
            .choose_step(false, 1000, 300_000, |s| Ok(u64::from(s) * 100))
            .unwrap();
        let b = d.budget_bits.unwrap();
        assert!(b > 20_000.0, "budget {b} for 0.3 s at 100 kbps");
    }

    #[test]
    fn fixed_step_and_bad_targets() {
        let mut rc = RateController::new(RateTarget::Step(60), 49).unwrap();
        assert_eq!(rc.choose_step(true, 100, 0, |_| Ok(1)).unwrap().step, 49);
        for t in [
            RateTarget::Bitrate {
                kbps: 0.0,
                fps: 10.0,
            },
            RateTarget::Bitrate {
                kbps: f64::NAN,
                fps: 10.0,
            },
            RateTarget::Bitrate {
                kbps: 100.0,
                fps: 0.0,
            },
            RateTarget::Ratio {
                ratio: 1.5,
                fps: 10.0,
            },
            RateTarget::Step(0),
        ] {
            assert_eq!(RateController::new(t, 49).unwrap_err().code(), "parameter");
        }
    }
}
