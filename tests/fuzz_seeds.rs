//! `cargo test -p rum-tests --test fuzz_seeds -- --ignored` writes the fuzz targets' seeds
//! into `fuzz/seeds/<target>/` (kept beside the minimized corpus and replayed with it): beacons
//! the SDK's recorder writes (a Chromium page load from the recorded fixture, fetch calls, vitals, events,
//! errors with real stacks, a user), each also gzip-compressed for the gzip target, and
//! the recorded browser stacks with the source-map fixture. OTLP requests come from the
//! real Python and JS SDKs: `fuzz/seeds/capture_otlp.py`.

#[path = "../fuzz/src/checks.rs"]
#[allow(dead_code)]
mod checks;

use std::io::Write;
use std::path::{Path, PathBuf};

use rum_sdk::beacon::Envelope;
use rum_sdk::errors::PageError;
use rum_sdk::journey::view::View;
use rum_sdk::recorder::Recorder;
use rum_sdk::trace::document_load::{fields, Navigation, Resource, FIELD_COUNT};
use rum_sdk::trace::http::HttpCall;
use rum_sdk::trace::ids::{SpanId, TraceId};
use rum_sdk::vitals::{MetricName, Rating, Report};
use serde_json::Value;

#[path = "../rum-sdk/tests/fixtures/chromium_entries.rs"]
mod entries;
use entries::{server_timing, text, timing};

const FIXTURE: &str = include_str!("../rum-sdk/tests/fixtures/chromium-page-load.json");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = root().join("fuzz/seeds").join(target);
    std::fs::create_dir_all(&dir).expect("corpus dir");
    std::fs::write(dir.join(format!("seed-{name}")), data).expect("write seed");
}

