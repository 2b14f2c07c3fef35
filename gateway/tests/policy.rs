//! The policy stages driven through the real routers: scrubbing before the store, trace-id
//! ratio sampling across browser and backend halves, gzip and its cap, count and length
//! caps, rate limits (in-process and on a real loopback socket), load shedding, and the
//! admin token.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use gateway::admin_auth;
use gateway::config::{Config, Overrides};
use gateway::server::{admin_router, ingest_router};
use gateway::store::writer::{self, Writer};
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{json, Value};
use tower::ServiceExt;

const APP: &str = r#"
[[apps]]
name = "shop"
key = "dev"
allowed_origins = ["http://localhost:*"]
"#;

struct Gateway {
    ingest: Router,
    admin: Router,
    dir: tempfile::TempDir,
    _writer: Writer,
}

fn gateway_with(extra_toml: &str, queue: usize) -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    let overrides = Overrides {
        data_dir: Some(dir.path().into()),
        ..Overrides::default()
    };
    let config = Config::from_toml(&format!("{extra_toml}\n{APP}"), overrides).expect("config");
    let (store, writer) = writer::start(dir.path(), queue).expect("store");
    Gateway {
        ingest: ingest_router(Arc::new(config), store.clone()),
        admin: admin_router(store),
        dir,
        _writer: writer,
    }
}

