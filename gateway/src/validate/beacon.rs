//! Beacon v1 → [`ValidBatch`]: checks every field against the wire format's rules
//! (`docs/beacon-v1.md`) and `[limits]`, and stamps the session and page view onto each
//! span.

use serde_json::{Map, Value};

use super::errors;
use super::journey::{self, Stamp};
use super::{
    check_attributes, check_counts, check_events_and_links, check_times, BrowserContext, Checks,
    ValidBatch,
};
use crate::limit::Limits;
use crate::model::time::clock_offset;
use crate::model::time::unix_ms_to_nanos;
use crate::model::{
    Attributes, Batch, PageView, Source, Span, SpanEvent, SpanId, SpanKind, SpanLink, StatusCode,
    TraceId, Vital,
};
use crate::rejection::Rejection;
use crate::wire::beacon_v1::{BeaconV1, SpanV1, VitalV1, MAX_ATTRIBUTION_BYTES};

/// The web vitals a beacon may carry.
pub const VITAL_NAMES: [&str; 5] = ["LCP", "INP", "CLS", "FCP", "TTFB"];
/// web-vitals' ratings.
pub const RATINGS: [&str; 3] = ["good", "needs-improvement", "poor"];
/// Longest id (session, page view, metric) accepted, in bytes.
const MAX_ID_LEN: usize = 64;

/// Checks a decoded beacon against `checks`.
pub fn beacon(beacon: BeaconV1, checks: &Checks) -> Result<ValidBatch, Rejection> {
    let limits = checks.limits;
    let sent_at = unix_ms(beacon.sent_at, "sentAt")?;
    let browser = BrowserContext::parse(beacon.context.as_ref())?;
    let session_id = id(beacon.session.id, "session.id")?;
    let view = beacon.view;
    let view_id = id(view.id, "view.id")?;
    let resource = attributes(beacon.resource, "resource", limits)?;
    let start_unix_nano = unix_ms(view.start, "view.start")?;
    let extras = journey::view_extras(
        view.name,
        view.previous_id,
        view.end,
        view.visible,
        view.dropped,
        start_unix_nano,
    )?;
    let user_id = journey::user(beacon.user)?;
    let globals = journey::global_attributes(beacon.attrs, limits)?;
    let stamp = Stamp {
        session_id: &session_id,
        view_id: &view_id,
        user_id: user_id.as_deref(),
        globals: &globals,
    };
    // The view has its ids in fields of its own.
    let mut view_attributes = Attributes::new();
    stamp.user_and_globals(&mut view_attributes);
    let page_view = PageView {
        id: view_id.clone(),
        session_id: session_id.clone(),
        url: view.url,
        referrer: view.referrer,
        navigation_type: view.navigation_type,
        start_unix_nano,
        resource: resource.clone(),
        attributes: view_attributes,
        name: extras.name,
        previous_id: extras.previous_id,
        end_unix_nano: extras.end_unix_nano,
        visible_ms: extras.visible_ms,
        dropped: extras.dropped,
    };
    let spans = beacon
        .spans
        .into_iter()
        .map(|s| span(s, &resource, &stamp, limits))
        .collect::<Result<Vec<_>, _>>()?;
    let events = journey::events(beacon.events, &stamp, &resource, limits)?;
    let errors = errors::errors(beacon.errors, &stamp, &resource, limits)?;
    let vitals = beacon
        .vitals
        .into_iter()
        .map(|v| vital(v, &view_id))
        .collect::<Result<Vec<_>, _>>()?;
    let batch = Batch {
        spans,
        page_views: vec![page_view],
        vitals,
        events,
        errors,
    };
    check_counts(&batch, limits)?;
    let clock_offset_nanos = clock_offset(
        sent_at,
        checks.received_unix_nano,
        checks.clock_skew_threshold_nanos,
    );
    check_times(&batch, clock_offset_nanos, checks)?;
    Ok(ValidBatch {
        batch,
        clock_offset_nanos,
        browser,
    })
}

