//! Which attributes the scrub stage leaves alone: what the gateway and the SDK stamp
//! themselves, identifiers, and numbers that measure something. Masking them protects no one
//! and corrupts data: about 1 in 18,400 of the SDK's random 16-hex-digit view ids is all
//! digits and Luhn-valid, and a 13-digit millisecond offset or timestamp passes Luhn 1 time
//! in 10. `docs/config.md` lists these rules under `[scrub]`.

use crate::model::attr::{ENRICHMENT_PREFIXES, RUM_TEXT_KEYS};

/// Namespaces validation and sampling stamp besides enrichment's
/// ([`ENRICHMENT_PREFIXES`]): their values come from the beacon's checked ids or counters,
/// never from free text a user typed.
const STAMPED_PREFIXES: [&str; 2] = ["rum.", "sampling."];

/// Identifiers by OpenTelemetry convention or the wire format: random or sequential ids,
/// never personal. (`user.id` and `enduser.id` are not here: applications put e-mail
/// addresses in them.)
const ID_KEYS: [&str; 8] = [
    "session.id",
    "session.previous_id",
    "web_vital.id",
    "trace_id",
    "span_id",
    "trace.id",
    "span.id",
    "metric.id",
];

/// Last-segment endings (compared without case) that make a number a measure: a time, a
/// duration, a count, a size, a ratio, a code or a numeric id. Only numbers: a string under
/// such a key is still scrubbed.
const MEASURE_SUFFIXES: [&str; 19] = [
    "_ms",
    "_us",
    "_ns",
    "_s",
    "time",
    "timestamp",
    "duration",
    "delay",
    "count",
    "size",
    "bytes",
    "length",
    "ratio",
    "value",
    "status_code",
    "port",
    "id",
    "index",
    "offset",
];

/// Whether the attribute `key` is never scrubbed, whatever its value.
pub fn is_exempt_key(key: &str) -> bool {
    // The SDK's action names and targets come from the page's text, and a route change's
    // previous URL may hold a token: scrubbed like any page text.
    if RUM_TEXT_KEYS.contains(&key) {
        return false;
    }
    STAMPED_PREFIXES
        .iter()
        .chain(&ENRICHMENT_PREFIXES)
        .any(|p| key.starts_with(p))
        || ID_KEYS.contains(&key)
        || key.ends_with(".trace_id")
        || key.ends_with(".span_id")
}

/// Whether a number under `key` is a measure or id (never masked as a card number).
pub fn is_measure_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    MEASURE_SUFFIXES.iter().any(|s| last.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_keys_and_ids_are_exempt_user_keys_are_not() {
        for key in [
            "rum.page_view.id",
            "rum.clock_skew.adjusted_ms",
            "session.id",
            "sampling.ratio",
            "geo.locality.name",
            "user_agent.original",
            "messaging.message.span_id",
        ] {
            assert!(is_exempt_key(key), "{key}");
        }
        for key in [
            "user.id",
            "enduser.id",
            "url.full",
            "http.route",
            "message",
            "rumour",
            "rum.action.name",
            "rum.action.target",
            "rum.route_change.previous_url",
        ] {
            assert!(!is_exempt_key(key), "{key}");
        }
    }

    #[test]
    fn measures_are_numbers_of_times_counts_sizes_and_ids() {
        for key in [
            "http.response.status_code",
            "http.request.body.size",
            "event.timestamp",
            "db.duration",
            "order_id",
            "largestShiftTime",
            "resourceLoadDelay",
        ] {
            assert!(is_measure_key(key), "{key}");
        }
        for key in ["card", "payment.pan", "note"] {
            assert!(!is_measure_key(key), "{key}");
        }
    }
}
