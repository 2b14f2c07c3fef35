//! Tail sampling through the real routers, with the store's clock injected: whole traces kept
//! or dropped across requests, the policies, the caps.

use super::*;

/// splitmix64: deterministic ids without a dev-dependency.
fn ids(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[tokio::test]
async fn browser_and_backend_halves_of_a_trace_are_kept_or_dropped_together() {
    const TRACES: usize = 10_000;
    const RATIO: f64 = 0.1;
    let clock = Clock::at(0);
    let gw = clock.gateway(&format!(
        "[[sample.rules]]\nenvironment = \"prod\"\nratio = {RATIO}\n"
    ));
    let mut next = ids(42);
    let traces: Vec<[u8; 16]> = (0..TRACES)
        .map(|_| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&next().to_be_bytes());
            id[8..].copy_from_slice(&next().to_be_bytes());
            id
        })
        .collect();

    let send_browser = |chunk: &[[u8; 16]]| {
        let spans = chunk
            .iter()
            .map(|t| browser_span(&hex::encode(t), "b7ad6b7169203331", json!({})))
            .collect();
        post_beacon(beacon("http://localhost:8080/", spans).to_string(), None)
    };
    let send_backend = |chunk: &[[u8; 16]]| {
        post_otlp(
            &otlp(chunk.iter().map(|t| otlp_span(*t, [7; 8], 0x01)).collect()),
            None,
        )
    };
    // The first half's browser spans arrive first, the second half's backend spans.
    let (first, second) = traces.split_at(TRACES / 2);
    for chunk in first.chunks(500) {
        assert_eq!(
            send(&gw.ingest, send_browser(chunk)).await.0,
            StatusCode::OK
        );
        // (Paced by the index: a debug build's index is slower than the write bound allows.)
        assert!(gw.store.wait_indexed());
    }
    for chunk in traces.chunks(1000) {
        assert_eq!(
            send(&gw.ingest, send_backend(chunk)).await.0,
            StatusCode::OK
        );
        assert!(gw.store.wait_indexed());
    }
    for chunk in second.chunks(500) {
        assert_eq!(
            send(&gw.ingest, send_browser(chunk)).await.0,
            StatusCode::OK
        );
        // (Paced by the index: a debug build's index is slower than the write bound allows.)
        assert!(gw.store.wait_indexed());
    }

    // Every span is stored while its trace waits; then the decisions.
    assert_eq!(stored_spans(&gw).len(), 2 * TRACES);
    clock.decide_all(&gw).await;
    let stored = stored_spans(&gw);
    let mut by_trace = std::collections::HashMap::<String, Vec<String>>::new();
    for (trace, source) in stored {
        by_trace.entry(trace).or_default().push(source);
    }
    for (trace, sources) in &by_trace {
        assert_eq!(sources.len(), 2, "trace {trace} kept only {sources:?}");
    }
    let kept = by_trace.len() as f64;
    let n = TRACES as f64;
    let sigma = (n * RATIO * (1.0 - RATIO)).sqrt();
    println!(
        "kept {kept} of {n} traces at ratio {RATIO}; expected {} ± {:.0} (4σ)",
        n * RATIO,
        4.0 * sigma
    );
    assert!(
        (kept - n * RATIO).abs() < 4.0 * sigma,
        "kept {kept} of {n} at ratio {RATIO}"
    );

    // The same decisions as OpenTelemetry's own TraceIdRatioBased sampler.
    use opentelemetry::trace::{SpanKind, TraceId};
    use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};
    let reference = Sampler::TraceIdRatioBased(RATIO);
    for t in &traces {
        let decision = reference
            .should_sample(
                None,
                TraceId::from_bytes(*t),
                "x",
                &SpanKind::Internal,
                &[],
                &[],
            )
            .decision;
        let otel_keeps = decision == SamplingDecision::RecordAndSample;
        assert_eq!(
            by_trace.contains_key(&hex::encode(t)),
            otel_keeps,
            "trace {}",
            hex::encode(t)
        );
    }
}