fn span(
    s: SpanV1,
    resource: &Attributes,
    stamp: &Stamp,
    limits: &Limits,
) -> Result<Span, Rejection> {
    let trace_id = TraceId::from_hex(&s.trace_id).ok_or_else(|| {
        Rejection::invalid("spans.traceId", "must be 32 hex digits, not all zero")
    })?;
    let span_id = SpanId::from_hex(&s.span_id)
        .ok_or_else(|| Rejection::invalid("spans.spanId", "must be 16 hex digits, not all zero"))?;
    let parent_span_id = match s.parent_span_id.as_deref() {
        None | Some("") => None,
        Some(hex) => Some(
            SpanId::from_hex(hex)
                .ok_or_else(|| Rejection::invalid("spans.parentSpanId", "must be 16 hex digits"))?,
        ),
    };
    let kind = SpanKind::parse(&s.kind).ok_or_else(|| {
        Rejection::invalid(
            "spans.kind",
            "must be internal, server, client, producer or consumer",
        )
    })?;
    let status = match s.status.as_deref() {
        None | Some("unset") => StatusCode::Unset,
        Some("ok") => StatusCode::Ok,
        Some("error") => StatusCode::Error,
        Some(_) => {
            return Err(Rejection::invalid(
                "spans.status",
                "must be ok, error or unset",
            ))
        }
    };
    let start = unix_ms(s.start, "spans.start")?;
    let end = unix_ms(s.end, "spans.end")?;
    if end < start {
        return Err(Rejection::invalid("spans.end", "is before spans.start"));
    }
    if s.name.is_empty() {
        return Err(Rejection::invalid("spans.name", "must not be empty"));
    }
    let mut attrs = attributes(s.attrs, "spans.attrs", limits)?;
    stamp.apply(&mut attrs);
    let events = s
        .events
        .into_iter()
        .map(|e| {
            Ok(SpanEvent {
                time_unix_nano: unix_ms(e.time, "spans.events.time")?,
                name: e.name,
                attributes: e.attrs,
            })
        })
        .collect::<Result<Vec<_>, Rejection>>()?;
    let links = s
        .links
        .into_iter()
        .map(|l| {
            Ok(SpanLink {
                trace_id: TraceId::from_hex(&l.trace_id).ok_or_else(|| {
                    Rejection::invalid("spans.links.traceId", "must be 32 hex digits, not all zero")
                })?,
                span_id: SpanId::from_hex(&l.span_id).ok_or_else(|| {
                    Rejection::invalid("spans.links.spanId", "must be 16 hex digits, not all zero")
                })?,
                attributes: l.attrs,
            })
        })
        .collect::<Result<Vec<_>, Rejection>>()?;
    let span = Span {
        trace_id,
        span_id,
        parent_span_id,
        name: s.name,
        kind,
        start_unix_nano: start,
        end_unix_nano: end,
        status,
        status_message: String::new(),
        attributes: attrs,
        resource: resource.clone(),
        source: Source::Browser,
        events,
        links,
    };
    check_events_and_links(&span, "spans", limits, false)?;
    Ok(span)
}

fn vital(v: VitalV1, view_id: &str) -> Result<Vital, Rejection> {
    if !VITAL_NAMES.contains(&v.name.as_str()) {
        return Err(Rejection::invalid(
            "vitals.name",
            "must be LCP, INP, CLS, FCP or TTFB",
        ));
    }
    if !RATINGS.contains(&v.rating.as_str()) {
        return Err(Rejection::invalid(
            "vitals.rating",
            "must be good, needs-improvement or poor",
        ));
    }
    if !v.value.is_finite() || v.value < 0.0 || !v.delta.is_finite() {
        return Err(Rejection::invalid(
            "vitals.value",
            "must be a finite number ≥ 0",
        ));
    }
    let attribution = match v.attr {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map))
            if serde_json::to_string(&map).map_or(0, |s| s.len()) <= MAX_ATTRIBUTION_BYTES =>
        {
            map
        }
        Some(Value::Object(_)) => Map::from_iter([("truncated".to_string(), Value::Bool(true))]),
        Some(_) => return Err(Rejection::invalid("vitals.attr", "must be an object")),
    };
    Ok(Vital {
        page_view_id: view_id.into(),
        metric_id: id(v.id, "vitals.id")?,
        name: v.name,
        value: v.value,
        delta: v.delta,
        rating: v.rating,
        navigation_type: v.nav,
        attribution,
    })
}

fn id(text: String, field: &str) -> Result<String, Rejection> {
    let ok = !text.is_empty()
        && text.len() <= MAX_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(text)
    } else {
        Err(Rejection::invalid(
            field,
            "must be 1–64 characters of [A-Za-z0-9_-]",
        ))
    }
}

