//! Video evaluation (`aic eval-video`): a clip through the video encoder and decoder at a
//! target bitrate, and the same clip through VP8 realtime (ffmpeg's libvpx) at the bitrate AIC
//! spent, in the same run; per-frame and mean kbps, YUV-PSNR, RGB-PSNR, SSIM, timings.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use aic_core::codec::{Decoder, NeuralCodec};
use aic_core::color::{to_i420, to_rgb8};
use aic_core::frame::Frame;
use aic_core::metrics::{psnr, ssim};
use aic_core::rate::RateTarget;
use aic_core::sequence::{Refinement, VideoConfig, VideoEncoder};
use serde::Serialize;

use crate::error::{NativeError, Result};
use crate::input::read_input;

/// Settings of one evaluation.
#[derive(Debug, Clone)]
pub struct VideoEvalConfig {
    /// Target bitrate, kbps.
    pub target_kbps: f64,
    /// Frame rate to play the clip at (frames are picked to match); `None`: the clip's own.
    pub fps: Option<f64>,
    /// Code at most this many frames.
    pub max_frames: Option<usize>,
    /// A key frame every this many frames (0: the first only).
    pub key_interval: u32,
    /// Run VP8 through ffmpeg too (when ffmpeg is installed).
    pub vp8: bool,
    /// Run VP9 realtime through ffmpeg too, at the same bitrate.
    pub vp9: bool,
    /// New targets mid-stream: `(frame index, kbps)`.
    pub target_changes: Vec<(usize, f64)>,
    /// The refinement layer.
    pub refinement: Refinement,
    /// Motion delta frames (with the refinement layer).
    pub motion: bool,
}

/// What a motion frame's macroblocks did: fractions of macroblocks per mode, and bits.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ModeRow {
    /// Skipped (a copy of the previous picture).
    pub skip: f64,
    /// Predicted from the previous picture.
    pub inter: f64,
    /// Predicted from the long-term reference.
    pub long: f64,
    /// Coded intra by the neural codec.
    pub intra: f64,
    /// In the cyclic refresh window.
    pub refresh: f64,
    /// The residual's QP.
    pub qp: f64,
    /// Estimated bits of modes and vectors.
    pub vector_bits: f64,
    /// Estimated bits of the residual.
    pub residual_bits: f64,
    /// Bits of the intra latent symbols.
    pub latent_bits: f64,
}

/// One frame's figures.
#[derive(Debug, Clone, Serialize)]
pub struct FrameRow {
    /// Index in the (resampled) clip.
    pub index: usize,
    /// `key` or `delta` (VP8: `frame`).
    pub kind: &'static str,
    /// AIC: the quality step (VP8: null).
    pub step: Option<u8>,
    /// Bytes on the wire.
    pub bytes: usize,
    /// The target in force, kbps.
    pub target_kbps: f64,
    /// PSNR of Y, U and V pooled, against the clip (I420).
    pub yuv_psnr: f64,
    /// PSNR of the luma plane.
    pub y_psnr: f64,
    /// PSNR of RGB against the clip converted to RGB.
    pub rgb_psnr: f64,
    /// SSIM of the luma plane.
    pub ssim: f64,
    /// Fraction of latent positions left as they were (AIC delta frames).
    pub skipped_fraction: Option<f64>,
    /// Fraction of the picture the decoder synthesized.
    pub synthesized_fraction: Option<f64>,
    /// Encode time, ms (AIC only).
    pub encode_ms: Option<f64>,
    /// Decode time, ms (AIC only).
    pub decode_ms: Option<f64>,
    /// A motion frame's modes and bits (AIC only).
    pub modes: Option<ModeRow>,
}

/// The means of one codec over the clip.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `aic` or `vp8`.
    pub codec: &'static str,
    /// Mean bitrate over the whole clip, kbps.
    pub kbps: f64,
    /// Bitrate of each whole 2-second window, kbps.
    pub window_kbps: Vec<f64>,
    /// Mean over frames of the YUV-PSNR.
    pub yuv_psnr: f64,
    /// Mean over frames of the Y-PSNR.
    pub y_psnr: f64,
    /// Mean over frames of the RGB-PSNR.
    pub rgb_psnr: f64,
    /// Mean SSIM (luma).
    pub ssim: f64,
    /// Mean fraction of latent positions skipped (AIC).
    pub skipped_fraction: Option<f64>,
    /// Median encode time, ms.
    pub encode_ms: Option<f64>,
    /// Median decode time, ms.
    pub decode_ms: Option<f64>,
    /// Key frames.
    pub key_frames: usize,
    /// Means over the motion frames of their modes and bits.
    pub modes: Option<ModeRow>,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct VideoReport {
    /// The clip.
    pub clip: String,
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// Frame rate played at.
    pub fps: f64,
    /// Frames coded.
    pub frames: usize,
    /// Target bitrate (the first), kbps.
    pub target_kbps: f64,
    /// AIC's means.
    pub aic: Summary,
    /// VP8's means at AIC's bitrate, when ffmpeg ran.
    pub vp8: Option<Summary>,
    /// Why VP8 did not run, if it did not.
    pub vp8_note: Option<String>,
    /// VP9 realtime's means at AIC's bitrate, when asked for and ffmpeg ran.
    pub vp9: Option<Summary>,
    /// AIC per frame.
    pub aic_frames: Vec<FrameRow>,
    /// VP8 per frame.
    pub vp8_frames: Vec<FrameRow>,
}

