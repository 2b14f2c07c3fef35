//! The shop itself: the single-page app's HTML (which loads the RUM browser SDK) and the JSON
//! API it renders its routes from.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use opentelemetry::trace::{Span as _, SpanKind, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use serde::{Deserialize, Serialize};

use crate::cart::{self, Carts};
use crate::trace_layer;

/// The page template; `__RUM_ENDPOINT__` and `__RUM_API_KEY__` are filled in by [`render_page`].
const PAGE_TEMPLATE: &str = include_str!("../static/index.html");

/// How long the fake stock reservation takes: long enough to show up in the trace waterfall.
const RESERVE_STOCK_DELAY: Duration = Duration::from_millis(15);

/// How long the fake payment takes.
const CHARGE_PAYMENT_DELAY: Duration = Duration::from_millis(25);

/// The single-page app's routes (axum syntax): each serves the same page, which renders the
/// route from the JSON API, so a deep link or a reload works on any of them.
pub const PAGE_ROUTES: [&str; 4] = ["/", "/product/{sku}", "/cart", "/checkout"];

/// One product of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub sku: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub price_cents: u32,
}

/// The whole catalogue; fixed, since the demo is about traces, not inventory.
pub const PRODUCTS: [Product; 3] = [
    Product {
        sku: "tea-01",
        name: "Sencha green tea, 100 g",
        description: "Steamed Japanese green tea, grassy and sweet. Brew at 70 °C for one minute.",
        price_cents: 650,
    },
    Product {
        sku: "mug-02",
        name: "Stoneware mug",
        description: "A hand-glazed 300 ml mug that keeps tea warm and sits well in the hand.",
        price_cents: 1400,
    },
    Product {
        sku: "kettle-03",
        name: "Gooseneck kettle",
        description: "A 0.8 l kettle with a slow, precise pour for green tea and pour-over coffee.",
        price_cents: 4200,
    },
];

fn product(sku: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|product| product.sku == sku)
}

/// Body of `POST /api/cart`.
#[derive(Debug, Deserialize)]
pub struct AddToCart {
    pub sku: String,
}

/// One line of `GET /api/cart`.
#[derive(Debug, Serialize)]
struct CartLine {
    sku: &'static str,
    name: &'static str,
    price_cents: u32,
    quantity: u32,
}

/// `GET /api/cart`: the lines, the unit count and the total.
#[derive(Debug, Serialize)]
struct CartView {
    items: Vec<CartLine>,
    count: u32,
    total_cents: u64,
}

impl CartView {
    fn of(lines: &cart::Lines) -> Self {
        let items: Vec<CartLine> = lines
            .iter()
            .filter_map(|(sku, &quantity)| {
                let product = product(sku)?;
                Some(CartLine {
                    sku: product.sku,
                    name: product.name,
                    price_cents: product.price_cents,
                    quantity,
                })
            })
            .collect();
        CartView {
            count: items.iter().map(|line| line.quantity).sum(),
            total_cents: items
                .iter()
                .map(|line| u64::from(line.price_cents) * u64::from(line.quantity))
                .sum(),
            items,
        }
    }
}

#[derive(Clone)]
struct ApiState {
    tracer: SdkTracer,
    carts: Arc<Carts>,
    orders: Arc<AtomicU64>,
}

/// The page with the gateway URL and API key filled in, escaped for the JS string literals
/// they land in.
pub fn render_page(gateway: &str, api_key: &str) -> String {
    PAGE_TEMPLATE
        .replace("__RUM_ENDPOINT__", &js_string_content(gateway))
        .replace("__RUM_API_KEY__", &js_string_content(api_key))
}

/// [`PAGE_ROUTES`]: the rendered page, each request in a server span (`GET /product/{sku}`…)
/// that its response names in `Server-Timing`, so the browser's page load joins the backend's
/// trace. `/product/{sku}` of an unknown SKU answers 404, still with the page (which says so).
pub fn page_router(page: String, tracer: SdkTracer) -> Router {
    // Bytes: each response clones a reference count, not the page.
    let page = Bytes::from(page);
    let router = PAGE_ROUTES.iter().fold(Router::new(), |router, &route| {
        let page = page.clone();
        router.route(
            route,
            get(move |sku: Option<Path<String>>| {
                let page = page.clone();
                async move {
                    let status = match sku {
                        Some(Path(sku)) if product(&sku).is_none() => StatusCode::NOT_FOUND,
                        _ => StatusCode::OK,
                    };
                    // no-cache: a restart with another gateway or key must show up on reload.
                    (status, [(header::CACHE_CONTROL, "no-cache")], Html(page))
                }
            }),
        )
    });
    router.route_layer(middleware::from_fn_with_state(
        tracer,
        trace_layer::server_span,
    ))
}