/// Exporters send only what their SDK sampled, and the W3C bits of `Span.flags` are not
/// always filled in: the Python and Go SDKs send `0x100`/`0x300` (is-remote bits only) on
/// sampled spans. Every span is kept and none is counted as sampled out.
#[tokio::test]
async fn otlp_spans_are_kept_whatever_their_flags() {
    let gw = gateway_with("", 64);
    let flags = [0, 0x101, 0x100, 0x300, 0x301, 0x02, 0xffff_fc00];
    let request = otlp(
        flags
            .iter()
            .enumerate()
            .map(|(i, f)| otlp_span([i as u8 + 1; 16], [1; 8], *f))
            .collect(),
    );
    assert_eq!(
        send(&gw.ingest, post_otlp(&request, None)).await.0,
        StatusCode::OK
    );
    let mut traces: Vec<String> = stored_spans(&gw).into_iter().map(|(t, _)| t).collect();
    traces.sort();
    let want: Vec<String> = (1..=flags.len() as u8)
        .map(|i| hex::encode([i; 16]))
        .collect();
    assert_eq!(traces, want);
}

/// The store's clock, moved by hand: tail sampling's windows pass without sleeping.
struct Clock(std::sync::Arc<std::sync::atomic::AtomicI64>);

const SECOND: i64 = 1_000_000_000;

impl Clock {
    fn at(nanos: i64) -> Clock {
        Clock(std::sync::Arc::new(std::sync::atomic::AtomicI64::new(
            nanos,
        )))
    }

    fn gateway(&self, extra_toml: &str) -> Gateway {
        let time = std::sync::Arc::clone(&self.0);
        Gateway::from_toml_with_clock(
            &format!("{extra_toml}\n{APP}"),
            64,
            std::sync::Arc::new(move || time.load(std::sync::atomic::Ordering::SeqCst)),
        )
    }

    fn advance(&self, nanos: i64) -> i64 {
        self.0.fetch_add(nanos, std::sync::atomic::Ordering::SeqCst) + nanos
    }

    /// Past every waiting trace's window (10 s by default), and waits for the decisions.
    async fn decide_all(&self, gw: &Gateway) {
        assert!(gw.store.wait_indexed());
        let now = self.advance(10 * SECOND + 1);
        let started = std::time::Instant::now();
        // (A debug build decides some 10,000 traces in seconds.)
        while !gw.store.wait_decided(now).await {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "decided by {now}"
            );
        }
        println!("decided in {:?}", started.elapsed());
    }
}

fn error_status(mut span: Span) -> Span {
    span.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
        code: 2,
        message: "boom".into(),
    });
    span
}

fn traces_of(gw: &Gateway) -> std::collections::BTreeMap<String, usize> {
    let mut by_trace = std::collections::BTreeMap::new();
    for (trace, _) in stored_spans(gw) {
        *by_trace.entry(trace).or_default() += 1;
    }
    by_trace
}