/// Reads a clip and picks its frames at `fps` (nearest source frame for each output time).
pub fn load_clip(path: &Path, fps: Option<f64>, max: Option<usize>) -> Result<(Vec<Frame>, f64)> {
    let input = read_input(path)?;
    if input.frame_interval_us == 0 || input.frames.len() < 2 {
        return Err(NativeError::invalid(
            path,
            "not a video (a Y4M sequence is needed)",
        ));
    }
    let src_fps = 1e6 / input.frame_interval_us as f64;
    let fps = fps.unwrap_or(src_fps);
    if !(fps.is_finite() && fps > 0.0 && fps <= src_fps + 1e-6) {
        return Err(NativeError::invalid(
            path,
            format!("--fps {fps} must be positive and at most the clip's {src_fps:.3}"),
        ));
    }
    let duration = input.frames.len() as f64 / src_fps;
    let count = ((duration * fps).floor() as usize).min(max.unwrap_or(usize::MAX));
    let frames = (0..count)
        .map(|i| {
            let src = ((i as f64 * src_fps / fps).round() as usize).min(input.frames.len() - 1);
            to_i420(&input.frames[src])
        })
        .collect();
    Ok((frames, fps))
}

/// Quality of `decoded` against `original` (both I420 or convertible).
fn scores(original: &Frame, decoded: &Frame) -> (f64, f64, f64, f64) {
    let (o, d) = (to_i420(original), to_i420(decoded));
    let p = psnr(&o, &d);
    let yuv = p.as_ref().map_or(f64::NAN, |p| p.overall.min(100.0));
    let y = p.as_ref().map_or(f64::NAN, |p| p.per_plane[0].min(100.0));
    let rgb =
        psnr(&to_rgb8(original), &to_rgb8(decoded)).map_or(f64::NAN, |p| p.overall.min(100.0));
    let s = ssim(&o, &d).unwrap_or(f64::NAN);
    (yuv, y, rgb, s)
}

fn median(v: Vec<f64>) -> Option<f64> {
    (!v.is_empty()).then(|| crate::bench::median(v))
}

fn summarize(codec: &'static str, rows: &[FrameRow], fps: f64) -> Summary {
    let n = rows.len().max(1) as f64;
    let mean = |f: &dyn Fn(&FrameRow) -> f64| rows.iter().map(f).sum::<f64>() / n;
    let kbps = rows.iter().map(|r| r.bytes as f64 * 8.0).sum::<f64>() / (n / fps) / 1000.0;
    let per = (2.0 * fps).round().max(1.0) as usize;
    let window_kbps = rows
        .chunks(per)
        .filter(|w| w.len() == per)
        .map(|w| w.iter().map(|r| r.bytes as f64 * 8.0).sum::<f64>() / 2.0 / 1000.0)
        .collect();
    let skipped: Vec<f64> = rows.iter().filter_map(|r| r.skipped_fraction).collect();
    Summary {
        codec,
        kbps,
        window_kbps,
        yuv_psnr: mean(&|r| r.yuv_psnr),
        y_psnr: mean(&|r| r.y_psnr),
        rgb_psnr: mean(&|r| r.rgb_psnr),
        ssim: mean(&|r| r.ssim),
        skipped_fraction: (!skipped.is_empty())
            .then(|| skipped.iter().sum::<f64>() / skipped.len() as f64),
        encode_ms: median(rows.iter().filter_map(|r| r.encode_ms).collect()),
        decode_ms: median(rows.iter().filter_map(|r| r.decode_ms).collect()),
        key_frames: rows.iter().filter(|r| r.kind == "key").count(),
        modes: mean_modes(rows),
    }
}