async fn send(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let response = router.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

async fn get(router: &Router, path: &str) -> (StatusCode, Value) {
    let (status, body, _) = send(
        router,
        Request::get(path).body(Body::empty()).expect("request"),
    )
    .await;
    (status, body)
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
    let conn = rusqlite::Connection::open(gw.dir.path().join("rum.sqlite")).expect("open");
    let mut stmt = conn
        .prepare("SELECT trace_id, source FROM spans")
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query");
    rows.collect::<Result<Vec<_>, _>>().expect("rows")
}

// ---------------------------------------------------------------------------------------
// Scrubbing

#[tokio::test]
async fn personal_data_is_scrubbed_before_it_is_stored() {
    let gw = gateway_with("", 64);
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let span = browser_span(
        trace_id,
        "b7ad6b7169203331",
        json!({
            "url.full": "http://localhost:8080/api/user?Email=jane.doe%40example.com&tab=2",
            "user.note": "call jane.doe@example.com about card 4111 1111 1111 1111",
            "http.request.header.authorization": "Bearer sk_live_abcdef123456",
            "client.address": "203.0.113.9",
        }),
    );
    let body = beacon(
        "http://localhost:8080/account?token=T0pS3cret&contact=jane.doe@example.com",
        vec![span],
    );
    let (status, _, _) = send(&gw.ingest, post_beacon(body.to_string(), None)).await;
    assert_eq!(status, StatusCode::OK);

    let (status, trace) = get(&gw.admin, &format!("/api/traces/{trace_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, views) = get(&gw.admin, "/api/page_views").await;
    let stored = format!("{trace}{views}");
    for raw in [
        "jane.doe",
        "T0pS3cret",
        "4111 1111",
        "sk_live_abcdef123456",
        "203.0.113.9",
    ] {
        assert!(!stored.contains(raw), "{raw:?} was stored: {stored}");
    }
    let attrs = &trace["spans"][0]["attributes"];
    assert_eq!(
        attrs["url.full"],
        "http://localhost:8080/api/user?Email=[redacted]&tab=2"
    );
    assert_eq!(attrs["user.note"], "call [email] about card [card]");
    assert!(attrs.get("client.address").is_none());
    assert_eq!(
        trace["page_view"]["url"],
        "http://localhost:8080/account?token=[redacted]&contact=[email]"
    );
    // And nothing of it is in the file, not even in a page the API does not show.
    let file = std::fs::read(gw.dir.path().join("rum.sqlite")).expect("db");
    let wal = std::fs::read(gw.dir.path().join("rum.sqlite-wal")).unwrap_or_default();
    for bytes in [file, wal] {
        assert!(
            !bytes.windows(8).any(|w| w == b"jane.doe"),
            "raw e-mail in the store file"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Sampling

/// splitmix64: deterministic ids without a dev-dependency.
fn ids(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[tokio::test]
async fn browser_and_backend_halves_of_a_trace_are_kept_or_dropped_together() {
    const TRACES: usize = 10_000;
    const RATIO: f64 = 0.25;
    let gw = gateway_with(
        &format!("[[sample.rules]]\nenvironment = \"prod\"\nratio = {RATIO}\n"),
        64,
    );
    let mut next = ids(42);
    let traces: Vec<[u8; 16]> = (0..TRACES)
        .map(|_| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&next().to_be_bytes());
            id[8..].copy_from_slice(&next().to_be_bytes());
            id
        })
        .collect();

    let send_browser = |chunk: &[[u8; 16]]| {
        let spans = chunk
            .iter()
            .map(|t| browser_span(&hex::encode(t), "b7ad6b7169203331", json!({})))
            .collect();
        post_beacon(beacon("http://localhost:8080/", spans).to_string(), None)
    };
    let send_backend = |chunk: &[[u8; 16]]| {
        post_otlp(
            &otlp(chunk.iter().map(|t| otlp_span(*t, [7; 8], 0x01)).collect()),
            None,
        )
    };
    // The first half's browser spans arrive first, the second half's backend spans.
    let (first, second) = traces.split_at(TRACES / 2);
    for chunk in first.chunks(500) {
        assert_eq!(
            send(&gw.ingest, send_browser(chunk)).await.0,
            StatusCode::OK
        );
    }
    for chunk in traces.chunks(1000) {
        assert_eq!(
            send(&gw.ingest, send_backend(chunk)).await.0,
            StatusCode::OK
        );
    }
    for chunk in second.chunks(500) {
        assert_eq!(
            send(&gw.ingest, send_browser(chunk)).await.0,
            StatusCode::OK
        );
    }

    let stored = stored_spans(&gw);
    let mut by_trace = std::collections::HashMap::<String, Vec<String>>::new();
    for (trace, source) in stored {
        by_trace.entry(trace).or_default().push(source);
    }
    for (trace, sources) in &by_trace {
        assert_eq!(sources.len(), 2, "trace {trace} kept only {sources:?}");
    }
    let kept = by_trace.len() as f64;
    let n = TRACES as f64;
    let sigma = (n * RATIO * (1.0 - RATIO)).sqrt();
    println!(
        "kept {kept} of {n} traces at ratio {RATIO}; expected {} ± {:.0} (4σ)",
        n * RATIO,
        4.0 * sigma
    );
    assert!(
        (kept - n * RATIO).abs() < 4.0 * sigma,
        "kept {kept} of {n} at ratio {RATIO}"
    );

    // The same decisions as OpenTelemetry's own TraceIdRatioBased sampler.
    use opentelemetry::trace::{SpanKind, TraceId};
    use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};
    let reference = Sampler::TraceIdRatioBased(RATIO);
    for t in &traces {
        let decision = reference
            .should_sample(
                None,
                TraceId::from_bytes(*t),
                "x",
                &SpanKind::Internal,
                &[],
                &[],
            )
            .decision;
        let otel_keeps = decision == SamplingDecision::RecordAndSample;
        assert_eq!(
            by_trace.contains_key(&hex::encode(t)),
            otel_keeps,
            "trace {}",
            hex::encode(t)
        );
    }
}

#[tokio::test]
async fn otlp_spans_marked_unsampled_are_dropped_and_unknown_flags_kept() {
    let gw = gateway_with("", 64);
    let request = otlp(vec![
        otlp_span([1; 16], [1; 8], 0),     // flags unknown: kept
        otlp_span([2; 16], [1; 8], 0x101), // sampled, remote known: kept
        otlp_span([3; 16], [1; 8], 0x100), // known, not sampled: dropped
    ]);
    assert_eq!(
        send(&gw.ingest, post_otlp(&request, None)).await.0,
        StatusCode::OK
    );
    let mut traces: Vec<String> = stored_spans(&gw).into_iter().map(|(t, _)| t).collect();
    traces.sort();
    assert_eq!(traces, [hex::encode([1u8; 16]), hex::encode([2u8; 16])]);
}

#[tokio::test]
async fn keep_errors_keeps_a_dropped_trace_with_an_error_span() {
    let gw = gateway_with(
        "[sample]\nkeep_errors = true\n[[sample.rules]]\nratio = 0.0\n",
        64,
    );
    let mut error_span = otlp_span([5; 16], [2; 8], 1);
    error_span.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
        code: 2,
        message: "boom".into(),
    });
    let request = otlp(vec![
        otlp_span([5; 16], [1; 8], 1),
        error_span,
        otlp_span([6; 16], [1; 8], 1),
    ]);
    assert_eq!(
        send(&gw.ingest, post_otlp(&request, None)).await.0,
        StatusCode::OK
    );
    let traces: Vec<String> = stored_spans(&gw).into_iter().map(|(t, _)| t).collect();
    assert_eq!(traces, [hex::encode([5u8; 16]), hex::encode([5u8; 16])]);
}

// ---------------------------------------------------------------------------------------
// Encoding and caps

#[tokio::test]
async fn gzip_is_accepted_on_both_endpoints_and_capped() {
    let gw = gateway_with("[limits]\nmax_decompressed_bytes = 65536\n", 64);
    let body = beacon(
        "http://localhost:8080/",
        vec![browser_span(
            "0af7651916cd43dd8448eb211c80319c",
            "b7ad6b7169203331",
            json!({}),
        )],
    );
    let (status, counts, _) = send(
        &gw.ingest,
        post_beacon(gzip(body.to_string().as_bytes()), Some("gzip")),
    )
    .await;
    assert_eq!(
        (status, counts["spans"].clone()),
        (StatusCode::OK, json!(1))
    );
    let request = otlp(vec![otlp_span([9; 16], [9; 8], 1)]);
    assert_eq!(
        send(&gw.ingest, post_otlp(&request, Some("gzip"))).await.0,
        StatusCode::OK
    );
    assert_eq!(stored_spans(&gw).len(), 2);

    // 16 MiB of spaces (valid JSON whitespace) in 16 KiB: refused at the cap, not inflated.
    let bomb = gzip(&vec![b' '; 16 << 20]);
    assert!(bomb.len() < (1 << 20));
    let (status, err, _) = send(&gw.ingest, post_beacon(bomb, Some("gzip"))).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );

    // A page may gzip its beacons (CompressionStream): the preflight allows the header.
    let preflight = Request::options("/v1/rum?key=dev")
        .header(header::ORIGIN, "http://localhost:8080")
        .body(Body::empty())
        .expect("request");
    let (_, _, headers) = send(&gw.ingest, preflight).await;
    let allowed = headers
        .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
        .and_then(|v| v.to_str().ok());
    assert!(
        allowed.is_some_and(|h| h.contains("content-encoding")),
        "{allowed:?}"
    );

    let (status, err, _) = send(&gw.ingest, post_beacon(body.to_string(), Some("br"))).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_encoding")
        )
    );
    let mut otlp_br = post_otlp(&request, None);
    otlp_br
        .headers_mut()
        .insert(header::CONTENT_ENCODING, "deflate".parse().expect("value"));
    assert_eq!(
        send(&gw.ingest, otlp_br).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        stored_spans(&gw).len(),
        2,
        "nothing of a refused request is stored"
    );
}

