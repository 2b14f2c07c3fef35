//! Server spans for the page and the API: an axum middleware that joins the browser's trace.
//!
//! Both directions of W3C trace context:
//! * in: the browser SDK adds a `traceparent` (and maybe `tracestate`) to the shop's `fetch`
//!   calls; this layer extracts it and starts a SERVER span as its child, so the RUM product can
//!   draw the click, the fetch and the backend work as one waterfall;
//! * out: a navigation cannot carry a `traceparent`, so every traced response names its server
//!   span in `Server-Timing: traceparent;desc="00-{trace id}-{span id}-{flags}"`, and the SDK
//!   puts the page load's `documentLoad` span beneath it (it reads the header from
//!   `PerformanceNavigationTiming.serverTiming`). The format is the one OpenTelemetry Python's
//!   `ServerTimingResponsePropagator` sends (opentelemetry-python-contrib,
//!   `opentelemetry/instrumentation/propagators.py`).

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{global, Context, KeyValue};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::trace::SdkTracer;

/// `Server-Timing` (<https://www.w3.org/TR/server-timing/>); not among `http::header`'s names.
pub const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// Wraps one request in a SERVER span named `{method} {route}`, and names that span in the
/// response's [`SERVER_TIMING`] header.
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
    let mut response = next.run(request).with_context(cx.clone()).await;

    let span = cx.span();
    if let Some(value) = server_timing_traceparent(span.span_context()) {
        response.headers_mut().append(SERVER_TIMING, value);
    }
    let status = response.status();
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

/// `traceparent;desc="00-{trace id}-{span id}-{flags}"`: a Server-Timing metric whose
/// description is the W3C `traceparent` of `span` (version 00, flags `01` when sampled, else
/// `00`), or `None` for an invalid span context (no span to name).
///
/// The quotes make `desc` a quoted-string, as the Server-Timing grammar allows; the hex digits
/// and dashes need no escaping inside it.
pub fn server_timing_traceparent(span: &SpanContext) -> Option<HeaderValue> {
    if !span.is_valid() {
        return None;
    }
    let flags = if span.is_sampled() { "01" } else { "00" };
    let value = format!(
        "traceparent;desc=\"00-{}-{}-{flags}\"",
        span.trace_id(),
        span.span_id()
    );
    HeaderValue::from_str(&value).ok()
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
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    #[test]
    fn server_timing_names_the_span_as_a_traceparent() {
        let trace_id = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("trace id");
        let span_id = SpanId::from_hex("b7ad6b7169203331").expect("span id");
        let context = |flags| SpanContext::new(trace_id, span_id, flags, false, TraceState::NONE);
        assert_eq!(
            server_timing_traceparent(&context(TraceFlags::SAMPLED)).as_ref(),
            Some(&HeaderValue::from_static(
                r#"traceparent;desc="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01""#
            ))
        );
        assert_eq!(
            server_timing_traceparent(&context(TraceFlags::default())).as_ref(),
            Some(&HeaderValue::from_static(
                r#"traceparent;desc="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00""#
            ))
        );
        assert_eq!(
            server_timing_traceparent(&SpanContext::empty_context()),
            None
        );
    }

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
