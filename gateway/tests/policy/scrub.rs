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
    // And nothing of it is in the file, not even in a page the API does not show.
    let file = std::fs::read(gw.dir.path().join("rum.sqlite")).expect("db");
    let wal = std::fs::read(gw.dir.path().join("rum.sqlite-wal")).unwrap_or_default();
    for bytes in [file, wal] {
        assert!(
            !bytes.windows(8).any(|w| w == b"jane.doe"),
            "raw e-mail in the store file"
        );
    }
}
