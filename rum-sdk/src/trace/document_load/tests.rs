//! Page loads recorded in headless Chromium (`rum-sdk/tests/fixtures/`): a page whose HTML
//! names its server span in `Server-Timing`, with a stylesheet, a script (whose response
//! names another server span), a same-origin image, a cross-origin image without
//! `Timing-Allow-Origin`, a fetch call and the favicon (requested after `load`).

use super::*;
use serde_json::Value as Json;

const FIXTURE: &str = include_str!("../../../tests/fixtures/chromium-page-load.json");

fn fixture() -> Json {
    serde_json::from_str(FIXTURE).expect("fixture is JSON")
}

fn timing(entry: &Json, fcp: f64) -> Timing {
    let mut t = Timing([0.0; FIELDS.len()]);
    for (i, name) in FIELDS.iter().enumerate() {
        t.0[i] = entry[name].as_f64().unwrap_or(0.0);
    }
    t.0[FIELDS.len() - 1] = fcp;
    t
}

fn traceparent(entry: &Json) -> String {
    entry["serverTiming"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == "traceparent"))
        .and_then(|s| s["description"].as_str())
        .unwrap_or("")
        .into()
}

fn text(entry: &Json, key: &str) -> String {
    entry[key].as_str().unwrap_or("").into()
}

fn recorded() -> (Navigation, PageLoad, f64, Json) {
    let f = fixture();
    let fcp = f["paint"]
        .as_array()
        .and_then(|p| p.iter().find(|e| e["name"] == "first-contentful-paint"))
        .and_then(|e| e["startTime"].as_f64())
        .unwrap_or(0.0);
    let n = &f["navigation"];
    let nav = Navigation {
        timing: timing(n, fcp),
        url: text(n, "name"),
        protocol: text(n, "nextHopProtocol"),
        server_timing: traceparent(n),
        meta: String::new(),
    };
    let mut load = PageLoad::default();
    for r in f["resources"].as_array().expect("resources") {
        load.add_resource(Resource {
            timing: timing(r, 0.0),
            url: text(r, "name"),
            initiator: text(r, "initiatorType"),
            protocol: text(r, "nextHopProtocol"),
            render_blocking: text(r, "renderBlockingStatus"),
            server_timing: traceparent(r),
        });
    }
    let origin = f["timeOrigin"].as_f64().expect("timeOrigin");
    (nav, load, origin, f)
}

fn int(span: &Span, key: &str) -> Option<u64> {
    match span.attr(key) {
        Some(Value::Int(n)) => Some(*n),
        _ => None,
    }
}

fn string<'a>(span: &'a Span, key: &str) -> &'a str {
    match span.attr(key) {
        Some(Value::Str(s)) => s,
        _ => "",
    }
}

#[test]
fn the_page_load_joins_the_server_span_named_by_server_timing() {
    let (nav, load, origin, _) = recorded();
    let spans = load.spans(&nav, origin, &mut IdGenerator::new(7));
    let (doc, fetch) = (&spans[0], &spans[1]);
    assert_eq!(doc.name, "documentLoad");
    assert_eq!(
        doc.trace_id,
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("hex")
    );
    assert_eq!(doc.parent, SpanId::from_hex("00f067aa0ba902b7"));
    assert_eq!(fetch.name, "documentFetch");
    assert_eq!(fetch.parent, Some(doc.span_id));
    for s in &spans {
        assert_eq!(
            s.trace_id, doc.trace_id,
            "{} is in the page load's trace",
            s.name
        );
    }
}

#[test]
fn without_server_timing_or_meta_the_page_load_is_its_own_trace() {
    let (mut nav, load, origin, _) = recorded();
    nav.server_timing.clear();
    let spans = load.spans(&nav, origin, &mut IdGenerator::new(7));
    assert_eq!(spans[0].parent, None);
    assert_ne!(
        spans[0].trace_id,
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("hex")
    );
    // The meta tag is the fallback.
    nav.meta = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into();
    let spans = load.spans(&nav, origin, &mut IdGenerator::new(7));
    assert_eq!(spans[0].parent, SpanId::from_hex("b7ad6b7169203331"));
    assert_eq!(
        spans[0].trace_id,
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("hex")
    );
}

