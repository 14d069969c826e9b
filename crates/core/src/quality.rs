//! The fine quality grid of the neural codec (`docs/format.md` §6.4).
//!
//! The model is trained at a few quality *levels* (gain vectors, Cui et al. 2021). Between two
//! neighbouring levels the gains are interpolated on [`STEPS_PER_LEVEL`] *steps*, and one
//! extrapolated level ([`EXTRA_LEVELS`]) continues the top of the range, so rate control can
//! pick any of `max_step(levels)` qualities. A neural frame header carries the step
//! (1-based); level `L` is step `(L − 1) · STEPS_PER_LEVEL + 1`.
//!
//! Everything here is integer or basic IEEE arithmetic (no `exp`, `ln`, `pow`), so encoder
//! and decoder derive identical gains and entropy tables on every platform.

/// Steps from one trained level to the next.
pub const STEPS_PER_LEVEL: u8 = 8;

/// Levels extrapolated above the top trained level (the top of the quality range).
pub const EXTRA_LEVELS: u8 = 1;

/// The highest step of a model with `levels` trained levels.
pub fn max_step(levels: u8) -> u8 {
    (levels - 1 + EXTRA_LEVELS) * STEPS_PER_LEVEL + 1
}

/// The step of trained level `level` (1-based); saturates at 255 (an out-of-range level read
/// from a version 1 header stays out of range, and is refused where it is used).
pub fn level_to_step(level: u8) -> u8 {
    let step = u16::from(level.max(1) - 1) * u16::from(STEPS_PER_LEVEL) + 1;
    step.min(255) as u8
}

/// The (possibly fractional) level of `step`: 1.0, 1.125, …
pub fn step_to_level(step: u8) -> f32 {
    1.0 + f32::from(step.max(1) - 1) / f32::from(STEPS_PER_LEVEL)
}

/// The step nearest to a (possibly fractional) level, clamped to `1..=max`.
pub fn level_to_nearest_step(level: f32, max: u8) -> u8 {
    let s = ((level - 1.0) * f32::from(STEPS_PER_LEVEL)).round() + 1.0;
    if s.is_nan() {
        return 1;
    }
    s.clamp(1.0, f32::from(max)) as u8
}

/// Where a step sits between trained levels: `(lower level index, numerator)` with the
/// position `lower + numerator / STEPS_PER_LEVEL` (0-based levels). Steps above the top level
/// have `lower = levels − 1` and a numerator up to `EXTRA_LEVELS · STEPS_PER_LEVEL`.
pub fn position(step: u8, levels: u8) -> (usize, u32) {
    let k = u32::from(step.max(1) - 1);
    let per = u32::from(STEPS_PER_LEVEL);
    let top = u32::from(levels - 1);
    let lower = (k / per).min(top);
    (lower as usize, k - lower * per)
}

/// The per-channel vectors (`[levels, m]`, row-major) continued onto the fine grid
/// (`[max_step, m]`): linear between neighbouring levels; above the top level, linear towards
/// the geometric continuation `v_top² / v_below` (which keeps positive values positive).
pub fn fine_vectors(v: &[f32], levels: u8, m: usize) -> Vec<f32> {
    let steps = max_step(levels);
    let top = usize::from(levels - 1);
    let per = f32::from(STEPS_PER_LEVEL);
    let mut out = Vec::with_capacity(usize::from(steps) * m);
    for step in 1..=steps {
        let (lower, num) = position(step, levels);
        let t = num as f32 / per;
        for c in 0..m {
            let a = v[lower * m + c];
            let b = if lower < top {
                v[(lower + 1) * m + c]
            } else if top > 0 {
                let below = v[(top - 1) * m + c];
                if below != 0.0 { a * a / below } else { a }
            } else {
                a
            };
            out.push(if num == 0 { a } else { a + (b - a) * t });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_onto_steps() {
        assert_eq!(max_step(6), 49);
        assert_eq!(level_to_step(1), 1);
        assert_eq!(level_to_step(6), 41);
        assert_eq!(level_to_step(200), 255);
        assert_eq!(step_to_level(41), 6.0);
        assert_eq!(step_to_level(5), 1.5);
        assert_eq!(level_to_nearest_step(3.5, 49), 21);
        assert_eq!(level_to_nearest_step(99.0, 49), 49);
        assert_eq!(level_to_nearest_step(f32::NAN, 49), 1);
        assert_eq!(position(41, 6), (5, 0));
        assert_eq!(position(49, 6), (5, 8));
        assert_eq!(position(12, 6), (1, 3));
    }

    #[test]
    fn trained_levels_are_kept_and_steps_interpolate() {
        let v = [1.0, 10.0, 2.0, 20.0, 4.0, 40.0]; // 3 levels, 2 channels
        let f = fine_vectors(&v, 3, 2);
        assert_eq!(f.len(), usize::from(max_step(3)) * 2);
        assert_eq!(&f[0..2], &[1.0, 10.0]);
        assert_eq!(&f[16..18], &[2.0, 20.0]); // step 9 = level 2
        assert_eq!(&f[32..34], &[4.0, 40.0]); // step 17 = level 3
        assert_eq!(f[8], 1.5); // step 5: half way from level 1 to 2
        assert_eq!(&f[48..50], &[8.0, 80.0]); // step 25: the extrapolated level, 4²/2
    }
}
