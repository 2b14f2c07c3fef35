//! Browser clock correction on both sides of the threshold.

use super::*;

#[tokio::test]
async fn a_browser_clock_off_by_more_than_the_threshold_is_corrected() {
    let gw = gateway("clock_skew_threshold_ms = 1000");
    // The browser's clock is a minute behind: its times are a minute early.
    let now = now_ms();
    let skew = 60_000.0;
    let span_start = now - skew - 500.0;
    let (status, _) = send(
        &gw.ingest,
        post(&beacon(now - skew, span_start), "127.0.0.1:1", None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (span, start, view) = stored(&gw).await;
    let adjusted = span["rum.clock_skew.adjusted_ms"]
        .as_i64()
        .expect("adjusted");
    // The measured offset is the skew plus the (in-process, tiny) transit time.
    assert!((60_000..61_000).contains(&adjusted), "{adjusted}");
    assert_eq!(view["rum.clock_skew.adjusted_ms"], adjusted);
    let shift_ms = (start as f64 / 1e6) - span_start;
    assert!(
        (60_000.0..61_000.0).contains(&shift_ms),
        "span start moved by {shift_ms} ms"
    );
    // Corrected, the span ended before the gateway received the beacon, as it really did.
    assert!(start as f64 / 1e6 + 50.0 <= now_ms());
}

#[tokio::test]
async fn a_clock_within_the_threshold_is_left_alone() {
    let gw = gateway("clock_skew_threshold_ms = 1000");
    let now = now_ms();
    // 300 ms behind: within the threshold, so nothing moves.
    let span_start = now - 2000.0;
    let (status, _) = send(
        &gw.ingest,
        post(&beacon(now - 300.0, span_start), "127.0.0.1:1", None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (span, start, view) = stored(&gw).await;
    assert!(span.get("rum.clock_skew.adjusted_ms").is_none(), "{span}");
    assert!(view.get("rum.clock_skew.adjusted_ms").is_none(), "{view}");
    assert_eq!(start, (span_start as i64) * 1_000_000);
}

/// A clock the correction cannot explain: `sentAt` in 1970 and the spans in 2255. Shifted by
/// the offset (about now), the spans would land in the year 2262 (the end of i64
/// nanoseconds); the request is refused, naming the field, and nothing is stored.
#[tokio::test]
async fn times_pushed_outside_the_window_by_the_correction_are_refused() {
    let gw = gateway("clock_skew_threshold_ms = 1000");
    let (status, body) = send(
        &gw.ingest,
        post(&beacon(1.0, 9.0e12 - 1000.0), "127.0.0.1:1", None),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_field");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("after the gateway's clock")),
        "{body}"
    );
    // A page whose clock and times both sit in 1970: corrected to now, so stored.
    let (status, body) = send(
        &gw.ingest,
        post(&beacon(10_000.0, 5_000.0), "127.0.0.1:1", None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, start, _) = stored(&gw).await;
    let now_nanos = now_ms() as i64 * 1_000_000;
    assert!((now_nanos - start).abs() < 60_000_000_000, "{start}");
}

/// A clock that is right (nothing to correct) with a time before 2000 is refused as it came.
#[tokio::test]
async fn times_before_2000_are_refused() {
    let gw = gateway("");
    let (status, body) = send(
        &gw.ingest,
        post(&beacon(now_ms(), 946_684_799_000.0), "127.0.0.1:1", None),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("before 2000-01-01")),
        "{body}"
    );
}
