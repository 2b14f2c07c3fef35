//! Release comparison end to end: two releases of `shop-web` sent as real beacons and OTLP
//! spans, the candidate with a 30 % slower LCP and twice the error rate and everything else
//! drawn from the same distributions; `/api/releases/compare` must call exactly the error
//! figures and LCP `worse` and the rest `no_evidence`, and `rum-gateway compare --fail-on
//! worse` must fail on it and pass on a release against itself.
//!
//! Samples are stratified: the i-th of n values is the distribution's quantile at
//! (i + U) / n, U uniform from a seeded PRNG, shuffled. Two releases drawn from one
//! distribution then differ by sampling noise far below what the tests detect, so `no_evidence`
//! does not depend on a lucky seed, while the 30 % shift stays far above it.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

mod common;
use common::{get, now_ms, send, InProcess as Gateway};

const SERVICE: &str = "shop-web";
const BASELINE: &str = "1.0.0";
const CANDIDATE: &str = "1.1.0";
const VIEWS: usize = 400;
/// Page views per session.
const VIEWS_PER_SESSION: usize = 2;

/// A log-logistic quantile: `scale` is the median, `shape` the tail (larger: thinner).
fn log_logistic(u: f64, scale: f64, shape: f64) -> f64 {
    scale * (u / (1.0 - u)).powf(1.0 / shape)
}

/// `n` stratified draws from the distribution of quantile function `q`, shuffled.
fn stratified(rng: &mut fastrand::Rng, n: usize, q: impl Fn(f64) -> f64) -> Vec<f64> {
    let mut values: Vec<f64> = (0..n)
        .map(|i| q((i as f64 + rng.f64().clamp(1e-9, 1.0 - 1e-9)) / n as f64))
        .collect();
    rng.shuffle(&mut values);
    values
}

fn hex(rng: &mut fastrand::Rng, digits: usize) -> String {
    (0..digits)
        .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
        .collect()
}

fn rating(value: f64, good: f64, poor: f64) -> &'static str {
    if value <= good {
        "good"
    } else if value <= poor {
        "needs-improvement"
    } else {
        "poor"
    }
}

/// One release's beacons (one per page view) and its OTLP request (one server span per view).
struct Release {
    beacons: Vec<Value>,
    otlp: Value,
}

