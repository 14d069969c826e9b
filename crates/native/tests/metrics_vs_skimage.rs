//! PSNR, SSIM and MS-SSIM agree with scikit-image (to 1e-3, as the spec requires; in practice
//! to float rounding) on real photographs. The images come from
//! `tests/fixtures/metrics/make_fixtures.py` (the README's test command runs it); the expected
//! values are committed in `tests/fixtures/metrics/expected.json`.

use std::path::{Path, PathBuf};

use aic_core::metrics::{ms_ssim, psnr, ssim};
use aic_native::input::read_input;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn metrics_match_scikit_image() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/metrics/expected.json")).unwrap(),
    )
    .unwrap();
    let dir = root().join("tests/fixtures/generated/metrics");
    assert!(
        dir.is_dir(),
        "{} is missing: run tests/fixtures/metrics/make_fixtures.py (scripts/test.sh does)",
        dir.display()
    );
    let cases = expected["cases"].as_array().unwrap();
    assert!(cases.len() >= 9);
    let mut worst: f64 = 0.0;
    for case in cases {
        let load = |k: &str| {
            let f = read_input(&dir.join(case[k].as_str().unwrap())).unwrap();
            f.frames.into_iter().next().unwrap()
        };
        let (a, b) = (load("reference"), load("distorted"));
        let name = case["distorted"].as_str().unwrap();
        let close = |what: &str, got: f64, want: &serde_json::Value| {
            let want = want.as_f64().unwrap();
            let err = (got - want).abs();
            assert!(err < 1e-3, "{name} {what}: got {got}, scikit-image {want}");
            err
        };
        let p = psnr(&a, &b).unwrap();
        worst = worst.max(close("psnr", p.overall, &case["psnr"]));
        for c in 0..3 {
            worst = worst.max(close(
                "psnr channel",
                p.per_plane[c],
                &case["psnr_per_channel"][c],
            ));
        }
        worst = worst.max(close("ssim", ssim(&a, &b).unwrap(), &case["ssim"]));
        worst = worst.max(close("ms_ssim", ms_ssim(&a, &b).unwrap(), &case["ms_ssim"]));
    }
    eprintln!("largest difference from scikit-image: {worst:e}");
}
