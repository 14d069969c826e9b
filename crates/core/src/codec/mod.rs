//! Encoders and decoders: glue that turns a [`Frame`] into AIC frame bytes and back.
//!
//! # Module Overview
//! [`Encoder`] picks the codec ([`CodecChoice`]), runs it, and writes the frame header;
//! [`Decoder`] reads the header, checks that it can decode the codec, and runs it.
//! The lossless [`zlib`] codec is always available; the [`neural`] codec when the encoder or
//! decoder is given a [`NeuralCodec`] (`with_neural`). The `*_async` methods never block
//! (use them on WebGPU in the browser); the plain ones wait for the device.
//!
//! ```
//! use aic_core::codec::{CodecChoice, Decoder, Encoder, EncoderConfig};
//! use aic_core::frame::{Frame, PixelFormat};
//!
//! let frame = Frame::new(2, 2, PixelFormat::Rgb8, vec![9; 12]).unwrap();
//! let mut enc = Encoder::new(EncoderConfig { codec: CodecChoice::Zlib, ..Default::default() }).unwrap();
//! let bytes = enc.encode(&frame, 0).unwrap().bytes;
//! let decoded = Decoder::new().decode(&bytes).unwrap();
//! assert_eq!(decoded.frame, frame);
//! ```

#[cfg(feature = "neural")]
pub mod neural;
#[cfg(not(feature = "neural"))]
mod no_neural;
pub mod zlib;

use std::sync::Arc;

#[cfg(feature = "neural")]
pub use neural::{Latent, NeuralCodec};
#[cfg(not(feature = "neural"))]
pub use no_neural::{Latent, NeuralCodec};

use crate::error::{Error, ParameterError, Result};
use crate::frame::Frame;
use crate::wire::{Codec, FrameHeader, FrameKind, read_frame, write_frame};

/// Which codec an [`Encoder`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodecChoice {
    /// The neural codec when it can run, else the lossless zlib fallback (with a reason).
    #[default]
    Auto,
    /// The neural codec; an error if it cannot run.
    Neural,
    /// The lossless zlib codec (stored raw when zlib would not make it smaller).
    Zlib,
}

impl CodecChoice {
    /// Parses `auto`, `neural` or `zlib`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(CodecChoice::Auto),
            "neural" => Some(CodecChoice::Neural),
            "zlib" => Some(CodecChoice::Zlib),
            _ => None,
        }
    }
}

/// Settings of an [`Encoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Codec to use.
    pub codec: CodecChoice,
    /// Neural quality level (1 to the trained levels + [`crate::quality::EXTRA_LEVELS`]); the
    /// header carries it as a step of the fine grid (`crate::quality`).
    pub quality: u8,
    /// zlib level, 0..=9, for the lossless codec.
    pub zlib_level: u8,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        EncoderConfig {
            codec: CodecChoice::Auto,
            quality: 3,
            zlib_level: zlib::DEFAULT_LEVEL,
        }
    }
}

/// One encoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The whole AIC frame: header, payload, checksum.
    pub bytes: Vec<u8>,
    /// Its header.
    pub header: FrameHeader,
    /// Why `Auto` fell back to the lossless codec, if it did.
    pub fallback_reason: Option<String>,
}

/// Why the neural codec cannot run without a model.
const NEURAL_UNAVAILABLE: &str = "the neural codec is not available: no model was loaded";

/// Encodes frames, numbering them in sequence.
#[derive(Debug, Clone)]
pub struct Encoder {
    config: EncoderConfig,
    next_seq: u32,
    neural: Option<Arc<NeuralCodec>>,
}

impl Encoder {
    /// An encoder with these settings; checks them.
    pub fn new(config: EncoderConfig) -> Result<Self> {
        if config.zlib_level > zlib::MAX_LEVEL {
            return Err(ParameterError::new(
                "zlib level",
                format!("{}, expected 0..=9", config.zlib_level),
            )
            .into());
        }
        if config.codec == CodecChoice::Neural {
            return Err(Error::Unavailable(NEURAL_UNAVAILABLE.into()));
        }
        Ok(Encoder {
            config,
            next_seq: 0,
            neural: None,
        })
    }

