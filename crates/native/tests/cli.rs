//! The `aic` command line end to end, on small generated images (written by the test).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn aic(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aic"))
        .args(args)
        .output()
        .expect("aic runs")
}

fn ok(args: &[&str]) -> String {
    let out = aic(args);
    assert!(
        out.status.success(),
        "aic {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let out = aic(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "aic {args:?} should fail with 1"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    err
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aic-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A smooth synthetic picture with some texture, `w`×`h` RGB.
fn picture(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let t = ((x * 7 + y * 13) % 31) as u8;
        image::Rgb([
            (x * 255 / w) as u8,
            (y * 255 / h) as u8 ^ t,
            128u8.wrapping_add(t),
        ])
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn zlib_round_trip_gives_back_the_same_pixels() {
    let (src, aicf, back) = (tmp("photo.png"), tmp("p.aic"), tmp("back.png"));
    picture(97, 61).save(&src).unwrap();
    ok(&["encode", s(&src), "-o", s(&aicf), "--codec", "zlib"]);
    ok(&["decode", s(&aicf), "-o", s(&back)]);
    let (a, b) = (image::open(&src).unwrap(), image::open(&back).unwrap());
    assert_eq!(a.to_rgb8(), b.to_rgb8());
    // PPM in, lossless too.
    let ppm = tmp("photo.ppm");
    picture(20, 30).save(&ppm).unwrap();
    ok(&[
        "encode",
        s(&ppm),
        "-o",
        s(&aicf),
        "--codec",
        "zlib",
        "--quality",
        "9",
    ]);
    ok(&["decode", s(&aicf), "-o", s(&back)]);
    assert_eq!(image::open(&back).unwrap().to_rgb8(), picture(20, 30));
}

#[test]
fn info_shows_the_header() {
    let (src, aicf) = (tmp("info.png"), tmp("info.aic"));
    picture(64, 48).save(&src).unwrap();
    ok(&["encode", s(&src), "-o", s(&aicf), "--codec", "zlib"]);
    let text = ok(&["info", s(&aicf)]);
    assert!(text.contains("64x48") && text.contains("zlib"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&ok(&["info", s(&aicf), "--json"])).unwrap();
    let f = &json["frames"][0];
    assert_eq!(f["width"], 64);
    assert_eq!(f["height"], 48);
    assert_eq!(f["kind"], "key");
    assert_eq!(f["codec"], "zlib");
    assert_eq!(f["seq"], 0);
    assert_eq!(f["quality"], 6);
    assert_eq!(f["timestamp_us"], 0);
    assert_eq!(f["bytes"], std::fs::metadata(&aicf).unwrap().len());
}

#[test]
fn y4m_sequence_round_trips_every_frame() {
    let (src, aicf, back) = (tmp("clip.y4m"), tmp("clip.aic"), tmp("back.y4m"));
    let (w, h) = (33usize, 19usize);
    let mut y4m = format!("YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C420jpeg\n").into_bytes();
    let frame_len = w * h + 2 * w.div_ceil(2) * h.div_ceil(2);
    for i in 0..3 {
        y4m.extend_from_slice(b"FRAME\n");
        y4m.extend((0..frame_len).map(|j| ((j * 3 + i * 50) % 256) as u8));
    }
    std::fs::write(&src, &y4m).unwrap();
    ok(&["encode", s(&src), "-o", s(&aicf), "--codec", "zlib"]);
    let json: serde_json::Value = serde_json::from_str(&ok(&["info", s(&aicf), "--json"])).unwrap();
    let frames = json["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[2]["seq"], 2);
    assert_eq!(frames[2]["timestamp_us"], 80_000);
    ok(&["decode", s(&aicf), "-o", s(&back)]);
    let out = std::fs::read(&back).unwrap();
    // Same pixels after the stream header.
    let strip = |b: &[u8]| b[b.iter().position(|&c| c == b'\n').unwrap()..].to_vec();
    assert_eq!(strip(&out), strip(&y4m));
    // A sequence cannot go to a PNG.
    let err = fails(&["decode", s(&aicf), "-o", s(&tmp("seq.png"))]);
    assert!(err.contains("3 frames"), "{err}");
}

#[test]
fn eval_reports_lossless_as_null_psnr() {
    let src = tmp("eval.png");
    picture(200, 180).save(&src).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["eval", s(&src), "--codec", "zlib", "--json"])).unwrap();
    let run = &json["runs"][0];
    for key in [
        "file",
        "codec",
        "quality",
        "width",
        "height",
        "bytes",
        "bpp",
        "psnr",
        "ssim",
        "ms_ssim",
        "encode_ms",
        "decode_ms",
    ] {
        assert!(run.get(key).is_some(), "runs[0] lacks {key}");
    }
    assert!(run["psnr"].is_null());
    assert_eq!(run["ssim"], 1.0);
    let bytes = run["bytes"].as_f64().unwrap();
    assert!((run["bpp"].as_f64().unwrap() - bytes * 8.0 / (200.0 * 180.0)).abs() < 1e-9);
    let mean = &json["mean"][0];
    assert_eq!(
        (mean["codec"].as_str(), mean["images"].as_u64()),
        (Some("zlib"), Some(1))
    );
    // A lossy baseline reports finite PSNR.
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "eval",
        s(&src),
        "--codec",
        "jpeg",
        "--quality",
        "30,90",
        "--json",
    ]))
    .unwrap();
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs[0]["psnr"].as_f64().unwrap() < runs[1]["psnr"].as_f64().unwrap());
}

