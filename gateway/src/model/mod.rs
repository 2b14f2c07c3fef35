//! The gateway's own record types: what validation produces and the store keeps.
//! Names follow OpenTelemetry's trace data model.

pub mod attr;
pub mod error;
pub mod net;
#[cfg(test)]
pub mod testing;
pub mod time;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use error::{BrowserError, Frame, OriginalFrame, SourceContext};

/// Attributes as a JSON object: OpenTelemetry attribute values map onto JSON strings,
/// numbers, booleans and arrays of them.
pub type Attributes = Map<String, Value>;

/// A W3C trace id: 16 bytes, never all zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

/// A W3C span id: 8 bytes, never all zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(pub [u8; 8]);

macro_rules! impl_id {
    ($ty:ident, $len:literal) => {
        impl $ty {
            /// Parses lowercase or uppercase hex of exactly the id's length; all-zero is invalid.
            pub fn from_hex(text: &str) -> Option<Self> {
                let mut bytes = [0u8; $len];
                hex::decode_to_slice(text, &mut bytes).ok()?;
                Self::from_bytes(&bytes)
            }

            pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
                let bytes: [u8; $len] = bytes.try_into().ok()?;
                (bytes != [0u8; $len]).then_some($ty(bytes))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        // As hex, the way every API and the ingest log write ids.
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex::encode(self.0))
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(d)?;
                Self::from_hex(&text).ok_or_else(|| {
                    serde::de::Error::custom(concat!("not a valid ", stringify!($ty)))
                })
            }
        }
    };
}
impl_id!(TraceId, 16);
impl_id!(SpanId, 8);

/// OpenTelemetry's SpanKind, written lowercase in the store and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpanKind {
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    pub fn parse(text: &str) -> Option<SpanKind> {
        Some(match text {
            "internal" => SpanKind::Internal,
            "server" => SpanKind::Server,
            "client" => SpanKind::Client,
            "producer" => SpanKind::Producer,
            "consumer" => SpanKind::Consumer,
            _ => return None,
        })
    }
}

/// OpenTelemetry's status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusCode {
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }
}

/// Where a span came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// A beacon of the browser SDK.
    Browser,
    /// OTLP from a backend.
    Otlp,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Browser => "browser",
            Source::Otlp => "otlp",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_nano: i64,
    pub end_unix_nano: i64,
    pub status: StatusCode,
    pub status_message: String,
    pub attributes: Attributes,
    pub resource: Attributes,
    pub source: Source,
    /// Timed annotations (OpenTelemetry span events: an exception, a retry, a mark).
    pub events: Vec<SpanEvent>,
    /// Other spans this one relates to (OpenTelemetry span links).
    pub links: Vec<SpanLink>,
}

/// A span event: something that happened at one instant of the span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    pub name: String,
    pub time_unix_nano: i64,
    pub attributes: Attributes,
}

/// A link from a span to another span, of this trace or another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanLink {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub attributes: Attributes,
}

/// One page view of a browser session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageView {
    pub id: String,
    pub session_id: String,
    pub url: String,
    pub referrer: String,
    /// web-vitals' navigationType: navigate, reload, back-forward, prerender, …
    pub navigation_type: String,
    pub start_unix_nano: i64,
    pub resource: Attributes,
    /// What the gateway added: client address, geo, user agent, browser context; and the
    /// beacon's `user.id` and global attributes.
    pub attributes: Attributes,
    /// What the page named the view (`rum.setView`, a route template); empty when unnamed.
    pub name: String,
    /// The view before this one in the same tab (an SPA route change).
    pub previous_id: Option<String>,
    /// When the view ended (route change away, page hidden or unloaded), once it has.
    pub end_unix_nano: Option<i64>,
    /// Milliseconds the view has been visible so far (cumulative).
    pub visible_ms: Option<f64>,
    /// Items the SDK dropped for this view at its caps (cumulative).
    pub dropped: ViewDropped,
}

/// Items the SDK dropped for one view because a per-view or per-session cap was hit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewDropped {
    pub actions: u64,
    pub events: u64,
    pub route_changes: u64,
    /// Distinct errors past the SDK's per-view cap.
    pub errors: u64,
}

/// A browser event of a session: a custom event (`rum.event(name, attrs)`) or a session
/// event (`session.start`, `session.end`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowserEvent {
    pub session_id: String,
    /// The view it happened in.
    pub page_view_id: String,
    pub name: String,
    pub time_unix_nano: i64,
    /// The event's own attributes with `session.id`, `rum.page_view.id`, `user.id` and the
    /// global attributes stamped.
    pub attributes: Attributes,
    pub resource: Attributes,
}

/// One report of a web vital, shaped like web-vitals' Metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vital {
    pub page_view_id: String,
    /// web-vitals' metric id: unique per metric instance; a later report of the same id
    /// replaces the earlier one.
    pub metric_id: String,
    /// LCP, INP, CLS, FCP or TTFB.
    pub name: String,
    /// Milliseconds, except CLS (unitless).
    pub value: f64,
    pub delta: f64,
    /// good, needs-improvement or poor.
    pub rating: String,
    pub navigation_type: String,
    /// web-vitals/attribution's fields (element selectors, phase durations, …).
    pub attribution: Attributes,
}

/// One OTLP export request, encoded, on its way to the export outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportPayload {
    pub signal: crate::outcome::Signal,
    /// Spans, log records or vital reports in it.
    pub items: usize,
    #[serde(with = "hex_bytes")]
    pub bytes: Vec<u8>,
}

/// Bytes as a hex string in the ingest log's JSON (a JSON array of numbers takes twice the room).
mod hex_bytes {
    use serde::Deserialize;

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        hex::decode(&*text).map_err(serde::de::Error::custom)
    }
}

/// What one request hands to the store: committed together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub spans: Vec<Span>,
    pub page_views: Vec<PageView>,
    pub vitals: Vec<Vital>,
    /// Custom and session events of browser sessions.
    pub events: Vec<BrowserEvent>,
    /// Errors of browser sessions.
    pub errors: Vec<BrowserError>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
            && self.page_views.is_empty()
            && self.vitals.is_empty()
            && self.events.is_empty()
            && self.errors.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_roundtrip_and_reject_zero_and_bad_length() {
        let t = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("id");
        assert_eq!(t.to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert!(TraceId::from_hex("00000000000000000000000000000000").is_none());
        assert!(TraceId::from_hex("0af7651916cd43dd").is_none());
        assert!(SpanId::from_hex("b7ad6b7169203331").is_some());
        assert!(SpanId::from_hex("b7ad6b716920333g").is_none());
    }
}
