//! Server spans for the API: an axum middleware that continues the browser's trace.
//!
//! The browser SDK adds a W3C `traceparent` (and maybe `tracestate`) to the shop's `fetch`
//! calls; this layer extracts it and starts a SERVER span as its child, so the RUM product can
//! draw the click, the fetch and the backend work as one waterfall.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{global, Context, KeyValue};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::trace::SdkTracer;

/// Wraps one API request in a SERVER span named `{method} {route}`.
///
/// Meant for `Router::route_layer` with `axum::middleware::from_fn_with_state`, which runs it
/// after routing so [`MatchedPath`] (the low-cardinality route template) is known.
pub async fn server_span(
    State(tracer): State<SdkTracer>,
    request: Request,
    next: Next,
) -> Response {
    let parent = extract_remote_context(request.headers());

    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_owned());
    // Semconv: `{method} {route}`, or just `{method}` when no route is known, never the raw
    // path, which would make span names unbounded.
    let name = match &route {
        Some(route) => format!("{method} {route}"),
        None => method.clone(),
    };

    let mut attributes = vec![
        KeyValue::new("http.request.method", method),
        KeyValue::new("url.path", request.uri().path().to_owned()),
        KeyValue::new("url.scheme", "http"),
    ];
    if let Some(route) = route {
        attributes.push(KeyValue::new("http.route", route));
    }
    if let Some((host, port)) = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .and_then(split_host_port)
    {
        attributes.push(KeyValue::new("server.address", host.to_owned()));
        if let Some(port) = port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
    if let Some(agent) = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
    {
        attributes.push(KeyValue::new("user_agent.original", agent.to_owned()));
    }

    let span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Server)
        .with_attributes(attributes)
        .start_with_context(&tracer, &parent);
    let cx = parent.with_span(span);

    // `with_context` makes the server span current on every poll of the handler, so handlers
    // can start child spans from `Context::current()`.
    let response = next.run(request).with_context(cx.clone()).await;

    let status = response.status();
    let span = cx.span();
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status.as_u16()),
    ));
    // Server spans mark only 5xx as errors: a 4xx is the client's mistake, not a failure here.
    if status.is_server_error() {
        span.set_attribute(KeyValue::new("error.type", status.as_str().to_owned()));
        span.set_status(Status::error(
            status.canonical_reason().unwrap_or("server error"),
        ));
    }
    span.end();
    response
}

/// The remote parent from `traceparent`/`tracestate`, via the global propagator.
///
/// A missing or malformed header yields an empty context, so the span starts a new trace.
pub fn extract_remote_context(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}

/// Splits a `Host` header into host and optional port (`[::1]:8080`, `shop.example`, `a:80`).
fn split_host_port(value: &str) -> Option<(&str, Option<u16>)> {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('[') {
        // IPv6 literal: the port, if any, follows the closing bracket.
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host, port));
    }
    match value.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None if value.is_empty() => None,
        None => Some((value, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn splits_host_headers() {
        assert_eq!(
            split_host_port("127.0.0.1:8080"),
            Some(("127.0.0.1", Some(8080)))
        );
        assert_eq!(
            split_host_port("shop.example"),
            Some(("shop.example", None))
        );
        assert_eq!(split_host_port("[::1]:8080"), Some(("::1", Some(8080))));
        assert_eq!(split_host_port("[::1]"), Some(("::1", None)));
        assert_eq!(split_host_port("host:notaport"), None);
        assert_eq!(split_host_port(""), None);
    }
}
