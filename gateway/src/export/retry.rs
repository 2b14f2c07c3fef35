//! When to retry an export: capped exponential backoff with jitter, and the receiver's
//! `Retry-After`.

use std::time::Duration;

/// Longest `Retry-After` honoured, so a confused receiver cannot park export for a day.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Capped exponential backoff for the `attempt`-th retry in a row (1-based): doubling from
/// the initial delay up to the cap, drawn uniformly from the upper half so that many
/// gateways do not retry in step.
pub fn backoff(initial_ms: u64, max_ms: u64, attempt: u32) -> Duration {
    let exp = initial_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(32));
    let ceiling = exp.min(max_ms).max(1);
    Duration::from_millis(fastrand::u64(ceiling / 2..=ceiling))
}

/// A `Retry-After` value, delay-seconds or an HTTP date, as a delay of at most
/// [`MAX_RETRY_AFTER`]; a date in the past is no delay.
pub fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_capped() {
        assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("86400"), Some(MAX_RETRY_AFTER));
        let in_a_minute = std::time::SystemTime::now() + Duration::from_secs(60);
        let delay = retry_after(&httpdate::fmt_http_date(in_a_minute)).expect("date");
        assert!(
            delay > Duration::from_secs(55) && delay <= Duration::from_secs(60),
            "{delay:?}"
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn backoff_doubles_within_jitter_and_caps() {
        for _ in 0..100 {
            let first = backoff(100, 1000, 1).as_millis();
            assert!((50..=100).contains(&first), "{first}");
            let third = backoff(100, 1000, 3).as_millis();
            assert!((200..=400).contains(&third), "{third}");
            let capped = backoff(100, 1000, 40).as_millis();
            assert!((500..=1000).contains(&capped), "{capped}");
        }
    }
}
