//! Scrubbing happens before anything is stored.

use super::*;

#[tokio::test]
async fn personal_data_is_scrubbed_before_it_is_stored() {
    let gw = gateway_with("", 64);
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let span = browser_span(
        trace_id,
        "b7ad6b7169203331",
        json!({
            "url.full": "http://localhost:8080/api/user?Email=jane.doe%40example.com&tab=2",
            "user.note": "call jane.doe@example.com about card 4111 1111 1111 1111",
            "http.request.header.authorization": "Bearer sk_live_abcdef123456",
            "client.address": "203.0.113.9",
        }),
    );
    let body = beacon(
        "http://localhost:8080/account?token=T0pS3cret&contact=jane.doe@example.com",
        vec![span],
    );
    let (status, _, _) = send(&gw.ingest, post_beacon(body.to_string(), None)).await;
    assert_eq!(status, StatusCode::OK);

    let (status, trace) = get(&gw.admin, &format!("/api/traces/{trace_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, views) = get(&gw.admin, "/api/page_views").await;
    let stored = format!("{trace}{views}");
    for raw in [
        "jane.doe",
        "T0pS3cret",
        "4111 1111",
        "sk_live_abcdef123456",
        "203.0.113.9",
    ] {
        assert!(!stored.contains(raw), "{raw:?} was stored: {stored}");
    }
    let attrs = &trace["spans"][0]["attributes"];
    assert_eq!(
        attrs["url.full"],
        "http://localhost:8080/api/user?Email=[redacted]&tab=2"
    );
    assert_eq!(attrs["user.note"], "call [email] about card [card]");
    assert!(attrs.get("client.address").is_none());
    assert_eq!(
        trace["page_view"]["url"],
        "http://localhost:8080/account?token=[redacted]&contact=[email]"
    );
    // And nothing of it is in the files, not even in a page the API does not show: the
    // database, its WAL, and the ingest log (what is logged is already scrubbed).
    let mut files = vec![
        std::fs::read(gw.dir.path().join("rum.sqlite")).expect("db"),
        std::fs::read(gw.dir.path().join("rum.sqlite-wal")).unwrap_or_default(),
    ];
    let partitions = gw.dir.path().join(gateway::store::partitions::DIR);
    for file in std::fs::read_dir(&partitions).expect("the span partitions") {
        files.push(std::fs::read(file.expect("entry").path()).expect("partition file"));
    }
    assert!(files.len() >= 3, "rum.sqlite, its WAL and a partition");
    let log_dir = gw.dir.path().join(gateway::store::log::LOG_DIR);
    let segments: Vec<_> = std::fs::read_dir(&log_dir)
        .expect("the ingest log")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    assert!(!segments.is_empty());
    for segment in segments {
        let bytes = std::fs::read(segment).expect("segment");
        assert!(
            bytes.windows(11).any(|w| w == b"[redacted]&"),
            "the log holds the request"
        );
        files.push(bytes);
    }
    for bytes in files {
        assert!(
            !bytes.windows(8).any(|w| w == b"jane.doe"),
            "raw e-mail in the store's files"
        );
    }
}

/// About 1 in 18,400 of the SDK's random 16-hex-digit view ids is all digits and passes
/// Luhn. Such an id must reach the store unmasked on the span as on the page view, or the
/// trace loses its page view; the clock-skew shift the gateway stamps is never masked either.
#[tokio::test]
async fn the_gateways_own_ids_and_stamps_are_not_scrubbed() {
    let gw = gateway_with("", 64);
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let view_id = "4111111111111111";
    let mut body = beacon(
        "http://localhost:8080/",
        vec![browser_span(
            trace_id,
            "b7ad6b7169203331",
            json!({"note": "4111111111111111"}),
        )],
    );
    body["view"]["id"] = json!(view_id);
    let (status, _, _) = send(&gw.ingest, post_beacon(body.to_string(), None)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, trace) = get(&gw.admin, &format!("/api/traces/{trace_id}")).await;
    let attrs = &trace["spans"][0]["attributes"];
    assert_eq!(attrs["rum.page_view.id"], view_id, "{trace}");
    assert_eq!(trace["page_view"]["page_view_id"], view_id, "{trace}");
    assert_eq!(
        attrs["note"], "[card]",
        "what the page sent is still scrubbed"
    );
    // sentAt is two years old: the shift is stamped as a whole number of milliseconds.
    assert!(attrs["rum.clock_skew.adjusted_ms"].is_i64(), "{attrs}");
}
