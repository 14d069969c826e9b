//! `aic send`: a Y4M clip streamed to an `aic serve` node over WebRTC, as a browser does.

use std::path::PathBuf;
use std::sync::Arc;

use aic_native::backend::Backend;
use aic_native::video::load_clip;

use crate::error::CliError;

/// Flags of `aic send`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The clip (Y4M).
    input: PathBuf,
    /// The WHIP endpoint, e.g. http://127.0.0.1:8080/v1/whip.
    #[arg(long)]
    whip: String,
    /// An access token with the `publish` grant (`aic token --grant publish`); default: the
    /// environment variable AIC_TOKEN.
    #[arg(long, env = "AIC_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Bitrate cap, kbps.
    #[arg(long, default_value_t = 300.0)]
    target_kbps: f64,
    /// Frames a second.
    #[arg(long, default_value_t = 10.0)]
    fps: f64,
    /// How long to send, seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent sessions (one thread each).
    #[arg(long, default_value_t = 1)]
    sessions: usize,
    /// Use at most this many frames of the clip.
    #[arg(long, default_value_t = 50)]
    frames: usize,
    /// The encoder's time budget per frame, ms: over it the refinement layer goes off
    /// (and comes back once encoding is fast again).
    #[arg(long)]
    latency_budget_ms: Option<f64>,
}

/// Runs `aic send`: one thread per session, one JSON report per session on stdout.
pub(crate) fn run(a: Args, backend: Backend) -> Result<(), CliError> {
    let Args {
        input,
        whip,
        token,
        target_kbps,
        fps,
        seconds,
        sessions,
        frames,
        latency_budget_ms,
    } = a;
    let (clip, _) = load_clip(&input, Some(fps), Some(frames))?;
    let neural = backend.load_model().map_err(CliError::Usage)?;
    let config = aic_native::send::SendConfig {
        whip,
        token,
        target_kbps,
        fps,
        seconds,
        packet_bytes: aic_core::limits::DEFAULT_PACKET_BYTES,
        latency_budget_ms,
    };
    let clip = Arc::new(clip);
    let threads: Vec<_> = (0..sessions.max(1))
        .map(|_| {
            let (clip, config, neural) = (Arc::clone(&clip), config.clone(), Arc::clone(&neural));
            std::thread::spawn(move || aic_native::send::send_clip(neural, &clip, &config))
        })
        .collect();
    let mut failed = 0;
    for t in threads {
        match t.join() {
            Ok(Ok(r)) => println!("{}", serde_json::to_string(&r).unwrap_or_default()),
            Ok(Err(e)) => {
                failed += 1;
                eprintln!("aic send: {e}");
            }
            Err(_) => failed += 1,
        }
    }
    if failed > 0 {
        return Err(CliError::Failed(format!(
            "{failed} of {sessions} sessions failed"
        )));
    }
    Ok(())
}
