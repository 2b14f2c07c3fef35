//! OTLP `ExportTraceServiceRequest` → [`ValidBatch`]: ids, times and kinds checked, attributes
//! as JSON values. Every span is kept whatever its `flags`: an exporter sends only what its
//! SDK sampled, and the W3C bits of `flags` are not always filled in (the Python and Go SDKs
//! set only the is-remote bits 8–9, leaving the sampled bit 0).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, status};
use serde_json::{Map, Value};

use super::{
    check_attributes, check_counts, check_events_and_links, check_times, Checks, ValidBatch,
};
use crate::limit::Limits;
use crate::model::{
    Attributes, Batch, Source, Span, SpanEvent, SpanId, SpanKind, SpanLink,
    StatusCode as SpanStatus, TraceId,
};
use crate::rejection::Rejection;

/// Checks an OTLP request against `checks`; a bad span fails the whole request.
pub fn request(
    request: ExportTraceServiceRequest,
    checks: &Checks,
) -> Result<ValidBatch, Rejection> {
    let batch = to_batch(request, checks.limits)?;
    check_counts(&batch, checks.limits)?;
    check_times(&batch, None, checks)?;
    Ok(ValidBatch::otlp(batch))
}

/// Converts an OTLP request to the gateway's batch; a span with a bad id, kind or time, or
/// with more attributes than the limit, fails the request.
fn to_batch(request: ExportTraceServiceRequest, limits: &Limits) -> Result<Batch, Rejection> {
    let mut batch = Batch::default();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| attributes(r.attributes))
            .unwrap_or_default();
        check_attributes(&resource, "resource.attributes", limits, true)?;
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                let span = convert_span(span, &resource)?;
                check_attributes(&span.attributes, "span.attributes", limits, true)?;
                check_events_and_links(&span, "span", limits, true)?;
                batch.spans.push(span);
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
    let events = span
        .events
        .into_iter()
        .map(|e| {
            Ok(SpanEvent {
                time_unix_nano: i64::try_from(e.time_unix_nano)
                    .map_err(|_| Rejection::invalid("events.timeUnixNano", "out of range"))?,
                name: e.name,
                attributes: attributes(e.attributes),
            })
        })
        .collect::<Result<Vec<_>, Rejection>>()?;
    let links = span
        .links
        .into_iter()
        .map(|l| {
            Ok(SpanLink {
                trace_id: TraceId::from_bytes(&l.trace_id).ok_or_else(|| {
                    Rejection::invalid("links.traceId", "must be 16 bytes, not all zero")
                })?,
                span_id: SpanId::from_bytes(&l.span_id).ok_or_else(|| {
                    Rejection::invalid("links.spanId", "must be 8 bytes, not all zero")
                })?,
                attributes: attributes(l.attributes),
            })
        })
        .collect::<Result<Vec<_>, Rejection>>()?;
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
        events,
        links,
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
