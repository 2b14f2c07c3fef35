//! The ingest path driven in-process: every rejection's status and reason, that nothing of a
//! rejected request is stored, and that valid beacons and OTLP (protobuf and JSON) are.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{json, Value};
use tower::ServiceExt;

mod common;
use common::{get, now_ms, send, InProcess as Gateway};

fn gateway_with(config_toml: Option<&str>) -> Gateway {
    match config_toml {
        Some(text) => Gateway::from_toml(text, 64),
        None => Gateway::dev(),
    }
}

fn gateway() -> Gateway {
    Gateway::dev()
}

const ORIGIN: &str = "http://localhost:8080";
const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const SPAN_ID: &str = "b7ad6b7169203331";

fn beacon(trace_id: &str) -> Value {
    json!({
        // Sent now, so the gateway's clock-skew correction leaves the fixed times below alone.
        "v": 1, "sentAt": now_ms(),
        "resource": {"service.name": "shop-web", "service.version": "1.2.3"},
        "session": {"id": "0123456789abcdef0123456789abcdef"},
        "view": {"id": "a1b2c3d4e5f60718", "url": "http://localhost:8080/", "type": "navigate", "start": 1732460000000.0},
        "spans": [{"traceId": trace_id, "spanId": SPAN_ID, "name": "HTTP POST", "kind": "client",
                   "start": 1732460000100.0, "end": 1732460000150.0,
                   "attrs": {"http.request.method": "POST", "url.full": "http://localhost:8080/api/cart", "http.response.status_code": 200}}],
        "vitals": [{"name": "LCP", "value": 812.5, "delta": 812.5, "id": "v1-1-1", "rating": "good", "nav": "navigate"},
                   {"name": "CLS", "value": 0.0, "delta": 0.0, "id": "v1-1-2", "rating": "good", "nav": "navigate"}]
    })
}

fn post_beacon(
    query: &str,
    origin: Option<&str>,
    content_type: &str,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::post(format!("/v1/rum{query}")).header("content-type", content_type);
    if let Some(origin) = origin {
        builder = builder.header("origin", origin);
    }
    builder.body(body.into()).expect("request")
}

async fn stored_trace_count(gw: &Gateway) -> usize {
    let (status, body) = get(&gw.admin, "/api/traces").await;
    assert_eq!(status, StatusCode::OK);
    body["traces"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_valid_beacon_is_stored_and_read_back_with_cors() {
    let gw = gateway();
    let request = post_beacon(
        "?key=dev",
        Some(ORIGIN),
        "text/plain;charset=UTF-8",
        beacon(TRACE_ID).to_string(),
    );
    let (status, body, headers) = send(&gw.ingest, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"spans": 1, "vitals": 2}));
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);

    let (status, trace) = get(&gw.admin, &format!("/api/traces/{TRACE_ID}")).await;
    assert_eq!(status, StatusCode::OK);
    let span = &trace["spans"][0];
    assert_eq!(span["span_id"], SPAN_ID);
    assert_eq!(span["kind"], "client");
    assert_eq!(span["start_time_unix_nano"], "1732460000100000000");
    assert_eq!(
        span["attributes"]["session.id"],
        "0123456789abcdef0123456789abcdef"
    );
    assert_eq!(span["resource"]["service.name"], "shop-web");
    assert_eq!(trace["page_view"]["vitals"]["LCP"]["value"], 812.5);

    let (_, views) = get(&gw.admin, "/api/page_views").await;
    assert_eq!(
        views["page_views"][0]["session_id"],
        "0123456789abcdef0123456789abcdef"
    );
    assert_eq!(views["page_views"][0]["vitals"]["CLS"]["rating"], "good");
}

