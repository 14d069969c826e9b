//! The HTTP API (axum): `POST /v1/compress`, `POST /v1/decompress`, `GET /healthz`,
//! `GET /metrics`, and the WebRTC ingest's WHIP endpoints (`serve::ingest::routes`). Handlers
//! only translate: bytes and query in, the shared [`Service`] does the work, bytes and headers
//! out; every failure is a [`ServeError`] with a JSON body.

use std::sync::Arc;

use aic_core::codec::CodecChoice;
use aic_core::{Frame, PixelFormat};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::error::{Kind, Result, ServeError};
use super::service::{CompressInput, CompressOptions, Service, codec_name, encode_png};

/// The query of `POST /v1/compress`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressQuery {
    /// Quality level 1..=7.
    pub quality: Option<u8>,
    /// Size for this bitrate (with `fps`, default 25) instead of a quality.
    pub target_kbps: Option<f64>,
    /// Frame rate for `target_kbps`.
    pub fps: Option<f64>,
    /// Score the result: PSNR and SSIM headers.
    pub metrics: Option<bool>,
    /// `auto`, `neural` or `zlib`.
    pub codec: Option<String>,
    /// Raw bodies: width in pixels.
    pub width: Option<u32>,
    /// Raw bodies: height in pixels.
    pub height: Option<u32>,
    /// Raw bodies: `rgb8` (default), `rgba8` or `i420`.
    pub format: Option<String>,
}

/// The query of `POST /v1/decompress`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecompressQuery {
    /// `png` (default) or `raw` (the pixels as coded, with `x-aic-width`, `-height`, `-format`).
    pub output: Option<String>,
}

/// The routes of the HTTP API over `service` (ingest routes are merged in by the caller).
pub fn routes(service: Arc<Service>) -> Router {
    let limit = service.limits().max_body_bytes;
    Router::new()
        .route("/v1/compress", post(compress))
        .route("/v1/decompress", post(decompress))
        .route("/healthz", get(healthz))
        .route("/metrics", get(super::admin::metrics))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(service)
}

/// Maps a body that could not be read (too large, broken connection) to a typed error.
pub fn body_error(rejection: BytesRejection) -> ServeError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ServeError::new(Kind::TooLarge, "body_too_large", rejection.body_text())
    } else {
        ServeError::bad_request(rejection.body_text())
    }
}

fn query_error(rejection: QueryRejection) -> ServeError {
    ServeError::new(Kind::BadRequest, "bad_query", rejection.body_text())
}

async fn healthz(State(service): State<Arc<Service>>) -> Response {
    if service.is_draining() {
        ServeError::new(Kind::Draining, "draining", "draining").into_response()
    } else {
        "ok\n".into_response()
    }
}

fn parse_format(s: Option<&str>) -> Result<PixelFormat> {
    match s.unwrap_or("rgb8") {
        "rgb8" | "rgb" => Ok(PixelFormat::Rgb8),
        "rgba8" | "rgba" => Ok(PixelFormat::Rgba8),
        "i420" => Ok(PixelFormat::I420),
        other => Err(ServeError::new(
            Kind::BadRequest,
            "bad_query",
            format!("format {other:?}: use rgb8, rgba8 or i420"),
        )),
    }
}

/// Reads `/v1/compress`'s query into options and says whether the body is raw pixels.
fn compress_options(q: &CompressQuery) -> Result<CompressOptions> {
    let codec = match q.codec.as_deref() {
        None => CodecChoice::Auto,
        Some(s) => CodecChoice::parse(s).ok_or_else(|| {
            ServeError::new(
                Kind::BadRequest,
                "bad_query",
                format!("codec {s:?}: use auto, neural or zlib"),
            )
        })?,
    };
    if let Some(q) = q.quality
        && !(1..=7).contains(&q)
    {
        return Err(ServeError::new(
            Kind::BadRequest,
            "bad_query",
            format!("quality {q}: use 1..=7"),
        ));
    }
    let fps = q.fps.unwrap_or(25.0);
    if let Some(k) = q.target_kbps
        && !(k.is_finite() && k > 0.0 && fps.is_finite() && (0.1..=1000.0).contains(&fps))
    {
        return Err(ServeError::new(
            Kind::BadRequest,
            "bad_query",
            "target_kbps must be > 0 and fps within 0.1..=1000",
        ));
    }
    Ok(CompressOptions {
        quality: q.quality,
        target_kbps: q.target_kbps,
        fps,
        metrics: q.metrics.unwrap_or(false),
        codec,
    })
}

