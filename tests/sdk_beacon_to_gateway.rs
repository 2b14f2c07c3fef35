//! The SDK's encoder and the gateway's decoder agree: a beacon holding every field, written
//! by `rum-sdk`'s recorder exactly as the wasm writes it (an HTTP span with an error, a
//! Chromium page load with its events, links and server parent, vitals with attribution, the
//! full envelope), is decoded by `gateway::wire`, accepted by the ingest route, and read back
//! from the admin API field by field.

#[path = "../gateway/tests/common/mod.rs"]
mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{get, send, InProcess};
use rum_sdk::beacon::Envelope;
use rum_sdk::journey::view::View;
use rum_sdk::recorder::Recorder;
use rum_sdk::trace::document_load::{fields, Navigation, Resource, FIELD_COUNT};
use rum_sdk::trace::http::HttpCall;
use rum_sdk::trace::ids::{SpanId, TraceId};
use rum_sdk::vitals::{MetricName, Rating, Report};
use serde_json::Value;

const FIXTURE: &str = include_str!("../rum-sdk/tests/fixtures/chromium-page-load.json");
const SESSION: &str = "0123456789abcdef0123456789abcdef";
const VIEW: &str = "a1b2c3d4e5f60718";
const URL: &str = "http://localhost:8080/shop?q=\"quoted\"\tand\u{1}control é";

#[path = "../rum-sdk/tests/fixtures/chromium_entries.rs"]
mod entries;
use entries::{server_timing, text, timing};

