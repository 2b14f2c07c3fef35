//! Export end to end, over real loopback sockets: the gateway runs with
//! `server::run_with_listeners` and exports to a fake OTLP/HTTP receiver (axum) that decodes
//! what it gets with `opentelemetry-proto`, independently of the gateway's encoder.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{metric, Metric};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const KEY: &str = "k1";
const ORIGIN: &str = "http://localhost:8080";
const SESSION: &str = "0123456789abcdef0123456789abcdef";

// ---- the fake receiver -------------------------------------------------------------------

/// A decoded span as the receiver saw it, with its resource.
#[derive(Debug, Clone)]
struct Got {
    span: Span,
    resource: Resource,
}

#[derive(Default)]
struct Inbox {
    /// Spans of requests answered 2xx.
    spans: Vec<Got>,
    /// Log records of requests answered 2xx, with their resources.
    logs: Vec<(LogRecord, Resource)>,
    /// Metrics of requests answered 2xx, with their resources.
    metrics: Vec<(Metric, Resource)>,
    /// Every attempt on /v1/traces: when, and the trace ids it carried.
    attempts: Vec<(Instant, Vec<Vec<u8>>)>,
    /// Headers of the last request.
    headers: HeaderMap,
    /// Scripted answers for /v1/traces, used up in order; then 200.
    script: VecDeque<Answer>,
}

/// A scripted answer of the receiver.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// This status, with this `Retry-After`; nothing is kept.
    Status(StatusCode, Option<&'static str>),
    /// 200 with an OTLP partial success rejecting this many spans; the spans are kept.
    Partial(i64),
}

#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Inbox>>);

impl Receiver {
    /// Starts listening on the port `reserved` kept (refusing connections until now).
    async fn start_on(reserved: Reserved) -> (Receiver, oneshot::Sender<()>) {
        let Reserved(socket, addr) = reserved;
        // Released and bound again at once (both with SO_REUSEADDR): no other socket can take
        // the port in between, as one could when a test only remembered a port number.
        drop(socket);
        let listener = TcpListener::bind(addr).await.expect("bind receiver");
        Receiver::serve(listener)
    }

