//! Writes seed inputs for the fuzz targets: `cargo run -p aic-core --example fuzz_seeds -- fuzz/corpus`.
//! Creates `<dir>/frame_parse/seed-*` (valid frames and sequences) and `<dir>/reassembly/seed-*`
//! (packet streams in the fuzz target's length-prefixed form).

use aic_core::wire::Packetizer;
use aic_core::{CodecChoice, Encoder, EncoderConfig, Frame, PixelFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: fuzz_seeds DIR")?);
    let (fp, ra) = (dir.join("frame_parse"), dir.join("reassembly"));
    std::fs::create_dir_all(&fp)?;
    std::fs::create_dir_all(&ra)?;
    let mut enc = Encoder::new(EncoderConfig {
        codec: CodecChoice::Zlib,
        ..Default::default()
    })?;
    let mut seq = Vec::new();
    for (i, format) in [PixelFormat::Rgb8, PixelFormat::Rgba8, PixelFormat::I420]
        .into_iter()
        .enumerate()
    {
        let len = format.frame_len(13, 7);
        let data: Vec<u8> = (0..len).map(|j| (j * 31 % 256) as u8).collect();
        let bytes = enc
            .encode(&Frame::new(13, 7, format, data)?, i as u64)?
            .bytes;
        std::fs::write(fp.join(format!("seed-{}", format.name())), &bytes)?;
        seq.extend_from_slice(&bytes);
        // A packet stream: each packet as [len u16][time step u8][packet], shuffled by reversal.
        let mut stream = Vec::new();
        for p in Packetizer::new(100)?.packetize(&bytes)?.iter().rev() {
            stream.extend_from_slice(&(p.len() as u16).to_le_bytes());
            stream.push(1);
            stream.extend_from_slice(p);
        }
        std::fs::write(ra.join(format!("seed-{}", format.name())), &stream)?;
    }
    std::fs::write(fp.join("seed-sequence"), &seq)?;
    Ok(())
}
