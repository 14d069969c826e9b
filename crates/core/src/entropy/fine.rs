//! Entropy tables for every step of the fine quality grid (`docs/format.md` §6.4), derived
//! from the trained levels' integer tables.
//!
//! At a step between levels, a channel's latent is the trained level's latent scaled by
//! `r = gain[step] / gain[base]` (same analysis output, another gain), so its distribution is
//! the base level's, stretched by `r`. The base level's table is read as a piecewise-constant
//! density (each symbol's mass spread over its unit interval), stretched, re-binned onto unit
//! intervals, and quantized back to 16-bit frequencies. Only basic IEEE `f64` arithmetic and
//! `floor` are used, in a fixed order, so encoder and decoder derive bit-identical tables on
//! every platform; a step that is a trained level keeps that level's table exactly.

use super::PRECISION;
use crate::error::{ParameterError, Result};
use crate::quality::{STEPS_PER_LEVEL, max_step, position};

/// Entropy tables in their shipped form (`EntropyTables::new`'s arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct RawTables {
    /// Smallest in-range symbol per `(level, channel)`.
    pub start: Vec<i32>,
    /// In-range symbols + 1 (the escape) per `(level, channel)`.
    pub size: Vec<i32>,
    /// Each `(level, channel)`'s frequencies back to back, each run summing to `1 << 16`.
    pub freqs: Vec<i32>,
    /// Quantization centre per `(level, channel)`.
    pub medians: Vec<f32>,
}

/// Largest in-range table a derived step may have (bounds the work of a crafted weights file).
const MAX_DERIVED_SIZE: usize = 4096;

fn bad(detail: String) -> crate::error::Error {
    ParameterError::new("entropy tables", detail).into()
}

/// Derives the tables of every step (`[max_step(levels), m]`) from the trained levels'
/// tables (`[levels, m]`) and the gains of both (`gain` per level, `fine_gain` per step).
pub fn derive(
    base: &RawTables,
    levels: u8,
    m: usize,
    gain: &[f32],
    fine_gain: &[f32],
) -> Result<RawTables> {
    let n = usize::from(levels) * m;
    if base.start.len() != n || base.size.len() != n || base.medians.len() != n {
        return Err(bad(format!("expected {n} tables")));
    }
    // Offsets of each base table's frequencies.
    let mut offsets = Vec::with_capacity(n + 1);
    let mut at = 0usize;
    for &s in &base.size {
        offsets.push(at);
        at += usize::try_from(s).map_err(|_| bad(format!("size {s}")))?;
    }
    offsets.push(at);
    if at != base.freqs.len() {
        return Err(bad("frequencies and sizes disagree".into()));
    }
    let steps = max_step(levels);
    let mut out = RawTables {
        start: Vec::new(),
        size: Vec::new(),
        freqs: Vec::new(),
        medians: Vec::new(),
    };
    for step in 1..=steps {
        let (lower, num) = position(step, levels);
        // The nearest trained level lends its table.
        let base_level = if num * 2 >= u32::from(STEPS_PER_LEVEL) && lower + 1 < usize::from(levels)
        {
            lower + 1
        } else {
            lower
        };
        let exact = num == 0 || (num == u32::from(STEPS_PER_LEVEL) && base_level == lower + 1);
        for c in 0..m {
            let i = base_level * m + c;
            let run = &base.freqs[offsets[i]..offsets[i + 1]];
            let g_base = f64::from(gain[i]);
            let g = f64::from(fine_gain[usize::from(step - 1) * m + c]);
            if exact || g == g_base || g_base <= 0.0 || g <= 0.0 {
                out.start.push(base.start[i]);
                out.size.push(base.size[i]);
                out.freqs.extend_from_slice(run);
                out.medians.push(base.medians[i]);
                continue;
            }
            let r = g / g_base;
            let (start, freqs) = stretch(base.start[i], run, r)?;
            out.start.push(start);
            out.size.push(freqs.len() as i32);
            out.freqs.extend(freqs);
            out.medians.push((f64::from(base.medians[i]) * r) as f32);
        }
    }
    Ok(out)
}

