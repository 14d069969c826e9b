//! The lossless fallback: zlib (RFC 1950) over the frame's pixel bytes (`docs/format.md` §6.2).

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

use crate::error::{FormatError, ParameterError, Result, inconsistent};

/// Highest zlib level (best compression, slowest).
pub const MAX_LEVEL: u8 = 9;
/// Level used when none is given: zlib's own default.
pub const DEFAULT_LEVEL: u8 = 6;

/// Compresses `pixels` at `level` (0..=9).
pub fn compress(pixels: &[u8], level: u8) -> Result<Vec<u8>> {
    if level > MAX_LEVEL {
        return Err(ParameterError::new("zlib level", format!("{level}, expected 0..=9")).into());
    }
    let mut enc = ZlibEncoder::new(
        Vec::with_capacity(pixels.len() / 2 + 64),
        Compression::new(level.into()),
    );
    // Writing into a Vec cannot fail.
    enc.write_all(pixels)
        .and_then(|_| enc.finish())
        .map_err(|e| corrupt(e.to_string()))
}

/// Decompresses a zlib payload that must hold exactly `expected_len` bytes and nothing after
/// its end. Never produces more than `expected_len + 1` bytes, whatever the input.
pub fn decompress(payload: &[u8], expected_len: usize) -> Result<Vec<u8>> {
    let mut dec = ZlibDecoder::new(payload);
    let mut out = Vec::with_capacity(expected_len.min(payload.len().saturating_mul(8) + 4096));
    (&mut dec)
        .take(expected_len as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(e.to_string()))?;
    if out.len() != expected_len {
        return Err(inconsistent(
            "decompressed length",
            expected_len as u64,
            out.len() as u64,
        ));
    }
    if dec.total_in() != payload.len() as u64 {
        return Err(inconsistent(
            "zlib stream length (bytes after the stream's end)",
            dec.total_in(),
            payload.len() as u64,
        ));
    }
    Ok(out)
}

fn corrupt(reason: String) -> crate::error::Error {
    FormatError::CorruptPayload {
        codec: "zlib",
        reason,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_level() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * i % 253) as u8).collect();
        for level in 0..=MAX_LEVEL {
            let z = compress(&data, level).unwrap();
            assert_eq!(decompress(&z, data.len()).unwrap(), data);
        }
        assert!(compress(&data, 10).is_err());
    }

    #[test]
    fn wrong_length_or_garbage_is_an_error() {
        let z = compress(&[7; 1000], 6).unwrap();
        assert!(decompress(&z, 999).is_err());
        assert!(decompress(&z, 1001).is_err());
        assert!(decompress(&z[..z.len() - 1], 1000).is_err());
        let mut extra = z.clone();
        extra.push(0);
        assert!(decompress(&extra, 1000).is_err());
        assert!(decompress(b"not zlib at all", 10).is_err());
    }

    #[test]
    fn bomb_is_bounded() {
        let z = compress(&vec![0; 50_000_000], 9).unwrap();
        let e = decompress(&z, 1000).unwrap_err();
        assert_eq!(e.code(), "format.inconsistent");
    }
}
