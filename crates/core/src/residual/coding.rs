//! Entropy coding of the refinement layer's coefficients (`docs/format.md` §9.3): adaptive
//! binary models driven by integer counts, over one range-coder stream.

use constriction::stream::model::{ContiguousCategoricalEntropyModel, UniformModel};
use constriction::stream::queue::{DefaultRangeDecoder, DefaultRangeEncoder};
use constriction::stream::{Decode, Encode};

use crate::entropy::PRECISION;
use crate::error::{Error, FormatError, Result};

type Binary = ContiguousCategoricalEntropyModel<u32, Vec<u32>, PRECISION>;
type Uniform = UniformModel<u32, PRECISION>;

/// Probability resolution of the adaptive binary models: p(1) is a multiple of 1/64.
const LEVELS: u32 = 64;
/// A context's counts are halved when their sum passes this.
const COUNT_LIMIT: u32 = 256;
/// Largest magnitude above 2 a coefficient may carry (its Exp-Golomb length is bounded).
pub const MAX_MAGNITUDE_BITS: u32 = 24;

/// Contexts of the residual levels: plane kind (luma, chroma) × the roles in [`ctx`].
pub const CONTEXTS_RESIDUAL: usize = 2 * 16;
/// All contexts of one stream: the residual's, then the motion syntax's
/// (`crate::motion::syntax`).
pub const CONTEXTS: usize = CONTEXTS_RESIDUAL + 32 + 2 * 3 * 12;
/// Context offsets within a plane kind.
pub mod ctx {
    /// Block coded flag, + left coded + 2 · top coded (4 contexts).
    pub const CODED: usize = 0;
    /// Significance, + position class (0: DC, 1: 1–2, 2: 3–5, 3: 6–15).
    pub const SIG: usize = 4;
    /// Magnitude greater than one, + position class.
    pub const GT1: usize = 8;
    /// Magnitude greater than two, + position class.
    pub const GT2: usize = 12;
}

/// The position class of zig-zag index `k`.
pub fn pos_class(k: usize) -> usize {
    match k {
        0 => 0,
        1..=2 => 1,
        3..=5 => 2,
        _ => 3,
    }
}

fn corrupt(reason: impl Into<String>) -> Error {
    FormatError::CorruptPayload {
        codec: "refinement layer",
        reason: reason.into(),
    }
    .into()
}

/// The fixed binary models, one per probability level (shared by encoder and decoder).
pub struct Models {
    binary: Vec<Binary>,
}

impl Models {
    /// Builds the `LEVELS − 1` binary models.
    pub fn new() -> Self {
        let total = 1u32 << PRECISION;
        let binary = (1..LEVELS)
            .map(|k| {
                let p1 = k * (total / LEVELS);
                Binary::from_nonzero_fixed_point_probabilities([total - p1, p1], false)
                    .expect("two non-zero probabilities summing to 2^16")
            })
            .collect();
        Models { binary }
    }
}

impl Default for Models {
    fn default() -> Self {
        Self::new()
    }
}

/// Adaptive counts per context.
#[derive(Clone)]
pub struct Contexts {
    counts: [[u32; 2]; CONTEXTS],
}

impl Contexts {
    /// Every context at (1, 1).
    pub fn new() -> Self {
        Contexts {
            counts: [[1, 1]; CONTEXTS],
        }
    }

    fn level(&self, c: usize) -> usize {
        let [c0, c1] = self.counts[c];
        let k = (c1 * LEVELS + (c0 + c1) / 2) / (c0 + c1);
        (k.clamp(1, LEVELS - 1) - 1) as usize
    }

    fn update(&mut self, c: usize, bit: bool) {
        let n = &mut self.counts[c];
        n[usize::from(bit)] += 1;
        if n[0] + n[1] > COUNT_LIMIT {
            n[0] = n[0].div_ceil(2);
            n[1] = n[1].div_ceil(2);
        }
    }

