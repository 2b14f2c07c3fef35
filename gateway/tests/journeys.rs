//! User journeys (issue 13) through the in-process gateway: the beacon's journey fields
//! refused with their names, a session of several beacons read back in order through
//! `/api/sessions` and `/api/sessions/{id}`, views merged by id, `user.id` scrubbed, and
//! beacon text that comes back from the API and the viewer as text, never as HTML.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

mod common;
use common::{get, now_ms, send, InProcess as Gateway};

const ORIGIN: &str = "http://localhost:8080";
const SESSION: &str = "0123456789abcdef0123456789abcdef";
const V1: &str = "a1a1a1a1a1a1a1a1";
const V2: &str = "b2b2b2b2b2b2b2b2";
const V3: &str = "c3c3c3c3c3c3c3c3";
const XSS: &str = "<img src=x onerror=alert(1)>";

/// Whole milliseconds a minute ago, so every time is exact in nanoseconds and inside the
/// gateway's time window.
fn t0() -> f64 {
    (now_ms() / 1000.0).floor() * 1000.0 - 60_000.0
}

fn envelope(view: Value) -> Value {
    json!({
        "v": 1, "sentAt": now_ms(),
        "resource": {"service.name": "shop-web"},
        "session": {"id": SESSION},
        "view": view,
    })
}

fn view(id: &str, kind: &str, start: f64) -> Value {
    json!({"id": id, "url": format!("http://localhost:8080/{id}?q=1"), "type": kind, "start": start})
}

fn trace(n: u8) -> String {
    format!("{:032x}", u128::from(n) + 0x1000)
}

fn span_id(n: u8) -> String {
    format!("{:016x}", u64::from(n) + 0x100)
}

/// An action span (trace `n`, span `n`) with the spec's attributes.
fn action(n: u8, name: &str, start: f64, extra: Value) -> Value {
    let mut attrs = json!({"rum.action.type": "click", "rum.action.name": name,
                           "rum.action.target": "button#b", "rum.action.click_count": 1});
    if let (Some(a), Some(e)) = (attrs.as_object_mut(), extra.as_object()) {
        a.extend(e.clone());
    }
    json!({"traceId": trace(n), "spanId": span_id(n), "name": format!("click {name}"), "kind": "internal",
           "start": start, "end": start + 300.0, "attrs": attrs})
}

/// A fetch span, child of action `parent` (same trace).
fn fetch(parent: u8, n: u8, start: f64, status: u16) -> Value {
    let mut attrs = json!({"http.request.method": "POST", "url.full": "http://localhost:8080/api/cart",
                           "http.response.status_code": status});
    if status >= 500 {
        attrs["error.type"] = json!(status.to_string());
    }
    json!({"traceId": trace(parent), "spanId": span_id(n), "parentSpanId": span_id(parent), "name": "POST",
           "kind": "client", "start": start, "end": start + 100.0, "attrs": attrs})
}

fn route_change(n: u8, start: f64, url: &str, previous: &str) -> Value {
    json!({"traceId": trace(n), "spanId": span_id(n), "name": "routeChange", "kind": "internal",
           "start": start, "end": start + 100.0,
           "attrs": {"url.full": url, "rum.route_change.previous_url": previous, "rum.route_change.trigger": "pushState"}})
}

async fn post(gw: &Gateway, beacon: &Value) -> (StatusCode, Value) {
    let request = Request::post("/v1/rum?key=dev")
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", ORIGIN)
        .body(Body::from(beacon.to_string()))
        .expect("request");
    let (status, body, _) = send(&gw.ingest, request).await;
    (status, body)
}

