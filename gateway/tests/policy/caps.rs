//! Content-Encoding, the decompressed cap, and count and length caps.

use super::*;

#[tokio::test]
async fn gzip_is_accepted_on_both_endpoints_and_capped() {
    let gw = gateway_with("[limits]\nmax_decompressed_bytes = 65536\n", 64);
    let body = beacon(
        "http://localhost:8080/",
        vec![browser_span(
            "0af7651916cd43dd8448eb211c80319c",
            "b7ad6b7169203331",
            json!({}),
        )],
    );
    let (status, counts, _) = send(
        &gw.ingest,
        post_beacon(gzip(body.to_string().as_bytes()), Some("gzip")),
    )
    .await;
    assert_eq!(
        (status, counts["spans"].clone()),
        (StatusCode::OK, json!(1))
    );
    let request = otlp(vec![otlp_span([9; 16], [9; 8], 1)]);
    assert_eq!(
        send(&gw.ingest, post_otlp(&request, Some("gzip"))).await.0,
        StatusCode::OK
    );
    assert_eq!(stored_spans(&gw).len(), 2);

    // 16 MiB of spaces (valid JSON whitespace) in 16 KiB: refused at the cap, not inflated.
    let bomb = gzip(&vec![b' '; 16 << 20]);
    assert!(bomb.len() < (1 << 20));
    let (status, err, _) = send(&gw.ingest, post_beacon(bomb, Some("gzip"))).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );

    // A page may gzip its beacons (CompressionStream): the preflight allows the header.
    let preflight = Request::options("/v1/rum?key=dev")
        .header(header::ORIGIN, "http://localhost:8080")
        .body(Body::empty())
        .expect("request");
    let (_, _, headers) = send(&gw.ingest, preflight).await;
    let allowed = headers
        .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
        .and_then(|v| v.to_str().ok());
    assert!(
        allowed.is_some_and(|h| h.contains("content-encoding")),
        "{allowed:?}"
    );

    let (status, err, _) = send(&gw.ingest, post_beacon(body.to_string(), Some("br"))).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_encoding")
        )
    );
    let mut otlp_br = post_otlp(&request, None);
    otlp_br
        .headers_mut()
        .insert(header::CONTENT_ENCODING, "deflate".parse().expect("value"));
    assert_eq!(
        send(&gw.ingest, otlp_br).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        stored_spans(&gw).len(),
        2,
        "nothing of a refused request is stored"
    );
}

#[tokio::test]
async fn too_many_events_are_refused_and_long_strings_truncated() {
    let gw = gateway_with(
        "[limits]\nmax_events_per_request = 3\nmax_string_chars = 10\n",
        64,
    );
    let spans: Vec<Value> = (1..=3)
        .map(|i| {
            browser_span(
                &format!("0af7651916cd43dd8448eb211c8031{i:02}"),
                "b7ad6b7169203331",
                json!({}),
            )
        })
        .collect();
    // 3 spans + 1 vital = 4 events.
    let (status, err, _) = send(
        &gw.ingest,
        post_beacon(beacon("http://localhost:8080/", spans).to_string(), None),
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_many_events"))
    );
    assert!(stored_spans(&gw).is_empty());

    let span = browser_span(
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        json!({"note": "abcdefghijklmnop"}),
    );
    assert_eq!(
        send(
            &gw.ingest,
            post_beacon(
                beacon("http://localhost:8080/", vec![span]).to_string(),
                None
            )
        )
        .await
        .0,
        StatusCode::OK
    );
    let (_, trace) = get(&gw.admin, "/api/traces/0af7651916cd43dd8448eb211c80319c").await;
    assert_eq!(
        trace["spans"][0]["attributes"]["note"],
        "abcdefghij…[truncated]"
    );
}

#[tokio::test]
async fn a_beacon_span_may_carry_the_full_128_attributes() {
    let gw = gateway_with("", 8);
    let attrs: serde_json::Map<String, Value> =
        (0..128).map(|i| (format!("a{i}"), json!(i))).collect();
    let span = browser_span(
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        Value::Object(attrs.clone()),
    );
    let request = post_beacon(
        beacon("http://localhost:8080/", vec![span]).to_string(),
        None,
    );
    assert_eq!(send(&gw.ingest, request).await.0, StatusCode::OK);
    // One more is refused, by validation for beacons and by the cap for OTLP.
    let mut too_many = otlp_span([3; 16], [3; 8], 1);
    too_many.attributes = (0..129)
        .map(|i| string_attr(&format!("a{i}"), "x"))
        .collect();
    let (status, err, _) = send(&gw.ingest, post_otlp(&otlp(vec![too_many]), None)).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_field"))
    );
}
