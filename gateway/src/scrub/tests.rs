//! Unit tests of the scrub stage as a whole.

use serde_json::json;

use super::*;
use crate::model::testing::{self, attributes};
use crate::model::{PageView, Span, StatusCode, Vital};

fn span(attrs: serde_json::Value) -> Span {
    Span {
        name: "HTTP GET".into(),
        status: StatusCode::Error,
        status_message: "failed for bob@example.com with Bearer abcdefgh12345".into(),
        attributes: attributes(attrs),
        ..testing::span(1, 2)
    }
}

fn batch(attrs: serde_json::Value) -> Batch {
    Batch {
        spans: vec![span(attrs)],
        page_views: vec![PageView {
            id: "v".into(),
            session_id: "s".into(),
            url: "https://shop.example/checkout?Token=T0pS3cret&step=2".into(),
            referrer: "https://mail.example/?to=jane@example.org".into(),
            navigation_type: "navigate".into(),
            start_unix_nano: 1,
            resource: Attributes::new(),
            attributes: Attributes::new(),
            ..crate::model::testing::page_view("", "")
        }],
        vitals: vec![],
        events: vec![],
        errors: vec![],
    }
}

fn scrubber(config: ScrubConfig) -> Scrubber {
    Scrubber::new(&config)
}

#[test]
fn urls_messages_and_attributes_are_scrubbed() {
    let b = scrubber(ScrubConfig::default()).scrub(batch(json!({
        "url.full": "https://api.example/v1?api_key=K123&q=1",
        "url.query": "PASSWORD=hunter2&page=3",
        "note": "card 4111 1111 1111 1111, order 4111111111111112",
        "list": ["x@y.example", 7],
        "card.as_number": 4111111111111111u64,
        "order.as_number": 4111111111111112u64,
        "client.address": "203.0.113.9",
    })));
    let s = &b.spans[0];
    assert_eq!(
        s.attributes["url.full"],
        "https://api.example/v1?api_key=[redacted]&q=1"
    );
    assert_eq!(s.attributes["url.query"], "PASSWORD=[redacted]&page=3");
    assert_eq!(s.attributes["note"], "card [card], order 4111111111111112");
    assert_eq!(s.attributes["list"], json!(["[email]", 7]));
    assert_eq!(s.attributes["card.as_number"], "[card]");
    assert_eq!(s.attributes["order.as_number"], 4111111111111112u64);
    assert_eq!(
        s.status_message,
        "failed for [email] with Bearer [redacted]"
    );
    assert!(
        s.attributes.get(CLIENT_ADDRESS).is_none(),
        "dropped by default"
    );
    let v = &b.page_views[0];
    assert_eq!(
        v.url,
        "https://shop.example/checkout?Token=[redacted]&step=2"
    );
    assert_eq!(v.referrer, "https://mail.example/?to=[email]");
}

#[test]
fn client_ip_truncate_and_keep() {
    let cases = [
        ("203.0.113.9", ClientIpRule::Truncate, Some("203.0.113.0")),
        (
            "2001:db8:85a3:1234::7",
            ClientIpRule::Truncate,
            Some("2001:db8:85a3::"),
        ),
        (
            "::ffff:198.51.100.77",
            ClientIpRule::Truncate,
            Some("198.51.100.0"),
        ),
        ("not-an-ip", ClientIpRule::Truncate, None),
        ("203.0.113.9", ClientIpRule::Keep, Some("203.0.113.9")),
        ("203.0.113.9", ClientIpRule::Drop, None),
    ];
    for (ip, rule, want) in cases {
        let config = ScrubConfig {
            client_ip: rule,
            ..ScrubConfig::default()
        };
        let b = scrubber(config).scrub(batch(json!({ "client.address": ip })));
        let got = b.spans[0]
            .attributes
            .get(CLIENT_ADDRESS)
            .and_then(|v| v.as_str());
        assert_eq!(got, want, "{ip} {rule:?}");
    }
}

#[test]
fn disabled_changes_nothing() {
    let input =
        batch(json!({ "url.full": "https://a.example/?token=t", "client.address": "203.0.113.9" }));
    let config = ScrubConfig {
        enabled: false,
        ..ScrubConfig::default()
    };
    assert_eq!(scrubber(config).scrub(input.clone()), input);
}

#[test]
fn config_reads_from_toml() {
    let config: ScrubConfig =
        toml::from_str("query_params = [\"orderid\"]\nemails = false\nclient_ip = \"truncate\"\n")
            .expect("toml");
    assert_eq!(config.client_ip, ClientIpRule::Truncate);
    let b = scrubber(config).scrub(batch(
        json!({ "url.full": "/o?orderId=1&token=t", "m": "a@b.example" }),
    ));
    assert_eq!(
        b.spans[0].attributes["url.full"],
        "/o?orderId=[redacted]&token=t"
    );
    assert_eq!(b.spans[0].attributes["m"], "a@b.example");
    assert!(toml::from_str::<ScrubConfig>("client_ip = \"hash\"").is_err());
}

