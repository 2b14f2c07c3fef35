//! The page load's side of the trace: `GET /` runs in an exported SERVER span whose ids its
//! response names in `Server-Timing`, and the page's own files are served with their types.

mod common;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use http_body_util::BodyExt as _;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tower::ServiceExt as _;

use common::{blocking, config, hex, int_attr, start_receiver, string_attr, TRACEPARENT, TRACE_ID};
use demo_site::telemetry;

/// A W3C `traceparent` taken apart: (trace id, span id, flags).
type Traceparent = (String, String, String);

/// The traceparent in `Server-Timing: traceparent;desc="00-{trace}-{span}-{flags}"`, checked
/// to be well formed: exactly one such header, lowercase hex of the W3C sizes, not all zeros.
fn server_timing_traceparent(headers: &HeaderMap) -> Traceparent {
    let values: Vec<_> = headers.get_all("server-timing").iter().collect();
    assert_eq!(values.len(), 1, "one Server-Timing header: {values:?}");
    let value = values[0].to_str().expect("ASCII Server-Timing");
    let desc = value
        .strip_prefix("traceparent;desc=\"")
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not traceparent;desc=\"…\": {value}"));
    let parts: Vec<&str> = desc.split('-').collect();
    let is_hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    assert!(
        parts.len() == 4
            && parts[0] == "00"
            && is_hex(parts[1], 32)
            && is_hex(parts[2], 16)
            && (parts[3] == "01" || parts[3] == "00"),
        "malformed traceparent {desc}"
    );
    assert!(parts[1].bytes().any(|b| b != b'0') && parts[2].bytes().any(|b| b != b'0'));
    (
        parts[1].to_owned(),
        parts[2].to_owned(),
        parts[3].to_owned(),
    )
}

async fn get(app: &Router, path: &str, traceparent: Option<&str>) -> Response {
    let mut request = Request::get(path).header(header::HOST, "shop.test:8080");
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("response")
}

fn header_str<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_names_the_exported_server_span_that_rendered_it() {
    let (gateway, received) = start_receiver().await;
    let provider = telemetry::init_tracer_provider(&gateway, "test-key").expect("tracer provider");
    let app = demo_site::app(&config(&gateway, "test-key"), telemetry::tracer(&provider));

    let first = get(&app, "/", None).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(header_str(&first, "timing-allow-origin"), "*");
    let first = server_timing_traceparent(first.headers());
    let second = server_timing_traceparent(get(&app, "/", None).await.headers());
    assert_eq!(first.2, "01", "the default sampler samples the page");
    assert_ne!(first.0, second.0, "each page load starts its own trace");
    assert_ne!(first.1, second.1);

    // An API call continues the caller's trace, and names its own server span the same way.
    let products = get(&app, "/api/products", Some(TRACEPARENT)).await;
    assert_eq!(products.status(), StatusCode::OK);
    let api = server_timing_traceparent(products.headers());
    assert_eq!(api.0, TRACE_ID);

    let provider = blocking(move || {
        provider.force_flush().expect("flush");
        provider
    })
    .await;
    let spans = received.spans();
    for (trace_id, span_id, _) in [&first, &second] {
        let (service, span) = spans
            .iter()
            .find(|(_, span)| hex(&span.span_id) == *span_id)
            .unwrap_or_else(|| panic!("no exported span {span_id}"));
        assert_eq!(service, telemetry::SERVICE_NAME);
        assert_eq!(span.name, "GET /");
        assert_eq!(span.kind, SpanKind::Server as i32);
        assert_eq!(hex(&span.trace_id), *trace_id);
        assert!(span.parent_span_id.is_empty(), "a navigation has no parent");
        assert_eq!(
            string_attr(&span.attributes, "http.route").as_deref(),
            Some("/")
        );
        assert_eq!(
            int_attr(&span.attributes, "http.response.status_code"),
            Some(200)
        );
    }
    let (_, api_span) = spans
        .iter()
        .find(|(_, span)| hex(&span.span_id) == api.1)
        .expect("the API server span was exported");
    assert_eq!(api_span.name, "GET /api/products");
    assert_eq!(hex(&api_span.trace_id), TRACE_ID);

    blocking(move || provider.shutdown())
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn page_files_are_served_with_their_types() {
    let provider = SdkTracerProvider::builder().build();
    let app = demo_site::app(
        &config("http://gateway.test:4318", "dev"),
        telemetry::tracer(&provider),
    );

    for (path, content_type, marker) in [
        ("/static/shop.css", "text/css", "#cart-status"),
        ("/static/shop.js", "text/javascript", "history.pushState"),
        ("/static/logo.svg", "image/svg+xml", "<svg"),
    ] {
        let response = get(&app, path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            header_str(&response, "content-type").starts_with(content_type),
            "{path}: {}",
            header_str(&response, "content-type")
        );
        assert_eq!(header_str(&response, "timing-allow-origin"), "*", "{path}");
        // Static files are not traced, so they name no server span.
        assert!(response.headers().get("server-timing").is_none(), "{path}");
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = std::str::from_utf8(&body).expect("UTF-8 asset");
        assert!(body.contains(marker), "{path} lacks {marker}");
    }
    let missing = get(&app, "/static/nope.css", None).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
