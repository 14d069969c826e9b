//! The neural codec: frame → tensor → latent → symbols → bytes, and back
//! (`docs/format.md` §6.3, `docs/model.md`).
//!
//! Quantization and entropy coding happen on the CPU from integer tables, so a payload made
//! on any backend decodes to the same symbols on any other; only the synthesis transform's
//! float arithmetic differs between backends, by float noise.

use burn::tensor::{Device, Tensor, TensorData};

use crate::entropy::{decode_symbols, encode_symbols};
use crate::error::{Error, LimitError, ModelError, ParameterError, Result};
use crate::frame::{Frame, PixelFormat};
use crate::limits::MAX_NEURAL_PIXELS;
use crate::model::weights::{self, FineGrid, LoadedWeights};
use crate::model::{CodecModel, ModelConfig, WinogradConvs};
use crate::planar::{Planar, STRIDE, frame_to_planar, padded, planar_to_frame};
use crate::wire::Codec;

/// Largest |symbol| the encoder produces; a latent beyond it means the model misbehaved.
pub const MAX_SYMBOL: f32 = (1 << 24) as f32;

/// The learned codec: a model and its entropy tables, on one device.
#[derive(Debug, Clone)]
pub struct NeuralCodec {
    model: CodecModel,
    config: ModelConfig,
    fine: FineGrid,
    hash: u64,
    model_id: u16,
    device: Device,
    /// The synthesis convolutions in Winograd form, on CPU backends (Flex).
    winograd: Option<WinogradConvs>,
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
            hash,
            model_id,
            fine,
            ..
        } = weights::load(bytes, &device)?;
        let mut codec = NeuralCodec {
            model,
            config,
            fine,
            hash,
            model_id,
            device,
            winograd: None,
        };
        codec.set_winograd(true)?;
        Ok(codec)
    }

    /// Whether the synthesis transform's convolutions run by Winograd F(4×4, 3×3)
    /// ([`crate::model::Winograd3x3`]: 4× fewer multiply-adds, the same picture up to float
    /// rounding). On by default on the Flex (CPU) backend; GPU backends keep Burn's
    /// convolutions (asking for it there does nothing). Latents are never affected.
    pub fn set_winograd(&mut self, on: bool) -> Result<()> {
        self.winograd = if on && self.is_flex() {
            Some(self.model.synthesis.winograd()?)
        } else {
            None
        };
        Ok(())
    }

    /// Whether the synthesis transform runs by Winograd ([`NeuralCodec::set_winograd`]).
    pub fn winograd(&self) -> bool {
        self.winograd.is_some()
    }

    fn is_flex(&self) -> bool {
        #[cfg(feature = "flex")]
        {
            self.device == Device::flex()
        }
        #[cfg(not(feature = "flex"))]
        {
            false
        }
    }

    /// Loads the weights shipped in the binary onto `device` (feature `embedded-weights`).
    #[cfg(feature = "embedded-weights")]
    pub fn shipped(device: Device) -> Result<Self> {
        Self::load(weights::SHIPPED, device)
    }

    /// The model id of the loaded weights (`crate::model::weights::KNOWN_MODEL_IDS`).
    pub fn model_id(&self) -> u16 {
        self.model_id
    }

    /// The weights hash frame headers carry.
    pub fn weights_hash(&self) -> u64 {
        self.hash
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The network's sizes.
    pub fn config(&self) -> ModelConfig {
        self.config
    }

    /// Number of trained quality levels (the fine grid has [`Self::steps`] steps).
    pub fn levels(&self) -> u8 {
        self.config.levels as u8
    }

    /// What the frame header says about this model.
    pub fn codec(&self) -> Codec {
        Codec::Neural {
            model_id: self.model_id,
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
                    "this decoder has model {} with weights {:#018x}",
                    self.model_id, self.hash
                ),
            }
            .into()),
            _ => Err(ParameterError::new("codec", "not a neural frame").into()),
        }
    }

    /// Checks a step of the fine quality grid (`crate::quality`); its 0-based table index.
    fn step_index(&self, step: u8) -> Result<usize> {
        if (1..=self.fine.steps).contains(&step) {
            Ok(usize::from(step) - 1)
        } else {
            Err(ParameterError::new(
                "quality step",
                format!("{step}, the neural codec has steps 1..={}", self.fine.steps),
            )
            .into())
        }
    }

    /// Number of steps of the fine quality grid: valid steps are `1..=steps()`.
    pub fn steps(&self) -> u8 {
        self.fine.steps
    }

    /// The fine quality grid: gains and entropy tables per step.
    pub fn fine(&self) -> &FineGrid {
        &self.fine
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

    /// Runs the analysis transform: the frame's unscaled latent `y` (`[m, h, w]`, floats; the
    /// encoder's alone, never sent or carried) and the latent grid's height and width.
    pub async fn analyze_y(&self, frame: &Frame) -> Result<(Vec<f32>, usize, usize)> {
        Self::check_size(frame.width(), frame.height())?;
        let p = frame_to_planar(frame);
        let x = Tensor::<4>::from_data(
            TensorData::new(p.data, [1, 3, p.height, p.width]),
            &self.device,
        );
        let y = read_f32(self.model.analysis.forward(x)).await?;
        Ok((y, p.height / STRIDE, p.width / STRIDE))
    }

    /// The symbol of latent value `y` in channel `c` at `step`: `round(y · gain − median)`.
    /// `None` when the value is unusable (NaN, or beyond [`MAX_SYMBOL`]).
    #[inline]
    pub fn quantize_one(&self, y: f32, c: usize, step: u8) -> Option<i32> {
        let s = usize::from(step - 1);
        let g = self.fine.gain[s * self.fine.m + c];
        let med = self.fine.tables.medians(s)[c];
        let v = (y * g - med).round();
        (!v.is_nan() && v.abs() <= MAX_SYMBOL).then_some(v as i32)
    }

    /// The dequantized latent value of symbol `s` in channel `c` at `step`:
    /// `(s + median) · inv_gain`, in `f32` (the same on every platform).
    #[inline]
    pub fn dequantize_one(&self, s: i32, c: usize, step: u8) -> f32 {
        let k = usize::from(step - 1);
        let med = self.fine.tables.medians(k)[c];
        (s as f32 + med) * self.fine.inv_gain[k * self.fine.m + c]
    }

    /// Quantizes an unscaled latent (from [`Self::analyze_y`]) at `step`.
    pub fn quantize(&self, y: &[f32], h: usize, w: usize, step: u8) -> Result<Latent> {
        self.step_index(step)?;
        let mut symbols = Vec::with_capacity(y.len());
        for (c, plane) in y.chunks(h * w).enumerate() {
            for &v in plane {
                symbols.push(self.quantize_one(v, c, step).ok_or_else(|| {
                    Error::Unavailable(format!("the model produced an unusable latent value ({v})"))
                })?);
            }
        }
        Ok(Latent {
            symbols,
            channels: self.config.m,
            height: h,
            width: w,
        })
    }

    /// Runs the analysis transform and quantizes: the frame's latent symbols at `step`.
    pub async fn analyze(&self, frame: &Frame, step: u8) -> Result<Latent> {
        self.step_index(step)?;
        let (y, h, w) = self.analyze_y(frame).await?;
        self.quantize(&y, h, w, step)
    }

    /// Runs the synthesis transform on a dequantized latent `y_hat` (`[m, h, w]`): the padded
    /// planar reconstruction, clamped to `[0, 1]`.
    pub async fn synthesize_y(&self, y_hat: Vec<f32>, h: usize, w: usize) -> Result<Planar> {
        let y_hat = Tensor::<4>::from_data(
            TensorData::new(y_hat, [1, self.config.m, h, w]),
            &self.device,
        );
        let x_hat = match &self.winograd {
            Some(convs) => self.model.synthesis.forward_winograd(y_hat, convs)?,
            None => self.model.synthesis.forward(y_hat),
        }
        .clamp(0.0, 1.0);
        let data = read_f32(x_hat).await?;
        Ok(Planar {
            data,
            height: h * STRIDE,
            width: w * STRIDE,
        })
    }

    /// Dequantizes symbols at `step` and runs the synthesis transform: the decoded frame.
    pub async fn synthesize(
        &self,
        latent: &Latent,
        step: u8,
        width: u32,
        height: u32,
        format: PixelFormat,
    ) -> Result<Frame> {
        self.step_index(step)?;
        let (h, w) = (latent.height, latent.width);
        let y_hat: Vec<f32> = latent
            .symbols
            .chunks(h * w)
            .enumerate()
            .flat_map(|(c, plane)| plane.iter().map(move |&s| self.dequantize_one(s, c, step)))
            .collect();
        let planar = self.synthesize_y(y_hat, h, w).await?;
        Ok(planar_to_frame(&planar, width, height, format))
    }

    /// Encodes a frame at `step`: the neural payload (range-coded symbols).
    pub async fn encode_payload(&self, frame: &Frame, step: u8) -> Result<Vec<u8>> {
        let latent = self.analyze(frame, step).await?;
        encode_symbols(
            &self.fine.tables,
            self.step_index(step)?,
            &latent.symbols,
            latent.height * latent.width,
        )
    }

    /// The latent grid (height, width) of a `width`×`height` frame; refuses frames above
    /// [`MAX_NEURAL_PIXELS`].
    pub fn grid(width: u32, height: u32) -> Result<(usize, usize)> {
        Self::check_size(width, height)?;
        Ok((padded(height) / STRIDE, padded(width) / STRIDE))
    }

    /// Entropy-decodes a payload to the latent symbols of a `width`×`height` frame.
    pub fn decode_latent(
        &self,
        payload: &[u8],
        step: u8,
        width: u32,
        height: u32,
    ) -> Result<Latent> {
        let k = self.step_index(step)?;
        let (h, w) = Self::grid(width, height)?;
        let symbols = decode_symbols(&self.fine.tables, k, payload, h * w)?;
        Ok(Latent {
            symbols,
            channels: self.config.m,
            height: h,
            width: w,
        })
    }
}
