//! The admin API the viewer's pages read (`docs/api.md`): trace search by each filter with
//! cursor pages, a trace with its session and page view, pages over a time range, a vital's
//! p75 over time split by a dimension, and the page views behind a figure.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

mod common;
use common::{get, now_ms, send, InProcess as Gateway};

const JOINED: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const BACKEND_ONLY: &str = "5bf92f3577b34da6a3ce929d0e0e4737";
const BROWSER_ONLY: &str = "6bf92f3577b34da6a3ce929d0e0e4738";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const SESSION_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SESSION_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const VIEW_A: &str = "a1a1a1a1a1a1a1a1";
const VIEW_B: &str = "b2b2b2b2b2b2b2b2";

async fn beacon(gw: &Gateway, body: Value) {
    let request = Request::post("/v1/rum?key=dev")
        .header("content-type", "text/plain")
        .body(Body::from(body.to_string()))
        .expect("request");
    let (status, reply, _) = send(&gw.ingest, request).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}

async fn otlp(gw: &Gateway, service: &str, spans: Vec<Value>) {
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"spans": spans}]
    }]});
    let request = Request::post("/v1/traces")
        .header("content-type", "application/json")
        .header("authorization", "Bearer dev")
        .body(Body::from(body.to_string()))
        .expect("request");
    let (status, reply, _) = send(&gw.ingest, request).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}

fn nanos(ms: f64) -> String {
    format!("{}", (ms * 1e6) as i64)
}

/// Three traces, all ending before `t0 + 1 s`: a joined one (browser fetch → shop-api server
/// span, view A of session A, user u-1), an error from stock-api alone (900 ms), and a
/// browser-only fetch (view B, session B).
async fn fill(gw: &Gateway, t0: f64) {
    beacon(
        gw,
        json!({
            "v": 1, "sentAt": now_ms(),
            "resource": {"service.name": "shop-web", "service.version": "2.0.0"},
            "session": {"id": SESSION_A}, "user": {"id": "u-1"},
            "view": {"id": VIEW_A, "url": "http://localhost:8080/product/42?ref=x", "name": "/product/:sku",
                     "type": "navigate", "start": t0},
            "spans": [{"traceId": JOINED, "spanId": CLIENT_SPAN, "name": "HTTP POST", "kind": "client",
                       "start": t0 + 100.0, "end": t0 + 300.0,
                       "attrs": {"http.request.method": "POST", "url.full": "http://localhost:8080/api/cart"}}],
            "vitals": [{"name": "LCP", "value": 1200.0, "delta": 1200.0, "id": "v1-a-lcp", "rating": "good", "nav": "navigate"}]
        }),
    )
    .await;
    otlp(
        gw,
        "shop-api",
        vec![json!({
            "traceId": JOINED, "spanId": "1111111111111111", "parentSpanId": CLIENT_SPAN,
            "name": "POST /api/cart", "kind": 2,
            "startTimeUnixNano": nanos(t0 + 120.0), "endTimeUnixNano": nanos(t0 + 280.0),
            "attributes": [{"key": "http.route", "value": {"stringValue": "/api/cart"}}]
        })],
    )
    .await;
    otlp(
        gw,
        "stock-api",
        vec![json!({
            "traceId": BACKEND_ONLY, "spanId": "2222222222222222",
            "name": "GET /api/stock", "kind": 2,
            "startTimeUnixNano": nanos(t0 + 50.0), "endTimeUnixNano": nanos(t0 + 950.0),
            "status": {"code": 2, "message": "out of stock"},
            "attributes": [{"key": "http.route", "value": {"stringValue": "/api/stock/{sku}"}}]
        })],
    )
    .await;
    beacon(
        gw,
        json!({
            "v": 1, "sentAt": now_ms(),
            "resource": {"service.name": "shop-web", "service.version": "2.1.0"},
            "session": {"id": SESSION_B},
            "view": {"id": VIEW_B, "url": "http://localhost:8080/cart", "type": "navigate", "start": t0 + 10.0},
            "spans": [{"traceId": BROWSER_ONLY, "spanId": "3333333333333333", "name": "HTTP GET", "kind": "client",
                       "start": t0 + 400.0, "end": t0 + 430.0,
                       "attrs": {"http.request.method": "GET", "url.full": "http://localhost:8080/api/search?q=Tea"}}],
            "vitals": [{"name": "LCP", "value": 3000.0, "delta": 3000.0, "id": "v1-b-lcp", "rating": "needs-improvement", "nav": "navigate"}]
        }),
    )
    .await;
}