/// `/api/*`, each request wrapped in a server span by [`trace_layer::server_span`]:
/// `GET /api/products`, `GET /api/products/{sku}`, `POST /api/cart` (add one unit),
/// `GET /api/cart`, `GET /api/cart/count` and `POST /api/checkout`.
pub fn api_router(tracer: SdkTracer) -> Router {
    let state = ApiState {
        tracer: tracer.clone(),
        carts: Arc::default(),
        orders: Arc::default(),
    };
    Router::new()
        .route("/api/products", get(products))
        .route("/api/products/{sku}", get(product_by_sku))
        .route("/api/cart", post(add_to_cart).get(cart_contents))
        .route("/api/cart/count", get(cart_count))
        .route("/api/checkout", post(checkout))
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

async fn product_by_sku(Path(sku): Path<String>) -> Response {
    match product(&sku) {
        Some(product) => Json(product).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("unknown sku {sku:?}")),
    }
}

/// Adds one unit of a product to the caller's cart (making the cart, and its cookie, if the
/// request names none); answers `{"ok": true, "sku": …, "items": units in the cart}`.
async fn add_to_cart(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Json<AddToCart>, JsonRejection>,
) -> Response {
    // Take the rejection ourselves: axum's default answers are plain text, and some are 415/422.
    let Json(AddToCart { sku }) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_request(rejection.body_text()),
    };
    let Some(product) = product(&sku) else {
        return bad_request(format!("unknown sku {sku:?}"));
    };

    reserve_stock(&state.tracer, product.sku).await;
    let (id, new) = match cart::id_from(&headers) {
        Some(id) => (id, false),
        None => (cart::new_id(), true),
    };
    let items = state.carts.add(&id, product.sku);
    let mut response =
        Json(serde_json::json!({ "ok": true, "sku": product.sku, "items": items })).into_response();
    if new {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, cart::set_cookie(&id));
    }
    response
}

async fn cart_contents(State(state): State<ApiState>, headers: HeaderMap) -> Json<CartView> {
    let id = cart::id_from(&headers);
    Json(CartView::of(&state.carts.lines(id.as_deref())))
}

/// `{"count": units in the cart}`: what the page's cart badge shows.
async fn cart_count(State(state): State<ApiState>, headers: HeaderMap) -> Json<serde_json::Value> {
    let id = cart::id_from(&headers);
    let count: u32 = state.carts.lines(id.as_deref()).values().sum();
    Json(serde_json::json!({ "count": count }))
}

/// Places the order: "charges" the total, empties the cart and answers
/// `{"ok": true, "order_id": …, "items": units, "total_cents": …}`; 400 for an empty cart.
async fn checkout(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let id = cart::id_from(&headers);
    let order = CartView::of(&state.carts.take(id.as_deref()));
    if order.count == 0 {
        return bad_request("the cart is empty".to_owned());
    }
    charge_payment(&state.tracer, order.total_cents).await;
    let number = state.orders.fetch_add(1, Ordering::Relaxed) + 1;
    Json(serde_json::json!({
        "ok": true,
        "order_id": format!("ORD-{number:06}"),
        "items": order.count,
        "total_cents": order.total_cents,
    }))
    .into_response()
}

/// Pretends to reserve stock, in an INTERNAL child span of the request's server span.
async fn reserve_stock(tracer: &SdkTracer, sku: &str) {
    let attributes = [KeyValue::new("shop.sku", sku.to_owned())];
    child_span(tracer, "reserve stock", attributes, RESERVE_STOCK_DELAY).await;
}

/// Pretends to charge the customer, in an INTERNAL child span of the request's server span.
async fn charge_payment(tracer: &SdkTracer, total_cents: u64) {
    let total = i64::try_from(total_cents).unwrap_or(i64::MAX);
    let attributes = [KeyValue::new("shop.total_cents", total)];
    child_span(tracer, "charge payment", attributes, CHARGE_PAYMENT_DELAY).await;
}

/// An INTERNAL span lasting `delay`, child of the current (server) span.
async fn child_span(
    tracer: &SdkTracer,
    name: &'static str,
    attributes: [KeyValue; 1],
    delay: Duration,
) {
    // The server span is current here: the trace layer polls the handler inside its context.
    let mut span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Internal)
        .with_attributes(attributes)
        .start_with_context(tracer, &Context::current());
    tokio::time::sleep(delay).await;
    span.end();
}

fn bad_request(reason: String) -> Response {
    error(StatusCode::BAD_REQUEST, reason)
}

fn error(status: StatusCode, reason: String) -> Response {
    (
        status,
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
        for id in ["app", "cart-status", "cart-link", "cart-count"] {
            assert!(page.contains(&format!("id=\"{id}\"")), "#{id}");
        }
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
