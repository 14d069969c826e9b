//! `aic simulate`: a clip through a seeded impaired channel in virtual time.

use std::path::{Path, PathBuf};

use aic_native::NativeError;
use aic_native::backend::Backend;
use aic_native::simulate::ChannelConfig;
use aic_native::video::load_clip;

use crate::error::CliError;

/// Flags of `aic simulate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The clip (Y4M).
    input: PathBuf,
    /// Packet loss, percent (each way).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Packets reordered, percent.
    #[arg(long, default_value_t = 0.0)]
    reorder: f64,
    /// Packets duplicated, percent.
    #[arg(long, default_value_t = 0.0)]
    duplicate: f64,
    /// One-way delay, ms.
    #[arg(long, default_value_t = 20)]
    delay_ms: u64,
    /// Bottleneck rate, kbps (default: unlimited).
    #[arg(long)]
    rate_kbps: Option<f64>,
    /// The sender's bitrate cap, kbps.
    #[arg(long, default_value_t = 400.0)]
    target_kbps: f64,
    /// Frame rate to play the clip at (default: the clip's).
    #[arg(long)]
    fps: Option<f64>,
    /// Code at most this many frames.
    #[arg(long)]
    frames: Option<usize>,
    /// Seed of the impairments.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The bottleneck's rate changes at a time: SECONDS:KBPS (e.g. 5:150 halves 300 kbps).
    #[arg(long, value_parser = parse_rate_change)]
    rate_change: Option<(f64, f64)>,
    /// The sender's low-water mark, bytes: packets go to the channel only while fewer wait
    /// in it (a browser's `bufferedAmount`); 0: two frames at the sender's estimate.
    #[arg(long, default_value_t = 0)]
    send_buffer: usize,
    /// Print JSON: {"frames":[{"index","status","kind","bytes","psnr","delay_ms","max_diff"}],"summary":{...}}.
    #[arg(long)]
    json: bool,
}

/// Runs `aic simulate`.
pub(crate) fn run(a: Args, backend: Backend) -> Result<(), CliError> {
    let Args {
        input,
        loss,
        reorder,
        duplicate,
        delay_ms,
        rate_kbps,
        target_kbps,
        fps,
        frames,
        seed,
        rate_change,
        send_buffer,
        json,
    } = a;
    let channel = ChannelConfig {
        loss: loss / 100.0,
        reorder: reorder / 100.0,
        duplicate: duplicate / 100.0,
        delay_us: delay_ms * 1000,
        rate_kbps,
        rate_change: rate_change.map(|(s, k)| ((s * 1e6) as u64, k)),
        send_buffer_bytes: send_buffer,
        seed,
    };
    run_simulate(&input, channel, target_kbps, fps, frames, json, backend)
}

fn parse_rate_change(s: &str) -> Result<(f64, f64), String> {
    let bad = || format!("{s:?}: use SECONDS:KBPS, e.g. 5:150");
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    let (t, k): (f64, f64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if t >= 0.0 && k > 0.0 && t.is_finite() && k.is_finite() {
        Ok((t, k))
    } else {
        Err(bad())
    }
}

#[allow(clippy::too_many_arguments)]
fn run_simulate(
    input: &Path,
    channel: ChannelConfig,
    target_kbps: f64,
    fps: Option<f64>,
    frames: Option<usize>,
    json: bool,
    backend: Backend,
) -> Result<(), CliError> {
    for (what, v) in [
        ("--loss", channel.loss),
        ("--reorder", channel.reorder),
        ("--duplicate", channel.duplicate),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(CliError::Usage(format!("{what} is a percentage, 0 to 100")));
        }
    }
    let model = backend
        .load_model()
        .map_err(|r| NativeError::invalid(input, r))?;
    let (clip, fps) = load_clip(input, fps, frames)?;
    let report = aic_native::simulate::simulate(&model, &clip, fps, target_kbps, channel)?;
    if json {
        println!("{}", serde_json::to_string(&report).expect("serialisable"));
        return Ok(());
    }
    println!(
        "{:>5} {:>7} {:>5} {:>7} {:>7} {:>8} {:>5}",
        "frame", "status", "kind", "bytes", "psnr", "delay ms", "diff"
    );
    for f in &report.frames {
        println!(
            "{:>5} {:>7} {:>5} {:>7} {:>7} {:>8} {:>5}",
            f.index,
            f.status,
            f.kind,
            f.bytes,
            f.psnr.map_or("-".into(), |p| format!("{p:.2}")),
            f.delay_ms.map_or("-".into(), |d| format!("{d:.0}")),
            f.max_diff.map_or("-".into(), |d| d.to_string())
        );
    }
    let s = &report.summary;
    println!(
        "\n{} frames: {} shown, {} not shown ({} refused, {} late), {} corrupt; mean PSNR {:.2} dB",
        s.frames, s.shown, s.lost, s.refused, s.late, s.corrupt, s.mean_psnr
    );
    println!(
        "{} key frames, {} key-frame requests; recovery max {:.0} ms over {} episodes; delay p50 {:.0} ms, p95 {:.0} ms; {:.1} kbps sent, estimate {:.0} kbps",
        s.key_frames,
        s.key_requests,
        s.max_recovery_ms,
        s.recovery_ms.len(),
        s.delay_p50_ms,
        s.delay_p95_ms,
        s.kbps,
        s.final_estimate_kbps
    );
    Ok(())
}