async fn found(gw: &Gateway, query: &str) -> BTreeSet<String> {
    let (status, body) = get(&gw.admin, &format!("/api/traces?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| t["trace_id"].as_str().expect("id").to_string())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn each_filter_finds_exactly_the_traces_it_names() {
    let gw = Gateway::dev();
    let t0 = now_ms() - 60_000.0;
    fill(&gw, t0).await;
    let all = set(&[JOINED, BACKEND_ONLY, BROWSER_ONLY]);
    assert_eq!(found(&gw, "").await, all);
    // Any span's service: the joined trace has both sides.
    assert_eq!(found(&gw, "service=shop-api").await, set(&[JOINED]));
    assert_eq!(
        found(&gw, "service=shop-web").await,
        set(&[JOINED, BROWSER_ONLY])
    );
    assert_eq!(found(&gw, "service=shop").await, set(&[]), "exact service");
    // Span name and URL or route substrings, ASCII case-insensitive.
    assert_eq!(found(&gw, "name=post%20/API").await, set(&[JOINED]));
    assert_eq!(found(&gw, "url=q%3Dtea").await, set(&[BROWSER_ONLY]));
    assert_eq!(found(&gw, "url=%7Bsku%7D").await, set(&[BACKEND_ONLY]));
    assert_eq!(found(&gw, "url=/api/").await, all);
    assert_eq!(found(&gw, "status=error").await, set(&[BACKEND_ONLY]));
    assert_eq!(found(&gw, "status=ok").await, set(&[JOINED, BROWSER_ONLY]));
    // Durations: 900 ms, 200 ms (client 100–300), 30 ms.
    assert_eq!(found(&gw, "min_ms=500").await, set(&[BACKEND_ONLY]));
    assert_eq!(found(&gw, "min_ms=100&max_ms=500").await, set(&[JOINED]));
    assert_eq!(found(&gw, "max_ms=31").await, set(&[BROWSER_ONLY]));
    assert_eq!(
        found(&gw, &format!("session_id={SESSION_A}")).await,
        set(&[JOINED])
    );
    assert_eq!(found(&gw, "user_id=u-1").await, set(&[JOINED]));
    assert_eq!(
        found(&gw, &format!("page_view_id={VIEW_B}")).await,
        set(&[BROWSER_ONLY])
    );
    // The page as /api/pages names it: the view's name, else its path.
    assert_eq!(found(&gw, "page=/product/:sku").await, set(&[JOINED]));
    assert_eq!(found(&gw, "page=/cart").await, set(&[BROWSER_ONLY]));
    // Time range: spans starting in it.
    let (from, to) = ((t0 + 380.0) as i64, (t0 + 500.0) as i64);
    assert_eq!(
        found(&gw, &format!("from_ms={from}&to_ms={to}")).await,
        set(&[BROWSER_ONLY])
    );
    assert_eq!(
        found(&gw, &format!("to_ms={}", (t0 - 1.0) as i64)).await,
        set(&[])
    );
    // Filters combine.
    assert_eq!(found(&gw, "service=shop-web&status=error").await, set(&[]));
}

#[tokio::test]
async fn a_result_describes_its_trace_and_pages_follow_a_cursor() {
    let gw = Gateway::dev();
    let t0 = now_ms() - 60_000.0;
    fill(&gw, t0).await;
    let (_, body) = get(&gw.admin, "/api/traces?service=shop-api").await;
    let hit = &body["traces"][0];
    assert_eq!(hit["root_name"], "HTTP POST");
    assert_eq!(hit["root_service"], "shop-web");
    assert_eq!(hit["url"], "http://localhost:8080/api/cart");
    assert_eq!(hit["route"], "/api/cart");
    assert_eq!(hit["services"], json!(["shop-web", "shop-api"]));
    assert_eq!(
        (hit["browser"].clone(), hit["backend"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(hit["span_count"], 2);
    assert_eq!(hit["error_count"], 0);
    assert_eq!(hit["duration_ms"], 200.0);
    assert_eq!(hit["session_id"], SESSION_A);
    assert_eq!(hit["user_id"], "u-1");
    assert_eq!(hit["page_view_id"], VIEW_A);
    assert_eq!(body["next_cursor"], Value::Null);

    // Newest first by start, one at a time: browser-only (t0+400), joined (t0+100), stock (t0+50).
    let mut order = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = get(&gw.admin, &format!("/api/traces?limit=1&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let traces = page["traces"].as_array().expect("traces");
        assert!(traces.len() <= 1);
        order.extend(
            traces
                .iter()
                .map(|t| t["trace_id"].as_str().expect("id").to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(order, vec![BROWSER_ONLY, JOINED, BACKEND_ONLY]);

    // One trace: its session and user beside its spans and page view.
    let (_, trace) = get(&gw.admin, &format!("/api/traces/{JOINED}")).await;
    assert_eq!(trace["session_id"], SESSION_A);
    assert_eq!(trace["user_id"], "u-1");
    assert_eq!(trace["page_view"]["page_view_id"], VIEW_A);
    assert_eq!(trace["page_view"]["page"], "/product/:sku");
    let (_, backend) = get(&gw.admin, &format!("/api/traces/{BACKEND_ONLY}")).await;
    assert_eq!(backend["session_id"], Value::Null);
    assert_eq!(backend["page_view"], Value::Null);
}

#[tokio::test]
async fn bad_search_parameters_are_refused_with_a_reason() {
    let gw = Gateway::dev();
    for (query, reason) in [
        ("status=broken", "status must be error or ok"),
        ("min_ms=-1", "min_ms"),
        ("min_ms=abc", "min_ms"),
        ("from_ms=10&to_ms=5", "to_ms must not be before from_ms"),
        ("cursor=nonsense", "cursor"),
        ("limit=0", "limit"),
    ] {
        let (status, body) = get(&gw.admin, &format!("/api/traces?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            body["message"].as_str().unwrap_or("").contains(reason),
            "{query}: {body}"
        );
    }
    for (path, reason) in [
        ("/api/pages/series", "vital is required"),
        ("/api/pages/series?vital=XYZ", "vital must be one of"),
        (
            "/api/pages/series?vital=LCP&bucket=week",
            "bucket must be hour or day",
        ),
        ("/api/pages/series?vital=LCP&by=planet", "by must be one of"),
        ("/api/page_views?by=browser", "by and group go together"),
        ("/api/pages?from_ms=99999999999999999", "from_ms"),
        (
            "/api/pages/series?vital=LCP&bucket=hour&from_ms=0",
            "buckets",
        ),
    ] {
        let (status, body) = get(&gw.admin, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap_or("").contains(reason),
            "{path}: {body}"
        );
    }
    let (status, _) = get(&gw.admin, "/api/page_views/ffffffffffffffff").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Without a start, a series reaches back as far as it may (no overflow with days).
    let (status, body) = get(&gw.admin, "/api/pages/series?vital=CLS&bucket=day").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["series"], json!([]));
}

/// LCP of 20 views of one page over two hours, by release: the p75 of each hour and group is
/// the nearest rank of what was sent.
#[tokio::test]
async fn pages_and_series_give_the_nearest_rank_p75_per_range_bucket_and_group() {
    let gw = Gateway::dev();
    let hour = 3_600_000.0;
    // The start of the hour two hours ago: views in that hour and the next.
    let h0 = ((now_ms() / hour).floor() - 2.0) * hour;
    let mut sent: Vec<(f64, &str, f64)> = Vec::new();
    for i in 0..20 {
        let (start, release) = if i < 12 {
            (
                h0 + 60_000.0 * f64::from(i),
                if i % 2 == 0 { "1.0" } else { "1.1" },
            )
        } else {
            (h0 + hour + 60_000.0 * f64::from(i), "1.1")
        };
        let lcp = 1000.0 + 100.0 * f64::from((i * 7) % 20);
        sent.push((start, release, lcp));
        let view = format!("{:016x}", 0xc000 + i);
        beacon(
            &gw,
            json!({
                "v": 1, "sentAt": now_ms(),
                "resource": {"service.name": "shop-web", "service.version": release, "deployment.environment.name": "prod"},
                "session": {"id": format!("{:032x}", 0xd000 + i)},
                "view": {"id": view, "url": "http://localhost:8080/checkout?step=2", "type": "navigate", "start": start},
                "vitals": [{"name": "LCP", "value": lcp, "delta": lcp, "id": format!("v1-{view}-lcp"),
                            "rating": if lcp <= 2500.0 { "good" } else { "needs-improvement" }, "nav": "navigate"}]
            }),
        )
        .await;
    }
    let p75 = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[(values.len() * 3).div_ceil(4) - 1]
    };

    let (_, pages) = get(&gw.admin, "/api/pages?service=shop-web&environment=prod").await;
    let page = &pages["pages"][0];
    assert_eq!(page["page"], "/checkout");
    assert_eq!(page["page_views"], 20);
    assert_eq!(
        page["vitals"]["LCP"]["p75"],
        p75(sent.iter().map(|s| s.2).collect())
    );
    let (_, none) = get(&gw.admin, "/api/pages?environment=staging").await;
    assert_eq!(none["pages"], json!([]));
    // The first hour only.
    let first_hour = format!("from_ms={}&to_ms={}", h0 as i64, (h0 + hour) as i64 - 1);
    let (_, early) = get(&gw.admin, &format!("/api/pages?{first_hour}")).await;
    assert_eq!(early["pages"][0]["page_views"], 12);

    let (_, series) = get(
        &gw.admin,
        "/api/pages/series?vital=LCP&bucket=hour&by=release&page=/checkout",
    )
    .await;
    assert_eq!(series["bucket_ms"], 3_600_000);
    let mut expected = Vec::new();
    for release in ["1.0", "1.1"] {
        let mut points = Vec::new();
        for bucket in [h0, h0 + hour] {
            let values: Vec<f64> = sent
                .iter()
                .filter(|s| s.1 == release && s.0 >= bucket && s.0 < bucket + hour)
                .map(|s| s.2)
                .collect();
            if !values.is_empty() {
                points.push(json!({"start_ms": bucket as i64, "p75": p75(values.clone()), "count": values.len()}));
            }
        }
        expected.push(json!({"group": release, "points": points}));
    }
    assert_eq!(series["series"], json!(expected));

    // The views behind the 1.1 point of the second hour, newest first, two per page.
    let query = format!(
        "/api/page_views?vital=LCP&by=release&group=1.1&from_ms={}&to_ms={}&limit=2",
        (h0 + hour) as i64,
        (h0 + 2.0 * hour) as i64 - 1
    );
    let (_, first) = get(&gw.admin, &query).await;
    let views = first["page_views"].as_array().expect("views");
    assert_eq!(views.len(), 2);
    assert_eq!(views[0]["page"], "/checkout");
    assert_eq!(views[0]["page_view_id"], format!("{:016x}", 0xc000 + 19));
    let mut all = views.len();
    let mut next = first["next_cursor"].as_str().map(String::from);
    while let Some(cursor) = next {
        let (_, more) = get(&gw.admin, &format!("{query}&cursor={cursor}")).await;
        all += more["page_views"].as_array().expect("views").len();
        next = more["next_cursor"].as_str().map(String::from);
    }
    assert_eq!(all, 8, "views 12..20 are in the second hour");
    let (_, one) = get(&gw.admin, &format!("/api/page_views/{:016x}", 0xc000 + 3)).await;
    assert_eq!(one["vitals"]["LCP"]["value"], sent[3].2);
}
