//! Tiered retention with the store's clock injected: raw data past the raw tier disappears
//! (its span partition deleted, its page views and vitals too) while the traces with errors stay
//! until the error tier and the hourly rollups give the p75 the raw data gave, within the
//! rollups' stated precision, until the rollup tier. (The size cap: `store/retention.rs`'s tests.)

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

#[path = "common/mod.rs"]
mod common;
use common::{get, send, InProcess};

const HOUR: i64 = 3600 * 1_000_000_000;

const APP: &str = r#"
[[apps]]
name = "shop"
key = "dev"
allowed_origins = ["http://localhost:*"]
# The test's beacons are sent at the real time; the store clock is moved by hand.
[enrich]
clock_skew_threshold_ms = 1000000000000
"#;

struct Clock(Arc<AtomicI64>);

impl Clock {
    fn now() -> Clock {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("time")
            .as_nanos() as i64;
        Clock(Arc::new(AtomicI64::new(now)))
    }

    fn gateway(&self, toml: &str) -> InProcess {
        let time = Arc::clone(&self.0);
        InProcess::from_toml_with_clock(
            &format!("{toml}\n{APP}"),
            64,
            Arc::new(move || time.load(Ordering::SeqCst)),
        )
    }

    fn get(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    fn advance(&self, nanos: i64) {
        self.0.fetch_add(nanos, Ordering::SeqCst);
    }
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_millis() as f64
}

/// A page view with an LCP of `lcp` ms and one fetch span of its own trace.
fn beacon(n: u32, lcp: f64) -> String {
    let now = now_ms();
    json!({
        "v": 1, "sentAt": now,
        "resource": {"service.name": "shop-web", "service.version": "1.0"},
        "session": {"id": format!("{:032x}", n + 1)},
        "view": {"id": format!("{:016x}", n + 1), "url": "http://localhost:8080/cart", "type": "navigate", "start": now - 3000.0},
        "spans": [{"traceId": format!("{:032x}", 0xb000 + n), "spanId": "00f067aa0ba902b7", "name": "GET",
                   "kind": "client", "start": now - 2000.0, "end": now - 2000.0 + f64::from(100 + n),
                   "attrs": {"http.request.method": "GET", "url.full": "http://localhost:8080/api/cart"}}],
        "vitals": [{"name": "LCP", "value": lcp, "delta": lcp, "id": format!("v{n}"), "rating": "good", "nav": "navigate"}]
    })
    .to_string()
}

fn post_beacon(body: String) -> Request<Body> {
    Request::post("/v1/rum?key=dev")
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::ORIGIN, "http://localhost:8080")
        .body(Body::from(body))
        .expect("request")
}

/// A backend trace of one server span, with status error or not.
fn post_trace(trace: &str, error: bool) -> Request<Body> {
    let now = (now_ms() * 1e6) as u64;
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop-api"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": trace, "spanId": "1111111111111111", "name": "POST /api/cart", "kind": 2,
            "startTimeUnixNano": (now - 50_000_000).to_string(), "endTimeUnixNano": now.to_string(),
            "attributes": [{"key": "http.route", "value": {"stringValue": "/api/cart"}}],
            "status": {"code": if error { 2 } else { 0 }}
        }]}]
    }]});
    Request::post("/v1/traces")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, "Bearer dev")
        .body(Body::from(body.to_string()))
        .expect("request")
}

