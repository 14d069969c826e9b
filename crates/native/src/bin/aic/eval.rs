//! `aic eval`: files coded at each codec and quality; bpp, PSNR, SSIM, MS-SSIM and timings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aic_core::codec::{CodecChoice, NeuralCodec};
use aic_native::NativeError;
use aic_native::backend::Backend;
use aic_native::eval::{self, EvalCodec, Report};
use aic_native::input::{expand_paths, read_input};

use crate::common::model_for;
use crate::error::CliError;

/// Flags of `aic eval`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Files, or directories of PNG/JPEG/PNM/Y4M files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Codecs, comma-separated: auto, neural, zlib, jpeg (baseline for comparison).
    #[arg(long, default_value = "auto", value_delimiter = ',')]
    codec: Vec<String>,
    /// Qualities, comma-separated, or `all` (every setting each codec offers).
    #[arg(long, value_delimiter = ',')]
    quality: Vec<String>,
    /// Print one JSON object: {"runs":[...], "mean":[...]}.
    #[arg(long)]
    json: bool,
    /// Print only the means, not one row per file.
    #[arg(long)]
    summary: bool,
    /// Another weights file for the neural codec (e.g. the float32 training export,
    /// `crates/core/weights/aic-fp1.safetensors`), instead of the shipped one.
    #[arg(long)]
    weights: Option<PathBuf>,
}

/// Runs `aic eval`.
pub(crate) fn run(a: Args, backend: Backend) -> Result<(), CliError> {
    evaluate(
        &a.inputs,
        &a.codec,
        &a.quality,
        a.json,
        a.summary,
        backend,
        a.weights.as_deref(),
    )
}

fn qualities(codec: EvalCodec, spec: &[String], levels: u8) -> Result<Vec<u8>, CliError> {
    if spec.is_empty() {
        return Ok(vec![codec.default_quality()]);
    }
    let mut out = Vec::new();
    for s in spec {
        if s == "all" {
            out.extend(codec.all_qualities(levels));
        } else {
            out.push(s.parse::<u8>().map_err(|_| {
                CliError::Usage(format!("bad quality `{s}`: use numbers or `all`"))
            })?);
        }
    }
    Ok(out)
}

fn evaluate(
    inputs: &[PathBuf],
    codecs: &[String],
    quality: &[String],
    json: bool,
    summary: bool,
    backend: Backend,
    weights: Option<&Path>,
) -> Result<(), CliError> {
    let codecs = codecs
        .iter()
        .map(|c| {
            EvalCodec::parse(c).ok_or_else(|| {
                CliError::Usage(format!(
                    "unknown codec `{c}`: use auto, neural, zlib or jpeg"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let wants = |c: CodecChoice| codecs.contains(&EvalCodec::Aic(c));
    let model = if let Some(path) = weights {
        let bytes = std::fs::read(path).map_err(|e| NativeError::io(path, e))?;
        let device = backend.device().map_err(CliError::Usage)?;
        let model = NeuralCodec::load(&bytes, device)
            .map_err(|e| NativeError::invalid(path, e.to_string()))?;
        Some(Arc::new(model))
    } else if wants(CodecChoice::Neural) {
        model_for(CodecChoice::Neural, backend, Path::new("model"))?
    } else if wants(CodecChoice::Auto) {
        model_for(CodecChoice::Auto, backend, Path::new("model"))?
    } else {
        None
    };
    let levels = model.as_ref().map_or(0, |m| m.levels());
    let plan = codecs
        .iter()
        .map(|&c| Ok((c, qualities(c, quality, levels)?)))
        .collect::<Result<Vec<_>, CliError>>()?;
    let mut runs = Vec::new();
    let mut noted = false;
    for path in expand_paths(inputs)? {
        let input = read_input(&path)?;
        for (codec, qs) in &plan {
            for &q in qs {
                let run = eval::evaluate(&input, *codec, q, model.as_ref(), &mut |reason| {
                    if !noted {
                        eprintln!("note: using the lossless zlib codec: {reason}");
                        noted = true;
                    }
                })?;
                runs.push(run);
            }
        }
    }
    let report = Report {
        mean: eval::summarize(&runs),
        runs,
    };
    if json {
        println!("{}", serde_json::to_string(&report).expect("serialisable"));
    } else {
        print_table(&report, summary);
    }
    Ok(())
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

/// One line of the eval table: label, codec, quality, count, then six measurements.
fn row(cells: [String; 10]) {
    let [label, codec, q, n, bpp, psnr, ssim, ms, enc, dec] = cells;
    println!(
        "{label:<40} {codec:>6} {q:>4} {n:>10} {bpp:>7} {psnr:>7} {ssim:>6} {ms:>7} {enc:>9} {dec:>9}"
    );
}

fn header(label: &str, count: &str) {
    let cells = [
        label, "codec", "q", count, "bpp", "PSNR", "SSIM", "MS-SSIM", "enc ms", "dec ms",
    ];
    row(cells.map(String::from));
}

fn measurements(
    bpp: f64,
    psnr: Option<f64>,
    ssim: Option<f64>,
    ms_ssim: Option<f64>,
    enc: f64,
    dec: f64,
) -> [String; 6] {
    [
        format!("{bpp:.3}"),
        opt(psnr, 2),
        opt(ssim, 4),
        opt(ms_ssim, 4),
        format!("{enc:.1}"),
        format!("{dec:.1}"),
    ]
}

fn print_table(report: &Report, summary: bool) {
    if !summary {
        header("file", "bytes");
        for r in &report.runs {
            let name = Path::new(&r.file)
                .file_name()
                .map_or(r.file.clone(), |n| n.to_string_lossy().into_owned());
            let [a, b, c, d, e, f] =
                measurements(r.bpp, r.psnr, r.ssim, r.ms_ssim, r.encode_ms, r.decode_ms);
            row([
                name,
                r.codec.clone(),
                r.quality.to_string(),
                r.bytes.to_string(),
                a,
                b,
                c,
                d,
                e,
                f,
            ]);
        }
        println!();
    }
    header("mean", "images");
    for m in &report.mean {
        let [a, b, c, d, e, f] =
            measurements(m.bpp, m.psnr, m.ssim, m.ms_ssim, m.encode_ms, m.decode_ms);
        row([
            String::new(),
            m.codec.clone(),
            m.quality.to_string(),
            m.images.to_string(),
            a,
            b,
            c,
            d,
            e,
            f,
        ]);
    }
}