/// `lcp_factor` scales LCP; `error_every` puts one error in every n-th page view (each in its
/// own session).
fn release(seed: u64, version: &str, lcp_factor: f64, error_every: usize) -> Release {
    let mut rng = fastrand::Rng::with_seed(seed);
    let lcp = stratified(&mut rng, VIEWS, |u| {
        lcp_factor * log_logistic(u, 1800.0, 4.0)
    });
    let inp = stratified(&mut rng, VIEWS, |u| log_logistic(u, 120.0, 3.0));
    let cls = stratified(&mut rng, VIEWS, |u| log_logistic(u, 0.05, 2.0));
    let fcp = stratified(&mut rng, VIEWS, |u| log_logistic(u, 900.0, 4.0));
    let ttfb = stratified(&mut rng, VIEWS, |u| log_logistic(u, 300.0, 3.0));
    let fetch = stratified(&mut rng, VIEWS, |u| {
        log_logistic(u, 150.0, 3.0).round().max(1.0)
    });
    let server = stratified(&mut rng, VIEWS, |u| {
        log_logistic(u, 40.0, 3.0).round().max(1.0)
    });
    let t0 = (now_ms() / 1000.0).floor() * 1000.0 - 600_000.0;
    let resource = json!({"service.name": SERVICE, "service.version": version,
                          "deployment.environment.name": "prod"});
    let mut beacons = Vec::new();
    let mut server_spans = Vec::new();
    let mut session = hex(&mut rng, 32);
    for i in 0..VIEWS {
        if i % VIEWS_PER_SESSION == 0 {
            session = hex(&mut rng, 32);
        }
        let view = hex(&mut rng, 16);
        let start = t0 + i as f64 * 100.0;
        let trace = hex(&mut rng, 32);
        let fetch_span = hex(&mut rng, 16);
        // The same share of failed fetches and server spans in both releases: every 20th.
        let failed = i % 20 == 7;
        let vital = |name: &str, value: f64, good: f64, poor: f64| {
            json!({"name": name, "value": value, "delta": value, "id": format!("v1-{view}-{name}"),
                   "rating": rating(value, good, poor), "nav": "navigate"})
        };
        let mut beacon = json!({
            "v": 1, "sentAt": now_ms(), "resource": resource,
            "session": {"id": session},
            "view": {"id": view, "url": "http://localhost:8080/shop", "type": "navigate", "start": start},
            "vitals": [
                vital("LCP", lcp[i], 2500.0, 4000.0), vital("INP", inp[i], 200.0, 500.0),
                vital("CLS", cls[i], 0.1, 0.25), vital("FCP", fcp[i], 1800.0, 3000.0),
                vital("TTFB", ttfb[i], 800.0, 1800.0)
            ],
            "spans": [{"traceId": trace, "spanId": fetch_span, "name": "GET", "kind": "client",
                       "start": start + 50.0, "end": start + 50.0 + fetch[i],
                       "attrs": {"http.request.method": "GET",
                                 "url.full": "http://localhost:8080/api/cart?id=3",
                                 "http.response.status_code": if failed { 503 } else { 200 }}}]
        });
        if failed {
            beacon["spans"][0]["status"] = json!("error");
        }
        if i % error_every == 0 {
            beacon["errors"] = json!([{"type": "TypeError", "message": "cart is undefined",
                "stack": "TypeError: cart is undefined\n    at render (http://localhost:8080/app.js:1:2)",
                "kind": "uncaught", "time": start + 10.0, "id": hex(&mut rng, 16), "count": 1}]);
        }
        beacons.push(beacon);
        let server_start = (start + 60.0) as i64 * 1_000_000;
        let server_end = server_start + server[i] as i64 * 1_000_000;
        server_spans.push(json!({
            "traceId": trace, "spanId": hex(&mut rng, 16), "parentSpanId": fetch_span,
            "name": "GET /api/cart", "kind": 2,
            "startTimeUnixNano": server_start.to_string(), "endTimeUnixNano": server_end.to_string(),
            "status": {"code": if failed { 2 } else { 0 }},
            "attributes": [{"key": "http.request.method", "value": {"stringValue": "GET"}},
                           {"key": "http.route", "value": {"stringValue": "/api/cart"}}]
        }));
    }
    let attribute = |k: &str, v: &str| json!({"key": k, "value": {"stringValue": v}});
    let otlp = json!({"resourceSpans": [{
        "resource": {"attributes": [attribute("service.name", SERVICE),
                                    attribute("service.version", version),
                                    attribute("deployment.environment.name", "prod")]},
        "scopeSpans": [{"spans": server_spans}]
    }]});
    Release { beacons, otlp }
}

