//! Beacon wire format v1 (`docs/beacon-v1.md`, `docs/beacon-v1.schema.json`): the shape of
//! what the browser SDK sends, and its decoding. What each field may hold is checked by
//! [`crate::validate::beacon`].

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::rejection::Rejection;

/// Largest attribution of one vital, as JSON; a larger one is replaced by
/// `{"truncated": true}` (the vital itself is kept).
pub const MAX_ATTRIBUTION_BYTES: usize = 16 * 1024;

/// The wire format's version this gateway reads.
pub const VERSION: u64 = 1;

/// A beacon as it arrives. Unknown fields are ignored, so a v1 SDK may add optional fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BeaconV1 {
    pub v: u64,
    /// When the SDK sent the beacon, unix milliseconds.
    pub sent_at: f64,
    /// Resource attributes: `service.name`, `service.version`, `deployment.environment.name`,
    /// `telemetry.sdk.*`.
    #[serde(default)]
    pub resource: Map<String, Value>,
    pub session: SessionV1,
    pub view: ViewV1,
    #[serde(default)]
    pub spans: Vec<SpanV1>,
    #[serde(default)]
    pub vitals: Vec<VitalV1>,
    /// Screen, viewport, connection and language, checked by the enrich stage.
    #[serde(default)]
    pub context: Option<Value>,
    /// `{"id": string}` from `rum.setUser`: `user.id` on every item of the beacon. The
    /// journey fields (this, `attrs`, `events` and the view's additions) are read as plain
    /// JSON and checked by [`crate::validate::journey`], so a wrong type is refused naming
    /// its field.
    #[serde(default)]
    pub user: Option<Value>,
    /// Global attributes from `rum.setAttributes`, on every span, event and the view.
    #[serde(default)]
    pub attrs: Option<Value>,
    /// Custom and session events: `[{"name", "time", "attrs"?}]`.
    #[serde(default)]
    pub events: Option<Value>,
    /// Errors (issue 14): `[{"type", "message", "stack"?, "kind", "time", "id", …}]`, read as
    /// plain JSON and checked by [`crate::validate::errors`], so a wrong type is refused
    /// naming its field.
    #[serde(default)]
    pub errors: Option<Value>,
}

/// Longest `errors.type`, in bytes.
pub const MAX_ERROR_TYPE_BYTES: usize = 256;
/// Longest `errors.message`, in bytes.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 4096;
/// Longest `errors.stack`, in bytes.
pub const MAX_ERROR_STACK_BYTES: usize = 16384;
/// Longest `errors.source` (a URL), in bytes.
pub const MAX_ERROR_SOURCE_BYTES: usize = 4096;

#[derive(Debug, Deserialize)]
pub struct SessionV1 {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct ViewV1 {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub referrer: String,
    /// web-vitals' navigationType.
    #[serde(rename = "type")]
    pub navigation_type: String,
    /// Unix milliseconds of the navigation's start (`performance.timeOrigin`), or of the
    /// route change that started an SPA view.
    pub start: f64,
    /// `rum.setView(name)`: a route template such as `/product/:sku`.
    #[serde(default)]
    pub name: Option<Value>,
    /// The view before this one in the same tab.
    #[serde(default, rename = "previousId")]
    pub previous_id: Option<Value>,
    /// Unix milliseconds the view ended, once it has.
    #[serde(default)]
    pub end: Option<Value>,
    /// Milliseconds visible so far.
    #[serde(default)]
    pub visible: Option<Value>,
    /// `{"actions", "events", "routeChanges"}` dropped at the SDK's caps.
    #[serde(default)]
    pub dropped: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanV1 {
    pub trace_id: String,
    pub span_id: String,
    #[serde(default)]
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: String,
    /// Unix milliseconds.
    pub start: f64,
    pub end: f64,
    /// `ok` or `error`; absent means unset.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub attrs: Map<String, Value>,
    /// Span events, in time order.
    #[serde(default)]
    pub events: Vec<SpanEventV1>,
    /// Links to other spans.
    #[serde(default)]
    pub links: Vec<SpanLinkV1>,
}

#[derive(Debug, Deserialize)]
pub struct SpanEventV1 {
    pub name: String,
    /// Unix milliseconds.
    pub time: f64,
    #[serde(default)]
    pub attrs: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanLinkV1 {
    pub trace_id: String,
    pub span_id: String,
    #[serde(default)]
    pub attrs: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct VitalV1 {
    pub name: String,
    pub value: f64,
    pub delta: f64,
    pub id: String,
    pub rating: String,
    pub nav: String,
    /// web-vitals/attribution's plain fields for this metric; free-form JSON object.
    #[serde(default)]
    pub attr: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct KeyQuery {
    pub key: Option<String>,
    /// `gzip` when the body is gzip-compressed: what `Content-Encoding` would say, for
    /// `sendBeacon`, which cannot set headers.
    pub encoding: Option<String>,
}

/// Reads just the version, so an unknown version gets its own answer whatever its shape.
#[derive(Deserialize)]
struct VersionProbe {
    v: Option<Value>,
}

/// Decodes a beacon body: 400 for malformed JSON or an unknown version.
pub fn decode(body: &[u8]) -> Result<BeaconV1, Rejection> {
    let probe: VersionProbe =
        serde_json::from_slice(body).map_err(|e| Rejection::Malformed(e.to_string()))?;
    match probe.v {
        Some(Value::Number(n)) if n.as_u64() == Some(VERSION) => {}
        Some(Value::Number(n)) => {
            return Err(Rejection::UnsupportedVersion(n.as_u64().unwrap_or(0)))
        }
        _ => {
            return Err(Rejection::invalid(
                "v",
                "a beacon needs its numeric version in \"v\"",
            ))
        }
    }
    serde_json::from_slice(body).map_err(|e| Rejection::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_tells_an_unknown_version_from_malformed_json() {
        assert!(matches!(
            decode(b"{\"v\":2}"),
            Err(Rejection::UnsupportedVersion(2))
        ));
        assert!(matches!(decode(b"{\"v\":"), Err(Rejection::Malformed(_))));
        assert!(matches!(decode(b"{}"), Err(Rejection::Invalid { .. })));
        assert!(matches!(decode(b"{\"v\":1}"), Err(Rejection::Malformed(_))));
    }
}
