//! Fixture builders for the crate's unit tests: records with every field set to a plain
//! value, which a test overrides where it matters (`Span { name: …, ..span(1, 2) }`).

use super::{Attributes, PageView, Source, Span, SpanId, SpanKind, StatusCode, TraceId, Vital};

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

/// A file of the shared test data (MaxMind's test databases, uap-core's regexes and
/// suites): under `$RUM_TESTDATA` when set, else `../shared/testdata` beside the repository,
/// else `target/testdata`, which `scripts/ensure-tools.sh --testdata` fills from registry
/// packages on a machine without `../shared`.
pub fn testdata(path: &str) -> std::path::PathBuf {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var_os("RUM_TESTDATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let shared = repo.join("../shared/testdata");
            if shared.is_dir() {
                shared
            } else {
                repo.join("target/testdata")
            }
        });
    dir.join(path)
}
