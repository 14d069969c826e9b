//! `aic`: encode, decode, inspect and evaluate AIC frames from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::sync::Arc;

use aic_core::codec::{CodecChoice, Decoder, Encoder, EncoderConfig, NeuralCodec, zlib};
use aic_core::rate::RateTarget;
use aic_core::sequence::{Refinement, VideoConfig, VideoEncoder};
use aic_core::wire::{Codec, frames};
use aic_native::NativeError;
use aic_native::backend::Backend;
use aic_native::bench;
use aic_native::eval::{self, EvalCodec, Report};
use aic_native::input::{expand_paths, read_input};
use aic_native::output::write_frames;
use aic_native::simulate::ChannelConfig;
use aic_native::video::{self, VideoEvalConfig, load_clip};
use clap::{Parser, Subcommand};
use serde::Serialize;

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

/// Flags of `aic serve`; each overrides the TOML file's value.
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// TOML configuration (every key optional; docs/server.md lists them).
    #[arg(long)]
    config: Option<PathBuf>,
    /// HTTP API address (default 127.0.0.1:8080).
    #[arg(long)]
    http: Option<std::net::SocketAddr>,
    /// gRPC address (default 127.0.0.1:50051); the HTTP address serves both on one port.
    #[arg(long)]
    grpc: Option<std::net::SocketAddr>,
    /// Admin address: /metrics, /livez, /readyz (default 127.0.0.1:9090).
    #[arg(long)]
    admin: Option<std::net::SocketAddr>,
    /// WebRTC ingest UDP socket (default 127.0.0.1, any port).
    #[arg(long)]
    udp: Option<std::net::SocketAddr>,
    /// The address advertised to browsers in the ICE candidate.
    #[arg(long)]
    public_ip: Option<std::net::IpAddr>,
    /// This node's name in session ids.
    #[arg(long)]
    node_id: Option<String>,
    /// URL of another node for 307s, `{node}` standing for its id.
    #[arg(long)]
    peer_url_template: Option<String>,
    /// Another node's URL: NAME=URL (repeatable).
    #[arg(long = "peer", value_parser = parse_peer)]
    peers: Vec<(String, String)>,
    /// Record each session's shown frames to DIR/{session}.y4m.
    #[arg(long)]
    record_dir: Option<PathBuf>,
    /// Seconds a drain may take after SIGTERM.
    #[arg(long)]
    drain_seconds: Option<u64>,
    /// Inference workers (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
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

fn parse_peer(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| format!("{s:?}: use NAME=URL"))
}