fn header_value(v: impl ToString) -> HeaderValue {
    HeaderValue::from_str(&v.to_string()).unwrap_or(HeaderValue::from_static("?"))
}

async fn compress(
    State(service): State<Arc<Service>>,
    query: std::result::Result<Query<CompressQuery>, QueryRejection>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let count = |e: ServeError| {
        service.count_error("compress", &e);
        e
    };
    let Query(q) = query.map_err(query_error).map_err(count)?;
    let body = body.map_err(body_error).map_err(count)?;
    let options = compress_options(&q).map_err(count)?;
    let raw = q.width.is_some()
        || headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/octet-stream"));
    let input = if raw {
        let (Some(w), Some(h)) = (q.width, q.height) else {
            return Err(count(ServeError::new(
                Kind::BadRequest,
                "bad_query",
                "a raw body needs ?width=&height= (and format=rgb8|rgba8|i420)",
            )));
        };
        service.limits().check_dimensions(w, h).map_err(count)?;
        let format = parse_format(q.format.as_deref()).map_err(count)?;
        CompressInput::Frame(Frame::new(w, h, format, body.to_vec()).map_err(|e| count(e.into()))?)
    } else {
        CompressInput::Image(body.to_vec())
    };
    let admission = service.admit("compress")?;
    let c = service.compress(admission, input, options).await?;
    let h = &c.header;
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-aic"),
        )],
        c.bytes.clone(),
    )
        .into_response();
    let out = response.headers_mut();
    out.insert("x-aic-codec", HeaderValue::from_static(codec_name(h.codec)));
    out.insert(
        "x-aic-model-id",
        header_value(aic_core::model::weights::MODEL_ID),
    );
    out.insert(
        "x-aic-format-version",
        header_value(aic_core::wire::FORMAT_VERSION),
    );
    out.insert(
        "x-aic-quality-level",
        header_value(format!("{:.3}", h.quality_level())),
    );
    out.insert("x-aic-input-bytes", header_value(c.input_bytes));
    out.insert("x-aic-output-bytes", header_value(c.bytes.len()));
    out.insert(
        "x-aic-compression-ratio",
        header_value(format!(
            "{:.2}",
            c.input_bytes as f64 / c.bytes.len() as f64
        )),
    );
    out.insert(
        "x-aic-inference-ms",
        header_value(format!("{:.2}", c.inference_ms)),
    );
    if let Some(p) = c.psnr_db {
        out.insert("x-aic-psnr-db", header_value(format!("{p:.3}")));
    }
    if let Some(s) = c.ssim {
        out.insert("x-aic-ssim", header_value(format!("{s:.5}")));
    }
    if let Some(r) = &c.fallback_reason {
        out.insert(
            "x-aic-fallback-reason",
            header_value(r.replace(['\r', '\n'], " ")),
        );
    }
    Ok(response)
}

async fn decompress(
    State(service): State<Arc<Service>>,
    query: std::result::Result<Query<DecompressQuery>, QueryRejection>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let count = |e: ServeError| {
        service.count_error("decompress", &e);
        e
    };
    let Query(q) = query.map_err(query_error).map_err(count)?;
    let raw = match q.output.as_deref() {
        None | Some("png") => false,
        Some("raw") => true,
        Some(o) => {
            return Err(count(ServeError::new(
                Kind::BadRequest,
                "bad_query",
                format!("output {o:?}: use png or raw"),
            )));
        }
    };
    let body = body.map_err(body_error).map_err(count)?;
    let admission = service.admit("decompress")?;
    let d = service.decompress(admission, body.to_vec()).await?;
    let f = &d.frame;
    let mut response = if raw {
        let mut r = (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )],
            f.data().to_vec(),
        )
            .into_response();
        let h = r.headers_mut();
        h.insert("x-aic-width", header_value(f.width()));
        h.insert("x-aic-height", header_value(f.height()));
        h.insert("x-aic-format", HeaderValue::from_static(f.format().name()));
        r
    } else {
        let png = encode_png(f).map_err(count)?;
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))],
            png,
        )
            .into_response()
    };
    response.headers_mut().insert(
        "x-aic-inference-ms",
        header_value(format!("{:.2}", d.inference_ms)),
    );
    Ok(response)
}