    /// What coding `bit` in context `c` would cost, in bits (encoder estimate).
    pub fn cost(&self, c: usize, bit: bool) -> f64 {
        let [c0, c1] = self.counts[c];
        let n = if bit { c1 } else { c0 };
        -(f64::from(n) / f64::from(c0 + c1)).log2()
    }
}

impl Default for Contexts {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes bits and values into one range-coder stream.
pub struct Writer<'m> {
    enc: DefaultRangeEncoder,
    models: &'m Models,
    /// The adaptive contexts (shared with the caller's estimates).
    pub ctx: Contexts,
}

impl<'m> Writer<'m> {
    /// A new stream.
    pub fn new(models: &'m Models) -> Self {
        Writer {
            enc: DefaultRangeEncoder::new(),
            models,
            ctx: Contexts::new(),
        }
    }

    /// Codes `bit` in context `c` and adapts it.
    pub fn bit(&mut self, c: usize, bit: bool) -> Result<()> {
        let m = &self.models.binary[self.ctx.level(c)];
        self.enc
            .encode_symbol(usize::from(bit), m)
            .map_err(|e| corrupt(format!("encoder: {e:?}")))?;
        self.ctx.update(c, bit);
        Ok(())
    }

    /// Codes `v < n` uniformly (`n ≤ 2^16`; nothing for `n ≤ 1`).
    pub fn uniform(&mut self, v: u32, n: u32) -> Result<()> {
        if n <= 1 {
            return Ok(());
        }
        self.enc
            .encode_symbol(v as usize, Uniform::new(n as usize))
            .map_err(|e| corrupt(format!("encoder: {e:?}")))
    }

    /// Codes `v ≥ 0` as Exp-Golomb with uniform bits.
    pub fn exp_golomb(&mut self, v: u32) -> Result<()> {
        let x = u64::from(v) + 1;
        let bits = 64 - x.leading_zeros();
        self.uniform(bits - 1, 32)?;
        let mut rest = bits - 1;
        while rest > 0 {
            let k = rest.min(12);
            rest -= k;
            self.uniform(((x >> rest) & ((1 << k) - 1)) as u32, 1 << k)?;
        }
        Ok(())
    }

    /// The stream's bytes (whole 32-bit little-endian words).
    pub fn finish(self) -> Result<Vec<u8>> {
        let words = self
            .enc
            .into_compressed()
            .map_err(|e| corrupt(format!("encoder: {e:?}")))?;
        Ok(words.iter().flat_map(|w| w.to_le_bytes()).collect())
    }
}

/// Reads what a [`Writer`] wrote.
pub struct Reader<'m> {
    dec: DefaultRangeDecoder,
    models: &'m Models,
    ctx: Contexts,
}

impl<'m> Reader<'m> {
    /// Reads `bytes` (a whole number of 32-bit words).
    pub fn new(models: &'m Models, bytes: &[u8]) -> Result<Self> {
        if !bytes.len().is_multiple_of(4) {
            return Err(corrupt("not a whole number of 32-bit words"));
        }
        let words: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Reader {
            dec: DefaultRangeDecoder::from_compressed(words)
                .map_err(|e| corrupt(format!("decoder: {e:?}")))?,
            models,
            ctx: Contexts::new(),
        })
    }

    /// Reads a bit in context `c` and adapts it.
    pub fn bit(&mut self, c: usize) -> Result<bool> {
        let m = &self.models.binary[self.ctx.level(c)];
        let b = self
            .dec
            .decode_symbol(m)
            .map_err(|e| corrupt(format!("decoder: {e:?}")))?
            == 1;
        self.ctx.update(c, b);
        Ok(b)
    }

    /// Reads a uniform value below `n` (0, reading nothing, for `n ≤ 1`).
    pub fn uniform(&mut self, n: u32) -> Result<u32> {
        if n <= 1 {
            return Ok(0);
        }
        self.dec
            .decode_symbol(Uniform::new(n as usize))
            .map(|v| v as u32)
            .map_err(|e| corrupt(format!("decoder: {e:?}")))
    }

    /// Reads an Exp-Golomb value of at most [`MAX_MAGNITUDE_BITS`] bits.
    pub fn exp_golomb(&mut self) -> Result<u32> {
        let bits = self.uniform(32)? + 1;
        if bits > MAX_MAGNITUDE_BITS {
            return Err(corrupt(format!("a magnitude of {bits} bits")));
        }
        let mut x: u64 = 1;
        let mut rest = bits - 1;
        while rest > 0 {
            let k = rest.min(12);
            rest -= k;
            x = (x << k) | u64::from(self.uniform(1 << k)?);
        }
        Ok((x - 1) as u32)
    }
}

