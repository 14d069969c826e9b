//! The gRPC service `aic.v1.Codec` (tonic; `proto/aic/v1/codec.proto`) and the standard
//! `grpc.health.v1.Health`, as axum routes (served alone or on the HTTP port).

use std::pin::Pin;
use std::sync::Arc;

use aic_core::codec::CodecChoice;
use aic_core::session::{DropReason, ReceiverEvent};
use aic_core::{Frame, PixelFormat};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use super::error::{Kind, ServeError};
use super::ingest::worker::{DecodeWorker, WorkerOutput};
use super::service::{CompressInput, CompressOptions, Service, codec_name, encode_png};

/// The generated messages, server and client of `aic.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("aic.v1");
}

use pb::codec_server::{Codec, CodecServer};

/// The gRPC routes: `aic.v1.Codec` and `grpc.health.v1.Health`.
pub fn routes(service: Arc<Service>) -> axum::Router {
    let limit = service.limits().max_body_bytes;
    let (reporter, health) = tonic_health::server::health_reporter();
    // The reporter starts with the overall status "" serving; name this service too.
    tokio::spawn(async move {
        reporter.set_serving::<CodecServer<GrpcCodec>>().await;
    });
    tonic::service::Routes::new(health)
        .add_service(
            CodecServer::new(GrpcCodec { service })
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit.max(64 << 20)),
        )
        .prepare()
        .into_axum_router()
}

/// `aic.v1.Codec` over the shared [`Service`].
#[derive(Debug, Clone)]
pub struct GrpcCodec {
    service: Arc<Service>,
}

fn format_to_pb(f: PixelFormat) -> pb::PixelFormat {
    match f {
        PixelFormat::Rgb8 => pb::PixelFormat::Rgb8,
        PixelFormat::Rgba8 => pb::PixelFormat::Rgba8,
        PixelFormat::I420 => pb::PixelFormat::I420,
    }
}

fn raw_frame(f: &Frame) -> pb::RawFrame {
    pb::RawFrame {
        width: f.width(),
        height: f.height(),
        format: format_to_pb(f.format()) as i32,
        data: f.data().to_vec(),
    }
}

fn bad(message: impl Into<String>) -> ServeError {
    ServeError::new(Kind::BadRequest, "bad_request", message)
}

impl GrpcCodec {
    fn compress_input(
        &self,
        input: Option<pb::compress_request::Input>,
    ) -> Result<CompressInput, ServeError> {
        match input {
            None => Err(bad("set `frame` or `image`")),
            Some(pb::compress_request::Input::Image(bytes)) => Ok(CompressInput::Image(bytes)),
            Some(pb::compress_request::Input::Frame(f)) => {
                let format = match pb::PixelFormat::try_from(f.format) {
                    Ok(pb::PixelFormat::Rgb8) | Ok(pb::PixelFormat::Unspecified) => {
                        PixelFormat::Rgb8
                    }
                    Ok(pb::PixelFormat::Rgba8) => PixelFormat::Rgba8,
                    Ok(pb::PixelFormat::I420) => PixelFormat::I420,
                    Err(_) => return Err(bad(format!("unknown pixel format {}", f.format))),
                };
                self.service.limits().check_dimensions(f.width, f.height)?;
                Ok(CompressInput::Frame(Frame::new(
                    f.width, f.height, format, f.data,
                )?))
            }
        }
    }

