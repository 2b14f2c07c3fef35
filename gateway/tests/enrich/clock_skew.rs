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
