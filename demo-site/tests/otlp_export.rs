//! End-to-end checks of the backend's tracing: a fake OTLP receiver stands in for rum-gateway,
//! and the tests assert that a request carrying a browser `traceparent` produces a SERVER span
//! continuing that trace, exported as OTLP/HTTP protobuf with the API key.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt as _;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tower::ServiceExt as _;

use common::{
    blocking, body_json, config, hex, int_attr, start_receiver, string_attr, PARENT_SPAN_ID,
    TRACEPARENT, TRACE_ID,
};
use demo_site::telemetry;

/// Asserts the server span and its `reserve stock` child continue the browser's trace.
fn assert_cart_trace(spans: &[(String, Span)]) {
    let (service, server) = spans
        .iter()
        .find(|(_, span)| span.kind == SpanKind::Server as i32)
        .expect("a SERVER span was exported");
    assert_eq!(service, telemetry::SERVICE_NAME);
    assert_eq!(server.name, "POST /api/cart");
    assert_eq!(hex(&server.trace_id), TRACE_ID);
    assert_eq!(hex(&server.parent_span_id), PARENT_SPAN_ID);
    assert_eq!(
        string_attr(&server.attributes, "http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(
        string_attr(&server.attributes, "http.route").as_deref(),
        Some("/api/cart")
    );
    assert_eq!(
        string_attr(&server.attributes, "url.path").as_deref(),
        Some("/api/cart")
    );
    assert_eq!(
        int_attr(&server.attributes, "http.response.status_code"),
        Some(200)
    );
    assert!(string_attr(&server.attributes, "server.address").is_some());

    let (_, child) = spans
        .iter()
        .find(|(_, span)| span.name == "reserve stock")
        .expect("the reserve stock span was exported");
    assert_eq!(child.kind, SpanKind::Internal as i32);
    assert_eq!(hex(&child.trace_id), TRACE_ID);
    assert_eq!(child.parent_span_id, server.span_id);
    assert!(
        child.end_time_unix_nano - child.start_time_unix_nano >= 10_000_000,
        "sleeps ~15 ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cart_request_exports_a_child_of_the_browser_span() {
    let (gateway, received) = start_receiver().await;
    let provider = telemetry::init_tracer_provider(&gateway, "test-key").expect("tracer provider");
    let app = demo_site::app(&config(&gateway, "test-key"), telemetry::tracer(&provider));

    let response = app
        .oneshot(
            Request::post("/api/cart")
                .header(header::HOST, "shop.test:8080")
                .header(header::USER_AGENT, "demo-site-test")
                .header(header::CONTENT_TYPE, "application/json")
                .header("traceparent", TRACEPARENT)
                .header("tracestate", "rum=1")
                .body(Body::from(r#"{"sku":"tea-01"}"#))
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_json(response).await,
        serde_json::json!({"ok": true, "sku": "tea-01", "items": 1})
    );

    let provider = blocking(move || {
        provider.force_flush().expect("flush");
        provider
    })
    .await;

    let exports = received.exports();
    assert!(!exports.is_empty(), "the receiver got no export");
    for (headers, _) in &exports {
        assert_eq!(
            headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()),
            Some(&b"Bearer test-key"[..])
        );
        assert_eq!(
            headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(&b"application/x-protobuf"[..])
        );
    }
    let spans = received.spans();
    assert_cart_trace(&spans);
    let (_, server) = spans
        .iter()
        .find(|(_, span)| span.kind == SpanKind::Server as i32)
        .expect("server span");
    assert_eq!(server.trace_state, "rum=1");
    assert_eq!(
        string_attr(&server.attributes, "server.address").as_deref(),
        Some("shop.test")
    );
    assert_eq!(int_attr(&server.attributes, "server.port"), Some(8080));
    assert_eq!(
        string_attr(&server.attributes, "user_agent.original").as_deref(),
        Some("demo-site-test")
    );

    blocking(move || provider.shutdown())
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn api_and_page_answer_without_an_exporter() {
    // A provider with no processor: spans are created but go nowhere.
    let provider = SdkTracerProvider::builder().build();
    let app = demo_site::app(
        &config("http://gateway.test:4318", "k'ey"),
        telemetry::tracer(&provider),
    );

    let response = app
        .clone()
        .oneshot(
            Request::get("/api/products")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let products = body_json(response).await;
    assert_eq!(products.as_array().map(Vec::len), Some(3));

    for bad in [r#"{"sku":"#, r#"{"item":"tea-01"}"#, r#"{"sku":"nope"}"#] {
        let response = app
            .clone()
            .oneshot(
                Request::post("/api/cart")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(bad))
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "body {bad}");
        let answer = body_json(response).await;
        assert_eq!(answer["ok"], false);
        assert!(answer["reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty()));
    }
    // Without a JSON content type axum would answer 415; the shop still answers 400 with JSON.
    let response = app
        .clone()
        .oneshot(
            Request::post("/api/cart")
                .body(Body::from(r#"{"sku":"tea-01"}"#))
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let response = app
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let page = response
        .into_body()
        .collect()
        .await
        .expect("page")
        .to_bytes();
    let page = std::str::from_utf8(&page).expect("UTF-8 page");
    assert!(page.contains("<title>Demo shop</title>"));
    assert!(page.contains("endpoint: 'http://gateway.test:4318'"));
    assert!(page.contains(r"apiKey: 'k\'ey'"));

    let response = app
        .oneshot(
            Request::get("/sdk/index.js")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sdk_files_are_served_with_wasm_content_type() {
    let dir = std::env::temp_dir().join(format!("demo-site-sdk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("sdk dir");
    std::fs::write(dir.join("index.js"), "export function init() {}\n").expect("index.js");
    std::fs::write(dir.join("rum_sdk_bg.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    let mut config = config("http://gateway.test:4318", "dev");
    config.sdk_dir = dir.clone();
    let app = demo_site::app(
        &config,
        telemetry::tracer(&SdkTracerProvider::builder().build()),
    );

    for (path, content_type) in [
        ("/sdk/index.js", "text/javascript"),
        ("/sdk/rum_sdk_bg.wasm", "application/wasm"),
    ] {
        let response = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let actual = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        assert!(actual.starts_with(content_type), "{path}: {actual}");
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// The real binary: prints its URL, traces a request, and on SIGTERM exits 0 after flushing,
/// with no panic from the blocking HTTP client inside the tokio runtime.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_flushes_spans_on_sigterm() {
    let (gateway, received) = start_receiver().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_demo-site"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--gateway",
            &gateway,
            "--api-key",
            "bin-key",
        ])
        .args(["--sdk-dir", "does-not-exist"])
        .env("RUST_LOG", "info")
        .env_remove("OTEL_EXPORTER_OTLP_HEADERS")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start demo-site");
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    // Drain stderr in the background so the child never blocks on a full pipe.
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let (status, response) = blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read stdout");
        let url = line
            .trim()
            .strip_prefix("demo page: ")
            .expect("demo page line")
            .to_owned();
        let authority = url
            .strip_prefix("http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .expect("http URL")
            .to_owned();

        let body = r#"{"sku":"tea-01"}"#;
        let mut stream = TcpStream::connect(&authority).expect("connect to demo-site");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            stream,
            "POST /api/cart HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
             traceparent: {TRACEPARENT}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read response");

        let killed = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("demo-site did not exit after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (status, response)
    })
    .await;
    let stderr = stderr_reader.join().expect("stderr reader");

    assert!(response.starts_with("HTTP/1.1 200"), "response: {response}");
    assert!(status.success(), "exit status {status}; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
    let exports = received.exports();
    assert!(
        !exports.is_empty(),
        "no export reached the receiver; stderr:\n{stderr}"
    );
    assert!(exports.iter().all(|(headers, _)| {
        headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()) == Some(&b"Bearer bin-key"[..])
    }));
    assert_cart_trace(&received.spans());
}
