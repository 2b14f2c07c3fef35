//! What a beacon is stored with: client address, geo, user agent, browser context.

use super::*;

#[tokio::test]
async fn a_beacon_through_a_trusted_proxy_gets_the_forwarded_clients_geo_and_user_agent() {
    let gw = gateway(&format!(
        "trusted_proxies = [\"10.0.0.0/8\"]\n{}",
        city_db()
    ));
    let now = now_ms();
    // The client tried to spoof its address; the proxy appended the real one.
    let (status, body) = send(
        &gw.ingest,
        post(
            &beacon(now, now - 1000.0),
            PROXY,
            Some("203.0.113.66, 81.2.69.142"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (span, _, view) = stored(&gw).await;
    for attrs in [&span, &view] {
        assert_eq!(attrs["client.address"], "81.2.69.142", "{attrs}");
        assert_eq!(attrs["geo.country.iso_code"], "GB", "{attrs}");
        assert_eq!(attrs["geo.locality.name"], "London", "{attrs}");
        assert_eq!(attrs["geo.region.iso_code"], "GB-ENG", "{attrs}");
        assert_eq!(attrs["geo.continent.code"], "EU", "{attrs}");
        assert!(
            attrs.get("geo.location.lat").is_none(),
            "coordinates are off by default: {attrs}"
        );
        assert_eq!(attrs["user_agent.original"], CHROME);
        assert_eq!(attrs["user_agent.name"], "Chrome");
        assert_eq!(attrs["user_agent.version"], "120.0.6099");
        assert_eq!(attrs["os.name"], "Windows");
        assert_eq!(attrs["os.version"], "10");
        assert_eq!(attrs["browser.screen.width"], 1920);
        assert_eq!(attrs["browser.viewport.height"], 720);
        assert_eq!(attrs["browser.connection.effective_type"], "4g");
        assert_eq!(attrs["browser.language"], "en-GB");
        assert!(
            attrs.get("rum.clock_skew.adjusted_ms").is_none(),
            "clock was right: {attrs}"
        );
    }
    assert_eq!(
        span["http.request.method"], "GET",
        "the page's own attributes stay"
    );
    assert_eq!(span["session.id"], "0123456789abcdef0123456789abcdef");
}

#[tokio::test]
async fn an_untrusted_peer_is_the_client_and_its_forwarding_header_is_ignored() {
    let gw = gateway(&format!(
        "trusted_proxies = [\"10.0.0.0/8\"]\n{}",
        city_db()
    ));
    let now = now_ms();
    let (status, body) = send(
        &gw.ingest,
        post(
            &beacon(now, now - 1000.0),
            "127.0.0.1:50000",
            Some("81.2.69.142"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (span, _, view) = stored(&gw).await;
    for attrs in [&span, &view] {
        assert_eq!(attrs["client.address"], "127.0.0.1", "{attrs}");
        assert!(
            geo_keys(attrs).is_empty(),
            "no geo for a loopback peer, nor the page's forged one: {attrs}"
        );
        assert_eq!(attrs["user_agent.name"], "Chrome");
    }
}

#[tokio::test]
async fn coordinates_are_added_only_when_enabled() {
    let gw = gateway(&format!(
        "trusted_proxies = [\"10.0.0.7\"]\ngeo_coordinates = true\n{}",
        city_db()
    ));
    let now = now_ms();
    let (status, _) = send(
        &gw.ingest,
        post(&beacon(now, now - 1000.0), PROXY, Some("216.160.83.56")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (span, _, _) = stored(&gw).await;
    assert_eq!(span["geo.locality.name"], "Milton");
    assert_eq!(span["geo.region.iso_code"], "US-WA");
    assert_eq!(span["geo.country.iso_code"], "US");
    assert_eq!(span["geo.postal_code"], "98354");
    assert!(
        (span["geo.location.lat"].as_f64().expect("lat") - 47.2513).abs() < 1e-9,
        "{span}"
    );
    assert!(
        (span["geo.location.lon"].as_f64().expect("lon") + 122.3149).abs() < 1e-9,
        "{span}"
    );
}

#[tokio::test]
async fn a_malformed_context_is_a_400_naming_the_field_and_nothing_is_stored() {
    let gw = gateway("");
    let now = now_ms();
    let mut body = beacon(now, now - 1000.0);
    body["context"]["screen"]["width"] = json!("wide");
    let (status, reply) = send(&gw.ingest, post(&body, "127.0.0.1:1", None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert_eq!(reply["error"], "invalid_field");
    assert!(
        reply["message"]
            .as_str()
            .expect("message")
            .contains("context.screen.width"),
        "{reply}"
    );
    let request = Request::get(format!("/api/traces/{TRACE_ID}"))
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&gw.admin, request).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn otlp_spans_from_backends_are_not_enriched() {
    let gw = gateway(&format!(
        "trusted_proxies = [\"10.0.0.0/8\"]\n{}",
        city_db()
    ));
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": TRACE_ID, "spanId": "00f067aa0ba902b7", "name": "GET /x", "kind": 2,
        "startTimeUnixNano": "1732460000110000000", "endTimeUnixNano": "1732460000140000000"
    }]}]}]});
    let request = Request::post("/v1/traces")
        .header("content-type", "application/json")
        .header("authorization", "Bearer k1")
        .header("user-agent", CHROME)
        .header("x-forwarded-for", "81.2.69.142")
        .extension(ConnectInfo(PROXY.parse::<SocketAddr>().expect("peer")))
        .body(Body::from(body.to_string()))
        .expect("request");
    assert_eq!(send(&gw.ingest, request).await.0, StatusCode::OK);
    let (span, start, _) = stored(&gw).await;
    assert_eq!(
        span,
        json!({}),
        "backend spans keep their own attributes only"
    );
    assert_eq!(start, 1_732_460_000_110_000_000);
}

#[tokio::test]
async fn user_agent_parsing_can_be_switched_off() {
    let gw = gateway("user_agent_parsing = false");
    let now = now_ms();
    let (status, body) = send(&gw.ingest, post(&beacon(now, now - 1000.0), PROXY, None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (span, _, view) = stored(&gw).await;
    for attrs in [&span, &view] {
        assert!(attrs.get("user_agent.name").is_none(), "{attrs}");
        assert!(attrs.get("os.name").is_none(), "{attrs}");
        // The rest of enrichment still runs.
        assert_eq!(attrs["browser.language"], "en-GB", "{attrs}");
    }
}
