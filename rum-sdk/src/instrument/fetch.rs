//! fetch → CLIENT span. `js/src/fetch.js` wraps `fetch` synchronously at `init` (before this
//! wasm loads), generates the ids, injects `traceparent` for allowed origins and records
//! each call; this turns a record into a span named after OpenTelemetry's HTTP client
//! conventions (<https://opentelemetry.io/docs/specs/semconv/http/http-spans/>).

use js_sys::{Number, Object};
use wasm_bindgen::JsValue;

use crate::encode::{get, object, set};

/// `record`: `{ traceId, spanId, method, url, start, end, status, error? }` with `start` and
/// `end` in ms since `time_origin`; `status` 0 when no response arrived.
pub fn span(record: &JsValue, time_origin: f64) -> Option<Object> {
    let start = get(record, "start").as_f64()?;
    let end = get(record, "end").as_f64()?;
    let status = get(record, "status").as_f64().unwrap_or(0.0);
    let method = get(record, "method");
    let error = get(record, "error");

    let attrs = object();
    set(&attrs, "http.request.method", method.clone());
    set(&attrs, "url.full", get(record, "url"));
    if status > 0.0 {
        set(&attrs, "http.response.status_code", status);
    }
    // Client spans are errors for network failures and for 4xx and 5xx responses.
    let failed = !error.is_undefined() || status >= 400.0;
    if !error.is_undefined() {
        set(&attrs, "error.type", error);
    } else if status >= 400.0 {
        set(&attrs, "error.type", Number::from(status).to_string_with_radix(10).ok()?);
    }

    let span = object();
    set(&span, "traceId", get(record, "traceId"));
    set(&span, "spanId", get(record, "spanId"));
    // Without a URL template, the name is the method alone (low cardinality).
    set(&span, "name", method);
    set(&span, "kind", "client");
    set(&span, "start", time_origin + start);
    set(&span, "end", time_origin + end.max(start));
    if failed {
        set(&span, "status", "error");
    }
    set(&span, "attrs", attrs);
    Some(span)
}