fn serve(args: ServeArgs, backend: Backend) -> Result<(), CliError> {
    use aic_native::serve::ServeConfig;
    let mut c = match &args.config {
        Some(p) => ServeConfig::from_file(p).map_err(CliError::Usage)?,
        None => ServeConfig::default(),
    };
    if backend != Backend::Flex {
        c.model.backend = backend.name().to_string();
    }
    if let Some(a) = args.http {
        c.listen.http = a;
    }
    if let Some(a) = args.grpc {
        c.listen.grpc = a;
    }
    if let Some(a) = args.admin {
        c.listen.admin = a;
    }
    if let Some(a) = args.udp {
        c.webrtc.udp = a;
    }
    if let Some(a) = args.public_ip {
        c.webrtc.public_ip = Some(a);
    }
    if let Some(n) = args.node_id {
        c.webrtc.node_id = n;
    }
    if let Some(t) = args.peer_url_template {
        c.webrtc.peer_url_template = Some(t);
    }
    c.webrtc.peers.extend(args.peers);
    if let Some(d) = args.record_dir {
        c.webrtc.record_dir = Some(d);
    }
    if let Some(s) = args.drain_seconds {
        c.limits.drain_seconds = s;
    }
    if let Some(w) = args.workers {
        c.model.workers = w;
    }
    aic_native::serve::run(c).map_err(CliError::Failed)
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Encode an image (PNG, JPEG, PPM/PNM) or a Y4M sequence into an AIC file.
    Encode {
        /// Input file.
        input: PathBuf,
        /// Output AIC file (frames back to back).
        #[arg(short, long)]
        output: PathBuf,
        /// Codec: auto (neural, else zlib), neural, or zlib.
        #[arg(long, default_value = "auto", value_parser = parse_codec)]
        codec: CodecChoice,
        /// Quality: the neural quality level (1-7; 7 is extrapolated above the trained 6), or
        /// the zlib level (0-9) with --codec zlib. Every frame is a key frame.
        #[arg(long, conflicts_with = "target_kbps")]
        quality: Option<u8>,
        /// Code a Y4M sequence as live video (key and delta frames) at this bitrate.
        #[arg(long)]
        target_kbps: Option<f64>,
        /// The frame rate for --target-kbps (default: the clip's).
        #[arg(long, requires = "target_kbps")]
        fps: Option<f64>,
    },
    /// Code a Y4M clip as live video at a target bitrate and measure it per frame (kbps,
    /// YUV-PSNR, RGB-PSNR, SSIM, skipped fraction, encode/decode ms), with VP8 realtime
    /// (ffmpeg's libvpx) at the bitrate AIC spent, in the same run.
    EvalVideo {
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
        /// Leave out the refinement layer (the neural picture alone).
        #[arg(long)]
        no_refinement: bool,
        /// Write a PNG plot of PSNR and kbps per frame (AIC blue, VP8 orange, target grey).
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Print JSON: {"clip","width","height","fps","frames","target_kbps","aic":{...},"vp8":{...},"aic_frames":[...],"vp8_frames":[...]}.
        #[arg(long)]
        json: bool,
    },
    /// Decode an AIC file to PNG/PPM (one frame) or Y4M (a sequence).
    Decode {
        /// Input AIC file.
        input: PathBuf,
        /// Output file: .png, .ppm or .y4m.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Print the header fields of each frame of an AIC file.
    Info {
        /// Input AIC file.
        input: PathBuf,
        /// Print JSON: {"frames":[{"seq","kind","codec","width","height","quality","bytes","timestamp_us"}, ...]}.
        #[arg(long)]
        json: bool,
        /// Also decode each neural frame and print its latent symbol count and CRC-32
        /// (`latent_symbols`, `latent_crc32`, key frames) and the CRC-32 of the sequence
        /// state after it (`state_crc32`): compares latents across platforms.
        #[arg(long)]
        latents: bool,
    },
    /// Code files at each codec and quality; print bpp, PSNR, SSIM, MS-SSIM and timings.
    Eval {
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
    },
    /// Stream a Y4M clip (looped) to an `aic serve` node over WebRTC, as a browser does: WHIP
    /// signaling, an unreliable unordered data channel, rate control with the server's feedback.
    /// Prints one JSON report per session.
    Send {
        /// The clip (Y4M).
        input: PathBuf,
        /// The WHIP endpoint, e.g. http://127.0.0.1:8080/v1/whip.
        #[arg(long)]
        whip: String,
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
    },
    /// Serve the model over HTTP and gRPC, and decode browsers' live streams over WebRTC
    /// (docs/server.md). Defaults: loopback addresses, the shipped model; drains on SIGTERM.
    Serve(ServeArgs),
    /// Run a clip from a sender to a receiver through a seeded impaired channel (loss,
    /// reordering, duplication, delay, a rate cap) in virtual time: per frame shown, late,
    /// refused or lost, PSNR and delay; a summary (corrupt frames must be 0).
    Simulate {
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
    },
    /// Time the neural codec's encode and decode at several frame sizes, against zlib and
    /// JPEG on the same frames (medians).
    Bench {
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
    },
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    Backend::parse(s).ok_or_else(|| format!("unknown backend `{s}`: use flex, wgpu or ndarray"))
}

/// Loads the model for `codec`: required for `neural`, optional for `auto` (a note says why
/// it falls back), not loaded for `zlib`.
fn model_for(
    codec: CodecChoice,
    backend: Backend,
    what: &Path,
) -> Result<Option<Arc<NeuralCodec>>, CliError> {
    match codec {
        CodecChoice::Zlib => Ok(None),
        CodecChoice::Neural => backend
            .load_model()
            .map(Some)
            .map_err(|reason| NativeError::invalid(what, reason).into()),
        CodecChoice::Auto => Ok(backend
            .load_model()
            .inspect_err(|reason| {
                eprintln!("note: the neural codec cannot run ({reason}): using zlib")
            })
            .ok()),
    }
}

fn parse_codec(s: &str) -> Result<CodecChoice, String> {
    CodecChoice::parse(s).ok_or_else(|| format!("unknown codec `{s}`: use auto, neural or zlib"))
}

/// A failure of the command line, printed with its cause chain.
#[derive(Debug)]
enum CliError {
    Native(NativeError),
    Usage(String),
    /// The command ran and failed (exit status 1).
    Failed(String),
}

impl From<NativeError> for CliError {
    fn from(e: NativeError) -> Self {
        CliError::Native(e)
    }
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
        Command::Encode {
            input,
            output,
            codec,
            target_kbps: Some(kbps),
            fps,
            ..
        } => encode_video(&input, &output, codec, kbps, fps, backend),
        Command::Encode {
            input,
            output,
            codec,
            quality,
            ..
        } => encode(&input, &output, codec, quality, backend),
        Command::EvalVideo {
            input,
            target_kbps,
            fps,
            frames,
            key_interval,
            retarget,
            no_vp8,
            no_refinement,
            plot,
            json,
        } => {
            let target_changes = retarget
                .iter()
                .map(|r| {
                    r.split_once(':')
                        .and_then(|(f, k)| Some((f.parse().ok()?, k.parse().ok()?)))
                        .ok_or_else(|| {
                            CliError::Usage(format!("bad --retarget `{r}`: use FRAME:KBPS"))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let config = VideoEvalConfig {
                target_kbps,
                fps,
                max_frames: frames,
                key_interval,
                vp8: !no_vp8,
                target_changes,
                refinement: if no_refinement {
                    Refinement::Off
                } else {
                    Refinement::Auto
                },
            };
            eval_video(&input, &config, plot.as_deref(), json, backend)
        }
        Command::Decode { input, output } => decode(&input, &output, backend),
        Command::Info {
            input,
            json,
            latents,
        } => info(&input, json, latents.then_some(backend)),
        Command::Eval {
            inputs,
            codec,
            quality,
            json,
            summary,
            weights,
        } => evaluate(
            &inputs,
            &codec,
            &quality,
            json,
            summary,
            backend,
            weights.as_deref(),
        ),
        Command::Serve(args) => serve(args, backend),
        Command::Send {
            input,
            whip,
            target_kbps,
            fps,
            seconds,
            sessions,
            frames,
            latency_budget_ms,
        } => {
            let (clip, _) = load_clip(&input, Some(fps), Some(frames))?;
            let neural = backend.load_model().map_err(CliError::Usage)?;
            let config = aic_native::send::SendConfig {
                whip,
                target_kbps,
                fps,
                seconds,
                packet_bytes: aic_core::limits::DEFAULT_PACKET_BYTES,
                latency_budget_ms,
            };
            let clip = Arc::new(clip);
            let threads: Vec<_> = (0..sessions.max(1))
                .map(|_| {
                    let (clip, config, neural) =
                        (Arc::clone(&clip), config.clone(), Arc::clone(&neural));
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
        Command::Simulate {
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
        } => {
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
        Command::Bench {
            image,
            sizes,
            iterations,
            quality,
            json,
        } => run_bench(image.as_deref(), &sizes, iterations, quality, json, backend),
    }
}

fn encoder_config(codec: CodecChoice, quality: Option<u8>) -> EncoderConfig {
    let default = EncoderConfig::default();
    match codec {
        CodecChoice::Zlib => EncoderConfig {
            codec,
            zlib_level: quality.unwrap_or(zlib::DEFAULT_LEVEL),
            ..default
        },
        _ => EncoderConfig {
            codec,
            quality: quality.unwrap_or(default.quality),
            ..default
        },
    }
}

fn encode(
    input: &Path,
    output: &Path,
    codec: CodecChoice,
    quality: Option<u8>,
    backend: Backend,
) -> Result<(), CliError> {
    let src = read_input(input)?;
    let config = encoder_config(codec, quality);
    let enc = match model_for(codec, backend, input)? {
        Some(model) => Encoder::with_neural(config, model),
        None => Encoder::new(config),
    };
    let mut enc = enc.map_err(|e| NativeError::codec(input, e))?;
    let mut out = Vec::new();
    for (i, frame) in src.frames.iter().enumerate() {
        let e = enc
            .encode(frame, i as u64 * src.frame_interval_us)
            .map_err(|e| NativeError::codec(input, e))?;
        if let (Some(reason), 0) = (&e.fallback_reason, i) {
            eprintln!(
                "note: {}: using the lossless zlib codec: {reason}",
                input.display()
            );
        }
        out.extend_from_slice(&e.bytes);
    }
    std::fs::write(output, &out).map_err(|e| NativeError::io(output, e))?;
    Ok(())
}

/// `aic encode clip.y4m --target-kbps K [--fps F]`: the clip as live video.
fn encode_video(
    input: &Path,
    output: &Path,
    codec: CodecChoice,
    kbps: f64,
    fps: Option<f64>,
    backend: Backend,
) -> Result<(), CliError> {
    if codec == CodecChoice::Zlib {
        return Err(CliError::Usage(
            "--target-kbps needs the neural codec".into(),
        ));
    }
    let model = backend
        .load_model()
        .map_err(|r| NativeError::invalid(input, r))?;
    let (frames, fps) = load_clip(input, fps, None)?;
    let mut enc = VideoEncoder::new(
        model,
        VideoConfig {
            target: RateTarget::Bitrate { kbps, fps },
            ..VideoConfig::default()
        },
    )
    .map_err(|e| NativeError::codec(input, e))?;
    let mut out = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let e = enc
            .encode(frame, (i as f64 * 1e6 / fps) as u64)
            .map_err(|e| NativeError::codec(input, e))?;
        out.extend_from_slice(&e.bytes);
    }
    std::fs::write(output, &out).map_err(|e| NativeError::io(output, e))?;
    eprintln!(
        "{} frames, {:.1} kbps at {fps} fps (target {kbps})",
        frames.len(),
        out.len() as f64 * 8.0 / (frames.len() as f64 / fps) / 1000.0
    );
    Ok(())
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

fn read_aic(input: &Path) -> Result<Vec<u8>, CliError> {
    Ok(std::fs::read(input).map_err(|e| NativeError::io(input, e))?)
}

fn decode(input: &Path, output: &Path, backend: Backend) -> Result<(), CliError> {
    let bytes = read_aic(input)?;
    let neural =
        frames(&bytes).any(|f| f.is_ok_and(|f| matches!(f.header.codec, Codec::Neural { .. })));
    let mut dec = if neural {
        Decoder::with_neural(
            backend
                .load_model()
                .map_err(|r| NativeError::invalid(input, r))?,
        )
    } else {
        Decoder::new()
    };
    let mut decoded = Vec::new();
    let mut stamps = Vec::new();
    for f in frames(&bytes) {
        let f = f.map_err(|e| NativeError::codec(input, e))?;
        let d = dec
            .decode_payload(&f.header, f.payload)
            .map_err(|e| NativeError::codec(input, e))?;
        stamps.push(f.header.timestamp_us);
        decoded.push(d.frame);
    }
    if decoded.is_empty() {
        return Err(NativeError::invalid(input, "no frame in the file").into());
    }
    let interval = match stamps.as_slice() {
        [a, b, ..] => b.saturating_sub(*a),
        _ => 0,
    };
    write_frames(output, &decoded, interval)?;
    Ok(())
}

#[derive(Serialize)]
struct FrameInfo {
    seq: u32,
    kind: &'static str,
    codec: &'static str,
    width: u32,
    height: u32,
    /// The neural level (fractional between trained levels), or the zlib level.
    quality: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<u8>,
    bytes: usize,
    timestamp_us: u64,
    format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    weights_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latent_symbols: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latent_crc32: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_crc32: Option<String>,
}

#[derive(Serialize)]
struct InfoReport {
    frames: Vec<FrameInfo>,
}

/// A header's quality as users name it: the neural level (an integer at trained levels,
/// else fractional), or the zlib level.
fn quality_value(h: &aic_core::wire::FrameHeader) -> serde_json::Value {
    let level = h.quality_level();
    if level.fract() == 0.0 {
        serde_json::Value::from(level as u64)
    } else {
        serde_json::Value::from(level)
    }
}

/// `latents`: the backend whose model entropy-decodes neural frames, if asked to.
fn info(input: &Path, json: bool, latents: Option<Backend>) -> Result<(), CliError> {
    let bytes = read_aic(input)?;
    let mut dec = match latents {
        Some(backend) => Some(Decoder::with_neural(
            backend
                .load_model()
                .map_err(|r| NativeError::invalid(input, r))?,
        )),
        None => None,
    };
    let mut list = Vec::new();
    for f in frames(&bytes) {
        let f = f.map_err(|e| NativeError::codec(input, e))?;
        let neural = matches!(f.header.codec, Codec::Neural { .. });
        let latent = match &dec {
            Some(dec) if f.header.kind == aic_core::wire::FrameKind::Key => dec
                .latent(f.bytes)
                .map_err(|e| NativeError::codec(input, e))?,
            _ => None,
        };
        // The sequence state after the frame (delta frames update it): decode it.
        let state_crc32 = match &mut dec {
            Some(dec) if neural => {
                dec.decode_payload(&f.header, f.payload)
                    .map_err(|e| NativeError::codec(input, e))?;
                dec.sequence_state()
                    .map(|s| format!("{:08x}", s.checksum()))
            }
            _ => None,
        };
        let h = f.header;
        let (model_id, weights_hash) = match h.codec {
            Codec::Neural {
                model_id,
                weights_hash,
            } => (Some(model_id), Some(format!("{weights_hash:016x}"))),
            _ => (None, None),
        };
        list.push(FrameInfo {
            seq: h.seq,
            kind: h.kind.name(),
            codec: h.codec.name(),
            width: h.width,
            height: h.height,
            quality: quality_value(&h),
            step: matches!(h.codec, Codec::Neural { .. }).then_some(h.quality),
            bytes: f.bytes.len(),
            timestamp_us: h.timestamp_us,
            format: h.format.name(),
            model_id,
            weights_hash,
            latent_symbols: latent.as_ref().map(|l| l.symbols.len()),
            latent_crc32: latent.as_ref().map(|l| format!("{:08x}", l.checksum())),
            state_crc32,
        });
    }
    if json {
        println!(
            "{}",
            serde_json::to_string(&InfoReport { frames: list }).expect("serialisable")
        );
        return Ok(());
    }
    println!("{}: {} frame(s)", input.display(), list.len());
    println!(
        "{:>6} {:>5} {:>6} {:>11} {:>6} {:>7} {:>9} {:>14}",
        "seq", "kind", "codec", "size", "format", "quality", "bytes", "timestamp_us"
    );
    for f in &list {
        println!(
            "{:>6} {:>5} {:>6} {:>11} {:>6} {:>7} {:>9} {:>14}{}",
            f.seq,
            f.kind,
            f.codec,
            format!("{}x{}", f.width, f.height),
            f.format,
            f.quality.to_string(),
            f.bytes,
            f.timestamp_us,
            f.weights_hash
                .as_ref()
                .map(|h| format!("  model {} weights {h}", f.model_id.unwrap_or(0)))
                .unwrap_or_default()
                + &f.latent_crc32
                    .as_ref()
                    .map(|c| format!("  latent crc32 {c}"))
                    .unwrap_or_default()
        );
    }
    Ok(())
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
