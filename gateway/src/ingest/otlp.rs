//! `POST /v1/traces`: OTLP/HTTP trace export from backends, protobuf or JSON encoded
//! (<https://opentelemetry.io/docs/specs/otlp/#otlphttp>). The ingest key travels as
//! `Authorization: Bearer KEY`, as OTLP exporters' `headers` option sets it.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

use super::request::{read_body, require_content_type, Peer};
use super::IngestState;
use crate::apps::{app_for_key, bearer};
use crate::enrich::RequestContext;
use crate::rejection::Rejection;
use crate::validate;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

pub async fn receive(
    State(state): State<IngestState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(&state, peer, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// An `application/x-protobuf` body: 400 when it is not an `ExportTraceServiceRequest`.
pub fn decode_protobuf(bytes: &[u8]) -> Result<ExportTraceServiceRequest, Rejection> {
    ExportTraceServiceRequest::decode(bytes).map_err(|e| Rejection::Malformed(e.to_string()))
}

/// An `application/json` body (OTLP's JSON mapping): 400 when it is not one.
pub fn decode_json(bytes: &[u8]) -> Result<ExportTraceServiceRequest, Rejection> {
    serde_json::from_slice(bytes).map_err(|e| Rejection::Malformed(e.to_string()))
}

async fn handle(
    state: &IngestState,
    peer: Option<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Rejection> {
    state.rate.admit_ip(peer.map(|a| a.ip()))?;
    let key = bearer(&headers).ok_or(Rejection::MissingKey)?;
    let app = app_for_key(&state.apps, key).ok_or(Rejection::UnknownKey)?;
    state.rate.admit_app(app)?;
    let media_type = require_content_type(
        &headers,
        &[PROTOBUF, JSON],
        "application/x-protobuf or application/json",
    )?;
    let bytes = read_body(&headers, None, body, &state.limits).await?;
    let request = if media_type == PROTOBUF {
        decode_protobuf(&bytes)?
    } else {
        decode_json(&bytes)?
    };
    let valid = validate::otlp::request(request, &state.checks())?;
    // Backends' spans get nothing from the enricher, but go through it like every batch.
    state
        .store(valid, &RequestContext::new(None, &headers))
        .await?;
    // The OTLP response is an empty ExportTraceServiceResponse, in the request's encoding.
    let response = ExportTraceServiceResponse {
        partial_success: None,
    };
    let (body, content_type) = if media_type == PROTOBUF {
        (response.encode_to_vec(), PROTOBUF)
    } else {
        (b"{}".to_vec(), JSON)
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response())
}
