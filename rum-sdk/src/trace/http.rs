//! A fetch or XMLHttpRequest call as a CLIENT span, after OpenTelemetry's HTTP client
//! conventions (<https://opentelemetry.io/docs/specs/semconv/http/http-spans/>): named after
//! the method alone (the browser knows no low-cardinality route), an error for network
//! failures and for 4xx and 5xx responses.
//!
//! The wrapper in `js/src/fetch.js` mints the ids (it needs them synchronously for the
//! `traceparent` header) and measures; this module makes the record.

use alloc::string::String;
use alloc::vec;

use super::ids::{SpanId, TraceId};
use super::span::{Span, SpanKind, Value};

/// What the wrapper observed. Times are milliseconds since the navigation's start.
pub struct HttpCall {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub method: String,
    pub url: String,
    pub start: f64,
    pub end: f64,
    /// The response's status; 0 when there was none.
    pub status: u16,
    /// Why the call failed without a response: fetch's error name, or XHR's `error`,
    /// `abort` or `timeout`; empty otherwise.
    pub error: String,
}

impl HttpCall {
    /// The span, with times made absolute by the page's `performance.timeOrigin`.
    pub fn into_span(self, time_origin: f64) -> Span {
        let mut attrs = vec![
            ("http.request.method", Value::Str(self.method.clone())),
            ("url.full", Value::Str(self.url)),
        ];
        if self.status != 0 {
            attrs.push(("http.response.status_code", Value::Int(self.status.into())));
        }
        let error_type = if !self.error.is_empty() {
            Some(self.error)
        } else if self.status >= 400 {
            Some(crate::json::decimal(self.status.into()))
        } else {
            None
        };
        let error = error_type.is_some();
        if let Some(t) = error_type {
            attrs.push(("error.type", Value::Str(t)));
        }
        Span {
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent: None,
            name: self.method,
            kind: SpanKind::Client,
            start: time_origin + self.start,
            end: time_origin + self.end.max(self.start),
            error,
            attrs,
            events: vec![],
            links: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(status: u16, error: &str) -> HttpCall {
        HttpCall {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
            method: "POST".into(),
            url: "https://shop.example/api/cart".into(),
            start: 100.25,
            end: 150.5,
            status,
            error: error.into(),
        }
    }

    #[test]
    fn a_successful_call_is_a_client_span_with_http_attributes() {
        let s = call(200, "").into_span(1_700_000_000_000.0);
        assert_eq!(s.name, "POST");
        assert_eq!(s.kind, SpanKind::Client);
        assert_eq!(s.start, 1_700_000_000_100.25);
        assert_eq!(s.end, 1_700_000_000_150.5);
        assert!(!s.error);
        assert_eq!(s.attr("http.response.status_code"), Some(&Value::Int(200)));
        assert_eq!(
            s.attr("url.full"),
            Some(&Value::Str("https://shop.example/api/cart".into()))
        );
        assert_eq!(s.attr("error.type"), None);
    }

    #[test]
    fn failures_are_errors_with_their_type() {
        let s = call(503, "").into_span(0.0);
        assert!(s.error);
        assert_eq!(s.attr("error.type"), Some(&Value::Str("503".into())));
        let s = call(0, "TypeError").into_span(0.0);
        assert!(s.error);
        assert_eq!(s.attr("http.response.status_code"), None);
        assert_eq!(s.attr("error.type"), Some(&Value::Str("TypeError".into())));
    }

    #[test]
    fn an_end_before_the_start_is_clamped() {
        let mut c = call(200, "");
        c.end = 50.0;
        let s = c.into_span(0.0);
        assert_eq!(s.end, s.start);
    }
}
