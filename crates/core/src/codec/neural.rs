//! The neural codec: frame → tensor → latent → symbols → bytes, and back
//! (`docs/format.md` §6.3, `docs/model.md`).
//!
//! Quantization and entropy coding happen on the CPU from integer tables, so a payload made
//! on any backend decodes to the same symbols on any other; only the synthesis transform's
//! float arithmetic differs between backends, by float noise.

use burn::tensor::{Device, Tensor, TensorData};

use crate::entropy::{EntropyTables, decode_symbols, encode_symbols};
use crate::error::{Error, LimitError, ModelError, ParameterError, Result};
use crate::frame::{Frame, PixelFormat};
use crate::limits::MAX_NEURAL_PIXELS;
use crate::model::weights::{self, LoadedWeights, MODEL_ID, SHIPPED};
use crate::model::{CodecModel, ModelConfig};
use crate::planar::{Planar, STRIDE, frame_to_planar, padded, planar_to_frame};
use crate::wire::Codec;

/// Largest |symbol| the encoder produces; a latent beyond it means the model misbehaved.
pub const MAX_SYMBOL: f32 = (1 << 24) as f32;

/// The learned codec: a model and its entropy tables, on one device.
#[derive(Debug)]
pub struct NeuralCodec {
    model: CodecModel,
    config: ModelConfig,
    tables: EntropyTables,
    hash: u64,
    device: Device,
}

/// Latent symbols of one frame, `[channels, height/16, width/16]`, channel-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latent {
    /// The integer symbols.
    pub symbols: Vec<i32>,
    /// Channels.
    pub channels: usize,
    /// Latent height.
    pub height: usize,
    /// Latent width.
    pub width: usize,
}

impl Latent {
    /// CRC-32 of the symbols as little-endian `i32`s: a short fingerprint to compare the
    /// latents of one frame across backends and platforms (`aic info`, the browser SDK).
    pub fn checksum(&self) -> u32 {
        let mut h = crc32fast::Hasher::new();
        for s in &self.symbols {
            h.update(&s.to_le_bytes());
        }
        h.finalize()
    }
}

async fn read_f32(t: Tensor<4>) -> Result<Vec<f32>> {
    let data: TensorData = t
        .into_data_async()
        .await
        .map_err(|e| Error::Unavailable(format!("reading a tensor back from the device: {e:?}")))?;
    data.try_into_vec::<f32>()
        .map_err(|e| Error::Unavailable(format!("tensor data: {e:?}")))
}

impl NeuralCodec {
    /// Loads a weights file (from `training/export.py`) onto `device`.
    pub fn load(bytes: &[u8], device: Device) -> Result<Self> {
        let LoadedWeights {
            model,
            config,
            tables,
            hash,
        } = weights::load(bytes, &device)?;
        Ok(NeuralCodec {
            model,
            config,
            tables,
            hash,
            device,
        })
    }

