//! Sampling through the real routers: head decisions, trace-id ratio, keep_errors.

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
    const RATIO: f64 = 0.25;
    let gw = gateway_with(
        &format!("[[sample.rules]]\nenvironment = \"prod\"\nratio = {RATIO}\n"),
        64,
    );
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
    }
    for chunk in traces.chunks(1000) {
        assert_eq!(
            send(&gw.ingest, send_backend(chunk)).await.0,
            StatusCode::OK
        );
    }
    for chunk in second.chunks(500) {
        assert_eq!(
            send(&gw.ingest, send_browser(chunk)).await.0,
            StatusCode::OK
        );
    }

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

#[tokio::test]
async fn keep_errors_keeps_a_dropped_trace_with_an_error_span() {
    let gw = gateway_with(
        "[sample]\nkeep_errors = true\n[[sample.rules]]\nratio = 0.0\n",
        64,
    );
    let mut error_span = otlp_span([5; 16], [2; 8], 1);
    error_span.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
        code: 2,
        message: "boom".into(),
    });
    let request = otlp(vec![
        otlp_span([5; 16], [1; 8], 1),
        error_span,
        otlp_span([6; 16], [1; 8], 1),
    ]);
    assert_eq!(
        send(&gw.ingest, post_otlp(&request, None)).await.0,
        StatusCode::OK
    );
    let traces: Vec<String> = stored_spans(&gw).into_iter().map(|(t, _)| t).collect();
    assert_eq!(traces, [hex::encode([5u8; 16]), hex::encode([5u8; 16])]);
}
