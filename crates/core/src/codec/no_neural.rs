//! Stand-in for the neural codec in builds without the `neural` feature (the wire format,
//! zlib and metrics alone, e.g. for the fuzz targets). No value of [`NeuralCodec`] exists, so
//! encoders and decoders built without it never take the neural path.

use crate::error::Result;
use crate::frame::{Frame, PixelFormat};
use crate::wire::Codec;

/// Uninhabited: this build has no neural codec.
#[derive(Debug)]
pub enum NeuralCodec {}

/// Latent symbols (never produced in this build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latent;

#[allow(missing_docs, clippy::unused_async)]
impl NeuralCodec {
    pub fn levels(&self) -> u8 {
        match *self {}
    }
    pub fn codec(&self) -> Codec {
        match *self {}
    }
    pub fn check_codec(&self, _: &Codec) -> Result<()> {
        match *self {}
    }
    pub async fn encode_payload(&self, _: &Frame, _: u8) -> Result<Vec<u8>> {
        match *self {}
    }
    pub fn decode_latent(&self, _: &[u8], _: u8, _: u32, _: u32) -> Result<Latent> {
        match *self {}
    }
    pub async fn synthesize(
        &self,
        _: &Latent,
        _: u8,
        _: u32,
        _: u32,
        _: PixelFormat,
    ) -> Result<Frame> {
        match *self {}
    }
}
