//! Shared by the integration tests: a fake OTLP/HTTP receiver standing in for rum-gateway, the
//! app's config, and readers for the spans it received.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::routing::post;
use axum::Router;
use http_body_util::BodyExt as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

use demo_site::Config;

pub const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
pub const PARENT_SPAN_ID: &str = "b7ad6b7169203331";
pub const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// What the fake receiver got: one entry per export request.
#[derive(Clone, Default)]
pub struct Received(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

impl Received {
    pub fn exports(&self) -> Vec<(HeaderMap, Bytes)> {
        self.0.lock().expect("receiver lock").clone()
    }

    /// Every span in every export, with the resource's `service.name`.
    pub fn spans(&self) -> Vec<(String, Span)> {
        let mut spans = Vec::new();
        for (_, body) in self.exports() {
            let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf body");
            for resource_spans in request.resource_spans {
                let service = resource_spans
                    .resource
                    .as_ref()
                    .and_then(|resource| string_attr(&resource.attributes, "service.name"))
                    .unwrap_or_default();
                for scope_spans in resource_spans.scope_spans {
                    for span in scope_spans.spans {
                        spans.push((service.clone(), span));
                    }
                }
            }
        }
        spans
    }
}

/// A stand-in for rum-gateway's OTLP/HTTP listener on an ephemeral port; returns its base URL.
pub async fn start_receiver() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route(
            "/v1/traces",
            post(
                |State(received): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    received
                        .0
                        .lock()
                        .expect("receiver lock")
                        .push((headers, body));
                    // An empty ExportTraceServiceResponse: full success.
                    (
                        [(header::CONTENT_TYPE, "application/x-protobuf")],
                        Bytes::new(),
                    )
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver");
    let addr = listener.local_addr().expect("receiver address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), received)
}

pub fn config(gateway: &str, api_key: &str) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("listen address"),
        gateway: gateway.to_owned(),
        api_key: api_key.to_owned(),
        sdk_dir: "does-not-exist".into(),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn string_attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(value) => Some(value.clone()),
            _ => None,
        }
    })
}

pub fn int_attr(attributes: &[KeyValue], key: &str) -> Option<i64> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Value::IntValue(value) => Some(*value),
            _ => None,
        }
    })
}

/// Runs a blocking provider call (flush/shutdown wait on the batch thread) off the async workers.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

pub async fn body_json(response: axum::response::Response) -> serde_json::Value {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("response body")
        .to_bytes();
    serde_json::from_slice(&bytes).expect("JSON response")
}
