//! Fixture builders for the crate's unit tests: records with every field set to a plain
//! value, which a test overrides where it matters (`Span { name: …, ..span(1, 2) }`).

use super::{
    Attributes, BrowserError, PageView, Source, Span, SpanId, SpanKind, StatusCode, TraceId, Vital,
};

/// A browser client span of trace `[trace; 16]`, id `[span; 8]`, no parent, from 1 ns to 2 ns.
pub fn span(trace: u8, span: u8) -> Span {
    Span {
        trace_id: TraceId([trace; 16]),
        span_id: SpanId([span; 8]),
        parent_span_id: None,
        name: "GET /".into(),
        kind: SpanKind::Client,
        start_unix_nano: 1,
        end_unix_nano: 2,
        status: StatusCode::Unset,
        status_message: String::new(),
        attributes: Attributes::new(),
        resource: Attributes::new(),
        source: Source::Browser,
        events: Vec::new(),
        links: Vec::new(),
    }
}

/// Attributes from a JSON object literal (anything else: none).
pub fn attributes(value: serde_json::Value) -> Attributes {
    value.as_object().cloned().unwrap_or_default()
}

/// Page view `id` of session `s` at `url`.
pub fn page_view(id: &str, url: &str) -> PageView {
    PageView {
        id: id.into(),
        session_id: "s".into(),
        url: url.into(),
        referrer: String::new(),
        navigation_type: "navigate".into(),
        start_unix_nano: 1,
        resource: Attributes::new(),
        attributes: Attributes::new(),
        name: String::new(),
        previous_id: None,
        end_unix_nano: None,
        visible_ms: None,
        dropped: Default::default(),
    }
}

/// A good `name` report of page view `view`, value and delta 1.
pub fn vital(view: &str, name: &str) -> Vital {
    Vital {
        page_view_id: view.into(),
        metric_id: "m".into(),
        name: name.into(),
        value: 1.0,
        delta: 1.0,
        rating: "good".into(),
        navigation_type: "navigate".into(),
        attribution: Attributes::new(),
    }
}

/// An uncaught `Error` of session `s`, view `v`, without a stack.
pub fn browser_error() -> BrowserError {
    BrowserError {
        session_id: "s".into(),
        page_view_id: "v".into(),
        id: "0000000000000001".into(),
        kind: "uncaught".into(),
        error_type: "Error".into(),
        message: String::new(),
        stack: String::new(),
        source: None,
        line: None,
        column: None,
        time_unix_nano: 1,
        count: 1,
        action_span_id: None,
        trace_id: None,
        span_id: None,
        attributes: Attributes::new(),
        resource: Attributes::new(),
        frames: Vec::new(),
        frames_omitted: 0,
        fingerprint: String::new(),
    }
}

#[path = "testdata.rs"]
mod testdata_path;
pub use testdata_path::testdata;
