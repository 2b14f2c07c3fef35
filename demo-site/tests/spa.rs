//! The single-page shop: every route serves the page (deep links and reloads work), the JSON API
//! behind the routes answers, a cart follows its cookie through to checkout, and every page and
//! API request runs in a SERVER span that continues the caller's `traceparent`.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use http_body_util::BodyExt as _;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::json;
use tower::ServiceExt as _;

use common::{blocking, body_json, config, hex, start_receiver, string_attr, TRACE_ID};
use demo_site::telemetry;

/// One request to the app; `body` is sent as JSON.
async fn send(
    app: &Router,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    traceparent: Option<&str>,
    body: Option<serde_json::Value>,
) -> Response {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "shop.test:8080");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    app.clone()
        .oneshot(request.body(body).expect("request"))
        .await
        .expect("response")
}

async fn get(app: &Router, path: &str, cookie: Option<&str>) -> Response {
    send(app, Method::GET, path, cookie, None, None).await
}

async fn body_text(response: Response) -> String {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("UTF-8 body")
}

fn header_str(response: &Response, name: impl header::AsHeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// An app whose spans go nowhere.
fn untraced_app() -> Router {
    let provider = SdkTracerProvider::builder().build();
    demo_site::app(
        &config("http://gateway.test:4318", "dev"),
        telemetry::tracer(&provider),
    )
}

#[tokio::test]
async fn every_route_serves_the_page_so_deep_links_and_reloads_work() {
    let app = untraced_app();
    let home = body_text(get(&app, "/", None).await).await;
    assert!(home.contains("<title>Demo shop</title>") && home.contains("/static/shop.js"));

    for path in ["/product/mug-02", "/cart", "/checkout", "/cart?from=mail"] {
        let response = get(&app, path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            header_str(&response, header::CONTENT_TYPE).starts_with("text/html"),
            "{path}"
        );
        assert_eq!(header_str(&response, "timing-allow-origin"), "*", "{path}");
        assert!(
            header_str(&response, "server-timing").starts_with("traceparent;desc=\"00-"),
            "{path} names its server span"
        );
        assert_eq!(
            body_text(response).await,
            home,
            "{path} serves the same page"
        );
    }

    // An unknown product: 404, but still the page, which tells the user.
    let response = get(&app, "/product/nope", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(body_text(response).await, home);
    for path in ["/nope", "/product/", "/product/mug-02/more", "/cart/x"] {
        assert_eq!(
            get(&app, path, None).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn json_api_answers_for_every_route() {
    let app = untraced_app();

    let products = body_json(get(&app, "/api/products", None).await).await;
    let products = products.as_array().expect("a product list");
    assert_eq!(products.len(), 3);
    for product in products {
        for field in ["sku", "name", "description"] {
            assert!(product[field].as_str().is_some_and(|s| !s.is_empty()));
        }
        assert!(product["price_cents"]
            .as_u64()
            .is_some_and(|cents| cents > 0));
    }

    let response = get(&app, "/api/products/kettle-03", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let kettle = body_json(response).await;
    assert_eq!(kettle["sku"], "kettle-03");
    assert_eq!(kettle["name"], "Gooseneck kettle");
    assert_eq!(kettle["price_cents"], 4200);

    let response = get(&app, "/api/products/nope", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(body_json(response).await["ok"], false);

    // No cookie yet: an empty cart.
    let empty = json!({"items": [], "count": 0, "total_cents": 0});
    assert_eq!(body_json(get(&app, "/api/cart", None).await).await, empty);
    assert_eq!(
        body_json(get(&app, "/api/cart/count", None).await).await,
        json!({"count": 0})
    );
}

#[tokio::test]
async fn added_items_show_in_the_cart_until_checkout() {
    let app = untraced_app();
    let add = |sku: &str, cookie: Option<String>| {
        let app = app.clone();
        let body = json!({ "sku": sku });
        async move {
            send(
                &app,
                Method::POST,
                "/api/cart",
                cookie.as_deref(),
                None,
                Some(body),
            )
            .await
        }
    };

    // The first add makes the cart and names it in a cookie.
    let response = add("tea-01", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = header_str(&response, header::SET_COOKIE).to_owned();
    assert!(
        set_cookie.starts_with("cart=") && set_cookie.contains("Path=/"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
    assert_eq!(
        body_json(response).await,
        json!({"ok": true, "sku": "tea-01", "items": 1})
    );

    // Later adds with the cookie fill the same cart and set no new cookie.
    let response = add("mug-02", Some(cookie.clone())).await;
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    assert_eq!(body_json(response).await["items"], 2);
    assert_eq!(
        body_json(add("tea-01", Some(cookie.clone())).await).await["items"],
        3
    );

    let cart = body_json(get(&app, "/api/cart", Some(&cookie)).await).await;
    assert_eq!(
        cart,
        json!({
            "items": [
                {"sku": "mug-02", "name": "Stoneware mug", "price_cents": 1400, "quantity": 1},
                {"sku": "tea-01", "name": "Sencha green tea, 100 g", "price_cents": 650, "quantity": 2},
            ],
            "count": 3,
            "total_cents": 2700,
        })
    );
    assert_eq!(
        body_json(get(&app, "/api/cart/count", Some(&cookie)).await).await,
        json!({"count": 3})
    );
    // Another browser (no cookie, or its own) has its own cart.
    assert_eq!(
        body_json(get(&app, "/api/cart/count", None).await).await,
        json!({"count": 0})
    );

    let response = send(
        &app,
        Method::POST,
        "/api/checkout",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let order = body_json(response).await;
    assert_eq!(order["ok"], true);
    assert_eq!(order["items"], 3);
    assert_eq!(order["total_cents"], 2700);
    assert!(order["order_id"]
        .as_str()
        .is_some_and(|id| id.starts_with("ORD-")));

    // The order emptied the cart; a second checkout has nothing to order.
    assert_eq!(
        body_json(get(&app, "/api/cart", Some(&cookie)).await).await["count"],
        0
    );
    let response = send(
        &app,
        Method::POST,
        "/api/checkout",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(response).await["ok"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_a_server_span_child_of_the_callers_span() {
    let (gateway, received) = start_receiver().await;
    let provider = telemetry::init_tracer_provider(&gateway, "test-key").expect("tracer provider");
    let app = demo_site::app(&config(&gateway, "test-key"), telemetry::tracer(&provider));

    // POST /api/cart first, so the later cart calls carry its cookie.
    let calls: [(Method, &str, Option<serde_json::Value>, &str); 7] = [
        (
            Method::POST,
            "/api/cart",
            Some(json!({"sku": "mug-02"})),
            "POST /api/cart",
        ),
        (Method::GET, "/api/cart", None, "GET /api/cart"),
        (Method::GET, "/api/cart/count", None, "GET /api/cart/count"),
        (Method::GET, "/api/products", None, "GET /api/products"),
        (
            Method::GET,
            "/api/products/tea-01",
            None,
            "GET /api/products/{sku}",
        ),
        (Method::POST, "/api/checkout", None, "POST /api/checkout"),
        (Method::GET, "/product/tea-01", None, "GET /product/{sku}"),
    ];
    let mut cookie: Option<String> = None;
    let mut expected = Vec::new();
    for (i, (method, path, body, name)) in calls.into_iter().enumerate() {
        // A distinct browser span per call, so each server span's parent is checked exactly.
        let parent = format!("{:016x}", 0xb7ad_6b71_6920_0000_u64 + i as u64);
        let traceparent = format!("00-{TRACE_ID}-{parent}-01");
        let response = send(
            &app,
            method,
            path,
            cookie.as_deref(),
            Some(&traceparent),
            body,
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        if let Some(set) = response.headers().get(header::SET_COOKIE) {
            let set = set.to_str().expect("ASCII cookie");
            cookie = set.split(';').next().map(str::to_owned);
        }
        let timing = header_str(&response, "server-timing").to_owned();
        assert!(
            timing.contains(TRACE_ID),
            "{path}: the response names a span of the caller's trace: {timing}"
        );
        expected.push((name, parent, path));
    }

    let provider = blocking(move || {
        provider.force_flush().expect("flush");
        provider
    })
    .await;
    let spans = received.spans();
    for (name, parent, path) in expected {
        let (service, server) = spans
            .iter()
            .find(|(_, span)| {
                span.kind == SpanKind::Server as i32 && hex(&span.parent_span_id) == parent
            })
            .unwrap_or_else(|| panic!("no server span under {parent} for {path}"));
        assert_eq!(service, telemetry::SERVICE_NAME);
        assert_eq!(server.name, name);
        assert_eq!(hex(&server.trace_id), TRACE_ID);
        assert_eq!(
            string_attr(&server.attributes, "url.path").as_deref(),
            Some(path)
        );
    }

    // The order's payment is an internal span beneath the checkout's server span.
    let (_, checkout) = spans
        .iter()
        .find(|(_, span)| span.name == "POST /api/checkout")
        .expect("checkout span");
    let (_, charge) = spans
        .iter()
        .find(|(_, span)| span.name == "charge payment")
        .expect("the charge payment span was exported");
    assert_eq!(charge.kind, SpanKind::Internal as i32);
    assert_eq!(charge.parent_span_id, checkout.span_id);
    assert_eq!(charge.trace_id, checkout.trace_id);

    blocking(move || provider.shutdown())
        .await
        .expect("shutdown");
}