    fn compress_options(r: &pb::CompressRequest) -> Result<CompressOptions, ServeError> {
        let codec = match r.codec.as_str() {
            "" => CodecChoice::Auto,
            s => CodecChoice::parse(s)
                .ok_or_else(|| bad(format!("codec {s:?}: use auto, neural or zlib")))?,
        };
        let quality = match r.quality {
            0 => None,
            q @ 1..=7 => Some(q as u8),
            q => return Err(bad(format!("quality {q}: use 1..=7 (0: default)"))),
        };
        let fps = if r.fps == 0.0 { 25.0 } else { r.fps };
        let target_kbps = (r.target_kbps != 0.0).then_some(r.target_kbps);
        if target_kbps.is_some_and(|k| !(k.is_finite() && k > 0.0))
            || !(fps.is_finite() && (0.1..=1000.0).contains(&fps))
        {
            return Err(bad("target_kbps must be > 0 and fps within 0.1..=1000"));
        }
        Ok(CompressOptions {
            quality,
            target_kbps,
            fps,
            metrics: r.metrics,
            codec,
        })
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::StreamEvent, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Codec for GrpcCodec {
    async fn compress_frame(
        &self,
        request: Request<pb::CompressRequest>,
    ) -> Result<Response<pb::CompressResponse>, Status> {
        let r = request.into_inner();
        let count = |e: ServeError| {
            self.service.count_error("compress", &e);
            Status::from(e)
        };
        let options = Self::compress_options(&r).map_err(count)?;
        let input = self.compress_input(r.input).map_err(count)?;
        let admission = self.service.admit("compress")?;
        let c = self.service.compress(admission, input, options).await?;
        let h = &c.header;
        Ok(Response::new(pb::CompressResponse {
            output_bytes: c.bytes.len() as u64,
            compression_ratio: c.input_bytes as f64 / c.bytes.len() as f64,
            aic: c.bytes,
            model_id: u32::from(aic_core::model::weights::MODEL_ID),
            format_version: u32::from(aic_core::wire::FORMAT_VERSION),
            input_bytes: c.input_bytes as u64,
            psnr_db: c.psnr_db.filter(|p| p.is_finite()),
            ssim: c.ssim,
            inference_ms: c.inference_ms,
            codec: codec_name(h.codec).to_string(),
            fallback_reason: c.fallback_reason.unwrap_or_default(),
            quality_level: h.quality_level().round() as u32,
            quality_step: u32::from(h.quality),
        }))
    }

    async fn decompress_frame(
        &self,
        request: Request<pb::DecompressRequest>,
    ) -> Result<Response<pb::DecompressResponse>, Status> {
        let r = request.into_inner();
        let admission = self.service.admit("decompress")?;
        let d = self.service.decompress(admission, r.aic).await?;
        let png = if r.png || r.png_only {
            encode_png(&d.frame)?
        } else {
            Vec::new()
        };
        Ok(Response::new(pb::DecompressResponse {
            frame: (!r.png_only).then(|| raw_frame(&d.frame)),
            png,
            inference_ms: d.inference_ms,
        }))
    }

    type DecodeStreamStream = EventStream;

    async fn decode_stream(
        &self,
        request: Request<Streaming<pb::StreamPacket>>,
    ) -> Result<Response<Self::DecodeStreamStream>, Status> {
        // The request middleware put the client (token subject or address) in the extensions.
        let client = request
            .extensions()
            .get::<super::clients::ClientKey>()
            .cloned();
        let guard = self
            .service
            .admit_session("decode_stream", client.as_ref())?;
        let mut inbound = request.into_inner();
        let queue = self.service.limits().session_queue_packets;
        let (tx, rx) = mpsc::channel::<Result<pb::StreamEvent, Status>>(queue);
        let service = Arc::clone(&self.service);
        let events = tx.clone();
        let worker = DecodeWorker::spawn(Arc::clone(&service), "grpc", None, move |out| {
            let event = match out {
                WorkerOutput::Event(e) => event_to_pb(&service, e),
                WorkerOutput::Rejected(code) => Some(pb::StreamEvent {
                    seq: 0,
                    event: Some(pb::stream_event::Event::Rejected(code.to_string())),
                    delay_us: 0,
                }),
                WorkerOutput::Feedback(_) => None,
                WorkerOutput::Stale(n) => {
                    service
                        .metrics()
                        .ingest_dropped
                        .with_label_values(&["stale"])
                        .inc_by(n as u64);
                    None
                }
            };
            // A client that does not read its events loses the oldest: never a queue without end.
            if let Some(e) = event
                && events.try_send(Ok(e)).is_err()
            {
                service
                    .metrics()
                    .ingest_dropped
                    .with_label_values(&["stale"])
                    .inc();
            }
        })
        .map_err(ServeError::internal)?;
        let service = Arc::clone(&self.service);
        tokio::spawn(async move {
            let _guard = guard;
            loop {
                match inbound.message().await {
                    Ok(Some(p)) => {
                        service
                            .metrics()
                            .bytes_in
                            .with_label_values(&["stream_decode"])
                            .inc_by(p.packet.len() as u64);
                        if !worker.push(p.packet) {
                            service
                                .metrics()
                                .ingest_dropped
                                .with_label_values(&["queue_full"])
                                .inc();
                        }
                    }
                    Ok(None) => break,
                    Err(_) => break,
                }
            }
            // Dropping the worker closes its queue; it decodes what it holds, then ends.
            tokio::task::spawn_blocking(move || drop(worker));
            drop(tx);
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

fn event_to_pb(service: &Service, e: ReceiverEvent) -> Option<pb::StreamEvent> {
    use pb::stream_event::Event;
    let m = service.metrics();
    Some(match e {
        ReceiverEvent::Show {
            seq,
            frame,
            delay_us,
        } => {
            m.frames.with_label_values(&["stream_decode"]).inc();
            pb::StreamEvent {
                seq,
                event: Some(Event::Shown(raw_frame(&frame.frame))),
                delay_us,
            }
        }
        ReceiverEvent::Drop { seq, reason } => {
            let r = drop_reason(reason);
            m.ingest_dropped.with_label_values(&[r]).inc();
            pb::StreamEvent {
                seq,
                event: Some(Event::Dropped(r.to_string())),
                delay_us: 0,
            }
        }
        ReceiverEvent::Lost { from, count } => {
            m.ingest_dropped
                .with_label_values(&["lost"])
                .inc_by(u64::from(count));
            pb::StreamEvent {
                seq: from,
                event: Some(Event::Lost(count)),
                delay_us: 0,
            }
        }
    })
}

/// The stable name of a drop reason: `no_reference`, `late`, `corrupt`.
pub fn drop_reason(r: DropReason) -> &'static str {
    match r {
        DropReason::NoReference => "no_reference",
        DropReason::Late => "late",
        DropReason::Corrupt => "corrupt",
    }
}
