//! The shipped half-precision weights (model 2, `training/half.py`) against the float32 export
//! they were made from (model 1): on real photos, at every quality level, the same rate and
//! distortion within 0.05 dB; and each model refuses the other's frames with the typed
//! `model_mismatch` error while decoding its own.

use std::path::Path;
use std::sync::Arc;

use aic_core::codec::NeuralCodec;
use aic_core::metrics::psnr;
use aic_core::model::weights::{self, MODEL_ID};
use aic_core::wire::Codec;
use aic_core::{CodecChoice, Decoder, Encoder, EncoderConfig, Error, Frame, PixelFormat};
use burn::tensor::Device;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn float32_model() -> Arc<NeuralCodec> {
    let bytes = std::fs::read(format!("{ROOT}/crates/core/weights/aic-fp1.safetensors")).unwrap();
    Arc::new(NeuralCodec::load(&bytes, Device::flex()).unwrap())
}

fn photo(name: &str) -> Frame {
    let path = format!("{ROOT}/tests/fixtures/generated/metrics/{name}.png");
    let img = image::open(Path::new(&path))
        .unwrap_or_else(|e| panic!("{path}: {e} (scripts/test.sh generates it)"))
        .into_rgb8();
    Frame::new(img.width(), img.height(), PixelFormat::Rgb8, img.into_raw()).unwrap()
}

fn encode(model: &Arc<NeuralCodec>, frame: &Frame, quality: u8) -> Vec<u8> {
    let config = EncoderConfig {
        codec: CodecChoice::Neural,
        quality,
        ..Default::default()
    };
    let mut encoder = Encoder::with_neural(config, model.clone()).unwrap();
    encoder.encode(frame, 0).unwrap().bytes
}

#[test]
fn half_precision_costs_under_five_hundredths_of_a_db() {
    let (full, half) = (
        float32_model(),
        Arc::new(NeuralCodec::shipped(Device::flex()).unwrap()),
    );
    assert_eq!((full.model_id(), half.model_id()), (1, MODEL_ID));
    let photos: Vec<Frame> = ["astronaut", "chelsea", "coffee"].map(photo).into();
    for quality in 1..=half.levels() {
        let (mut db, mut bytes) = ([0.0; 2], [0usize; 2]);
        for frame in &photos {
            for (i, model) in [&full, &half].into_iter().enumerate() {
                let coded = encode(model, frame, quality);
                let shown = Decoder::with_neural(model.clone())
                    .decode(&coded)
                    .unwrap()
                    .frame;
                db[i] += psnr(frame, &shown).unwrap().overall / photos.len() as f64;
                bytes[i] += coded.len();
            }
        }
        let (d_db, d_rate) = (db[1] - db[0], bytes[1] as f64 / bytes[0] as f64 - 1.0);
        eprintln!(
            "quality {quality}: float32 {:.3} dB {} B, float16 {:.3} dB {} B: {d_db:+.4} dB, {:+.3} % bytes",
            db[0],
            bytes[0],
            db[1],
            bytes[1],
            100.0 * d_rate
        );
        assert!(d_db.abs() <= 0.05, "quality {quality}: {d_db:+.4} dB");
        assert!(
            d_rate.abs() <= 0.005,
            "quality {quality}: {d_rate:+.4} of the bytes"
        );
    }
}

#[test]
fn each_model_refuses_the_others_frames_with_a_typed_error() {
    let (full, half) = (
        float32_model(),
        Arc::new(NeuralCodec::shipped(Device::flex()).unwrap()),
    );
    let frame = photo("chelsea");
    let old = encode(&full, &frame, 3);
    match Decoder::with_neural(half.clone()).decode(&old) {
        Err(Error::Model(e)) => {
            assert_eq!((e.model_id, e.weights_hash), (1, full.weights_hash()));
            assert_eq!(Error::Model(e).code(), "model_mismatch");
        }
        other => panic!("model 1 frame on model 2: {other:?}"),
    }
    assert!(Decoder::with_neural(full.clone()).decode(&old).is_ok());
    let new = encode(&half, &frame, 3);
    assert!(matches!(
        Decoder::with_neural(full).decode(&new),
        Err(Error::Model(_))
    ));
    assert_eq!(
        aic_core::wire::read_frame(&new).unwrap().0.codec,
        Codec::Neural {
            model_id: MODEL_ID,
            weights_hash: weights::weights_hash(weights::SHIPPED)
        }
    );
}

#[test]
fn identify_reads_the_header_and_refuses_unknown_models() {
    assert_eq!(
        weights::identify(weights::SHIPPED).unwrap(),
        (2, weights::weights_hash(weights::SHIPPED))
    );
    assert!(weights::identify(b"not a weights file").is_err());
    // The same file with another model id in its metadata is refused.
    let text = String::from_utf8_lossy(&weights::SHIPPED[..4096]).into_owned();
    let at = text
        .find("\"model_id\":\"2\"")
        .expect("model_id in the header");
    let mut other = weights::SHIPPED.to_vec();
    other[at + 12] = b'7';
    assert!(weights::identify(&other).is_err());
}