#[tokio::test]
async fn too_many_events_are_refused_and_long_strings_truncated() {
    let gw = gateway_with(
        "[limits]\nmax_events_per_request = 3\nmax_string_chars = 10\n",
        64,
    );
    let spans: Vec<Value> = (1..=3)
        .map(|i| {
            browser_span(
                &format!("0af7651916cd43dd8448eb211c8031{i:02}"),
                "b7ad6b7169203331",
                json!({}),
            )
        })
        .collect();
    // 3 spans + 1 vital = 4 events.
    let (status, err, _) = send(
        &gw.ingest,
        post_beacon(beacon("http://localhost:8080/", spans).to_string(), None),
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_many_events"))
    );
    assert!(stored_spans(&gw).is_empty());

    let span = browser_span(
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        json!({"note": "abcdefghijklmnop"}),
    );
    assert_eq!(
        send(
            &gw.ingest,
            post_beacon(
                beacon("http://localhost:8080/", vec![span]).to_string(),
                None
            )
        )
        .await
        .0,
        StatusCode::OK
    );
    let (_, trace) = get(&gw.admin, "/api/traces/0af7651916cd43dd8448eb211c80319c").await;
    assert_eq!(
        trace["spans"][0]["attributes"]["note"],
        "abcdefghij…[truncated]"
    );
}

