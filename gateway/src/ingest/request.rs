//! The parts of an ingest request both endpoints read the same way: the peer, the origin and
//! CORS, the content type, and the body (bounded in size and time, then inflated).

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use bytes::Bytes;

use super::decode;
use crate::apps::App;
use crate::limit::Limits;
use crate::rejection::Rejection;

/// The TCP peer of a request, when the server records it (`ConnectInfo`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let info = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await;
        Ok(Peer(info.ok().map(|ConnectInfo(addr)| addr)))
    }
}

/// The request's `Origin`, when it is text.
pub(super) fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// A request without `Origin` is not from a browser page (browsers send it on every
/// cross-origin POST) and is let through: the allow-list guards keys against use by other
/// sites' pages, and a non-browser client could forge any origin anyway.
pub(super) fn check_origin(app: &App, origin: Option<&str>) -> Result<(), Rejection> {
    match origin {
        Some(origin) if !app.allows_origin(origin) => {
            Err(Rejection::OriginNotAllowed(origin.to_string()))
        }
        _ => Ok(()),
    }
}

pub(super) fn cors_headers(headers: &mut HeaderMap, origin: &str) {
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
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

pub(super) fn require_content_type(
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
/// longer than that); then inflates it per `Content-Encoding` (or the encoding `named` in the
/// query string), within `limits.max_decompressed_bytes`.
pub(super) async fn read_body(
    headers: &HeaderMap,
    named_encoding: Option<&str>,
    body: Body,
    limits: &Limits,
) -> Result<Bytes, Rejection> {
    let timeout = std::time::Duration::from_millis(limits.body_read_timeout_ms);
    let bytes = tokio::time::timeout(timeout, read_within(headers, body, limits.max_body_bytes))
        .await
        .map_err(|_| Rejection::BodyTimeout(limits.body_read_timeout_ms))??;
    decode::decode_body(
        headers,
        named_encoding,
        bytes,
        limits.max_decompressed_bytes,
    )
}

async fn read_within(headers: &HeaderMap, body: Body, limit: u64) -> Result<Bytes, Rejection> {
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
