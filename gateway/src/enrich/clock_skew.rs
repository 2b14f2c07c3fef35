//! Browser clock correction. The beacon's `sentAt` is read from the browser's clock just
//! before sending; the gateway's receive time minus it is the browser clock's offset plus the
//! one-way network delay. Above a threshold the offset is taken for a wrong clock and every
//! browser timestamp of the batch is shifted by it, so browser spans line up with the
//! server spans they caused.
//!
//! Below the threshold nothing moves: the measured offset is then mostly network delay, and
//! shifting by it would trade a small clock error for a transit error of the same size.

use serde_json::Value;

use crate::model::attr::CLOCK_SKEW_ADJUSTED_MS as ADJUSTED_MS;
use crate::model::{Batch, Source};

/// Shifts the batch's browser spans and page views by `offset_nanos` and records it.
pub fn adjust(batch: &mut Batch, offset_nanos: i64) {
    // Whole milliseconds are precise enough to explain a shift of over a threshold.
    let ms = Value::from(offset_nanos / 1_000_000);
    for span in batch
        .spans
        .iter_mut()
        .filter(|s| s.source == Source::Browser)
    {
        span.start_unix_nano = shift(span.start_unix_nano, offset_nanos);
        span.end_unix_nano = shift(span.end_unix_nano, offset_nanos);
        for event in &mut span.events {
            event.time_unix_nano = shift(event.time_unix_nano, offset_nanos);
        }
        span.attributes.insert(ADJUSTED_MS.into(), ms.clone());
    }
    for view in &mut batch.page_views {
        view.start_unix_nano = shift(view.start_unix_nano, offset_nanos);
        view.attributes.insert(ADJUSTED_MS.into(), ms.clone());
    }
}

/// Times stay non-negative: a shift can only come from a clock set before 1970 by accident.
fn shift(nanos: i64, by: i64) -> i64 {
    nanos.saturating_add(by).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_never_goes_below_zero() {
        assert_eq!(shift(10, -20), 0);
        assert_eq!(shift(i64::MAX, 5), i64::MAX);
    }
}
