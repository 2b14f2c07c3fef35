//! Ingest throughput: beacons through the whole pipeline (auth, decode, validate, enrich,
//! scrub, sample, group-committed SQLite write) against a baseline axum handler that only reads
//! the same body, both measured in this run, in process (no sockets), with CONCURRENCY requests
//! in flight. Prints requests per second and the ratio; asserts nothing.
//!   cargo bench -p gateway --bench ingest

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::Request;
use axum::routing::post;
use axum::Router;
use gateway::config::{Config, Overrides};
use gateway::server::ingest_router;
use gateway::store::writer;
use tower::ServiceExt;

const REQUESTS: usize = 4000;
/// `INGEST_REQUESTS=N` runs longer, e.g. under a profiler.
fn requests() -> usize {
    std::env::var("INGEST_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(REQUESTS)
}
const CONCURRENCY: usize = 32;

fn beacon(i: usize) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let spans: Vec<String> = (0..5)
        .map(|s| {
            format!(
                r#"{{"traceId":"{:016x}{s:016x}","spanId":"{:016x}","name":"GET","kind":"client","start":{},"end":{},"attrs":{{"http.request.method":"GET","url.full":"https://shop.example/api/items/{s}?page=2&token=abc","http.response.status_code":200}}}}"#,
                i + 1,
                i * 8 + s + 1,
                now - 500.0,
                now - 400.0
            )
        })
        .collect();
    format!(
        r#"{{"v":1,"sentAt":{now},"resource":{{"service.name":"bench"}},"session":{{"id":"0123456789abcdef0123456789abcdef"}},"view":{{"id":"{i:016x}","url":"https://shop.example/","type":"navigate","start":{}}},"spans":[{}],"vitals":[{{"name":"LCP","value":812.5,"delta":812.5,"id":"v1-{i}-LCP0","rating":"good","nav":"navigate"}}]}}"#,
        now - 1000.0,
        spans.join(",")
    )
}

async fn run(router: Router, bodies: Arc<Vec<String>>) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let (router, bodies) = (router.clone(), Arc::clone(&bodies));
        tasks.push(tokio::spawn(async move {
            for i in (worker..requests()).step_by(CONCURRENCY) {
                let request = Request::post("/v1/rum?key=dev")
                    .header("content-type", "text/plain")
                    .header("origin", "http://localhost:8080")
                    .body(Body::from(bodies[i].clone()))
                    .expect("request");
                let response = router.clone().oneshot(request).await.expect("response");
                assert!(response.status().is_success(), "{}", response.status());
            }
        }));
    }
    for task in tasks {
        task.await.expect("worker");
    }
    requests() as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let bodies = Arc::new((0..requests()).map(beacon).collect::<Vec<_>>());
    let bytes: usize = bodies.iter().map(String::len).sum();

    // Baseline: read the body, answer 200.
    let baseline = Router::new().route(
        "/v1/rum",
        post(|body: Bytes| async move { body.len().to_string() }),
    );
    let baseline_rps = run(baseline, Arc::clone(&bodies)).await;

    let dir = tempfile::tempdir().expect("tempdir");
    // Rate limits off: the benchmark measures the pipeline, not the token buckets.
    let toml = r#"
        [limits]
        key_rate = { per_second = 0, burst = 0 }
        ip_rate = { per_second = 0, burst = 0 }
        [[apps]]
        name = "bench"
        key = "dev"
        allowed_origins = ["http://localhost:*"]
    "#;
    let config = Config::from_toml(
        toml,
        Overrides {
            data_dir: Some(dir.path().into()),
            ..Overrides::default()
        },
    )
    .expect("config");
    let (store, _writer) = writer::start(dir.path(), 1024).expect("store");
    let gateway = ingest_router(&config, store).expect("enrich stage");
    let gateway_rps = run(gateway, Arc::clone(&bodies)).await;

    println!(
        "ingest: {} beacons of 5 spans + 1 vital (avg {} B), {CONCURRENCY} in flight",
        requests(),
        bytes / requests()
    );
    println!("baseline (read body, 200): {baseline_rps:.0} req/s");
    println!(
        "gateway (full pipeline, durable commit): {gateway_rps:.0} req/s ({:.0} spans/s)",
        gateway_rps * 5.0
    );
    println!(
        "ratio gateway / baseline = {:.3}",
        gateway_rps / baseline_rps
    );
}
