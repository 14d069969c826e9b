//! The shipped weights: model ids, weights hash, and loading from bytes.
//!
//! One safetensors file holds the network (under the module's field paths) and the integer
//! entropy tables (`entropy.*`); `training/export.py` writes it in float32 (model 1) and
//! `training/half.py` turns that into the shipped file (model 2: the convolutions in float16,
//! widened to float32 once at load, exactly). The frame header carries the model id and the
//! first 8 bytes of the file's SHA-256, so a decoder refuses frames made with other weights
//! (`docs/format.md` §2.3).

use burn::tensor::{DType, Device};
use burn_store::{FloatCastAdapter, ModuleSnapshot, SafetensorsStore};
use safetensors::SafeTensors;
use safetensors::tensor::Dtype;
use sha2::{Digest, Sha256};

use super::{CodecModel, ModelConfig};
use crate::entropy::EntropyTables;
use crate::entropy::fine::{self, RawTables};
use crate::error::{Error, ParameterError, Result};
use crate::quality::{fine_vectors, max_step};

/// Model id of the shipped weights (`aic-fp1h`: architecture `aic-fp1`, convolutions stored as
/// float16), written in every neural frame header this build makes.
pub const MODEL_ID: u16 = 2;

/// Model ids [`load`] accepts: 1 is the same network stored in float32 (the training export,
/// `crates/core/weights/aic-fp1.safetensors`), 2 the shipped half-precision file.
pub const KNOWN_MODEL_IDS: [u16; 2] = [1, 2];

/// File name of the shipped weights, as the npm package and servers serve it.
pub const SHIPPED_NAME: &str = "aic-fp1h.safetensors";

/// The weights shipped in the binary (`crates/core/weights/aic-fp1h.safetensors`; feature
/// `embedded-weights`: the browser module leaves them out and fetches the file instead).
#[cfg(feature = "embedded-weights")]
pub static SHIPPED: &[u8] = include_bytes!("../../weights/aic-fp1h.safetensors");

