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

use super::request::{check_origin, cors_headers, origin, read_body, require_content_type, Peer};
use super::IngestState;
use crate::apps::app_for_key;
use crate::enrich::RequestContext;
use crate::rejection::Rejection;
use crate::validate;
use crate::wire::beacon_v1::{decode, KeyQuery};

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
) -> Response {
    // CORS headers once the origin is known to be allowed for the key; and on a rejection, for
    // any origin, so that the page can read the reason (the SDK's `debug` option says it on the
    // console): it tells a page nothing that a client outside a browser could not learn.
    let mut allowed_origin = None;
    let response = handle(&state, query, peer, &headers, body, &mut allowed_origin)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    let rejected = response.status().is_client_error();
    let readable = allowed_origin.or_else(|| origin(&headers).filter(|_| rejected));
    with_cors(response, readable)
}

async fn handle<'h>(
    state: &IngestState,
    query: Result<Query<KeyQuery>, QueryRejection>,
    peer: Option<std::net::SocketAddr>,
    headers: &'h HeaderMap,
    body: Body,
    allowed_origin: &mut Option<&'h str>,
) -> Result<Response, Rejection> {
    let query = key_query(query)?;
    state.rate.admit_ip(peer.map(|a| a.ip()))?;
    let key = query
        .key
        .filter(|k| !k.is_empty())
        .ok_or(Rejection::MissingKey)?;
    let app = app_for_key(&state.apps, &key).ok_or(Rejection::UnknownKey)?;
    let origin = origin(headers);
    check_origin(app, origin)?;
    *allowed_origin = origin;
    state.rate.admit_app(app)?;
    require_content_type(
        headers,
        &["text/plain", "application/json"],
        "text/plain or application/json",
    )?;
    let bytes = read_body(headers, query.encoding.as_deref(), body, &state.limits).await?;
    let beacon = decode(&bytes)?;
    let valid = validate::beacon::beacon(beacon, &state.checks())?;
    let (spans, vitals) = state
        .store(valid, &RequestContext::new(peer, headers))
        .await?;
    let counts = serde_json::json!({ "spans": spans, "vitals": vitals });
    Ok((StatusCode::OK, Json(counts)).into_response())
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
    let origin = origin(&headers);
    let allowed = query
        .key
        .as_deref()
        .and_then(|key| app_for_key(&state.apps, key))
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
