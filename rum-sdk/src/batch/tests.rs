use super::*;
use crate::beacon::{vital, Envelope};
use crate::trace::http::HttpCall;
use crate::trace::ids::{SpanId, TraceId};
use crate::vitals::{MetricName, Rating, Report};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use serde_json::Value;

const VIEW: &[u8] = b"a1b2c3d4e5f60718";

fn envelope() -> Vec<u8> {
    let mut buf = vec![0u8; 16 * 1024];
    let len = Envelope {
        service: [b"shop", b"1.2", b""],
        sdk_version: "0.1.0",
        screen: [1920, 1080, 1280, 720],
        effective_type: b"4g",
        language: b"en-US",
        mobile: Some(false),
    }
    .encode(&mut buf);
    // The session and view, as the recorder adds them to each beacon.
    let view =
        crate::journey::view::View::new(VIEW, b"https://shop.example/", b"", b"navigate", 0.0);
    buf[len] = b',';
    let len = len + 1;
    let mut j = crate::json::Json::new(&mut buf[len..]);
    j.key("session")
        .open(b'{')
        .key("id")
        .str("0123456789abcdef0123456789abcdef")
        .close(b'}');
    view.write(0.0, 1_732_460_000_000.5, &mut j);
    let len = len + j.len();
    buf.truncate(len);
    buf
}

fn arena() -> Vec<u8> {
    vec![0u8; QUEUE_BYTES]
}

fn push_vital(batch: &mut Batch, report: &Report, generation: u32, attribution: &[u8]) -> bool {
    batch.push(ItemKind::Vital, &mut |j| {
        vital(j, report, generation, VIEW, b"navigate", attribution)
    })
}

fn push_span(batch: &mut Batch, url: &str) -> bool {
    let call = HttpCall {
        trace_id: TraceId(*b"07070707070707070707070707070707"),
        span_id: SpanId(*b"0909090909090909"),
        parent: None,
        method: b"GET",
        url: url.as_bytes(),
        start: 10.0,
        end: 20.0,
        status: 200,
        error: b"",
    };
    batch.push(ItemKind::Span, &mut |j| call.write(1_732_460_000_000.5, j))
}

fn drain(batch: &mut Batch) -> Vec<Value> {
    let env = envelope();
    let mut out = vec![0u8; MAX_BYTES];
    let mut beacons = Vec::new();
    loop {
        let n = batch.next_beacon(
            &mut |j| {
                j.raw(&env);
            },
            1_732_460_001_000.0,
            &mut out,
            false,
        );
        if n == 0 {
            return beacons;
        }
        assert!(n <= MAX_BYTES, "beacon of {n} bytes");
        beacons.push(serde_json::from_slice(&out[..n]).expect("a beacon is JSON"));
    }
}

#[test]
fn a_beacon_is_due_at_thirty_items_and_holds_them_in_order() {
    let mut arena = arena();
    let mut batch = Batch::new(&mut arena);
    for i in 0..MAX_ITEMS - 1 {
        assert!(!push_span(&mut batch, &alloc::format!("https://a/{i}")));
    }
    let report = Report {
        name: MetricName::Lcp,
        value: 812.5,
        delta: 812.5,
        rating: Rating::Good,
        detail: 0.0,
    };
    assert!(push_vital(&mut batch, &report, 0, b""));
    let beacons = drain(&mut batch);
    assert_eq!(beacons.len(), 1);
    let b = &beacons[0];
    assert_eq!(b["spans"].as_array().map(Vec::len), Some(29));
    assert_eq!(b["spans"][3]["attrs"]["url.full"], "https://a/3");
    assert_eq!(b["vitals"][0]["id"], "v1-a1b2c3d4e5f60718-LCP0");
    assert_eq!(b["vitals"][0]["value"], 812.5);
    assert!(b["vitals"][0].get("attr").is_none());
    assert!(batch.is_empty());
    assert!(drain(&mut batch).is_empty(), "nothing queued, no beacon");
}

#[test]
fn a_large_batch_leaves_as_several_beacons_under_the_byte_limit() {
    let mut arena = arena();
    let mut batch = Batch::new(&mut arena);
    let long = "x".repeat(4000);
    for i in 0..25 {
        push_span(&mut batch, &alloc::format!("https://a/{i}/{long}"));
    }
    let beacons = drain(&mut batch);
    assert!(beacons.len() >= 4, "{} beacons", beacons.len());
    let urls: Vec<String> = beacons
        .iter()
        .flat_map(|b| b["spans"].as_array().cloned().unwrap_or_default())
        .map(|s| {
            s["attrs"]["url.full"]
                .as_str()
                .unwrap_or("")
                .split('/')
                .nth(3)
                .unwrap_or("")
                .into()
        })
        .collect();
    let expected: Vec<String> = (0..25).map(|i| alloc::format!("{i}")).collect();
    assert_eq!(urls, expected, "every span once, in order");
    for b in &beacons {
        assert_eq!(
            b["session"]["id"], "0123456789abcdef0123456789abcdef",
            "each beacon has the envelope"
        );
    }
}

#[test]
fn an_item_no_beacon_can_hold_is_dropped_and_counted() {
    let mut arena = arena();
    let mut batch = Batch::new(&mut arena);
    push_span(&mut batch, &"y".repeat(MAX_BYTES));
    push_span(&mut batch, "https://a/ok");
    let beacons = drain(&mut batch);
    assert_eq!(beacons.len(), 1);
    assert_eq!(beacons[0]["spans"][0]["attrs"]["url.full"], "https://a/ok");
    assert_eq!(batch.dropped, 1);
}