    fn serve(listener: TcpListener) -> (Receiver, oneshot::Sender<()>) {
        let receiver = Receiver::default();
        let app = Router::new()
            .route("/v1/traces", post(traces))
            .route("/v1/logs", post(logs))
            .route("/v1/metrics", post(metrics))
            .with_state(receiver.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        (receiver, stop)
    }

    async fn start() -> (Receiver, SocketAddr, oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        let (receiver, stop) = Receiver::serve(listener);
        (receiver, addr, stop)
    }

    fn script(&self, answers: &[Answer]) {
        self.0
            .lock()
            .expect("inbox")
            .script
            .extend(answers.iter().copied());
    }

    fn spans(&self) -> Vec<Got> {
        self.0.lock().expect("inbox").spans.clone()
    }

    fn trace_ids(&self) -> Vec<Vec<u8>> {
        self.spans().into_iter().map(|g| g.span.trace_id).collect()
    }
}

async fn traces(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let request = match ExportTraceServiceRequest::decode(body.as_ref()) {
        Ok(request) => request,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut inbox = receiver.0.lock().expect("inbox");
    inbox.headers = headers;
    let ids = request
        .resource_spans
        .iter()
        .flat_map(|rs| {
            rs.scope_spans
                .iter()
                .flat_map(|ss| ss.spans.iter().map(|s| s.trace_id.clone()))
        })
        .collect();
    inbox.attempts.push((Instant::now(), ids));
    let mut answer = Vec::new();
    match inbox.script.pop_front() {
        Some(Answer::Status(status, retry_after)) => {
            let mut response = status.into_response();
            if let Some(value) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", value.parse().expect("header"));
            }
            return response;
        }
        Some(Answer::Partial(rejected_spans)) => {
            let partial = ExportTracePartialSuccess {
                rejected_spans,
                error_message: "too old".into(),
            };
            answer = ExportTraceServiceResponse {
                partial_success: Some(partial),
            }
            .encode_to_vec();
        }
        None => {}
    }
    for rs in request.resource_spans {
        let resource = rs.resource.unwrap_or_default();
        for ss in rs.scope_spans {
            for span in ss.spans {
                inbox.spans.push(Got {
                    span,
                    resource: resource.clone(),
                });
            }
        }
    }
    ([("content-type", "application/x-protobuf")], answer).into_response()
}

async fn logs(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let request = match ExportLogsServiceRequest::decode(body.as_ref()) {
        Ok(request) => request,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut inbox = receiver.0.lock().expect("inbox");
    inbox.headers = headers;
    for rl in request.resource_logs {
        let resource = rl.resource.unwrap_or_default();
        for sl in rl.scope_logs {
            for record in sl.log_records {
                inbox.logs.push((record, resource.clone()));
            }
        }
    }
    StatusCode::OK.into_response()
}

async fn metrics(State(receiver): State<Receiver>, body: Bytes) -> Response {
    let request = match ExportMetricsServiceRequest::decode(body.as_ref()) {
        Ok(request) => request,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut inbox = receiver.0.lock().expect("inbox");
    for rm in request.resource_metrics {
        let resource = rm.resource.unwrap_or_default();
        for sm in rm.scope_metrics {
            for metric in sm.metrics {
                inbox.metrics.push((metric, resource.clone()));
            }
        }
    }
    StatusCode::OK.into_response()
}

/// A loopback port held by a socket that is bound but not listening: connections to it are
/// refused (a receiver that is down) until [`Receiver::start_on`] takes it over.
struct Reserved(tokio::net::TcpSocket, SocketAddr);

fn free_port() -> Reserved {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("reuseaddr");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let addr = socket.local_addr().expect("addr");
    Reserved(socket, addr)
}

mod common;

// ---- the gateway ---------------------------------------------------------------------------

type Gateway = common::Loopback;

async fn start_gateway(dir: &Path, endpoint: SocketAddr, extra: &str) -> Gateway {
    let toml = format!(
        r#"
        [[apps]]
        name = "shop"
        key = "{KEY}"
        allowed_origins = ["{ORIGIN}"]
        # The beacons' fixed 2024 timestamps must arrive as sent: no clock-skew correction.
        [enrich]
        clock_skew_threshold_ms = 1000000000000
        [export]
        otlp_endpoint = "http://{endpoint}"
        headers = {{ "x-api-key" = "secret-1" }}
        batch_timeout_ms = 20
        retry_initial_backoff_ms = 50
        retry_max_backoff_ms = 200
        timeout_ms = 2000
        {extra}
        "#
    );
    common::Loopback::start_in(dir, &toml).await
}

impl Gateway {
    async fn post_beacon(&self, trace_id: &str, span_id: &str) -> reqwest::Response {
        let beacon = json!({
            "v": 1, "sentAt": 1732460000500.0,
            "resource": {"service.name": "shop-web", "service.version": "1.2.3"},
            "session": {"id": SESSION},
            "view": {"id": "a1b2c3d4e5f60718", "url": "http://localhost:8080/cart", "type": "navigate", "start": 1732460000000.0},
            "spans": [{"traceId": trace_id, "spanId": span_id, "name": "HTTP POST", "kind": "client",
                       "start": 1732460000100.0, "end": 1732460000150.0,
                       "attrs": {"http.request.method": "POST", "url.full": "http://localhost:8080/api/cart", "http.response.status_code": 200}}],
            "vitals": [{"name": "LCP", "value": 812.5, "delta": 812.5, "id": "v1-1-1", "rating": "good", "nav": "navigate"}]
        });
        self.post_beacon_json(&beacon).await
    }

    async fn post_beacon_json(&self, beacon: &serde_json::Value) -> reqwest::Response {
        client()
            .post(format!("http://{}/v1/rum?key={KEY}", self.ingest))
            .header("origin", ORIGIN)
            .header("content-type", "text/plain")
            .body(beacon.to_string())
            .send()
            .await
            .expect("beacon")
    }

    async fn post_otlp(&self, trace_id: &[u8], span_id: &[u8], parent: &[u8]) -> reqwest::Response {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![string_kv("service.name", "shop-api")],
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: trace_id.to_vec(),
                        span_id: span_id.to_vec(),
                        parent_span_id: parent.to_vec(),
                        name: "POST /api/cart".into(),
                        kind: SpanKind::Server as i32,
                        start_time_unix_nano: 1_732_460_000_110_000_000,
                        end_time_unix_nano: 1_732_460_000_140_000_000,
                        attributes: vec![string_kv("http.route", "/api/cart")],
                        ..Span::default()
                    }],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        client()
            .post(format!("http://{}/v1/traces", self.ingest))
            .header("authorization", format!("Bearer {KEY}"))
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
            .await
            .expect("otlp")
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

fn attr<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    kvs.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn str_attr<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attr(kvs, key) {
        Some(any_value::Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// Polls `done` every 20 ms for up to `secs` seconds.
async fn eventually<F, Fut>(secs: u64, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn id(byte: u8, len: usize) -> Vec<u8> {
    vec![byte; len]
}

// ---- the tests -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beacon_and_otlp_arrive_with_ids_resources_and_attributes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (receiver, addr, _stop) = Receiver::start().await;
    let gw = start_gateway(dir.path(), addr, "").await;

    let trace_hex = "0af7651916cd43dd8448eb211c80319c";
    let trace = hex::decode(trace_hex).expect("hex");
    let browser_span = hex::decode("b7ad6b7169203331").expect("hex");
    assert_eq!(
        gw.post_beacon(trace_hex, "b7ad6b7169203331").await.status(),
        200
    );
    assert_eq!(
        gw.post_otlp(&trace, &id(0x22, 8), &browser_span)
            .await
            .status(),
        200
    );

    eventually(5, "both spans and both log records", || async {
        receiver.spans().len() == 2 && receiver.0.lock().expect("inbox").logs.len() == 2
    })
    .await;
    let spans = receiver.spans();
    let browser = spans
        .iter()
        .find(|g| g.span.span_id == browser_span)
        .expect("browser span");
    let backend = spans
        .iter()
        .find(|g| g.span.span_id == id(0x22, 8))
        .expect("backend span");
    assert_eq!(browser.span.trace_id, trace);
    assert_eq!(backend.span.trace_id, trace);
    assert!(browser.span.parent_span_id.is_empty());
    assert_eq!(
        backend.span.parent_span_id, browser_span,
        "the backend span's parent is the browser span"
    );
    assert_eq!(browser.span.kind, SpanKind::Client as i32);
    assert_eq!(backend.span.kind, SpanKind::Server as i32);
    assert_eq!(browser.span.start_time_unix_nano, 1_732_460_000_100_000_000);
    assert_eq!(
        str_attr(&browser.resource.attributes, "service.name"),
        Some("shop-web")
    );
    assert_eq!(
        str_attr(&browser.resource.attributes, "service.version"),
        Some("1.2.3")
    );
    assert_eq!(
        str_attr(&backend.resource.attributes, "service.name"),
        Some("shop-api")
    );
    assert_eq!(
        str_attr(&browser.span.attributes, "http.request.method"),
        Some("POST")
    );
    assert_eq!(
        str_attr(&browser.span.attributes, "session.id"),
        Some(SESSION)
    );
    assert_eq!(
        attr(&browser.span.attributes, "http.response.status_code"),
        Some(&any_value::Value::IntValue(200))
    );
    assert_eq!(
        str_attr(&backend.span.attributes, "http.route"),
        Some("/api/cart")
    );

    let logs = receiver.0.lock().expect("inbox").logs.clone();
    let (view, view_resource) = logs
        .iter()
        .find(|(r, _)| r.event_name == "browser.page_view")
        .expect("page view");
    assert_eq!(
        str_attr(&view.attributes, "url.full"),
        Some("http://localhost:8080/cart")
    );
    assert_eq!(str_attr(&view.attributes, "session.id"), Some(SESSION));
    assert_eq!(view.time_unix_nano, 1_732_460_000_000_000_000);
    assert_eq!(
        str_attr(&view_resource.attributes, "service.name"),
        Some("shop-web")
    );
    let (vital, _) = logs
        .iter()
        .find(|(r, _)| r.event_name == "browser.web_vital")
        .expect("vital");
    assert_eq!(str_attr(&vital.attributes, "web_vital.name"), Some("LCP"));
    assert_eq!(
        attr(&vital.attributes, "web_vital.value"),
        Some(&any_value::Value::DoubleValue(812.5))
    );
    assert_eq!(
        str_attr(&vital.attributes, "web_vital.rating"),
        Some("good")
    );
    assert_eq!(str_attr(&vital.attributes, "web_vital.id"), Some("v1-1-1"));
    assert_eq!(str_attr(&vital.attributes, "session.id"), Some(SESSION));

    // The same vital as a delta histogram on /v1/metrics.
    eventually(5, "the LCP histogram", || async {
        !receiver.0.lock().expect("inbox").metrics.is_empty()
    })
    .await;
    let metrics = receiver.0.lock().expect("inbox").metrics.clone();
    let (lcp, resource) = metrics
        .iter()
        .find(|(m, _)| m.name == "browser.web_vital.lcp")
        .expect("lcp metric");
    assert_eq!(lcp.unit, "ms");
    assert_eq!(
        str_attr(&resource.attributes, "service.name"),
        Some("shop-web")
    );
    let Some(metric::Data::Histogram(histogram)) = &lcp.data else {
        panic!("a histogram: {lcp:?}")
    };
    let point = &histogram.data_points[0];
    assert_eq!((point.count, point.sum), (1, Some(812.5)));
    assert_eq!(str_attr(&point.attributes, "url.path"), Some("/cart"));
    assert_eq!(
        str_attr(&point.attributes, "web_vital.rating"),
        Some("good")
    );

    let headers = receiver.0.lock().expect("inbox").headers.clone();
    assert_eq!(headers["content-type"], "application/x-protobuf");
    assert_eq!(headers["x-api-key"], "secret-1", "export.headers are sent");

    // Self-metrics: what was accepted, exported, and a rejection by its reason.
    let rejected = client()
        .post(format!("http://{}/v1/rum?key=nope", gw.ingest))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(rejected.status(), 403);
    let preflight = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{}/v1/rum?key={KEY}", gw.ingest),
        )
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert!(preflight.status().is_success());
    assert_eq!(
        gw.metric("rum_gateway_rejected_total{reason=\"unknown_key\"}")
            .await,
        1
    );
    assert_eq!(gw.metric("rum_gateway_beacons_accepted_total").await, 1);
    assert_eq!(
        gw.metric("rum_gateway_otlp_requests_accepted_total").await,
        1
    );
    assert_eq!(gw.metric("rum_gateway_spans_accepted_total").await, 1);
    assert_eq!(gw.metric("rum_gateway_otlp_spans_accepted_total").await, 1);
    assert_eq!(gw.metric("rum_gateway_vitals_accepted_total").await, 1);
    // The exporter counts a batch (and empties the outbox) only once the receiver's answer is
    // back, after the receiver has recorded it: waited for, not read at once.
    eventually(
        5,
        "2 spans and 2 log records counted, an empty outbox",
        || async {
            gw.metric("rum_gateway_export_items_total{signal=\"traces\"}")
                .await
                == 2
                && gw
                    .metric("rum_gateway_export_items_total{signal=\"logs\"}")
                    .await
                    == 2
                && gw.metric("rum_gateway_export_queue_bytes").await == 0
        },
    )
    .await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_keeps_acknowledging_and_delivers_everything_once_it_is_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let addr = port.1;
    let gw = start_gateway(dir.path(), addr, "logs = false").await;
    for n in 1..=5u8 {
        assert_eq!(
            gw.post_otlp(&id(n, 16), &id(n, 8), &[]).await.status(),
            200,
            "acknowledged while down"
        );
    }
    eventually(5, "retries while the receiver is down", || async {
        gw.metric("rum_gateway_export_retries_total{signal=\"traces\"}")
            .await
            >= 2
    })
    .await;
    assert!(
        gw.metric("rum_gateway_export_queue_bytes").await > 0,
        "queued, not dropped"
    );

    let (receiver, _stop) = Receiver::start_on(port).await;
    eventually(5, "all five traces", || async {
        let ids = receiver.trace_ids();
        (1..=5u8).all(|n| ids.contains(&id(n, 16)))
    })
    .await;
    eventually(2, "an empty outbox", || async {
        gw.metric("rum_gateway_export_queue_bytes").await == 0
    })
    .await;
    let ids = receiver.trace_ids();
    assert_eq!(ids.len(), 5, "each delivered once: {ids:?}");
    let attempts = receiver.0.lock().expect("inbox").attempts.clone();
    assert_eq!(attempts.len(), 1, "the backlog goes out as one batch");
    assert_eq!(attempts[0].1.len(), 5);
    // Counted just after the outbox is emptied, on the exporter's thread.
    eventually(2, "5 spans counted as exported", || async {
        gw.metric("rum_gateway_export_items_total{signal=\"traces\"}")
            .await
            == 5
    })
    .await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_with_retry_after_is_retried_and_a_400_is_dropped_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (receiver, addr, _stop) = Receiver::start().await;
    receiver.script(&[Answer::Status(StatusCode::SERVICE_UNAVAILABLE, Some("1"))]);
    let gw = start_gateway(dir.path(), addr, "logs = false").await;

    assert_eq!(gw.post_otlp(&id(1, 16), &id(1, 8), &[]).await.status(), 200);
    eventually(5, "delivery after Retry-After", || async {
        receiver.trace_ids() == vec![id(1, 16)]
    })
    .await;
    let attempts: Vec<Instant> = receiver
        .0
        .lock()
        .expect("inbox")
        .attempts
        .iter()
        .map(|a| a.0)
        .collect();
    assert_eq!(attempts.len(), 2, "one refused attempt, one delivered");
    let waited = attempts[1] - attempts[0];
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 honoured, waited {waited:?}"
    );
    assert_eq!(
        gw.metric("rum_gateway_export_retries_total{signal=\"traces\"}")
            .await,
        1
    );

    receiver.script(&[Answer::Status(StatusCode::BAD_REQUEST, None)]);
    assert_eq!(gw.post_otlp(&id(2, 16), &id(2, 8), &[]).await.status(), 200);
    eventually(5, "the 400 counted as a drop", || async {
        gw.metric("rum_gateway_export_dropped_total{signal=\"traces\",reason=\"client_error\"}")
            .await
            == 1
    })
    .await;
    // Dropped for good, not retried; what follows still flows.
    assert_eq!(gw.post_otlp(&id(3, 16), &id(3, 8), &[]).await.status(), 200);
    eventually(5, "the next trace", || async {
        receiver.trace_ids().contains(&id(3, 16))
    })
    .await;
    assert!(!receiver.trace_ids().contains(&id(2, 16)));
    let tries_of_2 = receiver
        .0
        .lock()
        .expect("inbox")
        .attempts
        .iter()
        .filter(|a| a.1.contains(&id(2, 16)))
        .count();
    assert_eq!(tries_of_2, 1, "a 400 is not retried");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_items_survive_a_restart_and_are_exported_by_the_next_instance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dead = free_port();
    let first = start_gateway(dir.path(), dead.1, "").await;
    assert_eq!(
        first
            .post_beacon("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
            .await
            .status(),
        200
    );
    assert_eq!(
        first.post_otlp(&id(7, 16), &id(7, 8), &[]).await.status(),
        200
    );
    // The exporter reads the acknowledged batches from the ingest log (its receiver is down).
    eventually(5, "the outbox filled", || async {
        first.metric("rum_gateway_export_queue_bytes").await > 0
    })
    .await;
    first.stop().await;

    let (receiver, addr, _stop) = Receiver::start().await;
    let second = start_gateway(dir.path(), addr, "").await;
    eventually(5, "the first instance's data", || async {
        let ids = receiver.trace_ids();
        ids.contains(&id(7, 16))
            && ids.contains(&hex::decode("0af7651916cd43dd8448eb211c80319c").expect("hex"))
    })
    .await;
    eventually(2, "its log records", || async {
        receiver.0.lock().expect("inbox").logs.len() == 2
    })
    .await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_its_oldest_and_counts_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let addr = port.1;
    // Room for a few one-span requests (about 130 bytes each), not ten.
    let gw = start_gateway(dir.path(), addr, "logs = false\nmax_queue_bytes = 400").await;
    for n in 1..=10u8 {
        assert_eq!(gw.post_otlp(&id(n, 16), &id(n, 8), &[]).await.status(), 200);
    }
    eventually(5, "all ten indexed", || async {
        gw.metric("rum_gateway_otlp_spans_accepted_total").await == 10
    })
    .await;
    // The exporter applies the bound as it reads the log, also while it waits to retry.
    eventually(5, "the bound applied", || async {
        gw.metric("rum_gateway_export_dropped_total{signal=\"traces\",reason=\"queue_full\"}")
            .await
            >= 5
    })
    .await;
    // An earlier read may have seen only some of the ten: the count is final once a read
    // after all ten were acknowledged has happened. The exporter reads at least every second
    // while it waits to retry (here every 200 ms at most), so a count that holds for longer
    // than that is final.
    let dropped_now =
        || gw.metric("rum_gateway_export_dropped_total{signal=\"traces\",reason=\"queue_full\"}");
    let mut dropped = dropped_now().await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let again = dropped_now().await;
        if again == dropped {
            break;
        }
        dropped = again;
    }
    assert!((5..10).contains(&dropped), "dropped {dropped}");
    assert!(gw.metric("rum_gateway_export_queue_bytes").await <= 400);

    let (receiver, _stop) = Receiver::start_on(port).await;
    let kept = 10 - dropped as usize;
    eventually(5, "the kept traces", || async {
        receiver.trace_ids().len() == kept
    })
    .await;
    // The newest survived, the oldest went: nothing else, nothing twice.
    let expected: Vec<Vec<u8>> = (dropped as u8 + 1..=10).map(|n| id(n, 16)).collect();
    let mut got = receiver.trace_ids();
    got.sort();
    assert_eq!(got, expected);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_success_counts_the_rejected_spans_as_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (receiver, addr, _stop) = Receiver::start().await;
    receiver.script(&[Answer::Partial(1)]);
    // One span per request: the second must not ride in the first's batch.
    let gw = start_gateway(dir.path(), addr, "logs = false\nmax_batch_items = 1").await;
    assert_eq!(gw.post_otlp(&id(1, 16), &id(1, 8), &[]).await.status(), 200);
    assert_eq!(gw.post_otlp(&id(2, 16), &id(2, 8), &[]).await.status(), 200);
    eventually(5, "the partial success counted", || async {
        gw.metric("rum_gateway_export_dropped_total{signal=\"traces\",reason=\"partial_success\"}")
            .await
            == 1
    })
    .await;
    eventually(5, "the other span exported", || async {
        gw.metric("rum_gateway_export_items_total{signal=\"traces\"}")
            .await
            == 1
    })
    .await;
    assert_eq!(
        receiver.0.lock().expect("inbox").attempts.len(),
        2,
        "a 2xx is final: no retry"
    );
    assert_eq!(gw.metric("rum_gateway_export_queue_bytes").await, 0);
    gw.stop().await;
}

/// Scrubbing runs before the outbox is written: what the receiver gets is scrubbed too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_data_is_scrubbed() {
    let (receiver, endpoint, _stop) = Receiver::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = start_gateway(dir.path(), endpoint, "").await;
    let beacon = json!({
        "v": 1, "sentAt": 1732460000500.0,
        "resource": {"service.name": "shop-web"},
        "session": {"id": SESSION},
        "view": {"id": "a1b2c3d4e5f60718", "url": "http://localhost:8080/reset?token=s3cr3t-t0ken", "type": "navigate", "start": 1732460000000.0},
        "spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "GET", "kind": "client",
                   "start": 1732460000100.0, "end": 1732460000150.0,
                   "attrs": {"url.full": "http://localhost:8080/api/user?email=jane.doe@example.org"}}]
    });
    assert_eq!(gw.post_beacon_json(&beacon).await.status(), 200);
    eventually(5, "the span and the page view", || async {
        receiver.spans().len() == 1 && !receiver.0.lock().expect("inbox").logs.is_empty()
    })
    .await;
    let exported = format!(
        "{:?} {:?}",
        receiver.spans()[0].span,
        receiver.0.lock().expect("inbox").logs
    );
    for secret in ["jane.doe@example.org", "s3cr3t-t0ken", "127.0.0.1"] {
        assert!(
            !exported.contains(secret),
            "{secret} reached the receiver: {exported}"
        );
    }
    assert!(exported.contains("[redacted]"), "{exported}");
    gw.stop().await;
}

