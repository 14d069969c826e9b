//! Entropy coding: integer latent symbols ⇄ bytes, with a range coder (`constriction`) driven
//! by the factorized prior's integer tables (`docs/format.md` §6.3).
//!
//! # Module Overview
//! - [`EntropyTables`]: one fixed-point categorical model per quality level and channel.
//! - [`encode_symbols`] / [`decode_symbols`]: a `[channels, height, width]` array of symbols,
//!   channel-major, through one range-coder stream. A symbol outside its channel's table is
//!   coded as the escape symbol followed by its exact value (sign and Exp-Golomb with uniform
//!   models), so no value is ever clamped.
//!
//! ```
//! use aic_core::entropy::{EntropyTables, decode_symbols, encode_symbols};
//! // One level, one channel: symbols -1, 0, 1 in range (start -1), then the escape symbol.
//! let tables = EntropyTables::new(1, 1, &[-1], &[4], &[16384, 32768, 16383, 1], &[0.0]).unwrap();
//! let symbols = [0, 1, -1, 0, 700, -5];
//! let bytes = encode_symbols(&tables, 0, &symbols, 6).unwrap();
//! assert_eq!(decode_symbols(&tables, 0, &bytes, 6).unwrap(), symbols);
//! ```

pub mod fine;
mod tables;

pub use tables::{EntropyTables, PRECISION};

use constriction::stream::model::UniformModel;
use constriction::stream::queue::{DefaultRangeDecoder, DefaultRangeEncoder};
use constriction::stream::{Decode, Encode};

use crate::error::{Error, FormatError, ParameterError, Result};

/// Uniform model over `0..n` for the escape's raw bits (n ≤ 2^16).
type Uniform = UniformModel<u32, PRECISION>;

/// Largest number of raw bits one uniform symbol carries.
const CHUNK_BITS: u32 = 12;

fn corrupt(reason: impl Into<String>) -> Error {
    FormatError::CorruptPayload {
        codec: "neural",
        reason: reason.into(),
    }
    .into()
}

fn check_level(tables: &EntropyTables, level: usize, len: usize, per_channel: usize) -> Result<()> {
    if level >= tables.levels() {
        return Err(ParameterError::new(
            "quality level",
            format!("index {level}, the tables have {}", tables.levels()),
        )
        .into());
    }
    if len != per_channel * tables.channels() {
        return Err(ParameterError::new(
            "symbols",
            format!(
                "{len} symbols, expected {} channels × {per_channel}",
                tables.channels()
            ),
        )
        .into());
    }
    Ok(())
}

/// Range-codes `symbols` (`[channels, per_channel]`, channel-major) with the tables of
/// `level`; returns the compressed bytes (a whole number of 32-bit little-endian words).
pub fn encode_symbols(
    tables: &EntropyTables,
    level: usize,
    symbols: &[i32],
    per_channel: usize,
) -> Result<Vec<u8>> {
    check_level(tables, level, symbols.len(), per_channel)?;
    let mut enc = DefaultRangeEncoder::new();
    let coder_err = |e| corrupt(format!("range encoder: {e:?}"));
    let uniform = |n: u32| Uniform::new(n as usize);
    for (c, chunk) in symbols.chunks(per_channel.max(1)).enumerate() {
        let ch = tables.channel(level, c);
        let escape = ch.in_range as usize;
        for &s in chunk {
            let index = i64::from(s) - i64::from(ch.start);
            if (0..i64::from(ch.in_range)).contains(&index) {
                enc.encode_symbol(index as usize, &ch.model)
                    .map_err(coder_err)?;
                continue;
            }
            enc.encode_symbol(escape, &ch.model).map_err(coder_err)?;
            // Distance beyond the table's edge, ≥ 0, with the side as a sign bit.
            let (side, over) = if index < 0 {
                (0, (-index - 1) as u64)
            } else {
                (1, (index - i64::from(ch.in_range)) as u64)
            };
            enc.encode_symbol(side, uniform(2)).map_err(coder_err)?;
            // Exp-Golomb: bit length of over + 1, then its bits below the top one.
            let v = over + 1;
            let bits = 64 - v.leading_zeros();
            enc.encode_symbol((bits - 1) as usize, uniform(64))
                .map_err(coder_err)?;
            let mut rest = bits - 1;
            while rest > 0 {
                let k = rest.min(CHUNK_BITS);
                rest -= k;
                let part = ((v >> rest) & ((1 << k) - 1)) as usize;
                enc.encode_symbol(part, uniform(1 << k))
                    .map_err(coder_err)?;
            }
        }
    }
    let words = enc
        .into_compressed()
        .map_err(|e| corrupt(format!("range encoder: {e:?}")))?;
    Ok(words.iter().flat_map(|w| w.to_le_bytes()).collect())
}

