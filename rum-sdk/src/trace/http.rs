//! A fetch or XMLHttpRequest call as a CLIENT span, after OpenTelemetry's HTTP client
//! conventions (<https://opentelemetry.io/docs/specs/semconv/http/http-spans/>): named after
//! the method alone (the browser knows no low-cardinality route), an error for network
//! failures and for 4xx and 5xx responses.
//!
//! The wrapper in `js/src/fetch.js` mints the ids (it needs them synchronously for the
//! `traceparent` header) and measures; this module writes the record.

use super::ids::{SpanId, TraceId};
use super::span::{SpanHead, SpanKind};
use crate::json::Json;

/// What the wrapper observed. Times are milliseconds since the navigation's start.
pub struct HttpCall<'a> {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The user action or route change that made the call.
    pub parent: Option<SpanId>,
    pub method: &'a [u8],
    pub url: &'a [u8],
    pub start: f64,
    pub end: f64,
    /// The response's status; 0 when there was none.
    pub status: u16,
    /// Why the call failed without a response: fetch's error name, or XHR's `error`,
    /// `abort` or `timeout`; empty otherwise.
    pub error: &'a [u8],
}

impl HttpCall<'_> {
    /// The span as a beacon item, times made absolute by `performance.timeOrigin`.
    pub fn write(&self, time_origin: f64, j: &mut Json) {
        let failed = !self.error.is_empty() || self.status >= 400;
        SpanHead {
            trace_id: &self.trace_id,
            span_id: &self.span_id,
            parent: self.parent.as_ref(),
            name: self.method,
            kind: SpanKind::Client,
            start: time_origin + self.start,
            end: time_origin + self.end,
            error: failed,
        }
        .open(j);
        j.key("http.request.method").text(self.method);
        j.key("url.full").text(self.url);
        if self.status != 0 {
            j.key("http.response.status_code").uint(self.status.into());
        }
        if !self.error.is_empty() {
            j.key("error.type").text(self.error);
        } else if failed {
            j.key("error.type").text_number(&[], self.status.into());
        }
        j.close(b'}').close(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn span(status: u16, error: &str, end: f64) -> Value {
        let call = HttpCall {
            trace_id: TraceId(*b"0af7651916cd43dd8448eb211c80319c"),
            span_id: SpanId(*b"b7ad6b7169203331"),
            parent: None,
            method: b"POST",
            url: b"https://shop.example/api/cart",
            start: 100.25,
            end,
            status,
            error: error.as_bytes(),
        };
        let mut buf = [0u8; 1024];
        let mut j = Json::new(&mut buf);
        call.write(1_700_000_000_000.0, &mut j);
        serde_json::from_slice(j.bytes()).expect("a span is JSON")
    }

    #[test]
    fn a_successful_call_is_a_client_span_with_http_attributes() {
        let s = span(200, "", 150.5);
        assert_eq!(s["name"], "POST");
        assert_eq!(s["kind"], "client");
        assert_eq!(s["traceId"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(s["spanId"], "b7ad6b7169203331");
        assert!(s.get("parentSpanId").is_none());
        assert_eq!(s["start"], 1_700_000_000_100.25);
        assert_eq!(s["end"], 1_700_000_000_150.5);
        assert!(s.get("status").is_none());
        assert_eq!(s["attrs"]["http.response.status_code"], 200);
        assert_eq!(s["attrs"]["http.request.method"], "POST");
        assert_eq!(s["attrs"]["url.full"], "https://shop.example/api/cart");
        assert!(s["attrs"].get("error.type").is_none());
    }

    #[test]
    fn failures_are_errors_with_their_type() {
        let s = span(503, "", 150.5);
        assert_eq!(s["status"], "error");
        assert_eq!(s["attrs"]["error.type"], "503");
        let s = span(0, "TypeError", 150.5);
        assert_eq!(s["status"], "error");
        assert!(s["attrs"].get("http.response.status_code").is_none());
        assert_eq!(s["attrs"]["error.type"], "TypeError");
    }

    #[test]
    fn an_end_before_the_start_is_clamped() {
        let s = span(200, "", 50.0);
        assert_eq!(s["end"], s["start"]);
    }
}
