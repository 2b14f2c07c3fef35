//! Count and length caps on a decoded batch: too many events or attributes is refused with a
//! reason; an over-long string is truncated with a marker and counted.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::config::Limits;
use crate::error::Rejection;
use crate::model::{Attributes, Batch, Source};
use crate::validate::{PAGE_VIEW_ID, SESSION_ID};

/// Appended to a string cut at `limits.max_string_chars`.
pub const TRUNCATION_MARKER: &str = "…[truncated]";

/// Strings truncated since start (for the self-metrics).
pub static STRINGS_TRUNCATED: AtomicU64 = AtomicU64::new(0);

/// Refuses a batch with more events (spans + vitals) or more attributes on one span than
/// the limits allow.
pub fn check_counts(batch: &Batch, limits: &Limits) -> Result<(), Rejection> {
    let events = batch.spans.len() + batch.vitals.len();
    if events > limits.max_events_per_request {
        return Err(Rejection::TooManyEvents(limits.max_events_per_request));
    }
    for span in &batch.spans {
        // Validation stamps the session and page view onto browser spans: not the sender's.
        let stamped = match span.source {
            Source::Browser => [SESSION_ID, PAGE_VIEW_ID]
                .iter()
                .filter(|k| span.attributes.contains_key(**k))
                .count(),
            Source::Otlp => 0,
        };
        if span.attributes.len() - stamped > limits.max_attributes_per_span
            || span.resource.len() > limits.max_attributes_per_span
        {
            return Err(Rejection::invalid(
                "attributes",
                format!(
                    "a span has more than {} attributes",
                    limits.max_attributes_per_span
                ),
            ));
        }
    }
    Ok(())
}

/// Earliest time accepted on a span or page view: 2000-01-01T00:00:00Z, in unix nanoseconds.
/// Anything earlier is a clock that was never set, not a real event.
pub const EARLIEST_UNIX_NANO: i64 = 946_684_800_000_000_000;

/// Refuses a batch with a span or page view timed before [`EARLIEST_UNIX_NANO`] or more than
/// `max_future_secs` after `now_unix_nano` (the gateway's clock). Runs after enrichment, so
/// a beacon's times are checked as the clock-skew correction left them: a browser clock that
/// sends `sentAt` in 1970 and its spans in 2255 cannot push them to the year 2262.
pub fn check_times(
    batch: &Batch,
    now_unix_nano: i64,
    max_future_secs: u64,
) -> Result<(), Rejection> {
    let latest = now_unix_nano.saturating_add(
        i64::try_from(max_future_secs.saturating_mul(1_000_000_000)).unwrap_or(i64::MAX),
    );
    let check = |field: &str, nanos: i64| {
        if nanos < EARLIEST_UNIX_NANO {
            Err(Rejection::invalid(
                field,
                format!("{nanos} ns since 1970 is before 2000-01-01 (after clock-skew correction)"),
            ))
        } else if nanos > latest {
            Err(Rejection::invalid(
                field,
                format!(
                    "{nanos} ns since 1970 is more than {max_future_secs} s after the gateway's clock (after clock-skew correction)"
                ),
            ))
        } else {
            Ok(())
        }
    };
    for span in &batch.spans {
        check("span start time", span.start_unix_nano)?;
        check("span end time", span.end_unix_nano)?;
    }
    for view in &batch.page_views {
        check("view.start", view.start_unix_nano)?;
    }
    Ok(())
}

/// Cuts every string value (attributes, span names, status messages, page URLs) longer than
/// `max_chars` characters to `max_chars` and appends [`TRUNCATION_MARKER`].
pub fn truncate_strings(mut batch: Batch, max_chars: usize) -> Batch {
    let mut count = 0u64;
    let mut cut = |s: &mut String| {
        if let Some((byte_index, _)) = s.char_indices().nth(max_chars) {
            s.truncate(byte_index);
            s.push_str(TRUNCATION_MARKER);
            count += 1;
        }
    };
    for span in &mut batch.spans {
        cut(&mut span.name);
        cut(&mut span.status_message);
        attributes(&mut span.attributes, &mut cut);
        attributes(&mut span.resource, &mut cut);
    }
    for view in &mut batch.page_views {
        cut(&mut view.url);
        cut(&mut view.referrer);
        attributes(&mut view.resource, &mut cut);
    }
    if count > 0 {
        STRINGS_TRUNCATED.fetch_add(count, Ordering::Relaxed);
        tracing::debug!(count, max_chars, "Truncated over-long strings.");
    }
    batch
}

