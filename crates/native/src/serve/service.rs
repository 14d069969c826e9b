//! The one service object every interface shares: the model (loaded once), the limits, the
//! worker pool and the metrics. HTTP, gRPC and ingest handlers are thin layers over it and
//! never reach into the codec themselves.
//!
//! Work is admitted, then run: admission takes one of `max_in_flight` permits at once or
//! answers `overloaded` (no queue without end); running takes one of `workers` permits and runs
//! the codec on a blocking thread, off the async runtime's threads. The request's deadline
//! covers both.

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use aic_core::codec::{CodecChoice, Decoder, Encoder, EncoderConfig, NeuralCodec};
use aic_core::rate::RateTarget;
use aic_core::sequence::{Refinement, VideoConfig, VideoEncoder};
use aic_core::wire::{Codec, FrameHeader};
use aic_core::{Frame, PixelFormat};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::auth::Keyring;
use super::clients::{ClientKey, ClientLimits, ClientSessionGuard, Clients};
use super::config::Cors;
use super::error::{Kind, Result, ServeError};
use super::limits::Limits;
use super::metrics::Metrics;
use crate::clock::Stopwatch;

/// What to compress.
#[derive(Debug)]
pub enum CompressInput {
    /// Raw pixels.
    Frame(Frame),
    /// An encoded image file (PNG, JPEG, PNM).
    Image(Vec<u8>),
}

/// How to compress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompressOptions {
    /// Quality level (1..=7); `None`: the default, 3.
    pub quality: Option<u8>,
    /// Size for this bitrate at `fps` instead of a fixed quality.
    pub target_kbps: Option<f64>,
    /// Frame rate for `target_kbps`.
    pub fps: f64,
    /// Also score the decoded frame against the input.
    pub metrics: bool,
    /// Which codec.
    pub codec: CodecChoice,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions {
            quality: None,
            target_kbps: None,
            fps: 25.0,
            metrics: false,
            codec: CodecChoice::Auto,
        }
    }
}

/// A compressed frame and what it cost.
#[derive(Debug, Clone)]
pub struct Compressed {
    /// The AIC frame.
    pub bytes: Vec<u8>,
    /// Its header.
    pub header: FrameHeader,
    /// Raw bytes of the input's pixels.
    pub input_bytes: usize,
    /// RGB PSNR of the decoded frame, dB (when asked).
    pub psnr_db: Option<f64>,
    /// SSIM of the decoded frame (when asked).
    pub ssim: Option<f64>,
    /// Time in the codec, ms.
    pub inference_ms: f64,
    /// Why `auto` fell back to zlib.
    pub fallback_reason: Option<String>,
}

/// A decompressed frame.
#[derive(Debug, Clone)]
pub struct Decompressed {
    /// The pixels, in the format the frame was coded from.
    pub frame: Frame,
    /// Time in the codec, ms.
    pub inference_ms: f64,
}

/// Permission to run one request (held until it is answered).
#[derive(Debug)]
pub struct Admission {
    _permit: OwnedSemaphorePermit,
    gauge: prometheus::IntGauge,
}

/// One live session's place under `max_sessions` and under its client's `sessions`
/// (released on drop).
#[derive(Debug)]
pub struct SessionGuard {
    service: Arc<Service>,
    _client: Option<ClientSessionGuard>,
}