/// The browser half comes first; the backend's error span 2 s later, in another request: the
/// trace is kept whole at ratio 0, while a trace without an error is dropped whole. Spans
/// arriving after the decision follow it.
#[tokio::test]
async fn an_error_arriving_seconds_after_the_browser_half_keeps_the_whole_trace() {
    let clock = Clock::at(1_000 * SECOND);
    let gw = clock.gateway("[[sample.rules]]\nratio = 0.0\n");
    let (failing, fine) = ([0xa1; 16], [0xb2; 16]);
    let spans = vec![
        browser_span(&hex::encode(failing), "b7ad6b7169203331", json!({})),
        browser_span(&hex::encode(fine), "b7ad6b7169203332", json!({})),
    ];
    let beacon_body = beacon("http://localhost:8080/", spans).to_string();
    assert_eq!(
        send(&gw.ingest, post_beacon(beacon_body, None)).await.0,
        StatusCode::OK
    );
    assert!(gw.store.wait_indexed());
    clock.advance(2 * SECOND);
    let backend = otlp(vec![
        error_status(otlp_span(failing, [2; 8], 1)),
        otlp_span(fine, [3; 8], 1),
    ]);
    assert_eq!(
        send(&gw.ingest, post_otlp(&backend, None)).await.0,
        StatusCode::OK
    );
    // 9 s after the first span: both still wait, both stored.
    assert!(gw.store.wait_indexed());
    let now = clock.advance(7 * SECOND);
    assert!(gw.store.wait_decided(now).await);
    assert_eq!(traces_of(&gw).values().sum::<usize>(), 4);
    assert_eq!(
        gw.store
            .sampling()
            .expect("tail sampling runs")
            .waiting_traces,
        2
    );

    clock.decide_all(&gw).await;
    let kept = traces_of(&gw);
    assert_eq!(
        kept.into_iter().collect::<Vec<_>>(),
        [(hex::encode(failing), 2)],
        "the error trace whole, the other not at all"
    );
    // Late spans: the kept trace's is stored, the dropped trace's is not.
    let late = otlp(vec![
        otlp_span(failing, [4; 8], 1),
        otlp_span(fine, [5; 8], 1),
    ]);
    assert_eq!(
        send(&gw.ingest, post_otlp(&late, None)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        traces_of(&gw).into_iter().collect::<Vec<_>>(),
        [(hex::encode(failing), 3)]
    );
    let status = gw.store.sampling().expect("status");
    assert_eq!(status.waiting_traces, 0);
}

/// Slow traces are kept, health checks dropped, critical paths kept: each on its own trace,
/// at a ratio that alone would drop every one of them (0) or keep every one (1).
#[tokio::test]
async fn slow_traces_are_kept_and_health_checks_dropped() {
    let clock = Clock::at(0);
    let gw = clock.gateway(
        "[sample]\nslow_ms = 1000\n\
         [[sample.drop]]\nattribute = \"url.path\"\nprefix = \"/healthz\"\n\
         [[sample.keep]]\nattribute = \"http.route\"\nequals = \"/checkout\"\n\
         [[sample.rules]]\nservice = \"api\"\nratio = 0.0\n",
    );
    let mut slow = otlp_span([1; 16], [1; 8], 1);
    slow.end_time_unix_nano = slow.start_time_unix_nano + 1_500_000_000;
    let fast = otlp_span([2; 16], [1; 8], 1);
    let mut health = otlp_span([3; 16], [1; 8], 1);
    health
        .attributes
        .push(string_attr("url.path", "/healthz/ready"));
    let mut checkout = otlp_span([4; 16], [1; 8], 1);
    checkout
        .attributes
        .push(string_attr("http.route", "/checkout"));
    let request = otlp(vec![slow, fast, health, checkout]);
    assert_eq!(
        send(&gw.ingest, post_otlp(&request, None)).await.0,
        StatusCode::OK
    );
    // A health check of a service whose ratio is 1 is dropped too.
    let mut web_health = browser_span(&hex::encode([5u8; 16]), "b7ad6b7169203331", json!({}));
    web_health["attrs"] = json!({"url.path": "/healthz"});
    let body = beacon("http://localhost:8080/", vec![web_health]).to_string();
    assert_eq!(
        send(&gw.ingest, post_beacon(body, None)).await.0,
        StatusCode::OK
    );
    clock.decide_all(&gw).await;
    let kept: Vec<String> = traces_of(&gw).into_keys().collect();
    assert_eq!(kept, [hex::encode([1u8; 16]), hex::encode([4u8; 16])]);
    // The trace search lists the kept ones only: a dropped trace's search rows go with it.
    let (status, body) = common::get(&gw.admin, "/api/traces").await;
    assert_eq!(status, StatusCode::OK);
    let mut listed: Vec<String> = body["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| t["trace_id"].as_str().expect("id").to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, kept);
}

/// The caps: a trace reaching `max_spans_per_trace` is decided at once, and past
/// `max_waiting_traces` the oldest waiting traces are decided early.
#[tokio::test]
async fn caps_force_early_decisions() {
    let clock = Clock::at(0);
    let gw = clock.gateway(
        "[sample]\nmax_spans_per_trace = 3\nmax_waiting_traces = 2\n\
         [[sample.rules]]\nratio = 0.0\n",
    );
    let spans = (1..=3).map(|i| otlp_span([9; 16], [i; 8], 1)).collect();
    assert_eq!(
        send(&gw.ingest, post_otlp(&otlp(spans), None)).await.0,
        StatusCode::OK
    );
    assert!(gw.store.wait_indexed());
    // No time passes: the pass at the same instant decides it (dropped, ratio 0).
    assert!(gw.store.wait_decided(0).await);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !traces_of(&gw).is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        traces_of(&gw).is_empty(),
        "the capped trace was decided early"
    );

    for t in 10..15u8 {
        let request = otlp(vec![otlp_span([t; 16], [1; 8], 1)]);
        assert_eq!(
            send(&gw.ingest, post_otlp(&request, None)).await.0,
            StatusCode::OK
        );
        clock.advance(1);
    }
    assert!(gw.store.wait_indexed());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while traces_of(&gw).len() > 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The three oldest were decided (dropped) early; the two newest still wait.
    let waiting: Vec<String> = traces_of(&gw).into_keys().collect();
    assert_eq!(waiting, [hex::encode([13u8; 16]), hex::encode([14u8; 16])]);
    assert_eq!(gw.store.sampling().expect("status").waiting_traces, 2);
}