fn attributes(attrs: &mut Attributes, cut: &mut impl FnMut(&mut String)) {
    fn value(v: &mut Value, cut: &mut impl FnMut(&mut String)) {
        match v {
            Value::String(s) => cut(s),
            Value::Array(items) => items.iter_mut().for_each(|i| value(i, cut)),
            _ => {}
        }
    }
    attrs.values_mut().for_each(|v| value(v, cut));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{PageView, Source, Span, SpanId, SpanKind, StatusCode, TraceId, Vital};

    fn span(attrs: Attributes) -> Span {
        Span {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([1; 8]),
            parent_span_id: None,
            name: "é".repeat(10),
            kind: SpanKind::Internal,
            start_unix_nano: 1,
            end_unix_nano: 2,
            status: StatusCode::Unset,
            status_message: String::new(),
            attributes: attrs,
            resource: Attributes::new(),
            source: Source::Otlp,
        }
    }

    #[test]
    fn strings_are_cut_on_char_boundaries_with_a_marker_and_counted() {
        let mut attrs = Attributes::new();
        attrs.insert("long".into(), json!("x".repeat(20)));
        attrs.insert("short".into(), json!("abc"));
        attrs.insert("arr".into(), json!(["y".repeat(6), 3]));
        let batch = Batch {
            spans: vec![span(attrs)],
            page_views: vec![PageView {
                id: "v".into(),
                session_id: "s".into(),
                url: format!("https://a.example/{}", "p".repeat(10)),
                referrer: String::new(),
                navigation_type: "navigate".into(),
                start_unix_nano: 1,
                resource: Attributes::new(),
                attributes: Attributes::new(),
            }],
            vitals: vec![],
        };
        let before = STRINGS_TRUNCATED.load(Ordering::Relaxed);
        let out = truncate_strings(batch, 5);
        let s = &out.spans[0];
        assert_eq!(s.name, format!("ééééé{TRUNCATION_MARKER}"));
        assert_eq!(s.attributes["long"], format!("xxxxx{TRUNCATION_MARKER}"));
        assert_eq!(s.attributes["short"], "abc");
        assert_eq!(
            s.attributes["arr"],
            json!([format!("yyyyy{TRUNCATION_MARKER}"), 3])
        );
        assert_eq!(out.page_views[0].url, format!("https{TRUNCATION_MARKER}"));
        assert!(STRINGS_TRUNCATED.load(Ordering::Relaxed) >= before + 4);
    }

    #[test]
    fn counts_over_the_limit_are_refused() {
        let limits = Limits {
            max_events_per_request: 2,
            max_attributes_per_span: 1,
            ..Limits::default()
        };
        let vital = Vital {
            page_view_id: "v".into(),
            metric_id: "m".into(),
            name: "LCP".into(),
            value: 1.0,
            delta: 1.0,
            rating: "good".into(),
            navigation_type: "navigate".into(),
            attribution: Attributes::new(),
        };
        let ok = Batch {
            spans: vec![span(Attributes::new())],
            vitals: vec![vital.clone()],
            ..Batch::default()
        };
        assert!(check_counts(&ok, &limits).is_ok());
        let too_many = Batch {
            vitals: vec![vital.clone(), vital.clone(), vital],
            ..ok.clone()
        };
        assert!(matches!(
            check_counts(&too_many, &limits),
            Err(Rejection::TooManyEvents(2))
        ));
        let mut attrs = Attributes::new();
        attrs.insert("a".into(), json!(1));
        attrs.insert("b".into(), json!(2));
        let wide = Batch {
            spans: vec![span(attrs)],
            ..Batch::default()
        };
        assert!(matches!(
            check_counts(&wide, &limits),
            Err(Rejection::Invalid { .. })
        ));
    }
}