/// User journeys (issue 13): an action and its route change go out as spans, a custom event
/// and `session.start` as log records named after the event (`event_name` and `event.name`)
/// with the session, view, user and global attributes, and the view with its journey fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_events_are_exported_as_named_log_records() {
    let (receiver, endpoint, _stop) = Receiver::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = start_gateway(dir.path(), endpoint, "").await;
    let view_id = "b1b2c3d4e5f60718";
    let beacon = json!({
        "v": 1, "sentAt": 1732460009000.0,
        "resource": {"service.name": "shop-web"},
        "session": {"id": SESSION},
        "view": {"id": view_id, "url": "http://localhost:8080/product/42", "referrer": "http://localhost:8080/",
                 "type": "route-change", "start": 1732460005000.0, "name": "/product/:sku",
                 "previousId": "a1b2c3d4e5f60718", "end": 1732460009000.0, "visible": 3999.5, "dropped": {"events": 2}},
        "user": {"id": "u-1234"}, "attrs": {"plan": "pro"},
        "spans": [
            {"traceId": "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a", "spanId": "aaaaaaaaaaaaaaa1", "name": "click Add to cart", "kind": "internal",
             "start": 1732460006000.0, "end": 1732460006300.0,
             "attrs": {"rum.action.type": "click", "rum.action.name": "Add to cart", "rum.action.target": "button#add", "rum.action.click_count": 1}},
            {"traceId": "7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b", "spanId": "bbbbbbbbbbbbbbb1", "name": "routeChange", "kind": "internal",
             "start": 1732460005000.0, "end": 1732460005100.0,
             "attrs": {"url.full": "http://localhost:8080/product/42", "rum.route_change.previous_url": "http://localhost:8080/",
                       "rum.route_change.trigger": "pushState"}}
        ],
        "events": [{"name": "session.start", "time": 1732460000000.0},
                   {"name": "checkout", "time": 1732460008000.0, "attrs": {"items": 2}}]
    });
    assert_eq!(gw.post_beacon_json(&beacon).await.status(), 200);
    eventually(5, "two spans and three log records", || async {
        receiver.spans().len() == 2 && receiver.0.lock().expect("inbox").logs.len() == 3
    })
    .await;
    let spans = receiver.spans();
    let action = spans
        .iter()
        .find(|g| g.span.name == "click Add to cart")
        .expect("action span");
    assert_eq!(
        str_attr(&action.span.attributes, "rum.action.type"),
        Some("click")
    );
    assert_eq!(str_attr(&action.span.attributes, "user.id"), Some("u-1234"));
    assert_eq!(str_attr(&action.span.attributes, "plan"), Some("pro"));
    assert!(spans.iter().any(|g| g.span.name == "routeChange"));

    let logs = receiver.0.lock().expect("inbox").logs.clone();
    let (checkout, resource) = logs
        .iter()
        .find(|(r, _)| r.event_name == "checkout")
        .expect("checkout event");
    assert_eq!(checkout.time_unix_nano, 1_732_460_008_000_000_000);
    assert_eq!(
        str_attr(&checkout.attributes, "event.name"),
        Some("checkout")
    );
    assert_eq!(str_attr(&checkout.attributes, "session.id"), Some(SESSION));
    assert_eq!(
        str_attr(&checkout.attributes, "rum.page_view.id"),
        Some(view_id)
    );
    assert_eq!(str_attr(&checkout.attributes, "user.id"), Some("u-1234"));
    assert_eq!(str_attr(&checkout.attributes, "plan"), Some("pro"));
    assert_eq!(
        attr(&checkout.attributes, "items"),
        Some(&any_value::Value::IntValue(2))
    );
    assert_eq!(
        str_attr(&resource.attributes, "service.name"),
        Some("shop-web")
    );
    let (start, _) = logs
        .iter()
        .find(|(r, _)| r.event_name == "session.start")
        .expect("session.start");
    assert_eq!(start.time_unix_nano, 1_732_460_000_000_000_000);
    let (view, _) = logs
        .iter()
        .find(|(r, _)| r.event_name == "browser.page_view")
        .expect("page view");
    assert_eq!(
        str_attr(&view.attributes, "browser.page_view.name"),
        Some("/product/:sku")
    );
    assert_eq!(
        str_attr(&view.attributes, "browser.page_view.navigation_type"),
        Some("route-change")
    );
    assert_eq!(
        str_attr(&view.attributes, "browser.page_view.previous_id"),
        Some("a1b2c3d4e5f60718")
    );
    assert_eq!(
        attr(&view.attributes, "browser.page_view.end_time_unix_nano"),
        Some(&any_value::Value::IntValue(1_732_460_009_000_000_000))
    );
    assert_eq!(
        attr(&view.attributes, "browser.page_view.visible_ms"),
        Some(&any_value::Value::DoubleValue(3999.5))
    );
    assert_eq!(
        attr(&view.attributes, "browser.page_view.dropped.events"),
        Some(&any_value::Value::IntValue(2))
    );
    assert_eq!(str_attr(&view.attributes, "user.id"), Some("u-1234"));
    // The exporter counts the records once the receiver's answer is back, which is after the
    // receiver has them: waited for, not read at once.
    eventually(5, "3 log records counted as exported", || async {
        gw.metric("rum_gateway_export_items_total{signal=\"logs\"}")
            .await
            == 3
    })
    .await;
    gw.stop().await;
}