fn mean_modes(rows: &[FrameRow]) -> Option<ModeRow> {
    let m: Vec<ModeRow> = rows.iter().filter_map(|r| r.modes).collect();
    if m.is_empty() {
        return None;
    }
    let n = m.len() as f64;
    let avg = |f: fn(&ModeRow) -> f64| m.iter().map(f).sum::<f64>() / n;
    Some(ModeRow {
        skip: avg(|r| r.skip),
        inter: avg(|r| r.inter),
        long: avg(|r| r.long),
        intra: avg(|r| r.intra),
        refresh: avg(|r| r.refresh),
        qp: avg(|r| r.qp),
        vector_bits: avg(|r| r.vector_bits),
        residual_bits: avg(|r| r.residual_bits),
        latent_bits: avg(|r| r.latent_bits),
    })
}

/// A motion frame's stats as fractions of its macroblocks.
fn mode_row(m: &aic_core::sequence::MotionStats) -> ModeRow {
    let n = (m.skip + m.inter + m.long + m.intra).max(1) as f64;
    ModeRow {
        skip: m.skip as f64 / n,
        inter: m.inter as f64 / n,
        long: m.long as f64 / n,
        intra: m.intra as f64 / n,
        refresh: m.refresh as f64 / n,
        qp: f64::from(m.qp),
        vector_bits: m.mode_bits,
        residual_bits: m.residual_bits,
        latent_bits: m.latent_bytes as f64 * 8.0,
    }
}

/// Codes `frames` with AIC at the config's target; one row per frame.
pub fn run_aic(
    neural: &Arc<NeuralCodec>,
    frames: &[Frame],
    fps: f64,
    config: &VideoEvalConfig,
    path: &Path,
    mut progress: impl FnMut(&FrameRow),
) -> Result<Vec<FrameRow>> {
    let codec_err = |e| NativeError::codec(path, e);
    let target = |kbps| RateTarget::Bitrate { kbps, fps };
    let mut enc = VideoEncoder::new(
        Arc::clone(neural),
        VideoConfig {
            target: target(config.target_kbps),
            key_interval: config.key_interval,
            max_step: None,
            refinement: config.refinement,
            motion: config.motion,
            recovery_interval: 0,
        },
    )
    .map_err(codec_err)?;
    let mut dec = Decoder::with_neural(Arc::clone(neural));
    let mut target_kbps = config.target_kbps;
    let mut rows = Vec::with_capacity(frames.len());
    for (i, frame) in frames.iter().enumerate() {
        if let Some(&(_, kbps)) = config.target_changes.iter().find(|(at, _)| *at == i) {
            enc.set_target(target(kbps)).map_err(codec_err)?;
            target_kbps = kbps;
        }
        let t = crate::clock::now();
        let e = enc
            .encode(frame, (i as f64 * 1e6 / fps) as u64)
            .map_err(codec_err)?;
        let encode_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = crate::clock::now();
        let d = dec.decode(&e.bytes).map_err(codec_err)?;
        let decode_ms = t.elapsed().as_secs_f64() * 1e3;
        let (yuv_psnr, y_psnr, rgb_psnr, ssim) = scores(frame, &d.frame);
        let delta = e.header.kind == aic_core::wire::FrameKind::Delta;
        let row = FrameRow {
            index: i,
            kind: e.header.kind.name(),
            step: Some(e.stats.step),
            bytes: e.bytes.len(),
            target_kbps,
            yuv_psnr,
            y_psnr,
            rgb_psnr,
            ssim,
            skipped_fraction: delta.then_some(1.0 - e.stats.updated_fraction),
            synthesized_fraction: d.synthesized_fraction,
            encode_ms: Some(encode_ms),
            decode_ms: Some(decode_ms),
            modes: e.stats.motion.as_ref().map(mode_row),
        };
        progress(&row);
        rows.push(row);
    }
    Ok(rows)
}

/// Codes `frames` with VP8 realtime through ffmpeg at `kbps`; one row per frame.
pub fn run_vp8(
    frames: &[Frame],
    fps: f64,
    kbps: f64,
    work: &Path,
) -> std::result::Result<Vec<FrameRow>, String> {
    run_vpx(frames, fps, kbps, work, "libvpx")
}

/// Codes `frames` with VP9 realtime (`libvpx-vp9 -deadline realtime -cpu-used 8`, CBR)
/// through ffmpeg at `kbps`; one row per frame.
pub fn run_vp9(
    frames: &[Frame],
    fps: f64,
    kbps: f64,
    work: &Path,
) -> std::result::Result<Vec<FrameRow>, String> {
    run_vpx(frames, fps, kbps, work, "libvpx-vp9")
}