#[tokio::test]
async fn a_beacon_span_may_carry_the_full_128_attributes() {
    let gw = gateway_with("", 8);
    let attrs: serde_json::Map<String, Value> =
        (0..128).map(|i| (format!("a{i}"), json!(i))).collect();
    let span = browser_span(
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        Value::Object(attrs.clone()),
    );
    let request = post_beacon(
        beacon("http://localhost:8080/", vec![span]).to_string(),
        None,
    );
    assert_eq!(send(&gw.ingest, request).await.0, StatusCode::OK);
    // One more is refused, by validation for beacons and by the cap for OTLP.
    let mut too_many = otlp_span([3; 16], [3; 8], 1);
    too_many.attributes = (0..129)
        .map(|i| string_attr(&format!("a{i}"), "x"))
        .collect();
    let (status, err, _) = send(&gw.ingest, post_otlp(&otlp(vec![too_many]), None)).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_field"))
    );
}

// ---------------------------------------------------------------------------------------
// Rate limits and load shedding

#[tokio::test]
async fn an_ingest_key_over_its_rate_gets_429_with_retry_after() {
    let gw = gateway_with(
        "[limits]\nkey_rate = { per_second = 0.25, burst = 2 }\n",
        64,
    );
    let request = || post_otlp(&otlp(vec![otlp_span([1; 16], [1; 8], 1)]), None);
    assert_eq!(send(&gw.ingest, request()).await.0, StatusCode::OK);
    assert_eq!(send(&gw.ingest, request()).await.0, StatusCode::OK);
    let (status, err, headers) = send(&gw.ingest, request()).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    assert_eq!(
        headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("4")
    );
}

#[tokio::test]
async fn an_apps_own_rate_limit_overrides_the_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
        [[apps]]
        name = "tight"
        key = "tight-key"
        rate_limit = { per_second = 1, burst = 1 }
        [[apps]]
        name = "loose"
        key = "loose-key"
    "#;
    let overrides = Overrides {
        data_dir: Some(dir.path().into()),
        ..Overrides::default()
    };
    let config = Config::from_toml(text, overrides).expect("config");
    let (store, _writer) = writer::start(dir.path(), 8).expect("store");
    let ingest = ingest_router(Arc::new(config), store);
    let request = |key: &str| {
        let mut r = post_otlp(&otlp(vec![otlp_span([1; 16], [1; 8], 1)]), None);
        r.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {key}").parse().expect("value"),
        );
        r
    };
    assert_eq!(send(&ingest, request("tight-key")).await.0, StatusCode::OK);
    assert_eq!(
        send(&ingest, request("tight-key")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    for _ in 0..5 {
        assert_eq!(send(&ingest, request("loose-key")).await.0, StatusCode::OK);
    }
}

/// A raw HTTP/1.1 request on a real socket; returns the status and the `Retry-After` value.
async fn raw_post(addr: SocketAddr) -> (u16, Option<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = "POST /v1/traces HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer dev\r\n\
                   Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let retry = response.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("retry-after: ")
            .map(|v| v.trim().to_string())
    });
    (status, retry)
}

#[tokio::test]
async fn a_client_ip_over_its_rate_gets_429_on_a_real_socket() {
    let gw = gateway_with("[limits]\nip_rate = { per_second = 0.5, burst = 2 }\n", 64);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = gw
        .ingest
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    assert_eq!(raw_post(addr).await.0, 200);
    assert_eq!(raw_post(addr).await.0, 200);
    assert_eq!(raw_post(addr).await, (429, Some("2".to_string())));
    // In-process requests carry no peer address and are not limited per IP.
    let request = post_otlp(&otlp(vec![]), None);
    assert_eq!(send(&gw.ingest, request).await.0, StatusCode::OK);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_store_queue_sheds_load_with_503_and_loses_nothing_acknowledged() {
    let gw = gateway_with("", 1);
    // Hold SQLite's write lock so the writer stalls on its first commit.
    let blocker = rusqlite::Connection::open(gw.dir.path().join("rum.sqlite")).expect("open");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let request = |n: u8| post_otlp(&otlp(vec![otlp_span([n; 16], [1; 8], 1)]), None);
    let ingest = gw.ingest.clone();
    let first = tokio::spawn(async move { send(&ingest, request(1)).await.0 });
    tokio::time::sleep(Duration::from_millis(300)).await; // the writer holds it, stalled
    let ingest = gw.ingest.clone();
    let second = tokio::spawn(async move { send(&ingest, request(2)).await.0 });
    tokio::time::sleep(Duration::from_millis(300)).await; // it fills the queue of 1
    let (status, err, headers) = send(&gw.ingest, request(3)).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("busy"))
    );
    assert_eq!(
        headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    blocker.execute_batch("ROLLBACK").expect("unlock");
    assert_eq!(first.await.expect("first"), StatusCode::OK);
    assert_eq!(second.await.expect("second"), StatusCode::OK);
    let mut traces: Vec<String> = stored_spans(&gw).into_iter().map(|(t, _)| t).collect();
    traces.sort();
    assert_eq!(traces, [hex::encode([1u8; 16]), hex::encode([2u8; 16])]);
}

