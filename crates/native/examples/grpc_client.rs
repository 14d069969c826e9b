//! A small gRPC client of `aic serve`: compresses an image with `CompressFrame`, prints what
//! the server reports, decompresses it with `DecompressFrame` and writes the PNG.
//!
//! ```sh
//! aic serve &                                   # gRPC on 127.0.0.1:50051
//! cargo run -p aic-native --example grpc_client -- photo.png back.png [http://127.0.0.1:50051]
//! ```
//!
//! Any gRPC client works the same way from `crates/native/proto/aic/v1/codec.proto`, e.g.
//! `grpcurl -plaintext -proto aic/v1/codec.proto -import-path crates/native/proto ...`.

use aic_native::serve::grpc::pb;
use pb::codec_client::CodecClient;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(input), Some(output)) = (args.first(), args.get(1)) else {
        eprintln!("usage: grpc_client INPUT.png OUTPUT.png [SERVER_URL]");
        std::process::exit(2);
    };
    let url = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let mut client = CodecClient::connect(url).await?;
    let compressed = client
        .compress_frame(pb::CompressRequest {
            input: Some(pb::compress_request::Input::Image(std::fs::read(input)?)),
            quality: 4,
            metrics: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    println!(
        "{} bytes → {} bytes ({:.1}:1, {}), PSNR {:.2} dB, SSIM {:.4}, {:.1} ms in the codec",
        compressed.input_bytes,
        compressed.output_bytes,
        compressed.compression_ratio,
        compressed.codec,
        compressed.psnr_db.unwrap_or(f64::NAN),
        compressed.ssim.unwrap_or(f64::NAN),
        compressed.inference_ms
    );
    let decoded = client
        .decompress_frame(pb::DecompressRequest {
            aic: compressed.aic,
            png_only: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    std::fs::write(output, decoded.png)?;
    println!("wrote {output}");
    Ok(())
}