/// Issue 14: a browser error arrives as an `exception` log record, its stack symbolicated
/// through a map of the configured directory (`{dir}/{service}/{version}/{path}.map`).
#[tokio::test]
async fn errors_are_exported_as_exception_log_records() {
    let (receiver, endpoint, _stop) = Receiver::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let maps = tempfile::tempdir().expect("tempdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sourcemap");
    let release = maps.path().join("shop-web/1.2.3/assets");
    std::fs::create_dir_all(&release).expect("dir");
    std::fs::copy(
        fixtures.join("app.min.js.map"),
        release.join("app.min.js.map"),
    )
    .expect("map");
    let extra = format!(
        "[errors]\nsourcemap_dir = {:?}\n",
        maps.path().display().to_string()
    );
    let gw = start_gateway(dir.path(), endpoint, &extra).await;
    let stack = std::fs::read_to_string(fixtures.join("chromium-stack.txt")).expect("stack");
    let beacon = json!({
        "v": 1, "sentAt": 1732460009000.0,
        "resource": {"service.name": "shop-web", "service.version": "1.2.3"},
        "session": {"id": SESSION},
        "view": {"id": "c1c2c3d4e5f60718", "url": "http://localhost:8080/cart", "type": "navigate", "start": 1732460005000.0},
        "user": {"id": "u-1234"},
        "errors": [{"type": "TypeError", "message": "Cart has too many items: 3", "stack": stack,
                    "kind": "uncaught", "time": 1732460006000.0, "id": "00000000000000f1", "count": 4,
                    "traceId": "7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c", "spanId": "ccccccccccccccc1"}]
    });
    assert_eq!(gw.post_beacon_json(&beacon).await.status(), 200);
    eventually(5, "the exception record", || async {
        receiver
            .0
            .lock()
            .expect("inbox")
            .logs
            .iter()
            .any(|(r, _)| r.event_name == "exception")
    })
    .await;
    let logs = receiver.0.lock().expect("inbox").logs.clone();
    let (record, resource) = logs
        .iter()
        .find(|(r, _)| r.event_name == "exception")
        .expect("exception");
    assert_eq!(record.time_unix_nano, 1_732_460_006_000_000_000);
    assert_eq!(record.trace_id, vec![0x7c; 16]);
    assert_eq!(
        str_attr(&record.attributes, "event.name"),
        Some("exception")
    );
    assert_eq!(
        str_attr(&record.attributes, "exception.type"),
        Some("TypeError")
    );
    assert_eq!(
        str_attr(&record.attributes, "exception.message"),
        Some("Cart has too many items: 3")
    );
    let trace = str_attr(&record.attributes, "exception.stacktrace").expect("stacktrace");
    assert!(
        trace.starts_with("TypeError: Cart has too many items: 3\n    at levelThree (src/app.js:6:11)\n    at levelTwo (src/app.js:12:19)"),
        "{trace}"
    );
    assert_eq!(
        str_attr(&record.attributes, "rum.error.stacktrace.raw"),
        Some(stack.as_str())
    );
    assert_eq!(str_attr(&record.attributes, "session.id"), Some(SESSION));
    assert_eq!(
        str_attr(&record.attributes, "rum.page_view.id"),
        Some("c1c2c3d4e5f60718")
    );
    assert_eq!(str_attr(&record.attributes, "user.id"), Some("u-1234"));
    assert_eq!(
        attr(&record.attributes, "rum.error.count"),
        Some(&any_value::Value::IntValue(4))
    );
    assert_eq!(
        str_attr(&resource.attributes, "service.version"),
        Some("1.2.3")
    );
    gw.stop().await;
}