async fn post_ok(gw: &Gateway, beacon: &Value) {
    let (status, body) = post(gw, beacon).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn ns(ms: f64) -> String {
    format!("{}", (ms as i64) * 1_000_000)
}

#[tokio::test]
async fn each_bad_journey_field_is_refused_with_its_name() {
    let gw = Gateway::dev();
    let start = t0();
    let base = || {
        let mut b = envelope(view(V1, "navigate", start));
        b["spans"] = json!([]);
        b
    };
    type Edit = fn(&mut Value, f64);
    let cases: Vec<(&str, Edit)> = vec![
        ("view.name", |b, _| b["view"]["name"] = json!("")),
        ("view.name", |b, _| {
            b["view"]["name"] = json!("x".repeat(257))
        }),
        ("view.name", |b, _| b["view"]["name"] = json!(42)),
        ("view.previousId", |b, _| {
            b["view"]["previousId"] = json!("not an id")
        }),
        ("view.end", |b, s| b["view"]["end"] = json!(s - 1.0)),
        ("view.end", |b, _| b["view"]["end"] = json!("soon")),
        ("view.visible", |b, _| b["view"]["visible"] = json!(-5)),
        ("view.dropped", |b, _| b["view"]["dropped"] = json!([1])),
        ("view.dropped.actions", |b, _| {
            b["view"]["dropped"] = json!({"actions": 1.5})
        }),
        ("view.dropped.routeChanges", |b, _| {
            b["view"]["dropped"] = json!({"routeChanges": -1})
        }),
        ("user", |b, _| b["user"] = json!("u-1")),
        ("user.id", |b, _| b["user"] = json!({"id": ""})),
        ("user.id", |b, _| b["user"] = json!({"id": 7})),
        ("user.id", |b, _| b["user"] = json!({"id": "u".repeat(257)})),
        ("attrs", |b, _| b["attrs"] = json!("plan=pro")),
        ("attrs", |b, _| b["attrs"] = json!({"plan": {"tier": 1}})),
        ("events", |b, _| b["events"] = json!({"name": "x"})),
        ("events", |b, _| b["events"] = json!(["x"])),
        ("events.name", |b, s| b["events"] = json!([{"time": s}])),
        ("events.name", |b, s| {
            b["events"] = json!([{"name": "", "time": s}])
        }),
        ("events.time", |b, _| b["events"] = json!([{"name": "a"}])),
        ("events.time", |b, _| {
            b["events"] = json!([{"name": "a", "time": 1000.0}])
        }),
        ("events.attrs", |b, s| {
            b["events"] = json!([{"name": "a", "time": s, "attrs": [1]}])
        }),
        (
            "events.attrs",
            |b, s| b["events"] = json!([{"name": "a", "time": s, "attrs": {"a": {"b": 1}}}]),
        ),
    ];
    for (field, edit) in cases {
        let mut beacon = base();
        edit(&mut beacon, start);
        let (status, body) = post(&gw, &beacon).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert_eq!(body["error"], "invalid_field", "{field}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("invalid {field}:")),
            "{field}: {message}"
        );
    }
    // Every field at its valid extreme is accepted; nothing was stored before.
    let (_, sessions) = get(&gw.admin, "/api/sessions").await;
    assert_eq!(sessions["sessions"], json!([]));
    let mut ok = base();
    ok["view"]["name"] = json!("n".repeat(256));
    ok["view"]["type"] = json!("route-change");
    ok["view"]["previousId"] = json!(V2);
    ok["view"]["end"] = json!(start);
    ok["view"]["visible"] = json!(0);
    ok["view"]["dropped"] = json!({"actions": 0, "events": 2, "routeChanges": 1});
    ok["user"] = json!({"id": "u".repeat(256)});
    ok["attrs"] = json!({"plan": "pro", "tags": ["a", "b"], "n": 1, "beta": true});
    ok["events"] = json!([{"name": "e".repeat(256), "time": start}]);
    post_ok(&gw, &ok).await;
}

#[tokio::test]
async fn more_items_than_the_request_cap_is_too_many_events() {
    let gw = Gateway::from_toml(
        "[limits]\nmax_events_per_request = 2\n[[apps]]\nname = \"shop\"\nkey = \"dev\"\nallowed_origins = [\"http://localhost:*\"]\n",
        8,
    );
    let start = t0();
    let mut beacon = envelope(view(V1, "navigate", start));
    beacon["spans"] = json!([action(1, "a", start + 10.0, json!({}))]);
    beacon["events"] = json!([{"name": "a", "time": start}, {"name": "b", "time": start}]);
    let (status, body) = post(&gw, &beacon).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"], "too_many_events");
}

/// Five beacons of one session: a page load and two route changes, three actions with their
/// fetches (the second calls two endpoints), session.start and two custom events, a vital,
/// and two beacons that only update a view.
async fn journey(gw: &Gateway, start: f64) {
    let t = |ms: f64| start + ms;
    let mut b1 = envelope(view(V1, "navigate", t(0.0)));
    b1["user"] = json!({"id": "u-1"});
    b1["attrs"] = json!({"plan": "pro"});
    b1["events"] = json!([{"name": "session.start", "time": t(1.0)}]);
    b1["spans"] = json!([
        action(1, "Catalogue", t(1000.0), json!({})),
        fetch(1, 11, t(1010.0), 200)
    ]);
    b1["vitals"] = json!([{"name": "LCP", "value": 800.0, "delta": 800.0, "id": "v1-a-LCP", "rating": "good", "nav": "navigate"}]);
    post_ok(gw, &b1).await;

    // The page-load view ends: same id, its end, visible time and name.
    let mut b2 = envelope(view(V1, "navigate", t(0.0)));
    b2["view"]["end"] = json!(t(2000.0));
    b2["view"]["visible"] = json!(1900.5);
    b2["view"]["name"] = json!("/");
    b2["user"] = json!({"id": "u-1"});
    post_ok(gw, &b2).await;

    let mut v2 = view(V2, "route-change", t(2000.0));
    v2["previousId"] = json!(V1);
    v2["name"] = json!("/product/:sku");
    let mut b3 = envelope(v2);
    b3["user"] = json!({"id": "u-1"});
    b3["spans"] = json!([
        route_change(
            2,
            t(2000.0),
            "http://localhost:8080/product/42",
            "http://localhost:8080/"
        ),
        action(3, "Add to cart", t(3000.0), json!({})),
        fetch(3, 31, t(3010.0), 200),
        fetch(3, 32, t(3020.0), 200),
    ]);
    b3["events"] = json!([{"name": "add_to_cart", "time": t(3500.0), "attrs": {"items": 2}}]);
    post_ok(gw, &b3).await;

    let mut v3 = view(V3, "route-change", t(5000.0));
    v3["previousId"] = json!(V2);
    v3["name"] = json!("/cart");
    let mut b4 = envelope(v3);
    b4["user"] = json!({"id": "u-1"});
    b4["spans"] = json!([
        route_change(
            4,
            t(5000.0),
            "http://localhost:8080/cart",
            "http://localhost:8080/product/42"
        ),
        action(
            5,
            "Checkout",
            t(6000.0),
            json!({"rum.action.frustration.type": ["rage_click"], "rum.action.click_count": 3})
        ),
        fetch(5, 51, t(6010.0), 500),
    ]);
    b4["events"] = json!([{"name": "checkout", "time": t(7000.0)}]);
    post_ok(gw, &b4).await;

    // V2's end arrives late (its last beacon was sent after V3's first).
    let mut v2_end = view(V2, "route-change", t(2000.0));
    v2_end["end"] = json!(t(5000.0));
    v2_end["visible"] = json!(3000.0);
    v2_end["dropped"] = json!({"events": 2});
    post_ok(gw, &envelope(v2_end)).await;
}

#[tokio::test]
async fn a_session_reads_back_in_time_order_with_its_counts() {
    let gw = Gateway::dev();
    let start = t0();
    journey(&gw, start).await;
    // The same beacons again (a retry) change nothing.
    journey(&gw, start).await;

    let (status, list) = get(&gw.admin, "/api/sessions?limit=10").await;
    assert_eq!(status, StatusCode::OK);
    let sessions = list["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 1, "{list}");
    let s = &sessions[0];
    assert_eq!(s["session_id"], SESSION);
    assert_eq!(s["user_id"], "u-1");
    assert_eq!(s["view_count"], 3);
    assert_eq!(s["action_count"], 3);
    assert_eq!(s["frustrated_action_count"], 1);
    assert_eq!(s["error_count"], 1);
    assert_eq!(s["event_count"], 3);
    assert_eq!(s["service"], "shop-web");
    assert_eq!(s["start_time_unix_nano"], ns(start));
    assert_eq!(s["end_time_unix_nano"], ns(start + 7000.0));
    assert_eq!(s["duration_ms"], 7000.0);

    let (status, session) = get(&gw.admin, &format!("/api/sessions/{SESSION}")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["session"], *s);

    let views = session["views"].as_array().expect("views");
    let ids: Vec<&str> = views.iter().filter_map(|v| v["view_id"].as_str()).collect();
    assert_eq!(ids, [V1, V2, V3]);
    assert_eq!(views[0]["name"], "/");
    assert_eq!(views[0]["end_time_unix_nano"], ns(start + 2000.0));
    assert_eq!(views[0]["visible_ms"], 1900.5);
    assert_eq!(views[0]["previous_view_id"], Value::Null);
    assert_eq!(views[0]["attributes"]["user.id"], "u-1");
    assert_eq!(views[0]["attributes"]["plan"], "pro");
    assert_eq!(views[0]["vitals"]["LCP"]["value"], 800.0);
    assert_eq!(views[1]["name"], "/product/:sku");
    assert_eq!(views[1]["navigation_type"], "route-change");
    assert_eq!(views[1]["previous_view_id"], V1);
    assert_eq!(views[1]["end_time_unix_nano"], ns(start + 5000.0));
    assert_eq!(
        views[1]["dropped"],
        json!({"actions": 0, "events": 2, "route_changes": 0, "errors": 0})
    );
    assert_eq!(
        views[1]["trace_id"],
        trace(2),
        "a route change view's trace"
    );
    assert_eq!(views[2]["previous_view_id"], V2);
    assert_eq!(views[2]["end_time_unix_nano"], Value::Null);

    let items = session["items"].as_array().expect("items");
    let got: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["type"].as_str().unwrap_or_default().to_string(),
                i["name"]
                    .as_str()
                    .or(i["view_id"].as_str())
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let want: Vec<(&str, &str)> = vec![
        ("view", "/"),
        ("event", "session.start"),
        ("vital", "LCP"),
        ("action", "click Catalogue"),
        ("fetch", "POST"),
        ("view", "/product/:sku"),
        ("route_change", "routeChange"),
        ("action", "click Add to cart"),
        ("fetch", "POST"),
        ("fetch", "POST"),
        ("event", "add_to_cart"),
        ("view", "/cart"),
        ("route_change", "routeChange"),
        ("action", "click Checkout"),
        ("fetch", "POST"),
        ("event", "checkout"),
    ];
    let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(got, want);
    // Times ascend, and every span item carries its trace; a fetch is its action's child.
    let times: Vec<i64> = items
        .iter()
        .map(|i| {
            i["time_unix_nano"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .expect("time")
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert_eq!(items[3]["trace_id"], trace(1));
    assert_eq!(items[4]["trace_id"], trace(1));
    assert_eq!(items[4]["parent_span_id"], span_id(1));
    assert_eq!(items[7]["attributes"]["rum.action.name"], "Add to cart");
    assert_eq!(items[8]["parent_span_id"], span_id(3));
    assert_eq!(items[9]["parent_span_id"], span_id(3));
    assert_eq!(
        items[13]["attributes"]["rum.action.frustration.type"],
        json!(["rage_click"])
    );
    assert_eq!(items[13]["attributes"]["user.id"], "u-1");
    assert_eq!(items[10]["attributes"]["items"], 2);
    assert_eq!(items[10]["view_id"], V2);
    assert_eq!(
        items[2]["time_unix_nano"],
        ns(start + 800.0),
        "LCP at view start + value"
    );
    // The action opens its trace: the action and its fetch.
    let (status, t) = get(&gw.admin, &format!("/api/traces/{}", trace(3))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["spans"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn unknown_and_malformed_session_ids() {
    let gw = Gateway::dev();
    let (status, body) = get(&gw.admin, "/api/sessions/ffffffffffffffffffffffffffffffff").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    let (status, body) = get(&gw.admin, "/api/sessions/bad%20id!").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "bad_request");
    let (status, _) = get(&gw.admin, "/api/sessions?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_later_beacon_updates_the_view_and_an_email_user_id_is_masked() {
    let gw = Gateway::dev();
    let start = t0();
    let mut first = envelope(view(V1, "navigate", start));
    first["user"] = json!({"id": "jane.doe@example.org"});
    first["spans"] = json!([action(
        1,
        "Send to jane.doe@example.org",
        start + 10.0,
        json!({})
    )]);
    first["events"] = json!([{"name": "signup", "time": start + 20.0}]);
    post_ok(&gw, &first).await;
    let mut second = envelope(view(V1, "navigate", start));
    second["view"]["name"] = json!("/home");
    second["view"]["end"] = json!(start + 500.0);
    second["view"]["visible"] = json!(400);
    post_ok(&gw, &second).await;
    // An older state arriving late does not move the end or visible time back.
    let mut stale = envelope(view(V1, "navigate", start));
    stale["view"]["end"] = json!(start + 100.0);
    stale["view"]["visible"] = json!(50);
    post_ok(&gw, &stale).await;

    let (_, session) = get(&gw.admin, &format!("/api/sessions/{SESSION}")).await;
    let v = &session["views"][0];
    assert_eq!(v["name"], "/home");
    assert_eq!(v["end_time_unix_nano"], ns(start + 500.0));
    assert_eq!(v["visible_ms"], 400.0);
    assert_eq!(session["session"]["view_count"], 1);
    assert_eq!(session["session"]["user_id"], "[email]");
    assert_eq!(v["attributes"]["user.id"], "[email]");
    let items = session["items"].as_array().expect("items");
    let action = items
        .iter()
        .find(|i| i["type"] == "action")
        .expect("action");
    assert_eq!(action["attributes"]["user.id"], "[email]");
    assert_eq!(action["attributes"]["rum.action.name"], "Send to [email]");
    let event = items.iter().find(|i| i["type"] == "event").expect("event");
    assert_eq!(event["attributes"]["user.id"], "[email]");
    let text = session.to_string();
    assert!(!text.contains("jane.doe"), "{text}");
}

#[tokio::test]
async fn beacon_text_comes_back_as_text_and_the_viewer_never_writes_html() {
    let gw = Gateway::dev();
    let start = t0();
    let mut beacon = envelope(view(V1, "navigate", start));
    beacon["view"]["name"] = json!(XSS);
    beacon["spans"] = json!([action(
        1,
        XSS,
        start + 10.0,
        json!({"rum.action.target": XSS})
    )]);
    beacon["events"] = json!([{"name": XSS, "time": start + 20.0, "attrs": {"x": XSS}}]);
    post_ok(&gw, &beacon).await;

    let request = Request::get(format!("/api/sessions/{SESSION}"))
        .body(Body::empty())
        .expect("request");
    let (status, session, headers) = send(&gw.admin, request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("application/json"));
    // The API returns the page's text as it came, as JSON strings.
    assert_eq!(session["views"][0]["name"], XSS);
    let action = &session["items"][1];
    assert_eq!(action["type"], "action");
    assert_eq!(action["attributes"]["rum.action.target"], XSS);
    assert_eq!(action["attributes"]["rum.action.name"], XSS);
    assert_eq!(session["items"][2]["name"], XSS);

    // The viewer builds its DOM with textContent only (no HTML parsing of data) under a
    // script policy that would block an inline handler anyway.
    let (status, _, headers) = send(
        &gw.admin,
        Request::get("/").body(Body::empty()).expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // The entry module imports the session page, and both are served. (That no module writes
    // HTML or evaluates text is `viewer.rs`'s unit test, over every file.)
    let fetch = |path: &'static str| {
        tower::ServiceExt::oneshot(
            gw.admin.clone(),
            Request::get(path).body(Body::empty()).expect("request"),
        )
    };
    let response = fetch("/js/app.js").await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let app = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    assert!(
        String::from_utf8_lossy(&app).contains("from '/js/pages/session.js'"),
        "the viewer has a session page"
    );
    let session_page = fetch("/js/pages/session.js").await.expect("response");
    assert_eq!(session_page.status(), StatusCode::OK);
}