#[test]
fn items_beyond_the_arena_are_dropped_and_counted_and_the_rest_leave() {
    let mut arena = vec![0u8; 5000];
    let mut batch = Batch::new(&mut arena);
    let long = "z".repeat(1500);
    for i in 0..5 {
        push_span(&mut batch, &alloc::format!("https://a/{i}/{long}"));
    }
    assert_eq!(batch.len(), 2, "two fit in 5000 bytes");
    assert_eq!(batch.dropped, 3);
    assert_eq!(drain(&mut batch).len(), 1);
    // Drained, the arena takes items again.
    push_span(&mut batch, "https://a/again");
    assert_eq!(
        drain(&mut batch)[0]["spans"][0]["attrs"]["url.full"],
        "https://a/again"
    );
}

#[test]
fn spans_over_the_per_view_cap_are_counted_not_queued() {
    let mut arena = arena();
    let mut batch = Batch::new(&mut arena);
    for _ in 0..MAX_SPANS_PER_VIEW + 5 {
        push_span(&mut batch, "https://a/");
        if batch.len() >= MAX_ITEMS {
            drain(&mut batch);
        }
    }
    drain(&mut batch);
    assert_eq!(batch.dropped, 5);
    // Vitals are not spans: still queued.
    let report = Report {
        name: MetricName::Cls,
        value: 0.123456789,
        delta: 0.1,
        rating: Rating::NeedsImprovement,
        detail: 0.0,
    };
    push_vital(&mut batch, &report, 2, b"{\"largestShiftValue\":0.1}");
    let b = &drain(&mut batch)[0];
    assert_eq!(b["vitals"][0]["value"], 0.123456789);
    assert_eq!(b["vitals"][0]["nav"], "back-forward-cache");
    assert_eq!(b["vitals"][0]["id"], "v1-a1b2c3d4e5f60718-CLS2");
    assert_eq!(b["vitals"][0]["attr"]["largestShiftValue"], 0.1);
}

#[test]
fn each_view_has_its_own_span_cap() {
    let mut arena = arena();
    let mut batch = Batch::new(&mut arena);
    for _ in 0..MAX_SPANS_PER_VIEW + 1 {
        push_span(&mut batch, "https://a/");
        if batch.len() >= MAX_ITEMS {
            drain(&mut batch);
        }
    }
    drain(&mut batch);
    assert_eq!(batch.dropped, 1, "the first view is over its cap");
    // An SPA route change: a long-lived app keeps recording its calls.
    batch.new_view();
    push_span(&mut batch, "https://a/next");
    assert_eq!(batch.len(), 1);
    assert_eq!(batch.dropped, 1);
}

#[test]
fn the_envelope_carries_resource_session_view_and_context() {
    let mut arena = arena();
    let mut batch = Batch::new(&mut arena);
    push_span(&mut batch, "https://a/");
    let b = &drain(&mut batch)[0];
    assert_eq!(b["v"], 1);
    assert_eq!(b["sentAt"], 1_732_460_001_000u64);
    assert_eq!(b["resource"]["service.name"], "shop");
    assert_eq!(b["resource"]["service.version"], "1.2");
    assert!(b["resource"].get("deployment.environment.name").is_none());
    assert_eq!(b["resource"]["telemetry.sdk.name"], "rum-sdk");
    assert_eq!(b["view"]["start"], 1_732_460_000_000.5);
    assert_eq!(b["context"]["screen"]["width"], 1920);
    assert_eq!(b["context"]["viewport"]["height"], 720);
    assert_eq!(b["context"]["connection"]["effectiveType"], "4g");
    assert_eq!(b["context"]["mobile"], false);
    assert_eq!(b["spans"][0]["start"], 1_732_460_000_010.5);
    assert_eq!(b["spans"][0]["traceId"], "07070707070707070707070707070707");
}

#[test]
fn attribution_over_its_limit_is_marked_truncated() {
    let mut arena = arena();
    let mut batch = Batch::new(&mut arena);
    let report = Report {
        name: MetricName::Inp,
        value: 250.0,
        delta: 250.0,
        rating: Rating::NeedsImprovement,
        detail: 0.0,
    };
    let big = alloc::format!(
        "{{\"x\":\"{}\"}}",
        "z".repeat(crate::beacon::MAX_ATTRIBUTION_BYTES)
    );
    push_vital(&mut batch, &report, 0, big.as_bytes());
    let b = &drain(&mut batch)[0];
    assert_eq!(
        b["vitals"][0]["attr"],
        serde_json::json!({"truncated": true})
    );
}

#[test]
fn an_envelope_that_does_not_fit_is_refused_not_cut() {
    use crate::journey::view::View;
    let env = Envelope::default();
    let session = b"0123456789abcdef0123456789abcdef";
    let url = "\u{1}".repeat(4096);
    let view = View::new(VIEW, url.as_bytes(), url.as_bytes(), b"navigate", 0.0);
    let mut arena = arena();
    let recorder = crate::recorder::Recorder::new(&env, session, view, 0.0, 1, &mut arena);
    assert!(
        !recorder.has_envelope(),
        "4096 control characters escape to 24 KB"
    );
    let view = View::new(VIEW, b"https://shop.example/", b"", b"navigate", 0.0);
    let mut arena = crate::batch::tests::arena();
    assert!(crate::recorder::Recorder::new(&env, session, view, 0.0, 1, &mut arena).has_envelope());
}