/// A data directory from before the exporter read the ingest log: entries waiting in its
/// `outbox` table (that release's schema) are exported first, then what arrives now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_previous_release_s_outbox_table_is_exported_then_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let conn = gateway::store::open(dir.path()).expect("store");
        conn.execute_batch(
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, signal TEXT NOT NULL,
                                  items INTEGER NOT NULL, payload BLOB NOT NULL);
             CREATE TABLE outbox_meta (id INTEGER PRIMARY KEY CHECK (id = 0), bytes INTEGER NOT NULL);",
        )
        .expect("the previous outbox schema");
        let waiting = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: id(9, 16),
                        span_id: id(9, 8),
                        name: "queued before the upgrade".into(),
                        ..Span::default()
                    }],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        conn.execute(
            "INSERT INTO outbox (signal, items, payload) VALUES ('traces', 1, ?1)",
            [waiting.encode_to_vec()],
        )
        .expect("a waiting entry");
    }
    let (receiver, addr, _stop) = Receiver::start().await;
    let gw = start_gateway(dir.path(), addr, "logs = false").await;
    assert_eq!(
        gw.post_otlp(&id(10, 16), &id(10, 8), &[]).await.status(),
        200
    );
    eventually(5, "the old entry and the new span", || async {
        let ids = receiver.trace_ids();
        ids.contains(&id(9, 16)) && ids.contains(&id(10, 16))
    })
    .await;
    assert_eq!(receiver.trace_ids()[0], id(9, 16), "the older entry first");
    gw.stop().await;
    let conn = gateway::store::open(dir.path()).expect("store");
    let left: i64 = conn
        .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
        .expect("count");
    assert_eq!(left, 0, "delivered entries leave the old table");
}