#[test]
fn page_view_attributes_and_vital_attribution_are_scrubbed() {
    let mut b = batch(json!({}));
    b.page_views[0]
        .attributes
        .insert("client.address".into(), json!("81.2.69.142"));
    b.page_views[0]
        .attributes
        .insert("geo.country.iso_code".into(), json!("GB"));
    let mut attribution = Attributes::new();
    attribution.insert(
        "url".into(),
        json!("https://cdn.example/hero.png?token=abc123&w=2"),
    );
    attribution.insert(
        "longAnimationFrames".into(),
        json!([{"scripts": [{"sourceURL": "https://x.example/a.js?session=s1"}]}]),
    );
    b.vitals.push(Vital {
        page_view_id: "v".into(),
        metric_id: "m".into(),
        name: "LCP".into(),
        value: 1.0,
        delta: 1.0,
        rating: "good".into(),
        navigation_type: "navigate".into(),
        attribution,
    });
    let out = scrubber(ScrubConfig::default()).scrub(b);
    assert!(
        out.page_views[0].attributes.get("client.address").is_none(),
        "dropped by default"
    );
    assert_eq!(out.page_views[0].attributes["geo.country.iso_code"], "GB");
    let text = serde_json::to_string(&out.vitals[0].attribution).expect("json");
    assert!(!text.contains("abc123") && !text.contains("s1"), "{text}");
    assert!(
        text.contains("token=[redacted]") && text.contains("w=2"),
        "{text}"
    );
}

#[test]
fn own_ids_and_measures_are_never_masked() {
    // All digits, 16 hex digits, Luhn-valid: a view id the SDK can draw (about 1 in 18,400).
    let view_id = "4111111111111111";
    let mut b = batch(json!({
        "rum.page_view.id": view_id,
        "session.id": "5555555555554444",
        "rum.clock_skew.adjusted_ms": 4111111111111111i64,
        "http.request.body.size": 4111111111111111u64,
        "user.id": "4111111111111111",
        "note": 4111111111111111u64,
    }));
    b.page_views[0].id = view_id.into();
    let mut attribution = Attributes::new();
    attribution.insert("largestShiftTime".into(), json!(4111111111111u64));
    b.vitals.push(Vital {
        page_view_id: view_id.into(),
        metric_id: "m".into(),
        name: "CLS".into(),
        value: 0.1,
        delta: 0.1,
        rating: "good".into(),
        navigation_type: "navigate".into(),
        attribution,
    });
    let out = scrubber(ScrubConfig::default()).scrub(b);
    let a = &out.spans[0].attributes;
    assert_eq!(a["rum.page_view.id"], view_id);
    assert_eq!(a["session.id"], "5555555555554444");
    assert_eq!(a["rum.clock_skew.adjusted_ms"], 4111111111111111i64);
    assert_eq!(a["http.request.body.size"], 4111111111111111u64);
    assert_eq!(
        out.vitals[0].attribution["largestShiftTime"],
        4111111111111u64
    );
    // What a user wrote is still masked.
    assert_eq!(a["user.id"], CARD_MASK);
    assert_eq!(a["note"], CARD_MASK);
}

#[test]
fn urls_inside_error_messages_and_stacks_lose_their_secrets_and_keep_their_positions() {
    let scrubber = Scrubber::new(&ScrubConfig::default());
    let mut batch = Batch::default();
    let mut error = crate::model::testing::browser_error();
    error.message =
        "Failed to fetch https://api.example/cart?token=abc123&page=2 for a@b.example (éhttps://x/?token=1)".into();
    error.stack =
        "TypeError: x\n    at load (https://cdn.example/app.js?session=s3cr3t:12:34)\n    at https://cdn.example/app.js?auth=zz:3:4".into();
    batch.errors.push(error);
    let out = scrubber.scrub(batch);
    let e = &out.errors[0];
    assert!(
        !e.message.contains("abc123") && !e.message.contains("token=1"),
        "{}",
        e.message
    );
    assert!(e.message.contains("page=2"), "{}", e.message);
    assert!(e.message.contains("[email]"), "{}", e.message);
    assert!(
        !e.stack.contains("s3cr3t") && !e.stack.contains("zz:"),
        "{}",
        e.stack
    );
    // Each frame keeps its position after its URL.
    assert!(
        e.stack.contains("app.js?session=[redacted]:12:34)") && e.stack.ends_with("[redacted]:3:4"),
        "{}",
        e.stack
    );
}