/// The beacons one page writes with the SDK's recorder.
fn sdk_beacons() -> Vec<Vec<u8>> {
    let envelope = Envelope {
        service: [b"shop-web", b"1.4.0", b"prod"],
        sdk_version: "0.1.0",
        screen: [1920, 1080, 1280, 720],
        effective_type: b"4g",
        language: b"en-US",
        mobile: Some(false),
    };
    let origin = checks::NOW_MS - 60_000.0;
    let mut arena = vec![0u8; rum_sdk::batch::QUEUE_BYTES];
    let view = View::new(
        b"a1b2c3d4e5f60718",
        b"http://localhost:8080/shop?q=tea",
        b"http://localhost:8080/",
        b"navigate",
        0.0,
    );
    let mut recorder = Recorder::new(
        &envelope,
        b"0123456789abcdef0123456789abcdef",
        view,
        origin,
        42,
        &mut arena,
    );
    let mut beacons = Vec::new();
    let mut out = vec![0u8; rum_sdk::batch::MAX_BYTES];
    let mut drain = |recorder: &mut Recorder, now: f64| loop {
        let len = recorder.next_beacon(origin + now, &mut out);
        if len == 0 {
            break;
        }
        beacons.push(out[..len].to_vec());
    };
    recorder.user(b"demo-user-1", br#"{"plan":"pro","beta":true}"#);
    recorder.http(&HttpCall {
        trace_id: TraceId(*b"0af7651916cd43dd8448eb211c80319c"),
        span_id: SpanId(*b"b7ad6b7169203331"),
        parent: None,
        method: b"POST",
        url: b"http://localhost:8080/api/cart",
        start: 100.25,
        end: 150.5,
        status: 503,
        error: b"",
    });
    recorder.http(&HttpCall {
        trace_id: TraceId(*b"4bf92f3577b34da6a3ce929d0e0e4736"),
        span_id: SpanId(*b"00f067aa0ba902b7"),
        parent: Some(SpanId(*b"1111111111111111")),
        method: b"GET",
        url: b"https://api.example/items?page=2",
        start: 200.0,
        end: 260.0,
        status: 0,
        error: b"TypeError",
    });
    let lcp = Report {
        name: MetricName::Lcp,
        value: 812.5,
        delta: 812.5,
        rating: Rating::Good,
        detail: 0.0,
    };
    recorder.vital(&lcp, 0, br#"{"target":"main>img","timeToFirstByte":12.4}"#);
    drain(&mut recorder, 300.0);
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
    drain(&mut recorder, 2000.0);
    let stack =
        std::fs::read_to_string(root().join("gateway/tests/fixtures/stacks/chromium-nested.txt"))
            .expect("stack fixture");
    recorder.error(
        &PageError {
            kind: "uncaught",
            error_type: b"TypeError",
            message: b"Cannot read properties of undefined (reading 'price')",
            stack: stack.as_bytes(),
            source: b"http://localhost:8080/app.min.js",
            line: 1,
            col: 733,
            time: 2100.0,
            request: None,
            action: None,
            attrs: br#"{"cart.items":3}"#,
        },
        true,
    );
    recorder.event(2200.0, b"checkout", br#"{"items":2}"#, true);
    let cls = Report {
        name: MetricName::Cls,
        value: 0.123,
        delta: 0.023,
        rating: Rating::NeedsImprovement,
        detail: 1500.0,
    };
    recorder.vital(&cls, 1, b"");
    recorder.leave(2500.0);
    drain(&mut recorder, 2500.0);
    beacons
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

#[test]
#[ignore = "writes the corpus's seeds; run by hand (docs/fuzzing.md)"]
fn write_seeds() {
    let beacons = sdk_beacons();
    assert!(beacons.len() >= 2);
    for (i, b) in beacons.iter().enumerate() {
        assert_eq!(checks::beacon_json(b), checks::Outcome::Accepted);
        write("beacon_json", &format!("sdk-{i}"), b);
        // Cap byte 255: 16,320 bytes, above most beacons; 2: a small cap.
        for cap in [255u8, 2] {
            let mut input = vec![cap];
            input.extend(gzip(b));
            write("gzip", &format!("sdk-{i}-cap{cap}"), &input);
        }
    }
    for entry in std::fs::read_dir(root().join("gateway/tests/fixtures/stacks")).expect("stacks") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "txt") {
            let name = path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let mut input = vec![49u8];
            input.extend(std::fs::read(&path).expect("stack"));
            write("stack", &name, &input);
        }
    }
    let dir = root().join("gateway/tests/fixtures/sourcemap");
    let map = std::fs::read(dir.join("app.min.js.map")).expect("map");
    let stack = std::fs::read(dir.join("chromium-stack.txt")).expect("stack");
    let mut input = stack.clone();
    input.push(0);
    input.extend(&map);
    write("sourcemap", "fixture-with-stack", &input);
    write("sourcemap", "fixture", &map);
    let mut stack_input = vec![49u8];
    stack_input.extend(&stack);
    write("stack", "sourcemap-fixture", &stack_input);

    // The examples of the wire format's documentation.
    let doc = std::fs::read_to_string(root().join("docs/beacon-v1.md")).expect("beacon-v1.md");
    for (i, block) in doc.split("```json\n").skip(1).enumerate() {
        let example = block.split("```").next().unwrap_or_default();
        write("beacon_json", &format!("doc-{i}"), example.as_bytes());
    }
    // Inputs each decoder refuses.
    let refused: &[(&str, &str, &[u8])] = &[
        ("beacon_json", "empty-object", b"{}"),
        ("beacon_json", "v2", br#"{"v":2}"#),
        ("beacon_json", "truncated", br#"{"v":1,"sentAt":17957"#),
        ("beacon_json", "not-json", b"\x00\xffGET / HTTP/1.1"),
        ("otlp_protobuf", "garbage", b"\x0a\x05hello\xff\xff\xff"),
        ("otlp_json", "not-json", b"[1,"),
        (
            "otlp_json",
            "bad-trace-id",
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"00f067aa0ba902b7","name":"x","kind":2,"startTimeUnixNano":"1795737500000000000","endTimeUnixNano":"1795737500000000001"}]}]}]}"#,
        ),
        ("gzip", "not-gzip", b"\x40not gzip at all"),
        ("stack", "no-frames", b"\x05TypeError: x is not a function"),
        ("sourcemap", "no-sources", br#"{"version":3,"sources":[],"mappings":";;;AAAA"}"#),
        ("sourcemap", "garbage", b"\x00\x00[1,2"),
    ];
    for (target, name, data) in refused {
        write(target, name, data);
    }
    // Programs for the round trip: pseudo-random bytes (a fixed LCG).
    let mut x: u64 = 19;
    for n in [64usize, 256, 1024, 4096] {
        let bytes: Vec<u8> = (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect();
        write("sdk_roundtrip", &format!("random-{n}"), &bytes);
    }
}