fn run_vpx(
    frames: &[Frame],
    fps: f64,
    kbps: f64,
    work: &Path,
    encoder: &str,
) -> std::result::Result<Vec<FrameRow>, String> {
    let src = work.join("source.y4m");
    let webm = work.join(format!("{encoder}.webm"));
    let back = work.join(format!("{encoder}.y4m"));
    crate::output::write_frames(&src, frames, (1e6 / fps) as u64).map_err(|e| e.to_string())?;
    let k = format!("{}k", kbps.round().max(1.0));
    let run = |args: &[&str]| -> std::result::Result<std::process::Output, String> {
        let out = Command::new("ffmpeg")
            .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
            .args(args)
            .output()
            .map_err(|e| format!("ffmpeg: {e} (install it: apt-get install ffmpeg)"))?;
        if !out.status.success() {
            return Err(format!(
                "ffmpeg failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(out)
    };
    let fps_s = format!("{fps}");
    run(&[
        "-r",
        &fps_s,
        "-i",
        path_str(&src)?,
        "-an",
        "-c:v",
        encoder,
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-threads",
        "1",
        "-b:v",
        &k,
        "-minrate",
        &k,
        "-maxrate",
        &k,
        path_str(&webm)?,
    ])?;
    run(&[
        "-i",
        path_str(&webm)?,
        "-pix_fmt",
        "yuv420p",
        "-f",
        "yuv4mpegpipe",
        path_str(&back)?,
    ])?;
    let sizes = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=size",
            "-of",
            "csv=p=0",
        ])
        .arg(&webm)
        .output()
        .map_err(|e| format!("ffprobe: {e}"))?;
    let sizes: Vec<usize> = String::from_utf8_lossy(&sizes.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    let decoded = read_input(&back).map_err(|e| e.to_string())?.frames;
    if decoded.len() != frames.len() || sizes.len() != frames.len() {
        return Err(format!(
            "VP8 gave {} frames and {} packets for {} frames",
            decoded.len(),
            sizes.len(),
            frames.len()
        ));
    }
    Ok(frames
        .iter()
        .zip(&decoded)
        .zip(&sizes)
        .enumerate()
        .map(|(i, ((o, d), &bytes))| {
            let (yuv_psnr, y_psnr, rgb_psnr, ssim) = scores(o, d);
            FrameRow {
                index: i,
                kind: "frame",
                step: None,
                bytes,
                target_kbps: kbps,
                yuv_psnr,
                y_psnr,
                rgb_psnr,
                ssim,
                skipped_fraction: None,
                synthesized_fraction: None,
                encode_ms: None,
                decode_ms: None,
                modes: None,
            }
        })
        .collect())
}

fn path_str(p: &Path) -> std::result::Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

/// Evaluates one clip: AIC at the target, then VP8 at what AIC spent.
pub fn evaluate(
    neural: &Arc<NeuralCodec>,
    path: &Path,
    config: &VideoEvalConfig,
    work: &Path,
    progress: impl FnMut(&FrameRow),
) -> Result<VideoReport> {
    let (frames, fps) = load_clip(path, config.fps, config.max_frames)?;
    let aic_frames = run_aic(neural, &frames, fps, config, path, progress)?;
    let aic = summarize("aic", &aic_frames, fps);
    let (vp8_frames, vp8_note) = if config.vp8 {
        std::fs::create_dir_all(work).map_err(|e| NativeError::io(work, e))?;
        match run_vp8(&frames, fps, aic.kbps, work) {
            Ok(rows) => (rows, None),
            Err(e) => (Vec::new(), Some(e)),
        }
    } else {
        (Vec::new(), Some("not asked for (--no-vp8)".into()))
    };
    let vp8 = (!vp8_frames.is_empty()).then(|| summarize("vp8", &vp8_frames, fps));
    let vp9 = if config.vp9 {
        std::fs::create_dir_all(work).map_err(|e| NativeError::io(work, e))?;
        run_vp9(&frames, fps, aic.kbps, work)
            .ok()
            .map(|rows| summarize("vp9", &rows, fps))
    } else {
        None
    };
    Ok(VideoReport {
        clip: path.display().to_string(),
        width: frames[0].width(),
        height: frames[0].height(),
        fps,
        frames: frames.len(),
        target_kbps: config.target_kbps,
        aic,
        vp8,
        vp8_note,
        vp9,
        aic_frames,
        vp8_frames,
    })
}

/// Where `eval-video` keeps its scratch files (the VP8 run).
pub fn work_dir() -> PathBuf {
    std::env::temp_dir().join(format!("aic-eval-video-{}", std::process::id()))
}