/// Everything the SDK records, in one beacon; `time_origin` is the page's, unix ms.
fn sdk_beacon(time_origin: f64) -> (Vec<u8>, Value) {
    let envelope = Envelope {
        service: [b"shop-web", b"1.4.0", b"prod"],
        sdk_version: "0.1.0",
        screen: [1920, 1080, 1280, 720],
        effective_type: b"4g",
        language: b"en-US",
        mobile: Some(false),
    };
    let mut arena = vec![0u8; rum_sdk::batch::QUEUE_BYTES];
    let view = View::new(
        VIEW.as_bytes(),
        URL.as_bytes(),
        b"http://localhost:8080/",
        b"reload",
        0.0,
    );
    let mut recorder = Recorder::new(
        &envelope,
        SESSION.as_bytes(),
        view,
        time_origin,
        42,
        &mut arena,
    );
    recorder.http(&HttpCall {
        trace_id: TraceId::from_hex(b"0af7651916cd43dd8448eb211c80319c").expect("hex"),
        span_id: SpanId::from_hex(b"b7ad6b7169203331").expect("hex"),
        parent: None,
        method: b"POST",
        url: b"http://localhost:8080/api/cart",
        start: 100.25,
        end: 150.5,
        status: 503,
        error: b"",
    });
    let lcp = Report {
        name: MetricName::Lcp,
        value: 812.5,
        delta: 812.5,
        rating: Rating::Good,
        detail: 0.0,
    };
    recorder.vital(&lcp, 0, br#"{"target":"main>img","timeToFirstByte":12.4}"#);
    let cls = Report {
        name: MetricName::Cls,
        value: 0.123_456_789,
        delta: 0.023_456_789,
        rating: Rating::NeedsImprovement,
        detail: 0.0,
    };
    recorder.vital(&cls, 1, b"");

    // The page load, as JS hands it over: the navigation entry, its resources, the entry
    // again.
    let f: Value = serde_json::from_str(FIXTURE).expect("fixture");
    let fcp = f["paint"][0]["startTime"].as_f64().unwrap_or(0.0);
    let n = &f["navigation"];
    let nav_timing = timing(n, fcp);
    let nav = Navigation {
        timing: &nav_timing,
        url: text(n, "name"),
        protocol: text(n, "nextHopProtocol"),
        server_timing: server_timing(n),
        meta: b"",
    };
    recorder.navigation(&nav, false);
    for r in f["resources"].as_array().expect("resources") {
        recorder.resource(&Resource {
            timing: &timing(r, 0.0),
            url: text(r, "name"),
            initiator: text(r, "initiatorType"),
            protocol: text(r, "nextHopProtocol"),
            render_blocking: text(r, "renderBlockingStatus"),
            server_timing: server_timing(r),
        });
    }
    recorder.navigation(&nav, true);
    assert_eq!(recorder.dropped(), 0);
    // Sent now: a browser clock that agrees with the gateway's, so no skew correction.
    let mut out = vec![0u8; rum_sdk::batch::MAX_BYTES];
    let len = recorder.next_beacon(common::now_ms(), &mut out);
    assert!(len > 0, "a beacon");
    let bytes = out[..len].to_vec();
    assert_eq!(
        recorder.next_beacon(common::now_ms(), &mut out),
        0,
        "all in one beacon"
    );
    let json = serde_json::from_slice(&bytes).expect("the SDK writes JSON");
    (bytes, json)
}

/// A page that started loading five seconds ago.
fn now_ms() -> f64 {
    common::now_ms() - 5000.0
}

#[test]
fn the_gateway_decoder_reads_every_field_the_sdk_writes() {
    let origin = now_ms();
    let (bytes, sent) = sdk_beacon(origin);
    let beacon =
        gateway::wire::beacon_v1::decode(&bytes).expect("the gateway decodes the SDK's beacon");
    assert_eq!(beacon.v, 1);
    assert_eq!(beacon.session.id, SESSION);
    assert_eq!(beacon.view.id, VIEW);
    assert_eq!(beacon.view.url, URL);
    assert_eq!(beacon.view.navigation_type, "reload");
    assert_eq!(beacon.view.start, origin);
    assert_eq!(beacon.resource["service.version"], "1.4.0");
    assert_eq!(
        beacon.spans.len(),
        sent["spans"].as_array().map_or(0, Vec::len)
    );
    assert_eq!(beacon.vitals.len(), 2);
    let http = &beacon.spans[0];
    assert_eq!(http.kind, "client");
    assert_eq!(http.status.as_deref(), Some("error"));
    assert_eq!(http.start, origin + 100.25);
    let load = beacon
        .spans
        .iter()
        .find(|s| s.name == "documentLoad")
        .expect("documentLoad");
    assert_eq!(load.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert!(load.events.len() >= 8);
    let linked = beacon
        .spans
        .iter()
        .find(|s| !s.links.is_empty())
        .expect("a linked resource");
    assert_eq!(linked.links[0].span_id, "a0f067aa0ba902b7");
    let cls = beacon.vitals.iter().find(|v| v.name == "CLS").expect("CLS");
    assert_eq!(cls.value, 0.123_456_789);
    assert_eq!(cls.nav, "back-forward-cache");
    assert_eq!(cls.id, format!("v1-{VIEW}-CLS1"));
    let lcp = beacon.vitals.iter().find(|v| v.name == "LCP").expect("LCP");
    assert_eq!(
        lcp.attr.as_ref().map(|a| a["target"].clone()),
        Some(Value::from("main>img"))
    );
}

#[tokio::test]
async fn the_gateway_stores_the_sdk_beacon_exactly() {
    let gw = InProcess::dev();
    let origin = now_ms();
    let (bytes, sent) = sdk_beacon(origin);
    let request = Request::post("/v1/rum?key=dev")
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", "http://localhost:8080")
        .body(Body::from(bytes))
        .expect("request");
    let (status, body, _) = send(&gw.ingest, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sent_spans = sent["spans"].as_array().expect("spans");
    assert_eq!(body["spans"], sent_spans.len());
    assert_eq!(body["vitals"], 2);

    // Every span as sent: ids, parent, name, kind, times to the µs, status, attributes,
    // events and links.
    for s in sent_spans {
        let trace_id = s["traceId"].as_str().expect("traceId");
        let (status, trace) = get(&gw.admin, &format!("/api/traces/{trace_id}")).await;
        assert_eq!(status, StatusCode::OK);
        let stored = trace["spans"]
            .as_array()
            .and_then(|all| all.iter().find(|x| x["span_id"] == s["spanId"]))
            .unwrap_or_else(|| panic!("span {} stored", s["spanId"]));
        assert_eq!(stored["name"], s["name"]);
        assert_eq!(stored["kind"], s["kind"]);
        assert_eq!(
            stored["parent_span_id"].as_str(),
            s["parentSpanId"].as_str(),
            "{}",
            s["name"]
        );
        let ns = |ms: &Value| (ms.as_f64().expect("ms") * 1000.0).round() as u128 * 1000;
        assert_eq!(
            stored["start_time_unix_nano"]
                .as_str()
                .and_then(|t| t.parse().ok()),
            Some(ns(&s["start"]))
        );
        assert_eq!(
            stored["end_time_unix_nano"]
                .as_str()
                .and_then(|t| t.parse().ok()),
            Some(ns(&s["end"]))
        );
        for (key, value) in s["attrs"].as_object().expect("attrs") {
            assert_eq!(&stored["attributes"][key], value, "{} {key}", s["name"]);
        }
        assert_eq!(stored["attributes"]["session.id"], SESSION);
        assert_eq!(stored["attributes"]["rum.page_view.id"], VIEW);
        assert_eq!(stored["attributes"]["browser.screen.width"], 1920);
        assert_eq!(
            stored["attributes"]["browser.connection.effective_type"],
            "4g"
        );
        let events = s["events"].as_array().cloned().unwrap_or_default();
        let stored_events = stored["events"].as_array().cloned().unwrap_or_default();
        assert_eq!(stored_events.len(), events.len());
        for (e, st) in events.iter().zip(&stored_events) {
            assert_eq!(st["name"], e["name"]);
            assert_eq!(
                st["time_unix_nano"].as_str().and_then(|t| t.parse().ok()),
                Some(ns(&e["time"]))
            );
        }
        let links = s["links"].as_array().cloned().unwrap_or_default();
        let stored_links = stored["links"].as_array().cloned().unwrap_or_default();
        assert_eq!(stored_links.len(), links.len());
        for (l, st) in links.iter().zip(&stored_links) {
            assert_eq!(st["trace_id"], l["traceId"]);
            assert_eq!(st["span_id"], l["spanId"]);
        }
        assert_eq!(stored["resource"]["service.name"], "shop-web");
        assert_eq!(stored["resource"]["deployment.environment.name"], "prod");
        assert_eq!(stored["resource"]["telemetry.sdk.name"], "rum-sdk");
    }
    let http = sent_spans
        .iter()
        .find(|s| s["kind"] == "client")
        .expect("client span");
    assert_eq!(http["attrs"]["error.type"], "503");

    // The page view with its vitals.
    let (_, views) = get(&gw.admin, "/api/page_views").await;
    let view = views["page_views"]
        .as_array()
        .and_then(|all| all.iter().find(|v| v["page_view_id"] == VIEW))
        .expect("page view stored");
    assert_eq!(view["session_id"], SESSION);
    assert_eq!(view["url"], sent["view"]["url"]);
    assert_eq!(view["navigation_type"], "reload");
    assert_eq!(view["vitals"]["LCP"]["value"], 812.5);
    assert_eq!(view["vitals"]["LCP"]["rating"], "good");
    assert_eq!(view["vitals"]["LCP"]["attribution"]["target"], "main>img");
    assert_eq!(view["vitals"]["CLS"]["value"], 0.123_456_789);
}

/// A journey as the SDK records it (the calls `bindings.rs` makes for a user who names the
/// view, clicks a button that calls the backend, and changes route), sent as the SDK sends
/// it, and read back from the gateway's session API.
#[tokio::test]
async fn the_gateway_reads_back_the_sdk_journey() {
    use rum_sdk::journey::action::{Action, ActionType};
    use rum_sdk::journey::route::RouteChange;
    use rum_sdk::journey::settle::Settle;
    use rum_sdk::text::Text;

    let gw = InProcess::dev();
    let origin = now_ms();
    let mut arena = vec![0u8; rum_sdk::batch::QUEUE_BYTES];
    let view = View::new(
        VIEW.as_bytes(),
        b"http://localhost:8080/",
        b"",
        b"navigate",
        0.0,
    );
    let envelope = Envelope {
        service: [b"shop-web", b"1.4.0", b"prod"],
        sdk_version: "0.1.0",
        ..Envelope::default()
    };
    let mut r = Recorder::new(&envelope, SESSION.as_bytes(), view, origin, 7, &mut arena);
    let mut beacons = Vec::new();
    let mut out = vec![0u8; rum_sdk::batch::MAX_BYTES];
    let mut drain = |r: &mut Recorder, at: f64| loop {
        let n = r.next_beacon(origin + at, &mut out);
        if n == 0 {
            break;
        }
        beacons.push(out[..n].to_vec());
    };
    r.user(b"u-42", br#"{"plan":"pro"}"#);
    r.journey.view.name = Text::new(b"/");
    r.event(50.0, b"early.event", br#"{"step":1}"#, true);
    let trace = TraceId::from_hex(b"1af7651916cd43dd8448eb211c80319c").expect("hex");
    let action = SpanId::from_hex(b"c7ad6b7169203331").expect("hex");
    r.action(
        Action::new(
            trace,
            action,
            ActionType::Click,
            100.0,
            b"Add to cart",
            b"button#add",
            true,
        ),
        false,
        true,
    );
    r.mark(rum_sdk::journey::Fact::RequestStart, 110.0, 0.0);
    r.http(&HttpCall {
        trace_id: trace,
        span_id: SpanId::from_hex(b"d7ad6b7169203331").expect("hex"),
        parent: Some(action),
        method: b"POST",
        url: b"http://localhost:8080/api/cart",
        start: 110.0,
        end: 180.0,
        status: 200,
        error: b"",
    });
    r.mark(rum_sdk::journey::Fact::RequestEnd, 180.0, 110.0);
    r.mark(rum_sdk::journey::Fact::Mutation, 190.0, 0.0);
    assert_eq!(r.tick(1200.0), (false, false), "the action is over");
    r.leave(2000.0);
    drain(&mut r, 2000.0);
    let mut next = View::new(
        b"b1b2c3d4e5f60718",
        b"http://localhost:8080/cart",
        b"http://localhost:8080/",
        b"route-change",
        2000.0,
    );
    next.previous = Some(*b"a1b2c3d4e5f60718");
    next.name = Text::new(b"/cart");
    assert!(r.admit_route(true));
    r.enter(
        next,
        Some(RouteChange {
            trace_id: TraceId::from_hex(b"2af7651916cd43dd8448eb211c80319c").expect("hex"),
            span_id: SpanId::from_hex(b"e7ad6b7169203331").expect("hex"),
            parent: None,
            trigger: "pushState",
            settle: Settle::new(2000.0),
        }),
    );
    r.tick(2200.0);
    r.leave(3000.0);
    drain(&mut r, 3000.0);
    assert!(beacons.len() >= 2);

    for bytes in beacons {
        let request = Request::post("/v1/rum?key=dev")
            .header("content-type", "text/plain;charset=UTF-8")
            .header("origin", "http://localhost:8080")
            .body(Body::from(bytes))
            .expect("request");
        let (status, body, _) = send(&gw.ingest, request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, s) = get(&gw.admin, &format!("/api/sessions/{SESSION}")).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["session"]["user_id"], "u-42");
    let views = s["views"].as_array().expect("views");
    let names: Vec<_> = views.iter().map(|v| v["name"].clone()).collect();
    assert_eq!(names, ["/", "/cart"]);
    assert_eq!(views[1]["previous_view_id"], VIEW);
    assert!(
        views.iter().all(|v| v["end_time_unix_nano"].is_string()),
        "{views:?}"
    );
    let items = s["items"].as_array().expect("items");
    let of = |t: &str| {
        items
            .iter()
            .filter(|i| i["type"] == t)
            .cloned()
            .collect::<Vec<_>>()
    };
    let actions = of("action");
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["attributes"]["rum.action.name"], "Add to cart");
    assert_eq!(actions[0]["attributes"]["plan"], "pro", "global attributes");
    assert_eq!(actions[0]["attributes"]["user.id"], "u-42");
    let fetches = of("fetch");
    assert_eq!(
        fetches[0]["trace_id"], actions[0]["trace_id"],
        "the click's fetch is in its trace"
    );
    assert_eq!(of("route_change").len(), 1);
    let events = of("event");
    assert!(
        events
            .iter()
            .any(|e| e["name"] == "early.event" && e["attributes"]["step"] == 1),
        "{events:?}"
    );
}