/// Decodes `channels × per_channel` symbols coded by [`encode_symbols`] at `level`.
/// Malformed bytes give a [`FormatError::CorruptPayload`], never a panic.
pub fn decode_symbols(
    tables: &EntropyTables,
    level: usize,
    bytes: &[u8],
    per_channel: usize,
) -> Result<Vec<i32>> {
    let total = per_channel * tables.channels();
    check_level(tables, level, total, per_channel)?;
    if !bytes.len().is_multiple_of(4) {
        return Err(corrupt(format!(
            "{} bytes is not a whole number of 32-bit words",
            bytes.len()
        )));
    }
    let words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let mut dec = DefaultRangeDecoder::from_compressed(words)
        .map_err(|e| corrupt(format!("range decoder: {e:?}")))?;
    let coder_err = |e| corrupt(format!("range decoder: {e:?}"));
    let uniform = |n: u32| Uniform::new(n as usize);
    let mut out = Vec::with_capacity(total);
    for c in 0..tables.channels() {
        let ch = tables.channel(level, c);
        for _ in 0..per_channel {
            let index = dec.decode_symbol(&ch.model).map_err(coder_err)?;
            if index < ch.in_range as usize {
                out.push(ch.start + index as i32);
                continue;
            }
            let side = dec.decode_symbol(uniform(2)).map_err(coder_err)?;
            let bits = dec.decode_symbol(uniform(64)).map_err(coder_err)? as u32 + 1;
            if bits > 33 {
                return Err(corrupt(format!(
                    "escape of {bits} bits exceeds a 32-bit symbol"
                )));
            }
            let mut v: u64 = 1;
            let mut rest = bits - 1;
            while rest > 0 {
                let k = rest.min(CHUNK_BITS);
                rest -= k;
                v = (v << k) | dec.decode_symbol(uniform(1 << k)).map_err(coder_err)? as u64;
            }
            let over = (v - 1) as i64;
            let s = if side == 0 {
                i64::from(ch.start) - 1 - over
            } else {
                i64::from(ch.start) + i64::from(ch.in_range) + over
            };
            out.push(
                i32::try_from(s)
                    .map_err(|_| corrupt(format!("escaped symbol {s} exceeds 32 bits")))?,
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> EntropyTables {
        // Two levels × two channels, different ranges.
        EntropyTables::new(
            2,
            2,
            &[-2, 0, -1, -3],
            &[5, 3, 4, 9],
            &[
                4096, 16384, 32768, 12287, 1, // level 0, channel 0: -2..=1 + escape
                60000, 5535, 1, // level 0, channel 1: 0..=1 + escape
                16384, 32768, 16383, 1, // level 1, channel 0: -1..=1 + escape
                8192, 8192, 8192, 8192, 8192, 8192, 8192, 8191, 1, // level 1, channel 1
            ],
            &[0.0, 0.5, -0.25, 0.0],
        )
        .unwrap()
    }

    #[test]
    fn round_trip_with_escapes_at_every_magnitude() {
        let t = tables();
        let mut symbols = vec![0; 2 * 40];
        let extremes = [i32::MIN, i32::MAX, -3, 2, 4097, -4097, 1 << 20, -(1 << 30)];
        for (i, s) in symbols.iter_mut().enumerate() {
            *s = match i % 10 {
                0 => extremes[(i / 10) % extremes.len()],
                k => k as i32 % 3 - 1,
            };
        }
        for level in 0..2 {
            let bytes = encode_symbols(&t, level, &symbols, 40).unwrap();
            assert_eq!(decode_symbols(&t, level, &bytes, 40).unwrap(), symbols);
        }
    }

    #[test]
    fn likely_symbols_cost_little() {
        let t = tables();
        let symbols = vec![0i32; 2 * 4000]; // channel 0: p(0)=0.5; channel 1: p(0)≈0.92
        let bytes = encode_symbols(&t, 0, &symbols, 4000).unwrap();
        let ideal_bits = 4000.0 * (1.0 + (65536.0f64 / 60000.0).log2());
        assert!((bytes.len() * 8) as f64 <= ideal_bits * 1.01 + 64.0);
    }

    #[test]
    fn garbage_is_an_error_or_garbage_never_a_panic() {
        let t = tables();
        for seed in 0..200u32 {
            let bytes: Vec<u8> = (0..(seed % 64) * 4)
                .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed * 7919) >> 13) as u8)
                .collect();
            let _ = decode_symbols(&t, 1, &bytes, 50);
        }
        assert!(decode_symbols(&t, 0, &[1, 2, 3], 1).is_err());
        assert!(decode_symbols(&t, 2, &[], 1).is_err());
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(EntropyTables::new(1, 1, &[0], &[2], &[65535, 2], &[0.0]).is_err());
        assert!(EntropyTables::new(1, 1, &[0], &[2], &[65536, 0], &[0.0]).is_err());
        assert!(EntropyTables::new(1, 1, &[0], &[3], &[65535, 1], &[0.0]).is_err());
        assert!(EntropyTables::new(1, 2, &[0], &[2], &[65535, 1], &[0.0]).is_err());
    }
}