#[test]
fn bad_inputs_name_the_file_and_fail_cleanly() {
    let missing = tmp("missing.png");
    assert!(fails(&["encode", s(&missing), "-o", s(&tmp("x.aic"))]).contains("missing.png"));
    let garbage = tmp("garbage.png");
    std::fs::write(&garbage, b"definitely not an image").unwrap();
    let err = fails(&["encode", s(&garbage), "-o", s(&tmp("x.aic"))]);
    assert!(err.contains("garbage.png"), "{err}");
    let err = fails(&["eval", s(&garbage)]);
    assert!(err.contains("garbage.png"), "{err}");
    let err = fails(&["decode", s(&garbage), "-o", s(&tmp("x.png"))]);
    assert!(
        err.contains("garbage.png") && err.contains("truncated"),
        "{err}"
    );
    // A corrupted AIC file: the checksum catches it.
    let (src, aicf) = (tmp("c.png"), tmp("c.aic"));
    picture(16, 16).save(&src).unwrap();
    ok(&["encode", s(&src), "-o", s(&aicf), "--codec", "zlib"]);
    let mut b = std::fs::read(&aicf).unwrap();
    let n = b.len();
    b[n - 10] ^= 0x55;
    std::fs::write(&aicf, &b).unwrap();
    assert!(fails(&["info", s(&aicf)]).contains("checksum"));
    // Oversized Y4M header: refused before any allocation.
    let big = tmp("big.y4m");
    std::fs::write(&big, b"YUV4MPEG2 W100000 H100000 F25:1 C420\nFRAME\n").unwrap();
    assert!(fails(&["encode", s(&big), "-o", s(&tmp("x.aic"))]).contains("8192"));
}

#[test]
fn neural_round_trip_info_and_eval() {
    let (src, aicf, back) = (tmp("n.png"), tmp("n.aic"), tmp("n-back.png"));
    picture(200, 180).save(&src).unwrap();
    ok(&[
        "encode",
        s(&src),
        "-o",
        s(&aicf),
        "--codec",
        "neural",
        "--quality",
        "4",
    ]);
    let raw = 200 * 180 * 3;
    let size = std::fs::metadata(&aicf).unwrap().len() as usize;
    assert!(size * 10 < raw, "neural frame of {size} bytes");
    ok(&["decode", s(&aicf), "-o", s(&back)]);
    assert_eq!(
        image::open(&back).unwrap().to_rgb8().dimensions(),
        (200, 180)
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&["info", s(&aicf), "--json"])).unwrap();
    let f = &json["frames"][0];
    assert_eq!(
        (f["codec"].as_str(), f["quality"].as_u64()),
        (Some("neural"), Some(4))
    );
    assert_eq!(f["model_id"], aic_core::model::weights::MODEL_ID);
    // auto uses the model when it loads.
    ok(&["encode", s(&src), "-o", s(&aicf)]);
    let json: serde_json::Value = serde_json::from_str(&ok(&["info", s(&aicf), "--json"])).unwrap();
    assert_eq!(json["frames"][0]["codec"], "neural");
    // eval at every quality: real sizes, finite PSNR, rate grows with quality overall.
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "eval",
        s(&src),
        "--codec",
        "neural",
        "--quality",
        "all",
        "--json",
    ]))
    .unwrap();
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 6);
    for r in runs {
        assert!(r["psnr"].as_f64().unwrap() > 15.0, "{r}");
        assert_eq!(r["codec"], "neural");
    }
    assert!(runs[5]["bytes"].as_u64() > runs[0]["bytes"].as_u64());
    // Bad arguments are clear errors.
    let out = aic(&[
        "encode",
        s(&src),
        "-o",
        s(&aicf),
        "--codec",
        "neural",
        "--quality",
        "9",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("levels 1..=7"));
    let out = aic(&["--backend", "tpu", "info", s(&aicf)]);
    assert_eq!(out.status.code(), Some(2));
}