    /// Loads the weights shipped in the binary onto `device`.
    pub fn shipped(device: Device) -> Result<Self> {
        Self::load(SHIPPED, device)
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The network's sizes.
    pub fn config(&self) -> ModelConfig {
        self.config
    }

    /// Number of quality levels: valid qualities are `1..=levels()`.
    pub fn levels(&self) -> u8 {
        self.config.levels as u8
    }

    /// What the frame header says about this model.
    pub fn codec(&self) -> Codec {
        Codec::Neural {
            model_id: MODEL_ID,
            weights_hash: self.hash,
        }
    }

    /// Checks that a frame's codec field names exactly this model (`docs/format.md` §2.3).
    pub fn check_codec(&self, codec: &Codec) -> Result<()> {
        match *codec {
            c if c == self.codec() => Ok(()),
            Codec::Neural {
                model_id,
                weights_hash,
            } => Err(ModelError {
                model_id,
                weights_hash,
                available: format!(
                    "this decoder has model {MODEL_ID} with weights {:#018x}",
                    self.hash
                ),
            }
            .into()),
            _ => Err(ParameterError::new("codec", "not a neural frame").into()),
        }
    }

    fn level(&self, quality: u8) -> Result<usize> {
        if (1..=self.levels()).contains(&quality) {
            Ok(usize::from(quality) - 1)
        } else {
            Err(ParameterError::new(
                "quality",
                format!(
                    "{quality}, the neural codec has levels 1..={}",
                    self.levels()
                ),
            )
            .into())
        }
    }

    /// Refuses frames above [`MAX_NEURAL_PIXELS`] (after padding) before anything is allocated.
    fn check_size(width: u32, height: u32) -> Result<()> {
        let pixels = padded(width) as u64 * padded(height) as u64;
        if pixels > MAX_NEURAL_PIXELS {
            return Err(LimitError {
                what: "neural frame pixels (padded to 16)",
                value: pixels,
                limit: MAX_NEURAL_PIXELS,
            }
            .into());
        }
        Ok(())
    }

    /// Runs the analysis transform and quantizes: the frame's latent symbols at `quality`.
    pub async fn analyze(&self, frame: &Frame, quality: u8) -> Result<Latent> {
        let level = self.level(quality)?;
        Self::check_size(frame.width(), frame.height())?;
        let p = frame_to_planar(frame);
        let x = Tensor::<4>::from_data(
            TensorData::new(p.data, [1, 3, p.height, p.width]),
            &self.device,
        );
        let z = read_f32(self.model.encode_latent(x, level)).await?;
        let (h, w) = (p.height / STRIDE, p.width / STRIDE);
        let medians = self.tables.medians(level);
        let mut symbols = Vec::with_capacity(z.len());
        for (c, plane) in z.chunks(h * w).enumerate() {
            for &v in plane {
                let s = (v - medians[c]).round();
                if s.is_nan() || s.abs() > MAX_SYMBOL {
                    return Err(Error::Unavailable(format!(
                        "the model produced an unusable latent value ({v})"
                    )));
                }
                symbols.push(s as i32);
            }
        }
        Ok(Latent {
            symbols,
            channels: self.config.m,
            height: h,
            width: w,
        })
    }

    /// Dequantizes symbols and runs the synthesis transform: the decoded frame.
    pub async fn synthesize(
        &self,
        latent: &Latent,
        quality: u8,
        width: u32,
        height: u32,
        format: PixelFormat,
    ) -> Result<Frame> {
        let level = self.level(quality)?;
        let (h, w) = (latent.height, latent.width);
        let medians = self.tables.medians(level);
        let z_hat: Vec<f32> = latent
            .symbols
            .chunks(h * w)
            .enumerate()
            .flat_map(|(c, plane)| plane.iter().map(move |&s| s as f32 + medians[c]))
            .collect();
        let z_hat = Tensor::<4>::from_data(
            TensorData::new(z_hat, [1, latent.channels, h, w]),
            &self.device,
        );
        let x_hat = self.model.decode_latent(z_hat, level).clamp(0.0, 1.0);
        let data = read_f32(x_hat).await?;
        let planar = Planar {
            data,
            height: h * STRIDE,
            width: w * STRIDE,
        };
        Ok(planar_to_frame(&planar, width, height, format))
    }

    /// Encodes a frame at `quality`: the neural payload (range-coded symbols).
    pub async fn encode_payload(&self, frame: &Frame, quality: u8) -> Result<Vec<u8>> {
        let latent = self.analyze(frame, quality).await?;
        let level = self.level(quality)?;
        encode_symbols(
            &self.tables,
            level,
            &latent.symbols,
            latent.height * latent.width,
        )
    }

    /// Entropy-decodes a payload to the latent symbols of a `width`×`height` frame.
    pub fn decode_latent(
        &self,
        payload: &[u8],
        quality: u8,
        width: u32,
        height: u32,
    ) -> Result<Latent> {
        let level = self.level(quality)?;
        Self::check_size(width, height)?;
        let (h, w) = (padded(height) / STRIDE, padded(width) / STRIDE);
        let symbols = decode_symbols(&self.tables, level, payload, h * w)?;
        Ok(Latent {
            symbols,
            channels: self.config.m,
            height: h,
            width: w,
        })
    }
}
