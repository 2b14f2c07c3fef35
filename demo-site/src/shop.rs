//! The shop itself: the HTML page (which loads the RUM browser SDK) and the JSON API.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use opentelemetry::trace::{Span as _, SpanKind, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use serde::{Deserialize, Serialize};

use crate::trace_layer;

/// The page template; `__RUM_ENDPOINT__` and `__RUM_API_KEY__` are filled in by [`render_page`].
const PAGE_TEMPLATE: &str = include_str!("../static/index.html");

/// How long the fake stock reservation takes: long enough to show up in the trace waterfall.
const RESERVE_STOCK_DELAY: Duration = Duration::from_millis(15);

/// One product of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub sku: &'static str,
    pub name: &'static str,
    pub price_cents: u32,
}

/// The whole catalogue; fixed, since the demo is about traces, not inventory.
pub const PRODUCTS: [Product; 3] = [
    Product {
        sku: "tea-01",
        name: "Sencha green tea, 100 g",
        price_cents: 650,
    },
    Product {
        sku: "mug-02",
        name: "Stoneware mug",
        price_cents: 1400,
    },
    Product {
        sku: "kettle-03",
        name: "Gooseneck kettle",
        price_cents: 4200,
    },
];

/// Body of `POST /api/cart`.
#[derive(Debug, Deserialize)]
pub struct AddToCart {
    pub sku: String,
}

#[derive(Clone)]
struct ApiState {
    tracer: SdkTracer,
    /// Items added since start; one cart for everyone, as the demo has no sessions.
    cart_items: Arc<AtomicU64>,
}

/// The page with the gateway URL and API key filled in, escaped for the JS string literals
/// they land in.
pub fn render_page(gateway: &str, api_key: &str) -> String {
    PAGE_TEMPLATE
        .replace("__RUM_ENDPOINT__", &js_string_content(gateway))
        .replace("__RUM_API_KEY__", &js_string_content(api_key))
}

/// `GET /`: the rendered page, in a server span (`GET /`) that its response names in
/// `Server-Timing`, so the browser's page load joins the backend's trace.
pub fn page_router(page: String, tracer: SdkTracer) -> Router {
    // Bytes: each response clones a reference count, not the page.
    let page = Bytes::from(page);
    Router::new()
        .route(
            "/",
            get(move || {
                let page = page.clone();
                // no-cache: a restart with another gateway or key must show up on reload.
                async move { ([(header::CACHE_CONTROL, "no-cache")], Html(page)) }
            }),
        )
        .route_layer(middleware::from_fn_with_state(
            tracer,
            trace_layer::server_span,
        ))
}

/// `/api/*`, each request wrapped in a server span by [`trace_layer::server_span`].
pub fn api_router(tracer: SdkTracer) -> Router {
    let state = ApiState {
        tracer: tracer.clone(),
        cart_items: Arc::new(AtomicU64::new(0)),
    };
    Router::new()
        .route("/api/products", get(products))
        .route("/api/cart", post(add_to_cart))
        .with_state(state)
        // route_layer: runs after routing, so the span knows the matched route.
        .route_layer(middleware::from_fn_with_state(
            tracer,
            trace_layer::server_span,
        ))
}

async fn products() -> Json<[Product; 3]> {
    Json(PRODUCTS)
}

async fn add_to_cart(
    State(state): State<ApiState>,
    body: Result<Json<AddToCart>, JsonRejection>,
) -> Response {
    // Take the rejection ourselves: axum's default answers are plain text, and some are 415/422.
    let Json(AddToCart { sku }) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_request(rejection.body_text()),
    };
    if !PRODUCTS.iter().any(|product| product.sku == sku) {
        return bad_request(format!("unknown sku {sku:?}"));
    }

    reserve_stock(&state.tracer, &sku).await;
    let items = state.cart_items.fetch_add(1, Ordering::Relaxed) + 1;
    Json(serde_json::json!({ "ok": true, "sku": sku, "items": items })).into_response()
}

/// Pretends to reserve stock, in an INTERNAL child span of the request's server span.
async fn reserve_stock(tracer: &SdkTracer, sku: &str) {
    // The server span is current here: the trace layer polls the handler inside its context.
    let mut span = tracer
        .span_builder("reserve stock")
        .with_kind(SpanKind::Internal)
        .with_attributes([KeyValue::new("shop.sku", sku.to_owned())])
        .start_with_context(tracer, &Context::current());
    tokio::time::sleep(RESERVE_STOCK_DELAY).await;
    span.end();
}

fn bad_request(reason: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "ok": false, "reason": reason })),
    )
        .into_response()
}

/// Escapes `value` for use inside a quoted JS string in an inline `<script>`: quotes and
/// backslashes would end the literal, `<` could close the script element.
fn js_string_content(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_gets_config_and_keeps_the_sdk_first() {
        let page = render_page("http://127.0.0.1:4318", "dev");
        assert!(page.contains("endpoint: 'http://127.0.0.1:4318'"));
        assert!(page.contains("apiKey: 'dev'"));
        assert!(!page.contains("__RUM_"));
        let sdk = page.find("/sdk/index.js").expect("SDK import");
        let first_script = page.find("<script").expect("a script");
        assert!(sdk > first_script && sdk < page.find("</head>").expect("head end"));
        assert!(page.contains("id=\"add-to-cart\"") && page.contains("id=\"cart-status\""));
        for asset in [
            "href=\"/static/shop.css\"",
            "src=\"/static/shop.js\"",
            "src=\"/static/logo.svg\"",
        ] {
            assert!(page.contains(asset), "{asset}");
        }
    }

    #[test]
    fn config_values_cannot_break_out_of_the_script() {
        let escaped = js_string_content("a'b\\c</script>\n");
        assert_eq!(escaped, "a\\'b\\\\c\\u003c/script\\u003e\\u000a");
    }
}
