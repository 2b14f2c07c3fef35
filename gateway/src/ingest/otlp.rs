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
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, status};
use prost::Message;
use serde_json::{Map, Value};

use super::{read_body, require_content_type, IngestState};
use crate::auth::app_for_key;
use crate::enrich::Peer;
use crate::error::Rejection;
use crate::model::{
    Attributes, Batch, Source, Span, SpanId, SpanKind, StatusCode as SpanStatus, TraceId,
};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

pub async fn receive(
    State(state): State<IngestState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(rejection) = state.pipeline.rate.admit_ip(peer.map(|a| a.ip())) {
        return rejection.into_response();
    }
    match handle(state, headers, body).await {
        Ok(response) => response,
        Err(rejection) => rejection.into_response(),
    }
}

async fn handle(state: IngestState, headers: HeaderMap, body: Body) -> Result<Response, Rejection> {
    let key = bearer_key(&headers).ok_or(Rejection::MissingKey)?;
    let app = app_for_key(state.config.apps(), key).ok_or(Rejection::UnknownKey)?;
    state.pipeline.rate.admit_app(app)?;
    let media_type = require_content_type(
        &headers,
        &[PROTOBUF, JSON],
        "application/x-protobuf or application/json",
    )?;
    let bytes = read_body(&headers, body, state.config.limits()).await?;
    let bytes = state.pipeline.decode_body(&headers, bytes)?;
    let request = if media_type == PROTOBUF {
        ExportTraceServiceRequest::decode(bytes.as_ref())
            .map_err(|e| Rejection::Malformed(e.to_string()))?
    } else {
        serde_json::from_slice(&bytes).map_err(|e| Rejection::Malformed(e.to_string()))?
    };
    let batch = to_batch(request)?;
    // Backends' spans get nothing from the enricher, but go through it like every batch.
    let context = crate::enrich::RequestContext::new(None, &headers);
    let batch = state
        .pipeline
        .process(batch, |b| state.enricher.enrich(b, &context))?;
    state.store.write(batch).await?;
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

fn bearer_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty()).then(|| key.trim())
}

/// Converts an OTLP request to the gateway's batch; a span with a bad id fails the request.
pub fn to_batch(request: ExportTraceServiceRequest) -> Result<Batch, Rejection> {
    let mut batch = Batch::default();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| attributes(r.attributes))
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            // Every span is kept, whatever its `flags`: an exporter sends only what its SDK
            // sampled, and the W3C bits of `flags` are not always filled in (the Python and
            // Go SDKs set only the is-remote bits 8–9, leaving the sampled bit 0).
            for span in scope_spans.spans {
                batch.spans.push(convert_span(span, &resource)?);
            }
        }
    }
    Ok(batch)
}

fn convert_span(
    span: opentelemetry_proto::tonic::trace::v1::Span,
    resource: &Attributes,
) -> Result<Span, Rejection> {
    let trace_id = TraceId::from_bytes(&span.trace_id)
        .ok_or_else(|| Rejection::invalid("traceId", "must be 16 bytes, not all zero"))?;
    let span_id = SpanId::from_bytes(&span.span_id)
        .ok_or_else(|| Rejection::invalid("spanId", "must be 8 bytes, not all zero"))?;
    let parent_span_id = match span.parent_span_id.as_slice() {
        [] => None,
        bytes => Some(
            SpanId::from_bytes(bytes)
                .ok_or_else(|| Rejection::invalid("parentSpanId", "must be empty or 8 bytes"))?,
        ),
    };
    let start = i64::try_from(span.start_time_unix_nano)
        .map_err(|_| Rejection::invalid("startTimeUnixNano", "out of range"))?;
    let end = i64::try_from(span.end_time_unix_nano)
        .map_err(|_| Rejection::invalid("endTimeUnixNano", "out of range"))?;
    if end < start {
        return Err(Rejection::invalid(
            "endTimeUnixNano",
            "is before startTimeUnixNano",
        ));
    }
    let kind = match span::SpanKind::try_from(span.kind) {
        Ok(span::SpanKind::Server) => SpanKind::Server,
        Ok(span::SpanKind::Client) => SpanKind::Client,
        Ok(span::SpanKind::Producer) => SpanKind::Producer,
        Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
        // The spec reads "unspecified" as internal.
        Ok(span::SpanKind::Internal | span::SpanKind::Unspecified) => SpanKind::Internal,
        Err(_) => {
            return Err(Rejection::invalid(
                "kind",
                format!("{} is not a SpanKind (0 to 5)", span.kind),
            ))
        }
    };
    let (status, status_message) = match span.status {
        Some(s) => {
            let code = match status::StatusCode::try_from(s.code) {
                Ok(status::StatusCode::Ok) => SpanStatus::Ok,
                Ok(status::StatusCode::Error) => SpanStatus::Error,
                _ => SpanStatus::Unset,
            };
            (code, s.message)
        }
        None => (SpanStatus::Unset, String::new()),
    };
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        name: span.name,
        kind,
        start_unix_nano: start,
        end_unix_nano: end,
        status,
        status_message,
        attributes: attributes(span.attributes),
        resource: resource.clone(),
        source: Source::Otlp,
    })
}

fn attributes(kvs: Vec<KeyValue>) -> Attributes {
    kvs.into_iter()
        .map(|kv| {
            (
                kv.key,
                kv.value.map(any_value_to_json).unwrap_or(Value::Null),
            )
        })
        .collect()
}

fn any_value_to_json(value: AnyValue) -> Value {
    match value.value {
        Some(any_value::Value::StringValue(s)) => Value::String(s),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(b),
        Some(any_value::Value::IntValue(i)) => Value::from(i),
        Some(any_value::Value::DoubleValue(d)) => Value::from(d),
        Some(any_value::Value::BytesValue(b)) => Value::String(hex::encode(b)),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.into_iter().map(any_value_to_json).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(
            kv.values
                .into_iter()
                .map(|kv| {
                    (
                        kv.key,
                        kv.value.map(any_value_to_json).unwrap_or(Value::Null),
                    )
                })
                .collect::<Map<String, Value>>(),
        ),
        _ => Value::Null,
    }
}
