//! The validate stage: what arrived (a decoded beacon or OTLP request) → a [`ValidBatch`],
//! every input check in one place, each limit read from `[limits]`. After it the stages
//! cannot fail: what passes validation is stored (or sampled out, counted).
//!
//! * [`beacon`]: beacon v1 fields, ids, kinds, vitals, attribute shapes;
//! * [`otlp`]: OTLP spans' ids, times and kinds;
//! * [`context`]: the beacon's browser `context` object;
//! * here: the counts (events per request, attributes per span) and the time window, checked
//!   for both.

pub mod beacon;
pub mod context;
pub mod errors;
pub mod journey;
pub mod otlp;

use serde_json::Value;

pub use context::BrowserContext;

use crate::limit::Limits;
use crate::model::{Attributes, Batch, Span};
use crate::rejection::Rejection;

/// Earliest time accepted on a span or page view: 2000-01-01T00:00:00Z, in unix nanoseconds.
/// Anything earlier is a clock that was never set, not a real event.
pub const EARLIEST_UNIX_NANO: i64 = 946_684_800_000_000_000;

/// What validation checks against: the limits, and the receive time with the clock-skew
/// threshold (a beacon's times are judged as the correction will leave them).
#[derive(Debug, Clone, Copy)]
pub struct Checks<'a> {
    pub limits: &'a Limits,
    /// The gateway's clock when the request arrived.
    pub received_unix_nano: i64,
    /// `enrich.clock_skew_threshold_ms`, in nanoseconds.
    pub clock_skew_threshold_nanos: i64,
}

/// A batch that passed validation, with what the later stages need from the request.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidBatch {
    pub batch: Batch,
    /// The shift that corrects the browser's clock (receive time minus `sentAt`), when it is
    /// over the threshold; `None` for OTLP and for a browser clock within it.
    pub clock_offset_nanos: Option<i64>,
    /// The beacon's checked `context` (empty for OTLP).
    pub browser: BrowserContext,
}

impl ValidBatch {
    /// An OTLP batch: no browser clock, no browser context.
    pub fn otlp(batch: Batch) -> ValidBatch {
        ValidBatch {
            batch,
            clock_offset_nanos: None,
            browser: BrowserContext::default(),
        }
    }
}

/// Refuses more events (spans + vitals + browser events + errors) than one request may carry.
fn check_counts(batch: &Batch, limits: &Limits) -> Result<(), Rejection> {
    let items = batch.spans.len() + batch.vitals.len() + batch.events.len() + batch.errors.len();
    if items > limits.max_events_per_request {
        return Err(Rejection::TooManyEvents(limits.max_events_per_request));
    }
    Ok(())
}

/// Attribute values are strings, numbers, booleans or flat arrays of them (`nested` allows
/// OTLP's key-value lists too), at most `limits.max_attributes_per_span` of them.
fn check_attributes(
    attrs: &Attributes,
    field: &str,
    limits: &Limits,
    nested: bool,
) -> Result<(), Rejection> {
    if attrs.len() > limits.max_attributes_per_span {
        return Err(Rejection::invalid(
            field,
            format!(
                "has more than {} attributes",
                limits.max_attributes_per_span
            ),
        ));
    }
    if nested {
        return Ok(());
    }
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
    for (key, value) in attrs {
        let ok = scalar(value) || matches!(value, Value::Array(items) if items.iter().all(scalar));
        if !ok || key.is_empty() {
            return Err(Rejection::invalid(
                field,
                format!("attribute {key:?} must be a string, number, boolean or array of them"),
            ));
        }
    }
    Ok(())
}

/// Refuses a span with more events or links than the limits allow, or whose events' or
/// links' attributes break the attribute rules.
fn check_events_and_links(
    span: &Span,
    field: &str,
    limits: &Limits,
    nested: bool,
) -> Result<(), Rejection> {
    if span.events.len() > limits.max_events_per_span {
        return Err(Rejection::invalid(
            format!("{field}.events"),
            format!(
                "more than {} events on one span",
                limits.max_events_per_span
            ),
        ));
    }
    if span.links.len() > limits.max_links_per_span {
        return Err(Rejection::invalid(
            format!("{field}.links"),
            format!("more than {} links on one span", limits.max_links_per_span),
        ));
    }
    for event in &span.events {
        if event.name.is_empty() {
            return Err(Rejection::invalid(
                format!("{field}.events.name"),
                "must not be empty",
            ));
        }
        check_attributes(
            &event.attributes,
            &format!("{field}.events.attributes"),
            limits,
            nested,
        )?;
    }
    for link in &span.links {
        check_attributes(
            &link.attributes,
            &format!("{field}.links.attributes"),
            limits,
            nested,
        )?;
    }
    Ok(())
}

/// Refuses a span or page view timed before [`EARLIEST_UNIX_NANO`] or more than
/// `limits.max_future_secs` after the receive time, once shifted by `clock_offset_nanos`: a
/// browser clock that sends `sentAt` in 1970 and its spans in 2255 cannot push them to the
/// year 2262.
fn check_times(
    batch: &Batch,
    clock_offset_nanos: Option<i64>,
    checks: &Checks,
) -> Result<(), Rejection> {
    let max_future_secs = checks.limits.max_future_secs;
    let latest = checks.received_unix_nano.saturating_add(
        i64::try_from(max_future_secs.saturating_mul(1_000_000_000)).unwrap_or(i64::MAX),
    );
    let offset = clock_offset_nanos.unwrap_or(0);
    let check = |field: &str, nanos: i64| {
        let nanos = nanos.saturating_add(offset);
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
        for event in &span.events {
            check("span event time", event.time_unix_nano)?;
        }
    }
    for view in &batch.page_views {
        check("view.start", view.start_unix_nano)?;
        if let Some(end) = view.end_unix_nano {
            check("view.end", end)?;
        }
    }
    for event in &batch.events {
        check("events.time", event.time_unix_nano)?;
    }
    for error in &batch.errors {
        check("errors.time", error.time_unix_nano)?;
    }
    Ok(())
}
