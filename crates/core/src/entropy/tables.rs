//! Integer entropy tables of the factorized prior: one categorical distribution per quality
//! level and latent channel (`docs/format.md` §6.3).
//!
//! The tables are integers (16-bit fixed-point frequencies) computed once from the trained
//! prior and shipped with the weights, so encoder and decoder build bit-identical models on
//! any platform: decoding never depends on a floating-point result.

use constriction::stream::model::ContiguousCategoricalEntropyModel;

use crate::error::{Error, ParameterError, Result};

/// Fixed-point precision of the frequencies: each channel's frequencies sum to `1 << 16`.
pub const PRECISION: usize = 16;

/// Categorical model over `0..size` with 16-bit fixed-point probabilities.
pub(crate) type Model = ContiguousCategoricalEntropyModel<u32, Vec<u32>, PRECISION>;

/// One channel's distribution over symbols `start..start + size - 1`, plus an escape symbol
/// (index `size - 1`) for everything outside that range.
#[derive(Debug, Clone)]
pub(crate) struct ChannelModel {
    /// Smallest in-range symbol.
    pub start: i32,
    /// Number of in-range symbols (the escape symbol is not counted).
    pub in_range: u32,
    /// The categorical model over in-range indices and the escape index.
    pub model: Model,
    /// What each index costs, in 1/256 bits (−log2 of its probability): the encoder's size
    /// estimate before it runs the range coder. Never used to decode.
    pub cost: Vec<u32>,
}

/// The entropy tables of every quality level and channel.
#[derive(Debug, Clone)]
pub struct EntropyTables {
    levels: usize,
    channels: usize,
    models: Vec<ChannelModel>,
    medians: Vec<f32>,
}

fn bad(detail: String) -> Error {
    Error::Parameter(ParameterError::new("entropy tables", detail))
}

impl EntropyTables {
    /// Builds the tables from their shipped form: for each `(level, channel)` in row-major
    /// order, `start` (smallest in-range symbol), `size` (in-range symbols + 1 escape) and
    /// `median` (quantization centre); `freqs` holds each pair's `size` frequencies back to
    /// back, every one non-zero, each run summing to `1 << PRECISION`.
    pub fn new(
        levels: usize,
        channels: usize,
        start: &[i32],
        size: &[i32],
        freqs: &[i32],
        medians: &[f32],
    ) -> Result<Self> {
        let n = levels * channels;
        if start.len() != n || size.len() != n || medians.len() != n {
            return Err(bad(format!(
                "{levels}×{channels} tables need {n} starts, sizes and medians; got {}, {}, {}",
                start.len(),
                size.len(),
                medians.len()
            )));
        }
        let mut models = Vec::with_capacity(n);
        let mut at = 0usize;
        for i in 0..n {
            let s = usize::try_from(size[i])
                .ok()
                .filter(|s| (2..=1 << PRECISION).contains(s))
                .ok_or_else(|| bad(format!("table {i}: size {} out of range", size[i])))?;
            let run = freqs
                .get(at..at + s)
                .ok_or_else(|| bad(format!("table {i}: frequencies end early")))?;
            at += s;
            let probs: Vec<u32> = run
                .iter()
                .map(|&f| u32::try_from(f).ok().filter(|&f| f > 0))
                .collect::<Option<_>>()
                .ok_or_else(|| bad(format!("table {i}: a frequency is not positive")))?;
            let model =
                Model::from_nonzero_fixed_point_probabilities(&probs, false).map_err(|()| {
                    bad(format!(
                        "table {i}: frequencies do not sum to 2^{PRECISION}"
                    ))
                })?;
            let cost = probs
                .iter()
                .map(|&p| ((f64::from(1u32 << PRECISION) / f64::from(p)).log2() * 256.0) as u32)
                .collect();
            models.push(ChannelModel {
                start: start[i],
                in_range: (s - 1) as u32,
                model,
                cost,
            });
        }
        if at != freqs.len() {
            return Err(bad(format!(
                "{} frequencies left over after {n} tables",
                freqs.len() - at
            )));
        }
        Ok(EntropyTables {
            levels,
            channels,
            models,
            medians: medians.to_vec(),
        })
    }

    /// Number of quality levels.
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// Number of latent channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The quantization centres of `level`, one per channel.
    pub fn medians(&self, level: usize) -> &[f32] {
        &self.medians[level * self.channels..(level + 1) * self.channels]
    }

    pub(crate) fn channel(&self, level: usize, channel: usize) -> &ChannelModel {
        &self.models[level * self.channels + channel]
    }

    /// What coding `symbol` in `channel` at `level` costs, in 1/256 bits (an estimate for
    /// rate control; escapes are counted with their Exp-Golomb bits).
    #[inline]
    pub fn symbol_cost(&self, level: usize, channel: usize, symbol: i32) -> u32 {
        let ch = self.channel(level, channel);
        let index = i64::from(symbol) - i64::from(ch.start);
        if (0..i64::from(ch.in_range)).contains(&index) {
            return ch.cost[index as usize];
        }
        let over = if index < 0 {
            (-index) as u64
        } else {
            (index - i64::from(ch.in_range) + 1) as u64
        };
        let bits = 64 - over.leading_zeros();
        ch.cost[ch.in_range as usize] + 256 * (1 + 6 + bits)
    }
}