    /// An encoder that can use the neural codec `neural`; checks the quality level.
    pub fn with_neural(config: EncoderConfig, neural: Arc<NeuralCodec>) -> Result<Self> {
        let mut enc = Encoder::new(EncoderConfig {
            codec: CodecChoice::Zlib,
            ..config
        })?;
        let top = neural.levels() + crate::quality::EXTRA_LEVELS;
        if config.codec != CodecChoice::Zlib && !(1..=top).contains(&config.quality) {
            return Err(ParameterError::new(
                "quality",
                format!(
                    "{}, the neural codec has levels 1..={top} ({} trained, {} extrapolated)",
                    config.quality,
                    neural.levels(),
                    crate::quality::EXTRA_LEVELS,
                ),
            )
            .into());
        }
        enc.config = config;
        enc.neural = Some(neural);
        Ok(enc)
    }

    /// The settings.
    pub fn config(&self) -> EncoderConfig {
        self.config
    }

    /// Encodes one frame captured at `timestamp_us`, waiting for the device if needed.
    /// A failed call leaves the encoder as it was.
    pub fn encode(&mut self, frame: &Frame, timestamp_us: u64) -> Result<EncodedFrame> {
        pollster::block_on(self.encode_async(frame, timestamp_us))
    }

    /// Encodes one frame captured at `timestamp_us` without blocking.
    pub async fn encode_async(&mut self, frame: &Frame, timestamp_us: u64) -> Result<EncodedFrame> {
        let step = crate::quality::level_to_step(self.config.quality);
        let neural = match (self.config.codec, &self.neural) {
            (CodecChoice::Zlib, _) => Err(None),
            (_, Some(n)) => match n.encode_payload(frame, step).await {
                Ok(payload) => Ok((n.codec(), payload)),
                Err(e) if self.config.codec == CodecChoice::Auto => Err(Some(e.to_string())),
                Err(e) => return Err(e),
            },
            (CodecChoice::Neural, None) => {
                return Err(Error::Unavailable(NEURAL_UNAVAILABLE.into()));
            }
            (CodecChoice::Auto, None) => Err(Some(NEURAL_UNAVAILABLE.to_string())),
        };
        let (codec, quality, payload, fallback_reason) = match neural {
            Ok((codec, payload)) => (codec, step, payload, None),
            Err(reason) => {
                let compressed = zlib::compress(frame.data(), self.config.zlib_level)?;
                if compressed.len() < frame.data().len() {
                    (Codec::Zlib, self.config.zlib_level, compressed, reason)
                } else {
                    (
                        Codec::Raw,
                        self.config.zlib_level,
                        frame.data().to_vec(),
                        reason,
                    )
                }
            }
        };
        let header = FrameHeader {
            codec,
            kind: FrameKind::Key,
            width: frame.width(),
            height: frame.height(),
            format: frame.format(),
            quality,
            seq: self.next_seq,
            timestamp_us,
            payload_len: payload.len() as u32,
            refined: false,
            half: false,
            motion: false,
            recovery: false,
        };
        let bytes = write_frame(&header, &payload)?;
        self.next_seq = self.next_seq.wrapping_add(1);
        Ok(EncodedFrame {
            bytes,
            header,
            fallback_reason,
        })
    }
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedFrame {
    /// The frame's header.
    pub header: FrameHeader,
    /// The pixels.
    pub frame: Frame,
    /// Neural frames: the fraction of latent positions the frame updated (1 for key frames).
    pub updated_fraction: Option<f64>,
    /// Neural frames: the fraction of the picture the synthesis transform ran on.
    pub synthesized_fraction: Option<f64>,
}

/// Decodes AIC frames, key and delta: it holds the state of the neural stream it decodes
/// (`crate::sequence`). A frame that fails to decode leaves the decoder as it was, ready for
/// the next; a delta frame whose reference is missing is refused with
/// [`Error::Reference`] (show the last good picture and ask for a key frame).
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    neural: Option<Arc<NeuralCodec>>,
    #[cfg(feature = "neural")]
    sequence: crate::sequence::SequenceDecoder,
}