// ---------------------------------------------------------------------------------------
// Admin token

const TOKEN: &str = "s3cr3t-admin-token-0123456789";

#[tokio::test]
async fn the_admin_listener_wants_the_token_by_header_or_cookie() {
    let gw = gateway_with("", 8);
    let admin = admin_auth::protect(gw.admin.clone(), Some(TOKEN));
    let call = |path: &str, header: Option<(header::HeaderName, String)>| {
        let mut builder = Request::get(path);
        if let Some((name, value)) = header {
            builder = builder.header(name, value);
        }
        builder.body(Body::empty()).expect("request")
    };
    assert_eq!(
        send(&admin, call("/api/traces", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&admin, call("/", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let wrong = Some((
        header::AUTHORIZATION,
        "Bearer s3cr3t-admin-token-0123456788".to_string(),
    ));
    assert_eq!(
        send(&admin, call("/api/traces", wrong)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let right = Some((header::AUTHORIZATION, format!("Bearer {TOKEN}")));
    assert_eq!(
        send(&admin, call("/api/traces", right)).await.0,
        StatusCode::OK
    );
    assert_eq!(send(&admin, call("/healthz", None)).await.0, StatusCode::OK);

    // The viewer link: ?token= sets the cookie and sends the browser back to /.
    let (status, _, headers) = send(&admin, call(&format!("/?token={TOKEN}"), None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some("/")
    );
    let cookie = headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("pair").to_string();
    let with_cookie = Some((header::COOKIE, format!("theme=dark; {pair}")));
    assert_eq!(
        send(&admin, call("/api/page_views", with_cookie.clone()))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(send(&admin, call("/", with_cookie)).await.0, StatusCode::OK);
    assert_eq!(
        send(&admin, call("/?token=nope", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn a_public_admin_listener_needs_a_token() {
    let public = "[server]\nadmin_listen = \"0.0.0.0:4319\"\n";
    let err =
        Config::from_toml(&format!("{public}{APP}"), Overrides::default()).expect_err("no token");
    assert!(err.to_string().contains("admin_token"), "{err}");
    let with_token =
        format!("[server]\nadmin_listen = \"0.0.0.0:4319\"\nadmin_token = \"{TOKEN}\"\n{APP}");
    let config = Config::from_toml(&with_token, Overrides::default()).expect("config");
    assert_eq!(config.admin_token(), Some(TOKEN));
    let short = format!("[server]\nadmin_token = \"short\"\n{APP}");
    assert!(Config::from_toml(&short, Overrides::default()).is_err());
    // The flag (or its environment variable) wins over the file.
    let overrides = Overrides {
        admin_token: Some("from-the-environment-0123".into()),
        ..Overrides::default()
    };
    let config = Config::from_toml(&format!("{public}{APP}"), overrides).expect("config");
    assert_eq!(config.admin_token(), Some("from-the-environment-0123"));
    // Loopback needs none.
    assert!(Config::from_toml(APP, Overrides::default())
        .expect("config")
        .admin_token()
        .is_none());
}

#[test]
fn the_documented_example_config_is_valid() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/config.md"))
        .expect("docs");
    let example = doc
        .split("```toml")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block");
    let config = Config::from_toml(example, Overrides::default()).expect("the example parses");
    assert_eq!(config.sample().rules.len(), 2);
    assert_eq!(config.limits().ip_rate.burst, 100.0);
    assert_eq!(
        config.apps()[0].rate_limit.map(|r| r.per_second),
        Some(200.0)
    );
}