#[test]
fn document_spans_carry_the_navigation_marks_inside_their_time_range() {
    let (nav, load, origin, f) = recorded();
    let n = &f["navigation"];
    let spans = load.spans(&nav, origin, &mut IdGenerator::new(7));
    let (doc, fetch) = (&spans[0], &spans[1]);
    assert_eq!(
        doc.start,
        origin + n["fetchStart"].as_f64().expect("fetchStart")
    );
    assert_eq!(
        doc.end,
        origin + n["loadEventEnd"].as_f64().expect("loadEventEnd")
    );
    let names: Vec<&str> = doc.events.iter().map(|e| e.name).collect();
    for mark in [
        "fetchStart",
        "domInteractive",
        "domContentLoadedEventStart",
        "domContentLoadedEventEnd",
        "domComplete",
        "loadEventStart",
        "loadEventEnd",
        "firstContentfulPaint",
    ] {
        assert!(names.contains(&mark), "documentLoad has {mark}: {names:?}");
    }
    // No unload (a first navigation) and no TLS (http): left out, not sent as 0.
    assert!(!names.contains(&"unloadEventStart"));
    let fetch_names: Vec<&str> = fetch.events.iter().map(|e| e.name).collect();
    assert!(!fetch_names.contains(&"secureConnectionStart"));
    assert_eq!(fetch_names.first(), Some(&"domainLookupStart"));
    assert_eq!(fetch_names.last(), Some(&"responseEnd"));
    for s in [doc, fetch] {
        for e in &s.events {
            assert!(
                e.time >= s.start && e.time <= s.end,
                "{} of {} in its span",
                e.name,
                s.name
            );
        }
        assert!(
            s.events.windows(2).all(|w| w[0].time <= w[1].time),
            "events in time order"
        );
    }
    assert_eq!(int(fetch, "http.response.status_code"), Some(200));
    assert_eq!(int(fetch, "http.response.size"), n["transferSize"].as_u64());
    assert_eq!(
        int(fetch, "http.response.body.size"),
        n["encodedBodySize"].as_u64()
    );
    assert_eq!(string(fetch, "network.protocol.version"), "1.1");
    assert_eq!(string(doc, "url.full"), n["name"].as_str().expect("name"));
    assert_eq!(doc.attr("rum.document_load.resources_dropped"), None);
}

#[test]
fn resources_loaded_before_load_are_children_without_fetch_calls_or_later_requests() {
    let (nav, load, origin, _) = recorded();
    let spans = load.spans(&nav, origin, &mut IdGenerator::new(7));
    let doc = &spans[0];
    let resources: Vec<&Span> = spans.iter().filter(|s| s.name == "resourceFetch").collect();
    let urls: Vec<&str> = resources.iter().map(|s| string(s, "url.full")).collect();
    assert_eq!(resources.len(), 4, "{urls:?}");
    assert!(urls.iter().any(|u| u.ends_with("/style.css")));
    assert!(urls.iter().any(|u| u.ends_with("/app.js")));
    assert!(urls.iter().any(|u| u.ends_with("/logo.png")));
    assert!(urls.iter().any(|u| u.ends_with("/x.png")));
    assert!(
        !urls.iter().any(|u| u.ends_with("/api")),
        "fetch calls are client spans already"
    );
    assert!(
        !urls.iter().any(|u| u.ends_with("/favicon.ico")),
        "requested after load"
    );
    for r in &resources {
        assert_eq!(r.parent, Some(doc.span_id));
        assert!(
            r.start >= doc.start && r.end <= doc.end,
            "{} within documentLoad",
            string(r, "url.full")
        );
        for e in &r.events {
            assert!(e.time >= r.start && e.time <= r.end);
        }
    }
    // The cross-origin image without Timing-Allow-Origin: zeros left out.
    let foreign = resources
        .iter()
        .find(|s| string(s, "url.full").ends_with("/x.png"))
        .expect("x.png");
    let marks: Vec<&str> = foreign.events.iter().map(|e| e.name).collect();
    assert_eq!(
        marks,
        ["responseEnd"],
        "only the end, which the browser always gives"
    );
    assert_eq!(int(foreign, "http.response.size"), None);
    assert_eq!(int(foreign, "http.response.body.size"), None);
    let css = resources
        .iter()
        .find(|s| string(s, "url.full").ends_with("/style.css"))
        .expect("css");
    assert_eq!(string(css, "rum.resource.initiator_type"), "link");
    assert!(int(css, "http.response.size").is_some());
    // The script's response named its server span: a link to it.
    let script = resources
        .iter()
        .find(|s| string(s, "url.full").ends_with("/app.js"))
        .expect("js");
    assert_eq!(
        script.links,
        vec![(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("hex"),
            SpanId::from_hex("a0f067aa0ba902b7").expect("hex")
        )]
    );
    // Span ids are distinct.
    let mut ids: Vec<[u8; 8]> = spans.iter().map(|s| s.span_id.0).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), spans.len());
}

#[test]
fn at_most_the_cap_of_resources_the_rest_counted_on_document_load() {
    let (nav, _, origin, f) = recorded();
    let css = f["resources"].as_array().expect("resources")[0].clone();
    let mut load = PageLoad::default();
    for i in 0..MAX_RESOURCE_ENTRIES + 30 {
        let mut t = timing(&css, 0.0);
        t.0[START_TIME] += (i % 50) as f64 * 0.001;
        load.add_resource(Resource {
            timing: t,
            url: alloc::format!("https://cdn.example/{i}.css"),
            initiator: "link".into(),
            protocol: String::new(),
            render_blocking: String::new(),
            server_timing: String::new(),
        });
    }
    let spans = load.spans(&nav, origin, &mut IdGenerator::new(1));
    assert_eq!(
        spans.iter().filter(|s| s.name == "resourceFetch").count(),
        MAX_RESOURCE_SPANS
    );
    assert_eq!(
        int(&spans[0], "rum.document_load.resources_dropped"),
        Some((MAX_RESOURCE_ENTRIES + 30 - MAX_RESOURCE_SPANS) as u64)
    );
}