impl Decoder {
    /// A decoder of the lossless codecs.
    pub fn new() -> Self {
        Decoder::default()
    }

    /// A decoder that also decodes frames of the neural codec `neural`.
    pub fn with_neural(neural: Arc<NeuralCodec>) -> Self {
        Decoder {
            neural: Some(neural),
            ..Decoder::default()
        }
    }

    /// The integer state of the neural stream after the last decoded frame (its
    /// [`crate::sequence::LatentState::checksum`] equals the encoder's).
    #[cfg(feature = "neural")]
    pub fn sequence_state(&self) -> Option<&crate::sequence::LatentState> {
        self.sequence.state()
    }

    /// The sequence number of the long-term reference of a motion stream, if one is held.
    #[cfg(feature = "neural")]
    pub fn long_term_seq(&self) -> Option<u32> {
        self.sequence
            .references()
            .and_then(|r| r.long.as_ref())
            .map(|l| l.state.seq)
    }

    /// Decodes exactly one AIC frame (no bytes after it), waiting for the device if needed.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<DecodedFrame> {
        pollster::block_on(self.decode_async(bytes))
    }

    /// Decodes exactly one AIC frame (no bytes after it) without blocking.
    pub async fn decode_async(&mut self, bytes: &[u8]) -> Result<DecodedFrame> {
        let (header, payload, used) = read_frame(bytes)?;
        if used != bytes.len() {
            return Err(crate::error::inconsistent(
                "frame length (bytes after the frame)",
                used as u64,
                bytes.len() as u64,
            ));
        }
        self.decode_payload_async(&header, payload).await
    }

    /// The model that decodes a neural frame with this `codec` field, or why there is none.
    fn neural_for(&self, codec: &Codec) -> Result<&Arc<NeuralCodec>> {
        match (&self.neural, *codec) {
            (Some(neural), _) => {
                neural.check_codec(codec)?;
                Ok(neural)
            }
            (
                None,
                Codec::Neural {
                    model_id,
                    weights_hash,
                },
            ) => Err(crate::error::ModelError {
                model_id,
                weights_hash,
                available: "this decoder has no neural model".into(),
            }
            .into()),
            (None, _) => Err(ParameterError::new("codec", "not a neural frame").into()),
        }
    }

    /// Entropy-decodes one neural AIC frame to its latent symbols (no synthesis): what the
    /// encoder's analysis transform produced, bit-exact on any backend. `None` for a frame of
    /// a lossless codec.
    #[cfg(feature = "neural")]
    pub fn latent(&self, bytes: &[u8]) -> Result<Option<Latent>> {
        let (header, payload, _) = read_frame(bytes)?;
        if !matches!(header.codec, Codec::Neural { .. }) {
            return Ok(None);
        }
        if header.kind == FrameKind::Delta {
            return Err(ParameterError::new(
                "frame",
                "a delta frame's latent is an update of its reference; decode the stream and \
                 read the decoder's sequence state instead",
            )
            .into());
        }
        let (width, height) = header.coded_size();
        self.neural_for(&header.codec)?
            .decode_latent(payload, header.quality, width, height)
            .map(Some)
    }

    /// Decodes a payload whose header was already parsed (e.g. from [`crate::wire::frames`]),
    /// waiting for the device if needed.
    pub fn decode_payload(&mut self, header: &FrameHeader, payload: &[u8]) -> Result<DecodedFrame> {
        pollster::block_on(self.decode_payload_async(header, payload))
    }

    /// Decodes a payload whose header was already parsed, without blocking.
    pub async fn decode_payload_async(
        &mut self,
        header: &FrameHeader,
        payload: &[u8],
    ) -> Result<DecodedFrame> {
        let len = header.format.frame_len(header.width, header.height);
        let pixels = match header.codec {
            Codec::Raw => payload.to_vec(),
            Codec::Zlib => zlib::decompress(payload, len)?,
            Codec::Neural { .. } => return self.decode_neural(header, payload).await,
        };
        let frame = Frame::new(header.width, header.height, header.format, pixels)?;
        Ok(DecodedFrame {
            header: *header,
            frame,
            updated_fraction: None,
            synthesized_fraction: None,
        })
    }

    /// A neural key or delta frame, through the sequence state.
    #[cfg(feature = "neural")]
    async fn decode_neural(
        &mut self,
        header: &FrameHeader,
        payload: &[u8],
    ) -> Result<DecodedFrame> {
        let neural = Arc::clone(self.neural_for(&header.codec)?);
        // A half-resolution frame decodes at its coded size (the sequence state lives there),
        // then is doubled back to the header's size.
        let (width, height) = header.coded_size();
        let coded = FrameHeader {
            width,
            height,
            half: false,
            ..*header
        };
        let (frame, stats) = match header.kind {
            FrameKind::Key => self.sequence.decode_key(&neural, &coded, payload).await?,
            FrameKind::Delta => self.sequence.decode_delta(&neural, &coded, payload).await?,
        };
        let frame = if header.half {
            crate::scale::double(&frame, header.width, header.height)?
        } else {
            frame
        };
        Ok(DecodedFrame {
            header: *header,
            frame,
            updated_fraction: Some(stats.updated_fraction),
            synthesized_fraction: Some(stats.synthesized_fraction),
        })
    }

    /// Without the model, a neural frame names weights this build does not have.
    #[cfg(not(feature = "neural"))]
    async fn decode_neural(&mut self, header: &FrameHeader, _: &[u8]) -> Result<DecodedFrame> {
        self.neural_for(&header.codec)?;
        Err(Error::Unavailable(NEURAL_UNAVAILABLE.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;

    #[test]
    fn lossless_round_trip_all_formats() {
        for format in [PixelFormat::Rgb8, PixelFormat::Rgba8, PixelFormat::I420] {
            let len = format.frame_len(33, 17);
            let data: Vec<u8> = (0..len).map(|i| (i / 7 % 256) as u8).collect();
            let f = Frame::new(33, 17, format, data).unwrap();
            let mut enc = Encoder::new(EncoderConfig {
                codec: CodecChoice::Zlib,
                ..Default::default()
            })
            .unwrap();
            let e = enc.encode(&f, 42).unwrap();
            assert_eq!(e.header.codec, Codec::Zlib);
            let d = Decoder::new().decode(&e.bytes).unwrap();
            assert_eq!((d.frame, d.header.timestamp_us), (f, 42));
        }
    }

    #[test]
    fn incompressible_frames_are_stored_raw() {
        let mut x = 1u32;
        let data: Vec<u8> = (0..300)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        let f = Frame::new(10, 10, PixelFormat::Rgb8, data).unwrap();
        let e = Encoder::new(EncoderConfig::default())
            .unwrap()
            .encode(&f, 0)
            .unwrap();
        assert_eq!(e.header.codec, Codec::Raw);
        assert!(e.fallback_reason.is_some());
        assert_eq!(Decoder::new().decode(&e.bytes).unwrap().frame, f);
    }

    #[test]
    fn neural_is_refused_clearly() {
        let e = Encoder::new(EncoderConfig {
            codec: CodecChoice::Neural,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.code(), "unavailable");
    }

    #[test]
    fn decoder_survives_bad_frames() {
        let f = Frame::new(4, 4, PixelFormat::Rgb8, vec![5; 48]).unwrap();
        let good = Encoder::new(EncoderConfig::default())
            .unwrap()
            .encode(&f, 0)
            .unwrap()
            .bytes;
        let mut dec = Decoder::new();
        let mut bad = good.clone();
        bad[45] ^= 0xff;
        assert!(dec.decode(&bad).is_err());
        assert!(dec.decode(&good[..20]).is_err());
        assert_eq!(dec.decode(&good).unwrap().frame, f);
    }
}