async fn quantiles(gw: &InProcess, metric: &str, from: i64, to: i64) -> Value {
    let (status, body) = get(
        &gw.admin,
        &format!(
            "/api/vitals/quantiles?metric={metric}&from_ms={}&to_ms={}",
            from / 1_000_000,
            to / 1_000_000
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The trace ids the trace search lists (all time).
async fn listed(gw: &InProcess) -> Vec<String> {
    let (_, body) = get(&gw.admin, "/api/traces?limit=1000").await;
    let mut ids: Vec<String> = body["traces"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|t| t["trace_id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

async fn trace_spans(gw: &InProcess, trace: &str) -> usize {
    let (status, body) = get(&gw.admin, &format!("/api/traces/{trace}")).await;
    match status {
        StatusCode::OK => body["spans"].as_array().map_or(0, Vec::len),
        _ => 0,
    }
}

fn count(gw: &InProcess, sql: &str) -> i64 {
    let conn = gateway::store::open_read(gw.dir.path()).expect("open");
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

/// Polls `done` (the retention pass runs in the background) for up to 30 s.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tier_goes_at_its_time_and_rollups_keep_the_p75() {
    let clock = Clock::now();
    let t0 = clock.get();
    let gw = clock.gateway(
        "[store]\npartition_hours = 1\nretention_hours = 2\nerror_retention_hours = 4\n\
         rollup_retention_hours = 8\n",
    );
    // 200 page views, LCP skewed as real ones are.
    for n in 0..200u32 {
        let lcp = 400.0 + 30.0 * f64::from(n) + f64::from(n * n % 97);
        assert_eq!(
            send(&gw.ingest, post_beacon(beacon(n, lcp))).await.0,
            StatusCode::OK
        );
    }
    let (failing, fine) = (
        "0af7651916cd43dd8448eb211c80319c",
        "1af7651916cd43dd8448eb211c80319c",
    );
    assert_eq!(
        send(&gw.ingest, post_trace(failing, true)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(&gw.ingest, post_trace(fine, false)).await.0,
        StatusCode::OK
    );
    let (from, to) = (t0 - HOUR, t0 + HOUR);
    let raw = quantiles(&gw, "LCP", from, to).await;
    assert_eq!(raw["source"], "raw", "{raw}");
    assert_eq!(raw["count"], 200);
    let raw_p75 = raw["p75"].as_f64().expect("p75");
    assert_eq!(
        (
            trace_spans(&gw, failing).await,
            trace_spans(&gw, fine).await
        ),
        (1, 1)
    );

    // Past the raw tier (2 h after the 1 h partition's window ended, and its hour rolled up).
    clock.advance(3 * HOUR + HOUR / 4);
    eventually("the raw tier's deletion", async || {
        count(&gw, "SELECT count(*) FROM vitals") == 0
            && count(&gw, "SELECT count(*) FROM page_views") == 0
            && trace_spans(&gw, fine).await == 0
    })
    .await;
    assert_eq!(
        trace_spans(&gw, failing).await,
        1,
        "the error trace is kept"
    );
    // The search follows: the kept error trace is listed (its search row moved with it), the
    // deleted one is not.
    assert_eq!(listed(&gw).await, vec![failing.to_string()]);
    let rolled = quantiles(&gw, "LCP", from, to).await;
    assert_eq!(rolled["source"], "rollups", "{rolled}");
    assert_eq!(rolled["count"], 200);
    let rolled_p75 = rolled["p75"].as_f64().expect("p75");
    let precision = rolled["max_relative_error"].as_f64().expect("precision");
    println!("p75 raw {raw_p75}, from rollups {rolled_p75} (stated precision {precision})");
    assert!(
        (rolled_p75 / raw_p75 - 1.0).abs() <= precision,
        "{rolled_p75} vs {raw_p75}"
    );
    let fetch = quantiles(&gw, "fetch.duration", from, to).await;
    assert_eq!(fetch["count"], 200, "{fetch}");
    let server = quantiles(&gw, "server.duration", from, to).await;
    assert_eq!(server["count"], 2, "{server}");

    // Past the error tier: the error trace goes; the rollups stay.
    clock.advance(2 * HOUR);
    eventually("the error tier's deletion", async || {
        trace_spans(&gw, failing).await == 0
    })
    .await;
    assert_eq!(listed(&gw).await, Vec::<String>::new());
    assert_eq!(quantiles(&gw, "LCP", from, to).await["p75"], rolled["p75"]);

    // Past the rollup tier.
    clock.advance(4 * HOUR);
    eventually("the rollup tier's deletion", async || {
        count(&gw, "SELECT count(*) FROM rollups") == 0
    })
    .await;
    assert_eq!(quantiles(&gw, "LCP", from, to).await["count"], 0);
}