/// Stretches one table (in-range frequencies then the escape's) by `r`: the new start and
/// frequencies (in-range then escape), every one ≥ 1, summing to `1 << PRECISION`.
fn stretch(start: i32, run: &[i32], r: f64) -> Result<(i32, Vec<i32>)> {
    let n = run.len() - 1;
    let escape = f64::from(run[n]);
    // Base symbol j covers [j − ½, j + ½); stretched, [r(j − ½), r(j + ½)).
    let lo = r * (f64::from(start) - 0.5);
    let hi = r * (f64::from(start) + n as f64 - 0.5);
    let new_start = (lo + 0.5).floor();
    let new_end = (hi - 0.5).floor() + 1.0; // exclusive: the last bin that starts below hi
    let count = (new_end - new_start).max(1.0) as usize;
    if count > MAX_DERIVED_SIZE {
        return Err(bad(format!("a derived table would have {count} symbols")));
    }
    let mut mass = vec![0.0f64; count];
    for (j, &f) in run[..n].iter().enumerate() {
        let a = r * (f64::from(start) + j as f64 - 0.5);
        let b = a + r;
        let density = f64::from(f) / r;
        // Bins [new_start + k − ½, new_start + k + ½) that overlap [a, b).
        let first = ((a + 0.5).floor() - new_start).max(0.0) as usize;
        let mut k = first;
        while k < count {
            let bin_lo = new_start + k as f64 - 0.5;
            let bin_hi = bin_lo + 1.0;
            if bin_lo >= b {
                break;
            }
            let overlap = bin_hi.min(b) - bin_lo.max(a);
            if overlap > 0.0 {
                mass[k] += overlap * density;
            }
            k += 1;
        }
    }
    // Quantize: one count each (escape included), the rest in proportion, the remainder to
    // the most likely symbol (the first of equals).
    let total_fp = 1u64 << PRECISION;
    let spare = total_fp - (count as u64 + 1);
    let sum: f64 = mass.iter().sum::<f64>() + escape;
    let mut freqs: Vec<i32> = Vec::with_capacity(count + 1);
    let mut used = 0u64;
    for &mv in mass.iter().chain(std::iter::once(&escape)) {
        let q = ((mv / sum) * spare as f64).floor() as u64;
        used += q + 1;
        freqs.push((q + 1) as i32);
    }
    let mut best = 0;
    for (k, &f) in freqs.iter().enumerate() {
        if f > freqs[best] {
            best = k;
        }
    }
    freqs[best] += (total_fp - used) as i32;
    Ok((new_start as i32, freqs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::EntropyTables;
    use crate::quality::fine_vectors;

    fn base() -> RawTables {
        RawTables {
            start: vec![-2, -1, -3, -4],
            size: vec![5, 3, 7, 9],
            freqs: vec![
                4096, 16384, 32768, 12287, 1, // level 0 channel 0
                30000, 35535, 1, // level 0 channel 1
                1000, 8000, 20000, 20000, 10000, 6535, 1, // level 1 channel 0
                500, 2000, 6000, 20000, 20000, 10000, 5000, 2035, 1, // level 1 channel 1
            ],
            medians: vec![0.1, -0.2, 0.15, -0.3],
        }
    }

    #[test]
    fn derived_tables_are_valid_and_keep_trained_levels() {
        let gain = [1.0f32, 2.0, 1.5, 3.0];
        let fine_gain = fine_vectors(&gain, 2, 2);
        let raw = derive(&base(), 2, 2, &gain, &fine_gain).unwrap();
        let steps = usize::from(max_step(2));
        let t =
            EntropyTables::new(steps, 2, &raw.start, &raw.size, &raw.freqs, &raw.medians).unwrap();
        assert_eq!(t.levels(), steps);
        // Step 1 is level 1, step 9 is level 2: their tables are the trained ones.
        assert_eq!(&raw.start[0..2], &[-2, -1]);
        assert_eq!(&raw.start[16..18], &[-3, -4]);
        assert_eq!(&raw.medians[16..18], &[0.15, -0.3]);
        // Above the top level the tables widen.
        assert!(raw.size[(steps - 1) * 2] > 7);
        // Deterministic.
        assert_eq!(raw, derive(&base(), 2, 2, &gain, &fine_gain).unwrap());
    }

    #[test]
    fn stretching_keeps_mass_where_it_was() {
        let (start, f) = stretch(-1, &[16384, 32767, 16384, 1], 2.0).unwrap();
        assert_eq!(f.iter().map(|&v| i64::from(v)).sum::<i64>(), 1 << 16);
        assert!(start <= -2);
        // The centre (symbol 0) is still the most likely.
        let centre = (0 - start) as usize;
        assert!(f.iter().all(|&v| v <= f[centre]));
    }
}
