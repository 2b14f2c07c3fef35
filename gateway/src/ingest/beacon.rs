//! `POST /v1/rum?key=KEY`: the browser SDK's beacons, wire format v1 (`docs/beacon-v1.md`).
//!
//! `navigator.sendBeacon` cannot set headers, so the key (and, for a gzip body, `encoding`)
//! travels in the query string, and the body arrives as `text/plain`; `application/json` is
//! accepted too.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{check_origin, cors_headers, read_body, require_content_type, IngestState};
use crate::auth::app_for_key;
use crate::enrich::{Peer, RequestContext};
use crate::error::Rejection;
use crate::validate;

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
}

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
    /// Unix milliseconds of the navigation's start (`performance.timeOrigin`).
    pub start: f64,
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

/// The query string's parameters; a malformed query or a parameter given twice (`key`,
/// `encoding`) is a 400 with the documented body, not the extractor's plain-text one.
fn key_query(query: Result<Query<KeyQuery>, QueryRejection>) -> Result<KeyQuery, Rejection> {
    query
        .map(|Query(q)| q)
        .map_err(|e| Rejection::invalid("query string", e.body_text()))
}

pub async fn receive(
    State(state): State<IngestState>,
    query: Result<Query<KeyQuery>, QueryRejection>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    // Key and origin first, before a byte of the body is read.
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let reject = |r: Rejection| with_cors(r.into_response(), None);
    let query = key_query(query).map_err(reject)?;
    state
        .pipeline
        .rate
        .admit_ip(peer.map(|a| a.ip()))
        .map_err(reject)?;
    let key = query
        .key
        .filter(|k| !k.is_empty())
        .ok_or(Rejection::MissingKey)
        .map_err(reject)?;
    let app = app_for_key(state.config.apps(), &key)
        .ok_or(Rejection::UnknownKey)
        .map_err(reject)?;
    check_origin(app, origin).map_err(reject)?;
    let reject = |r: Rejection| with_cors(r.into_response(), origin);
    state.pipeline.rate.admit_app(app).map_err(reject)?;
    require_content_type(
        &headers,
        &["text/plain", "application/json"],
        "text/plain or application/json",
    )
    .map_err(reject)?;
    let bytes = read_body(&headers, body, state.config.limits())
        .await
        .map_err(reject)?;
    let bytes = state
        .pipeline
        .decode_body_named(&headers, query.encoding.as_deref(), bytes)
        .map_err(reject)?;
    let beacon = decode(&bytes).map_err(reject)?;
    let context = RequestContext::beacon(peer, &headers, &beacon).map_err(reject)?;
    let batch = validate::beacon(beacon).map_err(reject)?;
    let batch = state
        .pipeline
        .process(batch, |b| state.enricher.enrich(b, &context))
        .map_err(reject)?;
    let counts = serde_json::json!({
        "spans": batch.spans.len(),
        "vitals": batch.vitals.len(),
    });
    state
        .store
        .write(batch)
        .await
        .map_err(|e| reject(e.into()))?;
    Ok(with_cors(
        (StatusCode::OK, Json(counts)).into_response(),
        origin,
    ))
}

/// CORS preflight for `POST /v1/rum`, answered only for an allowed origin of a known key.
pub async fn preflight(
    State(state): State<IngestState>,
    query: Result<Query<KeyQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let query = match key_query(query) {
        Ok(query) => query,
        Err(rejection) => return rejection.into_response(),
    };
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let allowed = query
        .key
        .as_deref()
        .and_then(|key| app_for_key(state.config.apps(), key))
        .is_some_and(|app| origin.is_some_and(|o| app.allows_origin(o)));
    if !allowed {
        return Rejection::OriginNotAllowed(origin.unwrap_or_default().to_string()).into_response();
    }
    with_cors(StatusCode::NO_CONTENT.into_response(), origin)
}

fn with_cors(mut response: Response, origin: Option<&str>) -> Response {
    if let Some(origin) = origin {
        cors_headers(response.headers_mut(), origin);
    }
    response
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
