//! `aic`: encode, decode, inspect and evaluate AIC frames from the command line.
//!
//! One module per command, each with its flags (`Args`) and its `run`.

mod bench;
mod common;
mod decode;
mod encode;
mod error;
mod eval;
mod eval_video;
mod info;
mod send;
mod serve;
mod simulate;
mod token;

use std::process::ExitCode;

use aic_native::backend::Backend;
use clap::{Parser, Subcommand};

use crate::common::parse_backend;
use crate::error::CliError;

/// AuraLink AIC: learned compression of video frames, with a lossless zlib fallback.
#[derive(Debug, Parser)]
#[command(name = "aic", version, about)]
struct Cli {
    /// Backend of the neural codec: flex (CPU), wgpu (GPU through Vulkan), or ndarray (CPU,
    /// builds with the `ndarray` feature only, for measuring).
    #[arg(long, global = true, default_value = "flex", value_parser = parse_backend)]
    backend: Backend,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Encode an image (PNG, JPEG, PPM/PNM) or a Y4M sequence into an AIC file.
    Encode(encode::Args),
    /// Code a Y4M clip as live video at a target bitrate and measure it per frame (kbps,
    /// YUV-PSNR, RGB-PSNR, SSIM, skipped fraction, encode/decode ms), with VP8 realtime
    /// (ffmpeg's libvpx) at the bitrate AIC spent, in the same run.
    EvalVideo(eval_video::Args),
    /// Decode an AIC file to PNG/PPM (one frame) or Y4M (a sequence).
    Decode(decode::Args),
    /// Print the header fields of each frame of an AIC file.
    Info(info::Args),
    /// Code files at each codec and quality; print bpp, PSNR, SSIM, MS-SSIM and timings.
    Eval(eval::Args),
    /// Stream a Y4M clip (looped) to an `aic serve` node over WebRTC, as a browser does: WHIP
    /// signaling, an unreliable unordered data channel, rate control with the server's feedback.
    /// Prints one JSON report per session.
    Send(send::Args),
    /// Serve the model over HTTP and gRPC, and decode browsers' live streams over WebRTC
    /// (docs/server.md). Defaults: loopback addresses, the shipped model; drains on SIGTERM.
    Serve(serve::Args),
    /// Run a clip from a sender to a receiver through a seeded impaired channel (loss,
    /// reordering, duplication, delay, a rate cap) in virtual time: per frame shown, late,
    /// refused or lost, PSNR and delay; a summary (corrupt frames must be 0).
    Simulate(simulate::Args),
    /// Time the neural codec's encode and decode at several frame sizes, against zlib and
    /// JPEG on the same frames (medians).
    Bench(bench::Args),
    /// Mint an access token for `aic serve` from the configured secret (AIC_AUTH_SECRET or
    /// the configuration's [auth] secret): grants publish, view or admin, a stream, an expiry.
    /// The token is the last line printed.
    Token(token::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Native(e)) => {
            // The message already carries its cause (file, then reason).
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        Err(CliError::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(CliError::Failed(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let backend = cli.backend;
    match cli.command {
        Command::Encode(a) => encode::run(a, backend),
        Command::EvalVideo(a) => eval_video::run(a, backend),
        Command::Decode(a) => decode::run(a, backend),
        Command::Info(a) => info::run(a, backend),
        Command::Eval(a) => eval::run(a, backend),
        Command::Send(a) => send::run(a, backend),
        Command::Serve(a) => serve::run(a, backend),
        Command::Simulate(a) => simulate::run(a, backend),
        Command::Bench(a) => bench::run(a, backend),
        Command::Token(a) => token::run(a),
    }
}
