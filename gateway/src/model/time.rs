//! Time and URL helpers every layer uses: the gateway's clock, the beacon's unit, a page's
//! path.

use std::time::{SystemTime, UNIX_EPOCH};

/// The gateway's clock, unix nanoseconds (0 for a clock before 1970).
pub fn now_unix_nano() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Unix milliseconds (the beacon's unit, fractional) to unix nanoseconds, rounded to the
/// microsecond: an f64 of today's unix milliseconds holds about 0.2 µs of resolution, and
/// browsers coarsen their clocks to 5 µs or more anyway.
pub fn unix_ms_to_nanos(ms: f64) -> Option<i64> {
    if !(0.0..=9.0e12).contains(&ms) {
        return None;
    }
    let whole = ms.trunc() as i64;
    let micros = ((ms - ms.trunc()) * 1e3).round() as i64;
    Some(whole * 1_000_000 + micros * 1_000)
}

/// The shift that corrects a browser clock: the gateway's receive time minus the beacon's
/// `sentAt` (browser clock), or `None` when within `threshold_nanos` either way. Below the
/// threshold the measured offset is mostly network delay, and shifting by it would trade a
/// small clock error for a transit error of the same size.
pub fn clock_offset(sent_at_nanos: i64, received_nanos: i64, threshold_nanos: i64) -> Option<i64> {
    let offset = received_nanos.saturating_sub(sent_at_nanos);
    (offset.unsigned_abs() > threshold_nanos.unsigned_abs()).then_some(offset)
}

/// `https://shop.example.com/cart?x=1#y` → `/cart`.
pub fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    let end = path.find(['?', '#']).unwrap_or(path.len());
    if end == 0 {
        "/"
    } else {
        &path[..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    #[test]
    fn ms_to_nanos_keeps_microseconds() {
        assert_eq!(
            unix_ms_to_nanos(1_732_460_000_123.456),
            Some(1_732_460_000_123_456_000)
        );
        assert_eq!(unix_ms_to_nanos(-1.0), None);
        assert_eq!(unix_ms_to_nanos(f64::NAN), None);
    }

    #[test]
    fn offsets_within_the_threshold_are_left_alone() {
        let sent = 1_732_460_000_000 * MS;
        assert_eq!(clock_offset(sent, sent + 999 * MS, 1000 * MS), None);
        assert_eq!(clock_offset(sent, sent - 1000 * MS, 1000 * MS), None);
        assert_eq!(
            clock_offset(sent, sent + 1001 * MS, 1000 * MS),
            Some(1001 * MS)
        );
        assert_eq!(
            clock_offset(sent, sent - 5000 * MS, 1000 * MS),
            Some(-5000 * MS)
        );
    }

    #[test]
    fn paths_drop_origin_query_and_fragment() {
        assert_eq!(url_path("https://shop.example.com/cart?x=1#y"), "/cart");
        assert_eq!(url_path("http://localhost:8080"), "/");
        assert_eq!(url_path("http://localhost:8080/?q"), "/");
        assert_eq!(url_path("/relative#x"), "/relative");
    }
}