async fn ingest(gw: &Gateway, release: &Release) {
    for beacon in &release.beacons {
        let request = Request::post("/v1/rum?key=dev")
            .header("content-type", "text/plain")
            .body(Body::from(beacon.to_string()))
            .expect("request");
        let (status, body, _) = send(&gw.ingest, request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let request = Request::post("/v1/traces")
        .header("content-type", "application/json")
        .header("authorization", "Bearer dev")
        .body(Body::from(release.otlp.to_string()))
        .expect("request");
    let (status, body, _) = send(&gw.ingest, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn verdicts(comparison: &Value) -> Vec<(String, String)> {
    comparison["figures"]
        .as_array()
        .expect("figures")
        .iter()
        .map(|f| {
            let label = match f["name"].as_str() {
                Some(name) => format!("{} {name}", f["figure"].as_str().unwrap_or("")),
                None => f["figure"].as_str().unwrap_or("").to_string(),
            };
            (label, f["verdict"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

fn run_compare(dir: &std::path::Path, baseline: &str, candidate: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rum-gateway"))
        .args(["compare", "--service", SERVICE, "--baseline", baseline])
        .args([
            "--candidate",
            candidate,
            "--environment",
            "prod",
            "--fail-on",
            "worse",
        ])
        .arg("--data-dir")
        .arg(dir)
        .output()
        .expect("run rum-gateway compare")
}

#[tokio::test]
async fn a_slower_lcp_and_twice_the_errors_are_worse_and_nothing_else() {
    let gw = Gateway::dev();
    // Baseline: an error in every 20th page view (5 %); candidate: every 10th (10 %).
    ingest(&gw, &release(1, BASELINE, 1.0, 20)).await;
    ingest(&gw, &release(2, CANDIDATE, 1.3, 10)).await;

    // The list: both releases with their counts.
    let (status, list) = get(&gw.admin, "/api/releases?service=shop-web").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let releases = list["releases"].as_array().expect("releases");
    assert_eq!(releases.len(), 2, "{list}");
    for (release, errors) in [(BASELINE, 20), (CANDIDATE, 40)] {
        let r = releases
            .iter()
            .find(|r| r["version"] == release)
            .expect("listed");
        assert_eq!(r["environment"], "prod");
        assert_eq!(r["page_views"], 400);
        assert_eq!(r["sessions"], 200);
        assert_eq!(r["errors"], errors);
        assert_eq!(r["errors_per_1000_page_views"], errors as f64 * 2.5);
        assert_eq!(r["vitals"]["LCP"]["n"], 400);
        assert_eq!(r["fetch"][0]["route"], "GET /api/cart");
        assert_eq!(r["fetch"][0]["n"], 400);
        assert_eq!(r["fetch"][0]["errors"], 20);
        assert_eq!(r["server"][0]["route"], "GET /api/cart");
        assert_eq!(r["server"][0]["n"], 400);
        assert_eq!(r["server"][0]["errors"], 20);
    }

    // The comparison: worse on exactly the error figures and LCP.
    let (status, cmp) = get(
        &gw.admin,
        "/api/releases/compare?service=shop-web&environment=prod&baseline=1.0.0&candidate=1.1.0",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cmp}");
    let got = verdicts(&cmp);
    let worse = ["error_rate", "sessions_with_errors", "vital LCP"];
    let want: Vec<(String, String)> = [
        "error_rate",
        "sessions_with_errors",
        "vital LCP",
        "vital INP",
        "vital CLS",
        "vital FCP",
        "vital TTFB",
        "fetch_latency GET /api/cart",
        "fetch_error_rate GET /api/cart",
        "server_latency GET /api/cart",
        "server_error_rate GET /api/cart",
    ]
    .iter()
    .map(|f| {
        let verdict = if worse.contains(f) {
            "worse"
        } else {
            "no_evidence"
        };
        (f.to_string(), verdict.to_string())
    })
    .collect();
    assert_eq!(got, want, "{cmp:#}");
    assert_eq!(cmp["worse"], json!(worse));
    let lcp = &cmp["figures"][2];
    assert_eq!(lcp["test"], "mann_whitney_u");
    assert!(lcp["p_value"].as_f64().is_some_and(|p| p < 1e-6), "{lcp}");
    // p75 of the candidate is about 1.3 times the baseline's.
    let ratio = lcp["candidate"]["p75"].as_f64().expect("p75")
        / lcp["baseline"]["p75"].as_f64().expect("p75");
    assert!((1.25..1.35).contains(&ratio), "{ratio}");
    let errors = &cmp["figures"][0];
    assert_eq!(errors["test"], "two_proportion_z");
    assert_eq!(errors["baseline"]["events"], 20);
    assert_eq!(errors["candidate"]["events"], 40);
    assert_eq!(errors["difference"]["per_1000"], 50.0);
    assert!(
        errors["p_value"].as_f64().is_some_and(|p| p < 0.05),
        "{errors}"
    );

    // Refusals: a JSON reason each.
    for (path, want) in [
        ("/api/releases", StatusCode::BAD_REQUEST),
        ("/api/releases?service=shop-web&from=x", StatusCode::BAD_REQUEST),
        ("/api/releases?service=shop-web&from=5&to=1", StatusCode::BAD_REQUEST),
        ("/api/releases/compare?service=shop-web&baseline=1.0.0", StatusCode::BAD_REQUEST),
        (
            "/api/releases/compare?service=shop-web&baseline=1.0.0&candidate=9.9.9",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/releases/compare?service=shop-web&environment=staging&baseline=1.0.0&candidate=1.1.0",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, body) = get(&gw.admin, path).await;
        assert_eq!(status, want, "{path}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{path}: {body}");
    }

    // The CLI on the same store: a regression fails, a release against itself passes.
    let out = run_compare(gw.dir.path(), BASELINE, CANDIDATE);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("error_rate, sessions_with_errors, vital LCP"),
        "{stderr}"
    );
    let lcp_row = stdout
        .lines()
        .find(|l| l.starts_with("vital LCP"))
        .expect("LCP row");
    assert!(
        lcp_row.contains("worse") && lcp_row.contains("mann_whitney_u"),
        "{stdout}"
    );
    let same = run_compare(gw.dir.path(), CANDIDATE, CANDIDATE);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
    assert!(!String::from_utf8_lossy(&same.stdout).contains("worse"));
    let unknown = run_compare(gw.dir.path(), BASELINE, "9.9.9");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no release 9.9.9"));
}

#[tokio::test]
async fn releases_are_per_environment_with_the_older_key_and_the_time_range_applies() {
    let gw = Gateway::dev();
    let t0 = (now_ms() / 1000.0).floor() * 1000.0 - 600_000.0;
    let beacon = |view: &str, resource: Value, start: f64| {
        json!({"v": 1, "sentAt": now_ms(), "resource": resource,
               "session": {"id": "0123456789abcdef0123456789abcdef"},
               "view": {"id": view, "url": "http://localhost:8080/", "type": "navigate", "start": start},
               "vitals": [{"name": "LCP", "value": 1000.0, "delta": 1000.0, "id": format!("v1-{view}"),
                           "rating": "good", "nav": "navigate"}]})
    };
    for (view, resource, start) in [
        (
            "a000000000000001",
            json!({"service.name": SERVICE, "service.version": "1", "deployment.environment": "staging"}),
            t0,
        ),
        (
            "a000000000000002",
            json!({"service.name": SERVICE, "service.version": "1", "deployment.environment.name": "prod"}),
            t0 + 60_000.0,
        ),
        // No version: a release named "".
        ("a000000000000003", json!({"service.name": SERVICE}), t0),
        // Another service: never listed.
        (
            "a000000000000004",
            json!({"service.name": "other", "service.version": "1"}),
            t0,
        ),
    ] {
        let request = Request::post("/v1/rum?key=dev")
            .header("content-type", "text/plain")
            .body(Body::from(beacon(view, resource, start).to_string()))
            .expect("request");
        let (status, body, _) = send(&gw.ingest, request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let releases = |query: String| {
        let admin = gw.admin.clone();
        async move {
            let (status, body) =
                get(&admin, &format!("/api/releases?service={SERVICE}{query}")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let mut list: Vec<(String, String, u64)> = body["releases"]
                .as_array()
                .expect("releases")
                .iter()
                .map(|r| {
                    (
                        r["version"].as_str().unwrap_or("?").to_string(),
                        r["environment"].as_str().unwrap_or("?").to_string(),
                        r["page_views"].as_u64().unwrap_or(0),
                    )
                })
                .collect();
            list.sort();
            list
        }
    };
    let row = |v: &str, e: &str| (v.to_string(), e.to_string(), 1);
    assert_eq!(
        releases(String::new()).await,
        [row("", ""), row("1", "prod"), row("1", "staging")]
    );
    assert_eq!(
        releases("&environment=staging".into()).await,
        [row("1", "staging")]
    );
    // [from, to) in unix milliseconds, by the page view's start.
    let from = (t0 + 30_000.0) as i64;
    assert_eq!(releases(format!("&from={from}")).await, [row("1", "prod")]);
    assert_eq!(
        releases(format!("&to={}", t0 as i64)).await,
        Vec::<(String, String, u64)>::new()
    );
    // Pooled over environments, version 1 has both views.
    let (status, cmp) = get(
        &gw.admin,
        &format!("/api/releases/compare?service={SERVICE}&baseline=1&candidate=1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cmp}");
    assert_eq!(cmp["baseline"]["page_views"], 2);
    assert_eq!(cmp["figures"][2]["baseline"]["n"], 2);
    assert_eq!(cmp["figures"][2]["verdict"], "no_evidence");
}