#[tokio::test]
async fn a_gzip_beacon_named_in_the_query_is_inflated_and_stored() {
    use std::io::Write;
    let gw = gateway();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(beacon(TRACE_ID).to_string().as_bytes())
        .expect("gzip");
    let gz = encoder.finish().expect("gzip");
    // What sendBeacon sends: no Content-Encoding header, the encoding in the query.
    let request = post_beacon(
        "?key=dev&encoding=gzip",
        Some(ORIGIN),
        "text/plain",
        gz.clone(),
    );
    let (status, body, _) = send(&gw.ingest, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"spans": 1, "vitals": 2}));
    assert_eq!(stored_trace_count(&gw).await, 1);
    // The same bytes without the parameter are not JSON.
    let request = post_beacon("?key=dev", Some(ORIGIN), "text/plain", gz);
    let (status, body, _) = send(&gw.ingest, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "malformed_body");
}

#[tokio::test]
async fn preflight_is_answered_for_allowed_origins_only() {
    let gw = gateway();
    let preflight = |origin: &str| {
        Request::options("/v1/rum?key=dev")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .expect("request")
    };
    let (status, _, headers) = send(&gw.ingest, preflight(ORIGIN)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    assert!(headers["access-control-allow-methods"]
        .to_str()
        .expect("ascii")
        .contains("POST"));
    let (status, _, headers) = send(&gw.ingest, preflight("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn each_bad_input_gets_its_status_and_reason_and_nothing_is_stored() {
    let gw = gateway_with(Some(
        "[limits]\nmax_body_bytes = 4096\n[[apps]]\nname = \"shop\"\nkey = \"k1\"\nallowed_origins = [\"http://localhost:*\"]\n",
    ));
    let valid = beacon("11111111111111111111111111111111").to_string();
    let mut unknown_version = beacon("22222222222222222222222222222222");
    unknown_version["v"] = json!(2);
    let big = format!("{{\"v\":1,\"pad\":\"{}\"}}", "x".repeat(5000));
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            post_beacon("?key=k1", Some(ORIGIN), "text/plain", "{\"v\":1,"),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        (
            "unknown version",
            post_beacon(
                "?key=k1",
                Some(ORIGIN),
                "text/plain",
                unknown_version.to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "unsupported_version",
        ),
        (
            "missing key",
            post_beacon("", Some(ORIGIN), "text/plain", valid.clone()),
            StatusCode::UNAUTHORIZED,
            "missing_key",
        ),
        (
            "unknown key",
            post_beacon("?key=nope", Some(ORIGIN), "text/plain", valid.clone()),
            StatusCode::FORBIDDEN,
            "unknown_key",
        ),
        (
            "origin not allowed",
            post_beacon(
                "?key=k1",
                Some("https://evil.example"),
                "text/plain",
                valid.clone(),
            ),
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
        ),
        (
            "body over the limit",
            post_beacon("?key=k1", Some(ORIGIN), "text/plain", big),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "wrong content type",
            post_beacon("?key=k1", Some(ORIGIN), "application/xml", valid.clone()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "invalid field",
            post_beacon(
                "?key=k1",
                Some(ORIGIN),
                "text/plain",
                valid.replace("\"client\"", "\"sideways\""),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
    ];
    for (what, request, want_status, want_reason) in cases {
        let sent_origin = request.headers().get("origin").cloned();
        let (status, body, headers) = send(&gw.ingest, request).await;
        assert_eq!(status, want_status, "{what}: {body}");
        // The page that sent it can read why (the SDK's debug mode says it).
        assert_eq!(
            headers.get("access-control-allow-origin"),
            sent_origin.as_ref(),
            "{what}"
        );
        assert_eq!(body["error"], want_reason, "{what}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }
    assert_eq!(
        stored_trace_count(&gw).await,
        0,
        "nothing from a rejected request is stored"
    );

    let (status, _, _) = send(
        &gw.ingest,
        post_beacon("?key=k1", Some(ORIGIN), "application/json", valid),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stored_trace_count(&gw).await,
        1,
        "the valid beacon is stored"
    );
}

#[tokio::test]
async fn a_body_without_content_length_is_cut_at_the_limit() {
    let gw = gateway_with(Some(
        "[limits]\nmax_body_bytes = 100\n[[apps]]\nname = \"a\"\nkey = \"k\"\n",
    ));
    let chunks = futures_stream(vec![vec![b' '; 80], vec![b' '; 80]]);
    let request = Request::post("/v1/rum?key=k")
        .header("content-type", "text/plain")
        .body(chunks)
        .expect("request");
    let (status, body, _) = send(&gw.ingest, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

fn futures_stream(chunks: Vec<Vec<u8>>) -> Body {
    let stream = tokio_stream_iter(chunks);
    Body::from_stream(stream)
}

fn tokio_stream_iter(
    chunks: Vec<Vec<u8>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    struct Iter(std::vec::IntoIter<Vec<u8>>);
    impl futures_core::Stream for Iter {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next().map(Ok))
        }
    }
    Iter(chunks.into_iter())
}

fn otlp_request(parent: &str) -> ExportTraceServiceRequest {
    let kv = |k: &str, v: any_value::Value| KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("shop-backend".into()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: hex::decode(TRACE_ID).expect("hex"),
                    span_id: hex::decode("00f067aa0ba902b7").expect("hex"),
                    parent_span_id: hex::decode(parent).expect("hex"),
                    name: "POST /api/cart".into(),
                    kind: SpanKind::Server as i32,
                    start_time_unix_nano: 1_732_460_000_110_000_000,
                    end_time_unix_nano: 1_732_460_000_140_000_000,
                    attributes: vec![kv(
                        "http.response.status_code",
                        any_value::Value::IntValue(200),
                    )],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn post_otlp(content_type: &str, auth: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut builder = Request::post("/v1/traces").header("content-type", content_type);
    if let Some(auth) = auth {
        builder = builder.header("authorization", auth);
    }
    builder.body(Body::from(body)).expect("request")
}

#[tokio::test]
async fn otlp_protobuf_joins_the_browser_span_in_one_trace() {
    let gw = gateway();
    send(
        &gw.ingest,
        post_beacon(
            "?key=dev",
            Some(ORIGIN),
            "text/plain",
            beacon(TRACE_ID).to_string(),
        ),
    )
    .await;
    let body = otlp_request(SPAN_ID).encode_to_vec();
    let (status, _, headers) = send(
        &gw.ingest,
        post_otlp("application/x-protobuf", Some("Bearer dev"), body),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/x-protobuf");

    let (_, trace) = get(&gw.admin, &format!("/api/traces/{TRACE_ID}")).await;
    let spans = trace["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 2);
    let server = spans
        .iter()
        .find(|s| s["kind"] == "server")
        .expect("server span");
    assert_eq!(server["parent_span_id"], SPAN_ID);
    assert_eq!(server["resource"]["service.name"], "shop-backend");
    assert_eq!(server["attributes"]["http.response.status_code"], 200);
    assert_eq!(server["source"], "otlp");
    let (_, list) = get(&gw.admin, "/api/traces").await;
    assert_eq!(list["traces"][0]["span_count"], 2);
    assert_eq!(list["traces"][0]["root_name"], "HTTP POST");
}

#[tokio::test]
async fn otlp_json_with_hex_ids_is_read() {
    let gw = gateway();
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "py-backend"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": TRACE_ID, "spanId": "00f067aa0ba902b7", "parentSpanId": SPAN_ID,
            "name": "GET /x", "kind": 2,
            "startTimeUnixNano": "1732460000110000000", "endTimeUnixNano": "1732460000140000000",
            "attributes": [{"key": "http.route", "value": {"stringValue": "/x"}}]
        }]}]
    }]});
    let (status, reply, _) = send(
        &gw.ingest,
        post_otlp(
            "application/json",
            Some("Bearer dev"),
            body.to_string().into_bytes(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (_, trace) = get(&gw.admin, &format!("/api/traces/{TRACE_ID}")).await;
    assert_eq!(trace["spans"][0]["attributes"]["http.route"], "/x");
    assert_eq!(trace["spans"][0]["kind"], "server");
    assert_eq!(
        trace["spans"][0]["start_time_unix_nano"],
        "1732460000110000000"
    );
}

#[tokio::test]
async fn otlp_spans_of_an_unknown_kind_are_refused_with_a_reason() {
    let gw = gateway();
    let mut request = otlp_request(SPAN_ID);
    request.resource_spans[0].scope_spans[0].spans[0].kind = 7;
    let (status, body, _) = send(
        &gw.ingest,
        post_otlp(
            "application/x-protobuf",
            Some("Bearer dev"),
            request.encode_to_vec(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_field");
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("kind")),
        "{body}"
    );
    assert_eq!(stored_trace_count(&gw).await, 0);
}

#[tokio::test]
async fn otlp_rejections() {
    let gw = gateway();
    let ok_body = otlp_request(SPAN_ID).encode_to_vec();
    let cases = vec![
        (
            post_otlp("application/x-protobuf", None, ok_body.clone()),
            StatusCode::UNAUTHORIZED,
            "missing_key",
        ),
        (
            post_otlp(
                "application/x-protobuf",
                Some("Bearer nope"),
                ok_body.clone(),
            ),
            StatusCode::FORBIDDEN,
            "unknown_key",
        ),
        (
            post_otlp("text/plain", Some("Bearer dev"), ok_body),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post_otlp(
                "application/x-protobuf",
                Some("Bearer dev"),
                vec![0xff, 0xff, 0xff],
            ),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        (
            post_otlp(
                "application/json",
                Some("Bearer dev"),
                b"{\"resourceSpans\":[{".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
    ];
    for (request, want_status, want_reason) in cases {
        let (status, body, _) = send(&gw.ingest, request).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (want_status, Some(want_reason)),
            "{body}"
        );
    }
    assert_eq!(stored_trace_count(&gw).await, 0);
}

#[tokio::test]
async fn admin_api_answers_bad_ids_and_limits() {
    let gw = gateway();
    assert_eq!(
        get(&gw.admin, "/healthz").await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    assert_eq!(
        get(&gw.admin, "/api/traces/xyz").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&gw.admin, &format!("/api/traces/{TRACE_ID}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&gw.admin, "/api/traces?limit=0").await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, body) = get(&gw.admin, "/api/nope").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let response = gw
        .admin
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).expect("req"))
        .await
        .expect("resp");
    assert!(response.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .contains("script-src 'self'"));
}

/// Beacon v1 spans may carry events and links (fields added within v1): stored and read
/// back as sent, their times shifted with the span's; over `limits.max_events_per_span`
/// is refused with a reason.
#[tokio::test]
async fn beacon_span_events_and_links_are_stored_and_capped() {
    let gw = gateway();
    let mut body = beacon(TRACE_ID);
    body["spans"][0]["events"] = json!([
        {"name": "retry", "time": 1732460000120.5, "attrs": {"attempt": 2}},
        {"name": "done", "time": 1732460000149.0}
    ]);
    body["spans"][0]["links"] = json!([{"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7", "attrs": {"why": "follows"}}]);
    let (status, reply, _) = send(
        &gw.ingest,
        post_beacon("?key=dev", Some(ORIGIN), "text/plain", body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (_, trace) = get(&gw.admin, &format!("/api/traces/{TRACE_ID}")).await;
    let span = &trace["spans"][0];
    assert_eq!(
        span["events"],
        json!([
            {"name": "retry", "time_unix_nano": "1732460000120500000", "attributes": {"attempt": 2}},
            {"name": "done", "time_unix_nano": "1732460000149000000", "attributes": {}}
        ])
    );
    assert_eq!(
        span["links"],
        json!([{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "attributes": {"why": "follows"}}])
    );

    let capped = Gateway::from_toml(
        "[limits]\nmax_events_per_span = 1\n[[apps]]\nname = \"a\"\nkey = \"k\"\n",
        8,
    );
    let (status, reply, _) = send(
        &capped.ingest,
        post_beacon("?key=k", None, "text/plain", body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reply["error"], "invalid_field");
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.contains("more than 1 events")),
        "{reply}"
    );
}
