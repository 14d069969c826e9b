//! `aic bench`: the neural codec's encode and decode timed at several frame sizes, against zlib
//! and JPEG.

use std::path::{Path, PathBuf};

use aic_core::codec::CodecChoice;
use aic_native::NativeError;
use aic_native::backend::Backend;
use aic_native::bench;
use aic_native::input::read_input;

use crate::common::model_for;
use crate::error::CliError;

/// Flags of `aic bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A photo to scale to each size (default: a synthetic picture).
    #[arg(long)]
    image: Option<PathBuf>,
    /// Frame sizes, comma-separated WxH.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "320x240,640x480,1280x720"
    )]
    sizes: Vec<String>,
    /// Timed iterations per measurement (after 2 untimed warm-up runs).
    #[arg(long, default_value_t = 10)]
    iterations: usize,
    /// Neural quality level.
    #[arg(long, default_value_t = 3)]
    quality: u8,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `aic bench`.
pub(crate) fn run(a: Args, backend: Backend) -> Result<(), CliError> {
    run_bench(
        a.image.as_deref(),
        &a.sizes,
        a.iterations,
        a.quality,
        a.json,
        backend,
    )
}

fn run_bench(
    image: Option<&Path>,
    sizes: &[String],
    iterations: usize,
    quality: u8,
    json: bool,
    backend: Backend,
) -> Result<(), CliError> {
    let sizes = sizes
        .iter()
        .map(|s| {
            s.split_once('x')
                .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                .ok_or_else(|| CliError::Usage(format!("bad size `{s}`: use WxH")))
        })
        .collect::<Result<Vec<(u32, u32)>, _>>()?;
    let model = model_for(CodecChoice::Neural, backend, Path::new("model"))?.expect("neural model");
    let source = match image {
        Some(p) => Some(read_input(p)?.frames.remove(0)),
        None => None,
    };
    let report = bench::run(
        &model,
        backend,
        source.as_ref(),
        &sizes,
        iterations.max(1),
        quality,
    )
    .map_err(|e| NativeError::codec(Path::new("bench"), e))?;
    if json {
        println!("{}", serde_json::to_string(&report).expect("serialisable"));
    } else {
        bench::print(&report);
    }
    Ok(())
}
