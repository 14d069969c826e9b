//! `aic eval-video`: a clip coded as live video at a target bitrate, measured per frame, with
//! VP8 at the same bitrate.

use std::path::{Path, PathBuf};

use aic_core::sequence::Refinement;
use aic_native::NativeError;
use aic_native::backend::Backend;
use aic_native::video::{self, VideoEvalConfig};

use crate::error::CliError;

/// Flags of `aic eval-video`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The clip (Y4M).
    input: PathBuf,
    /// Target bitrate, kbps.
    #[arg(long, default_value_t = 400.0)]
    target_kbps: f64,
    /// Frame rate to play the clip at (frames are picked from the clip to match; default:
    /// the clip's own).
    #[arg(long)]
    fps: Option<f64>,
    /// Code at most this many frames.
    #[arg(long)]
    frames: Option<usize>,
    /// A key frame every N frames (0: only the first).
    #[arg(long, default_value_t = 0)]
    key_interval: u32,
    /// Change the target mid-stream: FRAME:KBPS, comma-separated.
    #[arg(long, value_delimiter = ',')]
    retarget: Vec<String>,
    /// Skip the VP8 baseline.
    #[arg(long)]
    no_vp8: bool,
    /// Run VP9 realtime (libvpx-vp9, CBR) at AIC's bitrate too.
    #[arg(long)]
    vp9: bool,
    /// Leave out the refinement layer (the neural picture alone).
    #[arg(long)]
    no_refinement: bool,
    /// Leave out motion compensation (delta frames replace latent positions only).
    #[arg(long)]
    no_motion: bool,
    /// Write a PNG plot of PSNR and kbps per frame (AIC blue, VP8 orange, target grey).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Print JSON: {"clip","width","height","fps","frames","target_kbps","aic":{...},"vp8":{...},"aic_frames":[...],"vp8_frames":[...]}.
    #[arg(long)]
    json: bool,
}

/// Runs `aic eval-video`.
pub(crate) fn run(a: Args, backend: Backend) -> Result<(), CliError> {
    let Args {
        input,
        target_kbps,
        fps,
        frames,
        key_interval,
        retarget,
        no_vp8,
        vp9,
        no_refinement,
        no_motion,
        plot,
        json,
    } = a;
    let target_changes = retarget
        .iter()
        .map(|r| {
            r.split_once(':')
                .and_then(|(f, k)| Some((f.parse().ok()?, k.parse().ok()?)))
                .ok_or_else(|| CliError::Usage(format!("bad --retarget `{r}`: use FRAME:KBPS")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let config = VideoEvalConfig {
        target_kbps,
        fps,
        max_frames: frames,
        key_interval,
        vp8: !no_vp8,
        vp9,
        target_changes,
        refinement: if no_refinement {
            Refinement::Off
        } else {
            Refinement::Auto
        },
        motion: !no_motion,
    };
    eval_video(&input, &config, plot.as_deref(), json, backend)
}

fn eval_video(
    input: &Path,
    config: &VideoEvalConfig,
    plot: Option<&Path>,
    json: bool,
    backend: Backend,
) -> Result<(), CliError> {
    let model = backend
        .load_model()
        .map_err(|r| NativeError::invalid(input, r))?;
    let work = video::work_dir();
    if !json {
        println!(
            "{:>5} {:>5} {:>4} {:>7} {:>8} {:>8} {:>6} {:>7} {:>7} {:>8} {:>8}",
            "frame",
            "kind",
            "step",
            "bytes",
            "yuv dB",
            "rgb dB",
            "ssim",
            "skipped",
            "synth",
            "enc ms",
            "dec ms"
        );
    }
    let report = video::evaluate(&model, input, config, &work, |r| {
        if !json {
            println!(
                "{:>5} {:>5} {:>4} {:>7} {:>8.2} {:>8.2} {:>6.4} {:>7} {:>7} {:>8.1} {:>8.1}",
                r.index,
                r.kind,
                r.step.unwrap_or(0),
                r.bytes,
                r.yuv_psnr,
                r.rgb_psnr,
                r.ssim,
                r.skipped_fraction
                    .map_or("-".into(), |f| format!("{:.1}%", f * 100.0)),
                r.synthesized_fraction
                    .map_or("-".into(), |f| format!("{:.1}%", f * 100.0)),
                r.encode_ms.unwrap_or(0.0),
                r.decode_ms.unwrap_or(0.0)
            );
        }
    })?;
    let _ = std::fs::remove_dir_all(&work);
    if let Some(plot) = plot {
        aic_native::plot::write_plot(&report, plot)?;
    }
    if json {
        println!("{}", serde_json::to_string(&report).expect("serialisable"));
        return Ok(());
    }
    println!(
        "\n{} {}x{} {} frames at {} fps, target {} kbps",
        report.clip, report.width, report.height, report.frames, report.fps, report.target_kbps
    );
    println!(
        "{:>5} {:>8} {:>9} {:>9} {:>7} {:>8} {:>7} {:>7} {:>5}",
        "codec", "kbps", "yuv dB", "rgb dB", "ssim", "skipped", "enc ms", "dec ms", "keys"
    );
    for s in std::iter::once(&report.aic).chain(report.vp8.as_ref()) {
        println!(
            "{:>5} {:>8.1} {:>9.2} {:>9.2} {:>7.4} {:>8} {:>7} {:>7} {:>5}",
            s.codec,
            s.kbps,
            s.yuv_psnr,
            s.rgb_psnr,
            s.ssim,
            s.skipped_fraction
                .map_or("-".into(), |f| format!("{:.1}%", f * 100.0)),
            s.encode_ms.map_or("-".into(), |v| format!("{v:.1}")),
            s.decode_ms.map_or("-".into(), |v| format!("{v:.1}")),
            s.key_frames
        );
    }
    let windows: Vec<String> = report
        .aic
        .window_kbps
        .iter()
        .map(|k| format!("{k:.0}"))
        .collect();
    println!("aic kbps per 2 s window: {}", windows.join(" "));
    if let Some(vp8) = &report.vp8 {
        println!(
            "gap: AIC {:+.2} dB YUV-PSNR against VP8 at {:.1} kbps",
            report.aic.yuv_psnr - vp8.yuv_psnr,
            vp8.kbps
        );
    }
    if let Some(note) = &report.vp8_note {
        println!("vp8: {note}");
    }
    Ok(())
}
