//! The policy stages driven through the real routers: scrubbing before the store, trace-id
//! ratio sampling across browser and backend halves, gzip and its cap, count and length
//! caps, rate limits (in-process and on a real loopback socket), load shedding, and the
//! admin token.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use gateway::config::{Config, Overrides};
use gateway::server::admin_router_protected;
use gateway::server::ingest_router;
use gateway::store::writer::{self};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{json, Value};

mod admin;
mod caps;
mod rate;
mod sample;
mod scrub;

const APP: &str = r#"
[[apps]]
name = "shop"
key = "dev"
allowed_origins = ["http://localhost:*"]
"#;

#[path = "../common/mod.rs"]
mod common;
use common::{get, send, InProcess as Gateway};

fn gateway_with(extra_toml: &str, queue: usize) -> Gateway {
    Gateway::from_toml(&format!("{extra_toml}\n{APP}"), queue)
}

fn post_beacon(body: impl Into<Body>, encoding: Option<&str>) -> Request<Body> {
    let mut builder = Request::post("/v1/rum?key=dev").header(header::CONTENT_TYPE, "text/plain");
    if let Some(encoding) = encoding {
        builder = builder.header(header::CONTENT_ENCODING, encoding);
    }
    builder.body(body.into()).expect("request")
}

fn post_otlp(request: &ExportTraceServiceRequest, encoding: Option<&str>) -> Request<Body> {
    let mut body = request.encode_to_vec();
    let mut builder = Request::post("/v1/traces")
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .header(header::AUTHORIZATION, "Bearer dev");
    if encoding == Some("gzip") {
        body = gzip(&body);
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
    }
    builder.body(Body::from(body)).expect("request")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("write");
    encoder.finish().expect("finish")
}

fn browser_span(trace_id: &str, span_id: &str, attrs: Value) -> Value {
    json!({"traceId": trace_id, "spanId": span_id, "name": "HTTP GET", "kind": "client",
           "start": 1732460000100.0, "end": 1732460000150.0, "attrs": attrs})
}

fn beacon(url: &str, spans: Vec<Value>) -> Value {
    json!({
        "v": 1, "sentAt": 1732460000500.0,
        "resource": {"service.name": "shop-web", "deployment.environment.name": "prod"},
        "session": {"id": "0123456789abcdef0123456789abcdef"},
        "view": {"id": "a1b2c3d4e5f60718", "url": url, "referrer": "", "type": "navigate", "start": 1732460000000.0},
        "spans": spans,
        "vitals": [{"name": "LCP", "value": 812.5, "delta": 812.5, "id": "v1-1-1", "rating": "good", "nav": "navigate"}]
    })
}

fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

fn otlp(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    string_attr("service.name", "api"),
                    string_attr("deployment.environment.name", "prod"),
                ],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn otlp_span(trace_id: [u8; 16], span_id: [u8; 8], flags: u32) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        flags,
        name: "GET /api/cart".into(),
        kind: 2,
        start_time_unix_nano: 1_732_460_000_110_000_000,
        end_time_unix_nano: 1_732_460_000_140_000_000,
        ..Span::default()
    }
}

/// Every stored span's trace id and source, read straight from the store file.
fn stored_spans(gw: &Gateway) -> Vec<(String, String)> {
    // The database file: once the index has everything acknowledged.
    assert!(gw.store.wait_indexed(), "the index caught up");
    let conn = gateway::store::open_read(gw.dir.path()).expect("open");
    let sources = gateway::store::partitions::sources(&conn).expect("sources");
    let mut stmt = conn
        .prepare(&gateway::store::partitions::union_all(
            &sources,
            "SELECT trace_id, source FROM {s}.spans",
        ))
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query");
    rows.collect::<Result<Vec<_>, _>>().expect("rows")
}