/// Who may do what: the keys that verify tokens, the CORS policy, the per-client limits.
#[derive(Debug)]
pub struct Access {
    /// The secrets tokens are verified with.
    pub keyring: Keyring,
    /// Which web origins may call the session routes.
    pub cors: Cors,
    /// Whether the codec API needs a token.
    pub codec_requires_token: bool,
    /// Per-client limits.
    pub client_limits: ClientLimits,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.service.sessions.fetch_sub(1, Ordering::SeqCst);
        self.service.metrics.sessions.dec();
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// The shared service.
#[derive(Debug)]
pub struct Service {
    neural: Arc<NeuralCodec>,
    limits: Limits,
    metrics: Metrics,
    admission: Arc<Semaphore>,
    workers: Arc<Semaphore>,
    worker_count: usize,
    draining: AtomicBool,
    sessions: AtomicUsize,
    backend: String,
    keyring: Keyring,
    cors: Cors,
    codec_requires_token: bool,
    clients: Arc<Clients>,
}

impl Service {
    /// A service over a loaded model.
    pub fn new(
        neural: Arc<NeuralCodec>,
        limits: Limits,
        workers: usize,
        backend: &str,
        access: Access,
    ) -> Self {
        let workers = workers.max(1);
        Service {
            neural,
            limits,
            metrics: Metrics::new(),
            admission: Arc::new(Semaphore::new(limits.max_in_flight)),
            workers: Arc::new(Semaphore::new(workers)),
            worker_count: workers,
            draining: AtomicBool::new(false),
            sessions: AtomicUsize::new(0),
            backend: backend.to_string(),
            keyring: access.keyring,
            cors: access.cors,
            codec_requires_token: access.codec_requires_token,
            clients: Arc::new(Clients::new(access.client_limits, limits.max_body_bytes)),
        }
    }

    /// The keys tokens are verified with.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The CORS policy of the session routes.
    pub fn cors(&self) -> &Cors {
        &self.cors
    }

    /// Whether the codec API needs a token.
    pub fn codec_requires_token(&self) -> bool {
        self.codec_requires_token
    }

    /// The per-client limits and their state.
    pub fn clients(&self) -> &Arc<Clients> {
        &self.clients
    }

    /// Counts one refused request under `reason` (`aic_refusals_total`).
    pub fn count_refusal(&self, reason: &str) {
        self.metrics.refusals.with_label_values(&[reason]).inc();
    }

    /// The model.
    pub fn neural(&self) -> &Arc<NeuralCodec> {
        &self.neural
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Inference workers.
    pub fn worker_count(&self) -> usize {
        self.worker_count
    }

    /// The backend's name.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// Whether the server is draining (unready, takes nothing new).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Starts draining: new work is refused with `draining`, work in flight goes on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Requests admitted and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.limits.max_in_flight - self.admission.available_permits()
    }

    /// Admits one request or says why not, at once (never waits). A draining server still
    /// admits requests until its listeners close (load balancers need a moment to see it
    /// unready); new sessions are refused at once ([`Service::admit_session`]).
    pub fn admit(&self, op: &str) -> Result<Admission> {
        match Arc::clone(&self.admission).try_acquire_owned() {
            Ok(permit) => {
                self.metrics.in_flight.inc();
                Ok(Admission {
                    _permit: permit,
                    gauge: self.metrics.in_flight.clone(),
                })
            }
            Err(_) => {
                let e = ServeError::overloaded(op);
                self.count_error(op, &e);
                Err(e)
            }
        }
    }

    /// Admits one live session (WebRTC ingest or gRPC stream) of `client` or says why not:
    /// `draining`, `overloaded` beyond `max_sessions`, `429 client_sessions` beyond the
    /// client's `sessions`. The session counts until the guard drops.
    pub fn admit_session(
        self: &Arc<Self>,
        op: &str,
        client: Option<&ClientKey>,
    ) -> Result<SessionGuard> {
        let client_guard = match client.map(|k| self.clients.admit_session(k)) {
            None => None,
            Some(Ok(g)) => Some(g),
            Some(Err(l)) => {
                let e = ServeError::too_many(l.refusal.code(), l.retry_after_s);
                self.count_error(op, &e);
                return Err(e);
            }
        };
        let e = if self.is_draining() {
            ServeError::new(
                Kind::Draining,
                "draining",
                "this server is shutting down; open the session on another",
            )
        } else {
            let n = self.sessions.fetch_add(1, Ordering::SeqCst);
            if n < self.limits.max_sessions {
                self.metrics.sessions.inc();
                return Ok(SessionGuard {
                    service: Arc::clone(self),
                    _client: client_guard,
                });
            }
            self.sessions.fetch_sub(1, Ordering::SeqCst);
            ServeError::overloaded(op)
        };
        self.count_error(op, &e);
        Err(e)
    }

