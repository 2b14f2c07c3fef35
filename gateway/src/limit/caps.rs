//! The length cap: an over-long string is truncated with a marker and counted. (Count caps
//! refuse a request, so they are checked in `validate`.)

use serde_json::Value;

use crate::model::{Attributes, Batch};

/// Appended to a string cut at `limits.max_string_chars`.
pub const TRUNCATION_MARKER: &str = "…[truncated]";

/// Cuts every string value (attributes, span names, status messages, page URLs) longer than
/// `max_chars` characters to `max_chars` and appends [`TRUNCATION_MARKER`].
/// Returns the batch and how many strings were cut.
pub fn truncate_strings(mut batch: Batch, max_chars: usize) -> (Batch, u64) {
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
        for event in &mut span.events {
            cut(&mut event.name);
            attributes(&mut event.attributes, &mut cut);
        }
        for link in &mut span.links {
            attributes(&mut link.attributes, &mut cut);
        }
    }
    for view in &mut batch.page_views {
        cut(&mut view.url);
        cut(&mut view.referrer);
        attributes(&mut view.resource, &mut cut);
        attributes(&mut view.attributes, &mut cut);
    }
    for event in &mut batch.events {
        attributes(&mut event.attributes, &mut cut);
    }
    // An error's message and stack have their own caps (validated); its attributes these.
    for error in &mut batch.errors {
        attributes(&mut error.attributes, &mut cut);
    }
    if count > 0 {
        tracing::debug!(count, max_chars, "Truncated over-long strings.");
    }
    (batch, count)
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
    use crate::model::{testing, PageView, Span};

    fn span(attrs: Attributes) -> Span {
        Span {
            name: "é".repeat(10),
            attributes: attrs,
            ..testing::span(1, 1)
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
                ..crate::model::testing::page_view("", "")
            }],
            vitals: vec![],
            events: vec![],
            errors: vec![],
        };
        let (out, count) = truncate_strings(batch, 5);
        let s = &out.spans[0];
        assert_eq!(s.name, format!("ééééé{TRUNCATION_MARKER}"));
        assert_eq!(s.attributes["long"], format!("xxxxx{TRUNCATION_MARKER}"));
        assert_eq!(s.attributes["short"], "abc");
        assert_eq!(
            s.attributes["arr"],
            json!([format!("yyyyy{TRUNCATION_MARKER}"), 3])
        );
        assert_eq!(out.page_views[0].url, format!("https{TRUNCATION_MARKER}"));
        assert_eq!(count, 4);
    }
}
