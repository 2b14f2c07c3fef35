//! The one rejection type of the ingest boundary and how each variant maps to a response.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::outcome::{RejectReason, RejectedReason};

/// Why the gateway refused a request. Each variant maps to one status and one stable
/// `reason` code in the JSON body `{"error": "<reason>", "message": "<detail>"}`.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// No ingest key in the request.
    #[error("no ingest key: pass ?key=KEY (beacons) or Authorization: Bearer KEY (OTLP)")]
    MissingKey,
    /// An ingest key no configured app has.
    #[error("unknown ingest key")]
    UnknownKey,
    /// The `Origin` header is not in the app's allow-list.
    #[error("origin {0:?} is not allowed for this key")]
    OriginNotAllowed(String),
    /// A content type this endpoint does not read.
    #[error("unsupported content type {0:?}; expected {1}")]
    UnsupportedMediaType(String, &'static str),
    /// The body is over the configured limit.
    #[error("body is larger than the limit of {0} bytes")]
    PayloadTooLarge(u64),
    /// The body could not be read from the connection.
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    /// The body is not the JSON or protobuf it claims to be.
    #[error("malformed body: {0}")]
    Malformed(String),
    /// A beacon of a wire-format version this gateway does not speak.
    #[error("unsupported beacon version {0}; this gateway reads version 1")]
    UnsupportedVersion(u64),
    /// Decoded, but a field breaks the wire format's rules.
    #[error("invalid {field}: {problem}")]
    Invalid { field: String, problem: String },
    /// The store's write queue is full: the client should retry later.
    #[error("the store is busy; retry later")]
    Busy,
    /// The store failed to commit: nothing of the request was kept.
    #[error("the store failed to commit")]
    StoreFailed,
    /// The ingest key or client address is over its rate limit.
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A `Content-Encoding` other than gzip or identity.
    #[error("unsupported content encoding {0:?}; send gzip or identity")]
    UnsupportedEncoding(String),
    /// The gzip body inflates past the limit.
    #[error("body inflates to more than the limit of {0} bytes")]
    DecompressedTooLarge(u64),
    /// More spans + vitals than one request may carry.
    #[error("more than {0} events (spans + vitals) in one request")]
    TooManyEvents(usize),
    /// The body did not arrive within `limits.body_read_timeout_ms`.
    #[error("the body did not arrive within {0} ms")]
    BodyTimeout(u64),
    /// No endpoint at this path.
    #[error("no endpoint at {0}; the ingest endpoints are POST /v1/rum and POST /v1/traces")]
    NotFound(String),
    /// The path exists, but not for this method.
    #[error("method {0} is not allowed here; use POST")]
    MethodNotAllowed(String),
}

impl Rejection {
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Rejection::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The stable reason clients and tests match on.
    pub fn reason(&self) -> RejectReason {
        match self {
            Rejection::MissingKey => RejectReason::MissingKey,
            Rejection::UnknownKey => RejectReason::UnknownKey,
            Rejection::OriginNotAllowed(_) => RejectReason::OriginNotAllowed,
            Rejection::UnsupportedMediaType(..) => RejectReason::UnsupportedMediaType,
            Rejection::PayloadTooLarge(_) => RejectReason::PayloadTooLarge,
            Rejection::BodyRead(_) => RejectReason::BodyReadFailed,
            Rejection::Malformed(_) => RejectReason::MalformedBody,
            Rejection::UnsupportedVersion(_) => RejectReason::UnsupportedVersion,
            Rejection::Invalid { .. } => RejectReason::InvalidField,
            Rejection::Busy => RejectReason::Busy,
            Rejection::StoreFailed => RejectReason::StoreFailed,
            Rejection::RateLimited { .. } => RejectReason::RateLimited,
            Rejection::UnsupportedEncoding(_) => RejectReason::UnsupportedEncoding,
            Rejection::DecompressedTooLarge(_) => RejectReason::PayloadTooLarge,
            Rejection::TooManyEvents(_) => RejectReason::TooManyEvents,
            Rejection::BodyTimeout(_) => RejectReason::BodyTimeout,
            Rejection::NotFound(_) => RejectReason::NotFound,
            Rejection::MethodNotAllowed(_) => RejectReason::MethodNotAllowed,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::MissingKey => StatusCode::UNAUTHORIZED,
            Rejection::UnknownKey | Rejection::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            Rejection::UnsupportedMediaType(..) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::BodyRead(_)
            | Rejection::Malformed(_)
            | Rejection::UnsupportedVersion(_)
            | Rejection::Invalid { .. } => StatusCode::BAD_REQUEST,
            Rejection::Busy | Rejection::StoreFailed => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Rejection::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::DecompressedTooLarge(_) | Rejection::TooManyEvents(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Rejection::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Rejection::NotFound(_) => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match self {
            Rejection::RateLimited { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        };
        if status.is_server_error() {
            tracing::error!(reason = self.reason().as_str(), error = %self, "Rejected a request.");
        } else {
            tracing::debug!(reason = self.reason().as_str(), error = %self, "Rejected a request.");
        }
        let body =
            serde_json::json!({ "error": self.reason().as_str(), "message": self.to_string() });
        let mut response = (status, Json(body)).into_response();
        // For the self-metrics middleware, which counts rejections by reason.
        response
            .extensions_mut()
            .insert(RejectedReason(self.reason()));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        // The rest of a slow body is not read: the connection cannot carry another request.
        if matches!(self, Rejection::BodyTimeout(_)) {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if matches!(self, Rejection::MethodNotAllowed(_)) {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