fn unix_ms(ms: f64, field: &str) -> Result<i64, Rejection> {
    unix_ms_to_nanos(ms).ok_or_else(|| Rejection::invalid(field, "must be unix milliseconds"))
}

fn attributes(
    map: Map<String, Value>,
    field: &str,
    limits: &Limits,
) -> Result<Attributes, Rejection> {
    check_attributes(&map, field, limits, false)?;
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::attr::SESSION_ID;
    use crate::wire::beacon_v1::decode;

    fn sample() -> serde_json::Value {
        serde_json::json!({
            "v": 1, "sentAt": 1732460000500.0,
            "resource": {"service.name": "web"},
            "session": {"id": "0123456789abcdef0123456789abcdef"},
            "view": {"id": "a1b2c3d4e5f60718", "url": "http://localhost/", "type": "navigate", "start": 1732460000000.0},
            "spans": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
                       "name": "HTTP GET", "kind": "client", "start": 1732460000100.25, "end": 1732460000150.5,
                       "attrs": {"http.request.method": "GET", "http.response.status_code": 200}}],
            "vitals": [{"name": "LCP", "value": 812.5, "delta": 812.5, "id": "v1-1-1", "rating": "good", "nav": "navigate"}]
        })
    }

    fn run(v: serde_json::Value) -> Result<Batch, Rejection> {
        run_with(v, &Limits::default())
    }

    fn run_with(v: serde_json::Value, limits: &Limits) -> Result<Batch, Rejection> {
        let checks = Checks {
            limits,
            received_unix_nano: 1_732_460_000_600_000_000,
            clock_skew_threshold_nanos: 1_000_000_000,
        };
        Ok(beacon(decode(v.to_string().as_bytes())?, &checks)?.batch)
    }

    #[test]
    fn a_valid_beacon_becomes_a_batch_with_session_on_each_span() {
        let batch = run(sample()).expect("valid");
        let span = &batch.spans[0];
        assert_eq!(span.start_unix_nano, 1_732_460_000_100_250_000);
        assert_eq!(span.kind, SpanKind::Client);
        assert_eq!(
            span.attributes[SESSION_ID],
            "0123456789abcdef0123456789abcdef"
        );
        assert_eq!(span.resource["service.name"], "web");
        assert_eq!(batch.page_views[0].navigation_type, "navigate");
        assert_eq!(batch.vitals[0].value, 812.5);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: [(&str, serde_json::Value); 6] = [
            ("spans.traceId", serde_json::json!("xyz")),
            ("spans.kind", serde_json::json!("sideways")),
            ("vitals.name", serde_json::json!("FID")),
            ("session.id", serde_json::json!("has space")),
            ("spans.end", serde_json::json!(1.0)),
            ("spans.attrs", serde_json::json!({"nested": {"a": 1}})),
        ];
        for (field, bad) in cases {
            let mut v = sample();
            match field {
                "spans.traceId" => v["spans"][0]["traceId"] = bad,
                "spans.kind" => v["spans"][0]["kind"] = bad,
                "vitals.name" => v["vitals"][0]["name"] = bad,
                "session.id" => v["session"]["id"] = bad,
                "spans.end" => v["spans"][0]["end"] = bad,
                _ => v["spans"][0]["attrs"] = bad,
            }
            match run(v) {
                Err(Rejection::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn counts_come_from_the_limits() {
        let limits = Limits {
            max_events_per_request: 1,
            max_attributes_per_span: 2,
            ..Limits::default()
        };
        // One span and one vital: two events.
        assert!(matches!(
            run_with(sample(), &limits),
            Err(Rejection::TooManyEvents(1))
        ));
        let mut v = sample();
        v["vitals"] = serde_json::json!([]);
        // Two attributes of the sender's own: within the limit (the stamped session and page
        // view do not count).
        assert!(run_with(v.clone(), &limits).is_ok());
        v["spans"][0]["attrs"]["third"] = serde_json::json!(3);
        match run_with(v, &limits) {
            Err(Rejection::Invalid { field, problem }) => {
                assert_eq!(field, "spans.attrs");
                assert!(problem.contains("more than 2"), "{problem}");
            }
            other => panic!("{other:?}"),
        }
    }
}