    /// Live sessions.
    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }

    /// Counts an error answered for `op`.
    pub fn count_error(&self, op: &str, e: &ServeError) {
        self.metrics.errors.with_label_values(&[op, &e.code]).inc();
    }

    /// Runs `work` on a worker within the request deadline; the admission is held until the
    /// work ends (also past the deadline, so the limits count what really runs).
    async fn run<T, F>(&self, op: &str, admission: Admission, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        let timer = Stopwatch::start();
        let deadline = Duration::from_millis(self.limits.request_timeout_ms);
        let workers = Arc::clone(&self.workers);
        let queue = self.metrics.queue_depth.clone();
        let job = async move {
            queue.inc();
            let permit = workers.acquire_owned().await;
            queue.dec();
            let permit = permit.map_err(|_| ServeError::internal("worker pool closed"))?;
            tokio::task::spawn_blocking(move || {
                let r = work();
                drop(permit);
                drop(admission);
                r
            })
            .await
            .map_err(|e| ServeError::internal(format!("worker failed: {e}")))?
        };
        let result = match tokio::time::timeout(deadline, job).await {
            Ok(r) => r,
            Err(_) => Err(ServeError::new(
                Kind::Timeout,
                "timeout",
                format!(
                    "{op} took longer than {} ms",
                    self.limits.request_timeout_ms
                ),
            )),
        };
        self.metrics
            .latency
            .with_label_values(&[op])
            .observe(timer.elapsed_s());
        if let Err(e) = &result {
            self.count_error(op, e);
        }
        result
    }

    /// Compresses one frame or image.
    pub async fn compress(
        self: &Arc<Self>,
        admission: Admission,
        input: CompressInput,
        options: CompressOptions,
    ) -> Result<Compressed> {
        let this = Arc::clone(self);
        let r = self
            .run("compress", admission, move || {
                this.compress_now(input, options)
            })
            .await?;
        self.count_frame("compress", r.input_bytes, r.bytes.len(), r.inference_ms);
        Ok(r)
    }

    /// Decompresses one AIC frame.
    pub async fn decompress(
        self: &Arc<Self>,
        admission: Admission,
        bytes: Vec<u8>,
    ) -> Result<Decompressed> {
        let this = Arc::clone(self);
        let n = bytes.len();
        let r = self
            .run("decompress", admission, move || this.decompress_now(&bytes))
            .await?;
        self.count_frame("decompress", n, r.frame.data().len(), r.inference_ms);
        Ok(r)
    }

    /// Counts one frame handled by `op`.
    pub fn count_frame(&self, op: &str, bytes_in: usize, bytes_out: usize, inference_ms: f64) {
        self.metrics.frames.with_label_values(&[op]).inc();
        self.metrics
            .bytes_in
            .with_label_values(&[op])
            .inc_by(bytes_in as u64);
        self.metrics
            .bytes_out
            .with_label_values(&[op])
            .inc_by(bytes_out as u64);
        self.metrics
            .inference
            .with_label_values(&[op])
            .observe(inference_ms / 1000.0);
    }