/// With tail sampling, export waits for each trace's decision and sends only kept traces: the
/// backend's trace (a `[[sample.keep]]` rule on its service) arrives after its decision window;
/// the browser-only trace (ratio 0) never does, while its page view and vital (not sampled)
/// are exported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tail_sampling_only_kept_traces_are_exported_after_their_decision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (receiver, addr, _stop) = Receiver::start().await;
    let gateway = start_gateway(
        dir.path(),
        addr,
        "[sample]\ndecision_wait_ms = 1500\n\
         [[sample.keep]]\nattribute = \"service.name\"\nequals = \"shop-api\"\n\
         [[sample.rules]]\nratio = 0.0\n",
    )
    .await;
    let browser_trace = "0af7651916cd43dd8448eb211c80319c";
    let sent = Instant::now();
    assert_eq!(
        gateway
            .post_beacon(browser_trace, "b7ad6b7169203331")
            .await
            .status(),
        200
    );
    assert_eq!(
        gateway.post_otlp(&id(7, 16), &id(7, 8), &[]).await.status(),
        200
    );
    eventually(10, "the kept trace", || async {
        receiver.trace_ids() == [id(7, 16)]
    })
    .await;
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(1500),
        "exported after {waited:?}, before the decision window ended"
    );
    eventually(5, "the page view and vital", || async {
        receiver.0.lock().expect("inbox").logs.len() == 2
    })
    .await;
    let series = |decision: &str, reason: &str| {
        format!("rum_gateway_traces_sampled_total{{decision=\"{decision}\",reason=\"{reason}\"}}")
    };
    assert_eq!(gateway.metric(&series("kept", "keep_rule")).await, 1);
    assert_eq!(gateway.metric(&series("dropped", "ratio")).await, 1);
    assert_eq!(
        gateway.metric("rum_gateway_spans_sampled_out_total").await,
        1
    );
    // Time for a wrong export of the dropped trace to show.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.trace_ids(), [id(7, 16)]);
    gateway.stop().await;
}
