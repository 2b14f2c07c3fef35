//! The ingest listener: beacons from browsers and OTLP/HTTP from backends.
//!
//! Every handler checks, in this order and before reading the body: the ingest key, the
//! origin, the content type and the declared length; then reads at most the body limit.

pub mod beacon;
pub mod otlp;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;

use crate::auth::App;
use crate::config::{Config, Limits};
use crate::enrich::Enricher;
use crate::error::Rejection;
use crate::store::StoreHandle;

#[derive(Clone)]
pub struct IngestState {
    pub config: Arc<Config>,
    pub store: StoreHandle,
    pub enricher: Arc<Enricher>,
    pub pipeline: Arc<crate::pipeline::Pipeline>,
}

pub fn router(state: IngestState) -> Router {
    Router::new()
        .route("/v1/rum", post(beacon::receive).options(beacon::preflight))
        .route("/v1/traces", post(otlp::receive))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found(uri: Uri) -> Rejection {
    Rejection::NotFound(uri.path().to_string())
}

async fn method_not_allowed(method: Method) -> Rejection {
    Rejection::MethodNotAllowed(method.to_string())
}

/// A request without `Origin` is not from a browser page (browsers send it on every
/// cross-origin POST) and is let through: the allow-list guards keys against use by other
/// sites' pages, and a non-browser client could forge any origin anyway.
pub(crate) fn check_origin(app: &App, origin: Option<&str>) -> Result<(), Rejection> {
    match origin {
        Some(origin) if !app.allows_origin(origin) => {
            Err(Rejection::OriginNotAllowed(origin.to_string()))
        }
        _ => Ok(()),
    }
}

pub(crate) fn cors_headers(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, content-encoding"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// The media type of the request, lowercased, without parameters such as `charset`.
pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

pub(crate) fn require_content_type(
    headers: &HeaderMap,
    accepted: &[&str],
    expected: &'static str,
) -> Result<String, Rejection> {
    let media_type = media_type(headers);
    if accepted.contains(&media_type.as_str()) {
        Ok(media_type)
    } else {
        Err(Rejection::UnsupportedMediaType(media_type, expected))
    }
}

/// Reads the body, refusing early on a declared length over `limits.max_body_bytes`,
/// stopping at that many bytes for a body that does not declare one, and giving up after
/// `limits.body_read_timeout_ms` (a client sending a byte at a time holds no connection
/// longer than that).
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limits: &Limits,
) -> Result<Bytes, Rejection> {
    let timeout = std::time::Duration::from_millis(limits.body_read_timeout_ms);
    tokio::time::timeout(
        timeout,
        read_body_within(headers, body, limits.max_body_bytes),
    )
    .await
    .map_err(|_| Rejection::BodyTimeout(limits.body_read_timeout_ms))?
}

async fn read_body_within(headers: &HeaderMap, body: Body, limit: u64) -> Result<Bytes, Rejection> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(Rejection::PayloadTooLarge(limit));
    }
    let limited = http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    match http_body_util::BodyExt::collect(limited).await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(Rejection::PayloadTooLarge(limit))
        }
        Err(e) => Err(Rejection::BodyRead(e.to_string())),
    }
}