    fn compress_now(&self, input: CompressInput, o: CompressOptions) -> Result<Compressed> {
        let frame = match input {
            CompressInput::Frame(f) => f,
            CompressInput::Image(bytes) => decode_image(&bytes, &self.limits)?,
        };
        self.limits
            .check_dimensions(frame.width(), frame.height())?;
        let timer = Stopwatch::start();
        let (bytes, header, fallback_reason) = match (o.target_kbps, o.codec) {
            (Some(kbps), CodecChoice::Auto | CodecChoice::Neural) => {
                let config = VideoConfig {
                    target: RateTarget::Bitrate { kbps, fps: o.fps },
                    refinement: Refinement::Off,
                    ..VideoConfig::default()
                };
                let mut enc = VideoEncoder::new(Arc::clone(&self.neural), config)?;
                let f = enc.encode(&frame, 0)?;
                (f.bytes, f.header, None)
            }
            _ => {
                let config = EncoderConfig {
                    codec: o.codec,
                    quality: o.quality.unwrap_or(EncoderConfig::default().quality),
                    ..EncoderConfig::default()
                };
                let mut enc = Encoder::with_neural(config, Arc::clone(&self.neural))?;
                let f = enc.encode(&frame, 0)?;
                (f.bytes, f.header, f.fallback_reason)
            }
        };
        let mut inference_ms = timer.elapsed_ms();
        let (mut psnr_db, mut ssim) = (None, None);
        if o.metrics {
            let decoded = self.decompress_now(&bytes)?;
            inference_ms += decoded.inference_ms;
            psnr_db = aic_core::metrics::psnr(&frame, &decoded.frame).map(|p| p.overall);
            ssim = aic_core::metrics::ssim(&frame, &decoded.frame);
        }
        Ok(Compressed {
            bytes,
            header,
            input_bytes: frame.data().len(),
            psnr_db,
            ssim,
            inference_ms,
            fallback_reason,
        })
    }

    fn decompress_now(&self, bytes: &[u8]) -> Result<Decompressed> {
        let header = FrameHeader::parse(bytes)?;
        self.limits.check_dimensions(header.width, header.height)?;
        if !matches!(header.kind, aic_core::wire::FrameKind::Key) {
            return Err(ServeError::new(
                Kind::Unprocessable,
                "reference_missing",
                "a delta frame cannot be decoded alone: send the stream to DecodeStream or a session",
            ));
        }
        let timer = Stopwatch::start();
        let mut decoder = Decoder::with_neural(Arc::clone(&self.neural));
        let decoded = decoder.decode(bytes)?;
        Ok(Decompressed {
            frame: decoded.frame,
            inference_ms: timer.elapsed_ms(),
        })
    }
}

/// The name of a frame's codec: `neural`, `zlib` or `raw`.
pub fn codec_name(c: Codec) -> &'static str {
    match c {
        Codec::Raw => "raw",
        Codec::Zlib => "zlib",
        _ => "neural",
    }
}

/// Decodes an image file's bytes (PNG, JPEG, PNM) within the limits.
pub fn decode_image(bytes: &[u8], limits: &Limits) -> Result<Frame> {
    let bad = |m: String| ServeError::new(Kind::BadRequest, "bad_image", m);
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?;
    if reader.format().is_none() {
        return Err(bad("not a PNG, JPEG or PNM image".into()));
    }
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(u64::from(limits.max_width) * u64::from(limits.max_height) * 8);
    reader.limits(l);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(e) => {
            ServeError::new(Kind::TooLarge, "limits_exceeded", e.to_string())
        }
        e => bad(e.to_string()),
    })?;
    let (w, h) = (img.width(), img.height());
    let frame = if img.color().has_alpha() {
        Frame::new(w, h, PixelFormat::Rgba8, img.into_rgba8().into_raw())
    } else {
        Frame::new(w, h, PixelFormat::Rgb8, img.into_rgb8().into_raw())
    };
    Ok(frame?)
}

/// Encodes a frame as PNG (I420 is converted to RGB).
pub fn encode_png(frame: &Frame) -> Result<Vec<u8>> {
    use image::ImageEncoder;
    let (data, color) = match frame.format() {
        PixelFormat::Rgba8 => (frame.data().to_vec(), image::ExtendedColorType::Rgba8),
        PixelFormat::Rgb8 => (frame.data().to_vec(), image::ExtendedColorType::Rgb8),
        PixelFormat::I420 => (
            aic_core::color::to_rgb8(frame).into_data(),
            image::ExtendedColorType::Rgb8,
        ),
    };
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Sub,
    )
    .write_image(&data, frame.width(), frame.height(), color)
    .map_err(|e| ServeError::internal(format!("PNG encoding failed: {e}")))?;
    Ok(out)
}