/// The level contexts' offset of a block whose left and top neighbours hold `neighbours`
/// non-zero levels together (motion residuals, `crate::motion::syntax`): three sets of the
/// SIG/GT1/GT2 contexts per plane kind, after the motion syntax's contexts. `chroma`: the
/// plane kind. The returned offset is used in place of `base` with [`ctx::SIG`] etc. shifted
/// by −4 (the CODED contexts are not repeated).
pub fn level_base(chroma: bool, neighbours: u32) -> usize {
    let bucket = match neighbours {
        0 => 0,
        1..=3 => 1,
        _ => 2,
    };
    CONTEXTS_RESIDUAL + 32 + (usize::from(chroma) * 3 + bucket) * 12 - ctx::SIG
}

/// Writes one block's coefficients (zig-zag order), `base` = the plane kind's context offset.
pub fn write_block(w: &mut Writer<'_>, base: usize, z: &[i32; 16]) -> Result<()> {
    for (k, &v) in z.iter().enumerate() {
        let class = pos_class(k);
        let a = v.unsigned_abs();
        w.bit(base + ctx::SIG + class, a != 0)?;
        if a == 0 {
            continue;
        }
        w.bit(base + ctx::GT1 + class, a > 1)?;
        if a > 1 {
            w.bit(base + ctx::GT2 + class, a > 2)?;
            if a > 2 {
                w.exp_golomb(a - 3)?;
            }
        }
        w.uniform(u32::from(v < 0), 2)?;
    }
    Ok(())
}

/// Reads one block's coefficients (zig-zag order).
pub fn read_block(r: &mut Reader<'_>, base: usize) -> Result<[i32; 16]> {
    let mut z = [0i32; 16];
    for (k, out) in z.iter_mut().enumerate() {
        let class = pos_class(k);
        if !r.bit(base + ctx::SIG + class)? {
            continue;
        }
        let mut a = 1u32;
        if r.bit(base + ctx::GT1 + class)? {
            a = 2;
            if r.bit(base + ctx::GT2 + class)? {
                a = 3 + r.exp_golomb()?;
            }
        }
        let negative = r.uniform(2)? == 1;
        let a = a as i32;
        *out = if negative { -a } else { a };
    }
    Ok(z)
}

/// Estimated bits of a block's coefficients under the current contexts (encoder only).
pub fn block_cost(ctx: &Contexts, base: usize, z: &[i32; 16]) -> f64 {
    let mut bits = 0.0;
    for (k, &v) in z.iter().enumerate() {
        let class = pos_class(k);
        let a = v.unsigned_abs();
        bits += ctx.cost(base + ctx::SIG + class, a != 0);
        if a == 0 {
            continue;
        }
        bits += 1.0 + ctx.cost(base + ctx::GT1 + class, a > 1);
        if a > 1 {
            bits += ctx.cost(base + ctx::GT2 + class, a > 2);
            if a > 2 {
                bits += 1.0 + 2.0 * f64::from(32 - (a - 2).leading_zeros());
            }
        }
    }
    bits
}
