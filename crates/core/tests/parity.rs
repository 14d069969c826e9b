//! The Burn model against the PyTorch model it was trained as: same weights, same input, same
//! latent and reconstruction within 1e-4. The fixture (`tests/fixtures/parity/`) is written by
//! `training/export.py` together with the float32 weights (model 1,
//! `crates/core/weights/aic-fp1.safetensors`), so the two always match; the shipped
//! half-precision file is made from those (`training/half.py`, `tests/half.rs`).

use aic_core::model::weights;
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::SafeTensors;

fn fixture() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/parity/aic-fp1-parity.safetensors"
    );
    std::fs::read(path).unwrap()
}

fn tensor(st: &SafeTensors<'_>, name: &str) -> (Vec<f32>, Vec<usize>) {
    let v = st.tensor(name).unwrap();
    let data = v
        .data()
        .chunks_exact(4)
        .map(|b| {
            let b = [b[0], b[1], b[2], b[3]];
            match v.dtype() {
                safetensors::Dtype::I32 => i32::from_le_bytes(b) as f32,
                _ => f32::from_le_bytes(b),
            }
        })
        .collect();
    (data, v.shape().to_vec())
}

fn to4(d: (Vec<f32>, Vec<usize>), device: &Device) -> Tensor<4> {
    let s = d.1;
    Tensor::from_data(TensorData::new(d.0, [s[0], s[1], s[2], s[3]]), device)
}

fn max_diff(a: Tensor<4>, b: &[f32]) -> f32 {
    let a: Vec<f32> = a.into_data().try_into_vec().unwrap();
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn burn_matches_pytorch() {
    let device = Device::flex();
    let f32_weights = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/weights/aic-fp1.safetensors"
    ))
    .unwrap();
    let w = weights::load(&f32_weights, &device).unwrap();
    assert_eq!(w.model_id, 1);
    let bytes = fixture();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let x = to4(tensor(&st, "x"), &device);
    let (y_ref, _) = tensor(&st, "y");
    let dy = max_diff(w.model.analysis.forward(x.clone()), &y_ref);
    assert!(dy < 1e-4, "latent differs from PyTorch by {dy}");
    let mut worst = dy;
    for level in 0..w.config.levels {
        let medians = w.tables.medians(level);
        let z: Vec<f32> = w
            .model
            .encode_latent(x.clone(), level)
            .into_data()
            .try_into_vec()
            .unwrap();
        let (sym_ref, shape) = tensor(&st, &format!("symbols.{level}"));
        let plane = shape[2] * shape[3];
        let mismatched = z
            .iter()
            .enumerate()
            .filter(|(i, v)| (**v - medians[i / plane]).round() != sym_ref[*i])
            .count();
        assert_eq!(mismatched, 0, "level {level}: symbols differ from PyTorch");
        let z_hat: Vec<f32> = sym_ref
            .iter()
            .enumerate()
            .map(|(i, s)| s + medians[i / plane])
            .collect();
        let z_hat = to4((z_hat, shape), &device);
        let (x_ref, _) = tensor(&st, &format!("x_hat.{level}"));
        let dx = max_diff(w.model.decode_latent(z_hat, level), &x_ref);
        assert!(
            dx < 1e-4,
            "level {level}: reconstruction differs from PyTorch by {dx}"
        );
        worst = worst.max(dx);
    }
    eprintln!("largest difference from PyTorch: {worst:e}");
}
