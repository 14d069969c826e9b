//! The payload of a neural delta frame (`docs/format.md` §7.2): which latent positions are
//! updated, then their symbols.
//!
//! ```text
//! flags_len: u32 LE | flags: range-coded update flags | symbols: range-coded symbols
//! ```
//!
//! One flag per position in raster order, coded with an adaptive binary model in one of
//! eight contexts (left flag, top flag, and whether the position's held step is below the
//! frame's). The model adapts by integer counts only, so both sides stay in step exactly.
//! The updated positions' symbols follow as in a key frame, with the frame step's tables.

use constriction::stream::model::ContiguousCategoricalEntropyModel;
use constriction::stream::queue::{DefaultRangeDecoder, DefaultRangeEncoder};
use constriction::stream::{Decode, Encode};

use super::state::Update;
use crate::entropy::{EntropyTables, PRECISION, decode_symbols, encode_symbols};
use crate::error::{Error, FormatError, Result};

type Binary = ContiguousCategoricalEntropyModel<u32, Vec<u32>, PRECISION>;

/// Number of flag contexts.
const CONTEXTS: usize = 8;
/// A context's counts are halved when their sum passes this (keeps the model adaptive).
const COUNT_LIMIT: u32 = 1024;

fn corrupt(reason: impl Into<String>) -> Error {
    FormatError::CorruptPayload {
        codec: "neural delta",
        reason: reason.into(),
    }
    .into()
}

/// Adaptive binary model per context, integer counts only.
struct FlagModel {
    counts: [[u32; 2]; CONTEXTS],
}

impl FlagModel {
    fn new() -> Self {
        FlagModel {
            counts: [[2, 2]; CONTEXTS],
        }
    }

    fn model(&self, ctx: usize) -> Binary {
        let [c0, c1] = self.counts[ctx];
        let total = 1u64 << PRECISION;
        let p1 = ((u64::from(c1) * total) / u64::from(c0 + c1)).clamp(1, total - 1) as u32;
        let probs = [(total as u32) - p1, p1];
        Binary::from_nonzero_fixed_point_probabilities(probs, false)
            .expect("two non-zero probabilities summing to 2^16")
    }

    fn update(&mut self, ctx: usize, bit: usize) {
        let c = &mut self.counts[ctx];
        c[bit] += 2;
        if c[0] + c[1] > COUNT_LIMIT {
            c[0] = c[0].div_ceil(2);
            c[1] = c[1].div_ceil(2);
        }
    }
}

/// The context of position `p`: left flag, top flag, held step below the frame step.
fn context(flags: &[bool], p: usize, grid_w: usize, refinable: bool) -> usize {
    let left = !p.is_multiple_of(grid_w) && flags[p - 1];
    let top = p >= grid_w && flags[p - grid_w];
    usize::from(left) + 2 * usize::from(top) + 4 * usize::from(refinable)
}

/// Writes a delta payload. `held_steps` are the steps the receiver holds per position.
pub fn encode(
    tables: &EntropyTables,
    update: &Update,
    held_steps: &[u8],
    grid_w: usize,
) -> Result<Vec<u8>> {
    let mut enc = DefaultRangeEncoder::new();
    let mut model = FlagModel::new();
    for (p, &flag) in update.updated.iter().enumerate() {
        let ctx = context(&update.updated, p, grid_w, held_steps[p] < update.step);
        enc.encode_symbol(usize::from(flag), model.model(ctx))
            .map_err(|e| corrupt(format!("flag encoder: {e:?}")))?;
        model.update(ctx, usize::from(flag));
    }
    let flags = enc
        .into_compressed()
        .map_err(|e| corrupt(format!("flag encoder: {e:?}")))?;
    let count = update.count();
    let symbols = encode_symbols(tables, usize::from(update.step) - 1, &update.symbols, count)?;
    let mut out = Vec::with_capacity(4 + flags.len() * 4 + symbols.len());
    out.extend_from_slice(&((flags.len() * 4) as u32).to_le_bytes());
    out.extend(flags.iter().flat_map(|w| w.to_le_bytes()));
    out.extend_from_slice(&symbols);
    Ok(out)
}

/// Reads a delta payload for a receiver holding `held_steps`, coded at `step`. Malformed
/// bytes give a typed error, never a panic.
pub fn decode(
    tables: &EntropyTables,
    payload: &[u8],
    step: u8,
    held_steps: &[u8],
    grid_w: usize,
) -> Result<Update> {
    let len_bytes: [u8; 4] = payload
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt("shorter than its 4-byte flags length"))?;
    let flags_len = u32::from_le_bytes(len_bytes) as usize;
    if !flags_len.is_multiple_of(4) || flags_len > payload.len() - 4 {
        return Err(corrupt(format!(
            "flags length {flags_len} does not fit the {}-byte payload",
            payload.len()
        )));
    }
    let words: Vec<u32> = payload[4..4 + flags_len]
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let mut dec = DefaultRangeDecoder::from_compressed(words)
        .map_err(|e| corrupt(format!("flag decoder: {e:?}")))?;
    let n = held_steps.len();
    let mut updated = vec![false; n];
    let mut model = FlagModel::new();
    for p in 0..n {
        let ctx = context(&updated, p, grid_w, held_steps[p] < step);
        let bit = dec
            .decode_symbol(model.model(ctx))
            .map_err(|e| corrupt(format!("flag decoder: {e:?}")))?;
        updated[p] = bit == 1;
        model.update(ctx, bit);
    }
    let count = updated.iter().filter(|&&u| u).count();
    let symbols = decode_symbols(
        tables,
        usize::from(step) - 1,
        &payload[4 + flags_len..],
        count,
    )?;
    Ok(Update {
        step,
        updated,
        symbols,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> EntropyTables {
        // Two steps, two channels.
        EntropyTables::new(
            2,
            2,
            &[-1, -1, -2, -2],
            &[4, 4, 6, 6],
            &[
                16384, 32768, 16383, 1, 16384, 32768, 16383, 1, 8192, 16384, 16384, 16384, 8191, 1,
                8192, 16384, 16384, 16384, 8191, 1,
            ],
            &[0.0; 4],
        )
        .unwrap()
    }

    #[test]
    fn round_trip_and_static_frames_are_tiny() {
        let t = tables();
        let held = vec![1u8; 12];
        let mut updated = vec![false; 12];
        updated[5] = true;
        updated[9] = true;
        let u = Update {
            step: 2,
            updated,
            symbols: vec![1, -2, 0, 7],
        };
        let bytes = encode(&t, &u, &held, 4).unwrap();
        assert_eq!(decode(&t, &bytes, 2, &held, 4).unwrap(), u);
        let none = Update {
            step: 1,
            updated: vec![false; 1200],
            symbols: vec![],
        };
        let bytes = encode(&t, &none, &[1; 1200], 40).unwrap();
        assert!(
            bytes.len() <= 40,
            "{} bytes for a static frame",
            bytes.len()
        );
        assert_eq!(decode(&t, &bytes, 1, &[1; 1200], 40).unwrap(), none);
    }

    #[test]
    fn garbage_is_an_error_or_garbage_never_a_panic() {
        let t = tables();
        let held = vec![1u8; 30];
        for seed in 0..300u32 {
            let bytes: Vec<u8> = (0..(seed % 40))
                .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed * 7919) >> 11) as u8)
                .collect();
            let _ = decode(&t, &bytes, 2, &held, 6);
        }
        assert!(decode(&t, &[8, 0, 0, 0], 1, &held, 6).is_err());
        assert!(decode(&t, &[], 1, &held, 6).is_err());
    }
}