/// The weights hash the header carries: the first 8 bytes of SHA-256, little-endian.
pub fn weights_hash(bytes: &[u8]) -> u64 {
    let digest = Sha256::digest(bytes);
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

fn bad(detail: impl Into<String>) -> Error {
    Error::Parameter(ParameterError::new("weights", detail))
}

/// Reads an integer or float tensor of the file as `Vec<T>`.
fn read<T: Copy>(
    st: &SafeTensors<'_>,
    name: &str,
    dtype: Dtype,
    conv: fn([u8; 4]) -> T,
) -> Result<Vec<T>> {
    let view = st
        .tensor(name)
        .map_err(|e| bad(format!("tensor {name}: {e}")))?;
    if view.dtype() != dtype {
        return Err(bad(format!(
            "tensor {name} is {:?}, expected {dtype:?}",
            view.dtype()
        )));
    }
    Ok(view
        .data()
        .chunks_exact(4)
        .map(|b| conv([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Everything loaded from a weights file.
#[derive(Debug)]
pub struct LoadedWeights {
    /// The network, on the requested device.
    pub model: CodecModel,
    /// Its sizes.
    pub config: ModelConfig,
    /// The integer entropy tables.
    pub tables: EntropyTables,
    /// [`weights_hash`] of the file.
    pub hash: u64,
    /// The file's model id (one of [`KNOWN_MODEL_IDS`]).
    pub model_id: u16,
    /// Gains and entropy tables of every step of the fine quality grid.
    pub fine: FineGrid,
}

/// The fine quality grid of a model (`crate::quality`): per step, the gain and inverse gain
/// vectors and the entropy tables, all derived deterministically from the trained levels.
#[derive(Debug, Clone)]
pub struct FineGrid {
    /// Number of steps: valid steps are `1..=steps`.
    pub steps: u8,
    /// Latent channels.
    pub m: usize,
    /// Gain per step and channel, `[steps, m]`.
    pub gain: Vec<f32>,
    /// Inverse gain per step and channel, `[steps, m]`.
    pub inv_gain: Vec<f32>,
    /// One entropy table per step and channel (`tables.levels()` = steps).
    pub tables: EntropyTables,
}

impl FineGrid {
    /// The gains of `step` (1-based), one per channel.
    pub fn gain(&self, step: u8) -> &[f32] {
        let i = usize::from(step - 1) * self.m;
        &self.gain[i..i + self.m]
    }

    /// The inverse gains of `step` (1-based), one per channel.
    pub fn inv_gain(&self, step: u8) -> &[f32] {
        let i = usize::from(step - 1) * self.m;
        &self.inv_gain[i..i + self.m]
    }
}

/// The metadata of a weights file, as numbers.
struct Metadata(std::collections::HashMap<String, String>);

impl Metadata {
    fn read(bytes: &[u8]) -> Result<Self> {
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        Ok(Metadata(meta.metadata().clone().unwrap_or_default()))
    }

    fn field(&self, k: &str) -> Result<usize> {
        self.0
            .get(k)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad(format!("metadata `{k}` missing or not a number")))
    }

    fn model_id(&self) -> Result<u16> {
        let id = self.field("model_id")?;
        u16::try_from(id)
            .ok()
            .filter(|id| KNOWN_MODEL_IDS.contains(id))
            .ok_or_else(|| bad(format!("model id {id} is not one of {KNOWN_MODEL_IDS:?}")))
    }
}

/// The model id and weights hash of a weights file, from its header alone (cheap: for a
/// caller that checks a file before loading it on a device).
pub fn identify(bytes: &[u8]) -> Result<(u16, u64)> {
    Ok((Metadata::read(bytes)?.model_id()?, weights_hash(bytes)))
}

/// Loads a weights file (as written by `training/export.py` or `training/half.py`) onto
/// `device`.
pub fn load(bytes: &[u8], device: &Device) -> Result<LoadedWeights> {
    let meta = Metadata::read(bytes)?;
    let field = |k: &str| meta.field(k);
    let model_id = meta.model_id()?;
    let config = ModelConfig {
        n: field("n")?,
        m: field("m")?,
        levels: field("levels")?,
    };
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
    if !(2..=16).contains(&config.levels) || config.m == 0 || config.m > 1024 {
        return Err(bad(format!(
            "{} levels and {} latent channels are outside 2..=16 and 1..=1024",
            config.levels, config.m
        )));
    }
    let raw = RawTables {
        start: read(&st, "entropy.start", Dtype::I32, i32::from_le_bytes)?,
        size: read(&st, "entropy.size", Dtype::I32, i32::from_le_bytes)?,
        freqs: read(&st, "entropy.freqs", Dtype::I32, i32::from_le_bytes)?,
        medians: read(&st, "entropy.median", Dtype::F32, f32::from_le_bytes)?,
    };
    let tables = EntropyTables::new(
        config.levels,
        config.m,
        &raw.start,
        &raw.size,
        &raw.freqs,
        &raw.medians,
    )?;
    // The gains as stored (no device round trip), for the fine grid.
    let levels = config.levels as u8;
    let gain = read(&st, "gain", Dtype::F32, f32::from_le_bytes)?;
    let inv_gain = read(&st, "inv_gain", Dtype::F32, f32::from_le_bytes)?;
    if gain.len() != config.levels * config.m || inv_gain.len() != gain.len() {
        return Err(bad("gain vectors do not match the model's sizes"));
    }
    let fine_gain = fine_vectors(&gain, levels, config.m);
    let fine_raw = fine::derive(&raw, levels, config.m, &gain, &fine_gain)?;
    let steps = max_step(levels);
    let fine = FineGrid {
        steps,
        m: config.m,
        inv_gain: fine_vectors(&inv_gain, levels, config.m),
        gain: fine_gain,
        tables: EntropyTables::new(
            usize::from(steps),
            config.m,
            &fine_raw.start,
            &fine_raw.size,
            &fine_raw.freqs,
            &fine_raw.medians,
        )?,
    };
    let mut model = CodecModel::new(&config, device);
    // Float16 tensors (model 2) are widened to float32 as they load: exact, so every backend
    // runs the same float32 weights.
    let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec()))
        .with_from_adapter(FloatCastAdapter::to(DType::F32));
    let applied = model
        .load_from(&mut store)
        .map_err(|e| bad(format!("loading the network: {e}")))?;
    if !applied.missing.is_empty() || !applied.errors.is_empty() {
        return Err(bad(format!(
            "network tensors missing {:?}, errors {:?}",
            applied.missing, applied.errors
        )));
    }
    Ok(LoadedWeights {
        model,
        config,
        tables,
        hash: weights_hash(bytes),
        model_id,
        fine,
    })
}
