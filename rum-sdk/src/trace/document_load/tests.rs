//! Page loads recorded in headless Chromium (`rum-sdk/tests/fixtures/`): a page whose HTML
//! names its server span in `Server-Timing`, with a stylesheet, a script (whose response
//! names another server span), a same-origin image, a cross-origin image without
//! `Timing-Allow-Origin`, a fetch call and the favicon (requested after `load`).

use super::*;
use crate::batch::Batch;
use alloc::string::String;
use alloc::vec::Vec;
use serde_json::Value;

const FIXTURE: &str = include_str!("../../../tests/fixtures/chromium-page-load.json");

#[path = "../../../tests/fixtures/chromium_entries.rs"]
mod entries;
use entries::{server_timing as traceparent, text, timing};

/// The fixture's page load as the wasm would write it, with `server_timing` and `meta` for
/// the navigation (None: as recorded), and `extra` resources after the recorded ones; the
/// spans parents first.
fn spans(
    server_timing: Option<&str>,
    meta: &str,
    extra: &[(String, [f64; FIELD_COUNT])],
) -> (Vec<Value>, Value) {
    spans_wrapped_at(server_timing, meta, extra, 0.0)
}

/// As [`spans`], with the SDK's fetch and XHR wrappers installed at `wrapped_at` (ms).
fn spans_wrapped_at(
    server_timing: Option<&str>,
    meta: &str,
    extra: &[(String, [f64; FIELD_COUNT])],
    wrapped_at: f64,
) -> (Vec<Value>, Value) {
    spans_painted_at(server_timing, meta, extra, wrapped_at, None)
}

/// As [`spans_wrapped_at`], with the first contentful paint at `fcp` (ms; None: as recorded).
fn spans_painted_at(
    server_timing: Option<&str>,
    meta: &str,
    extra: &[(String, [f64; FIELD_COUNT])],
    wrapped_at: f64,
    fcp: Option<f64>,
) -> (Vec<Value>, Value) {
    let f: Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    let recorded_fcp = f["paint"]
        .as_array()
        .and_then(|p| p.iter().find(|e| e["name"] == "first-contentful-paint"))
        .and_then(|e| e["startTime"].as_f64())
        .unwrap_or(0.0);
    let fcp = fcp.unwrap_or(recorded_fcp);
    let n = &f["navigation"];
    let recorded = traceparent(n);
    let server_timing = server_timing.map_or(recorded, str::as_bytes);
    let nav_timing = timing(n, fcp);
    let nav = Navigation {
        timing: &nav_timing,
        url: text(n, "name"),
        protocol: text(n, "nextHopProtocol"),
        server_timing,
        meta: meta.as_bytes(),
    };
    let origin = f["timeOrigin"].as_f64().expect("timeOrigin");
    let mut ids = IdGenerator::new(7);
    let mut arena = alloc::vec![0u8; 1 << 20];
    let mut batch = Batch::new(&mut arena);
    let mut load = PageLoad::start(&nav, &mut ids);
    for r in f["resources"].as_array().expect("resources") {
        let t = timing(r, wrapped_at);
        let resource = Resource {
            timing: &t,
            url: text(r, "name"),
            initiator: text(r, "initiatorType"),
            protocol: text(r, "nextHopProtocol"),
            render_blocking: text(r, "renderBlockingStatus"),
            server_timing: traceparent(r),
        };
        load.resource(&resource, origin, &mut ids, &mut batch);
    }
    for (url, t) in extra {
        let resource = Resource {
            timing: t,
            url: url.as_bytes(),
            initiator: b"link",
            protocol: b"",
            render_blocking: b"",
            server_timing: b"",
        };
        load.resource(&resource, origin, &mut ids, &mut batch);
    }
    load.finish(&nav, origin, &mut ids, &mut batch);
    assert_eq!(batch.dropped, 0);
    let mut out: Vec<Value> = batch
        .items()
        .map(|(_, item)| serde_json::from_slice(item).expect("a span is JSON"))
        .collect();
    // documentLoad and documentFetch are written last: put the parents first.
    out.rotate_right(2);
    (out, f)
}

fn ms(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

fn event_names(span: &Value) -> Vec<&str> {
    span["events"].as_array().map_or(vec![], |e| {
        e.iter().filter_map(|e| e["name"].as_str()).collect()
    })
}

#[test]
fn the_field_names_are_the_entries_properties_in_order() {
    let names: Vec<&[u8]> = fields().collect();
    assert_eq!(names.len(), FIELD_COUNT);
    assert_eq!(names[START_TIME], b"startTime");
    assert_eq!(names[FETCH_START], b"fetchStart");
    assert_eq!(names[RESPONSE_END], b"responseEnd");
    assert_eq!(names[RESPONSE_STATUS], b"responseStatus");
    assert_eq!(names[LOAD_EVENT_END], b"loadEventEnd");
    assert_eq!(names[FIELD_COUNT - 1], b"firstContentfulPaint");
    // Every field but the paint's is a property of Chromium's navigation entry.
    let f: Value = serde_json::from_str(FIXTURE).expect("fixture");
    for name in &names[..FIELD_COUNT - 1] {
        let name = core::str::from_utf8(name).expect("ASCII");
        assert!(f["navigation"].get(name).is_some(), "{name}");
    }
    assert!(FIELD_NAMES.ends_with('\0'));
}

#[test]
fn a_first_paint_after_the_load_ended_is_no_mark_of_document_load() {
    let f: Value = serde_json::from_str(FIXTURE).expect("fixture");
    let load_end = ms(&f["navigation"]["loadEventEnd"]);
    let (before, _) = spans_painted_at(None, "", &[], 0.0, Some(load_end - 1.0));
    assert!(event_names(&before[0]).contains(&"firstContentfulPaint"));
    let (after, _) = spans_painted_at(None, "", &[], 0.0, Some(load_end + 20.0));
    let names = event_names(&after[0]);
    assert!(!names.contains(&"firstContentfulPaint"), "{names:?}");
    assert!(names.contains(&"loadEventEnd"), "{names:?}");
}

#[test]
fn the_page_load_joins_the_server_span_named_by_server_timing() {
    let (spans, _) = spans(None, "", &[]);
    let (doc, fetch) = (&spans[0], &spans[1]);
    assert_eq!(doc["name"], "documentLoad");
    assert_eq!(doc["kind"], "internal");
    assert_eq!(doc["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(doc["parentSpanId"], "00f067aa0ba902b7");
    assert_eq!(fetch["name"], "documentFetch");
    assert_eq!(fetch["parentSpanId"], doc["spanId"]);
    for s in &spans {
        assert_eq!(
            s["traceId"], doc["traceId"],
            "{} is in the page load's trace",
            s["name"]
        );
    }
}

#[test]
fn without_server_timing_or_meta_the_page_load_is_its_own_trace() {
    let (own, _) = spans(Some(""), "", &[]);
    assert!(own[0].get("parentSpanId").is_none());
    assert_ne!(own[0]["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(TraceId::from_hex(own[0]["traceId"].as_str().expect("hex").as_bytes()).is_some());
    // The meta tag is the fallback.
    let (meta, _) = spans(
        Some("not a traceparent"),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        &[],
    );
    assert_eq!(meta[0]["parentSpanId"], "b7ad6b7169203331");
    assert_eq!(meta[0]["traceId"], "0af7651916cd43dd8448eb211c80319c");
}

#[test]
fn document_spans_carry_the_navigation_marks_inside_their_time_range() {
    let (spans, f) = spans(None, "", &[]);
    let n = &f["navigation"];
    let origin = ms(&f["timeOrigin"]);
    let (doc, fetch) = (&spans[0], &spans[1]);
    assert_eq!(
        ms(&doc["start"]),
        ((origin + ms(&n["fetchStart"])) * 1000.0).round() / 1000.0
    );
    assert_eq!(
        ms(&doc["end"]),
        ((origin + ms(&n["loadEventEnd"])) * 1000.0).round() / 1000.0
    );
    let names = event_names(doc);
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
    let fetch_names = event_names(fetch);
    assert!(!fetch_names.contains(&"secureConnectionStart"));
    assert_eq!(fetch_names.first(), Some(&"domainLookupStart"));
    assert_eq!(fetch_names.last(), Some(&"responseEnd"));
    for s in [doc, fetch] {
        let times: Vec<f64> = s["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| ms(&e["time"]))
            .collect();
        for t in &times {
            assert!(
                *t >= ms(&s["start"]) && *t <= ms(&s["end"]),
                "events of {} in its span",
                s["name"]
            );
        }
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "events in time order"
        );
    }
    let attrs = &fetch["attrs"];
    assert_eq!(attrs["http.response.status_code"], 200);
    assert_eq!(attrs["http.response.size"], n["transferSize"]);
    assert_eq!(attrs["http.response.body.size"], n["encodedBodySize"]);
    assert_eq!(attrs["network.protocol.name"], "http");
    assert_eq!(attrs["network.protocol.version"], "1.1");
    assert_eq!(doc["attrs"]["url.full"], n["name"]);
    assert!(doc["attrs"]
        .get("rum.document_load.resources_dropped")
        .is_none());
}

#[test]
fn resources_loaded_before_load_are_children_without_fetch_calls_or_later_requests() {
    let (spans, _) = spans(None, "", &[]);
    let doc = &spans[0];
    let resources: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"] == "resourceFetch")
        .collect();
    let url = |s: &Value| s["attrs"]["url.full"].as_str().unwrap_or("").to_owned();
    let urls: Vec<String> = resources.iter().map(|s| url(s)).collect();
    assert_eq!(resources.len(), 4, "{urls:?}");
    for file in ["/style.css", "/app.js", "/logo.png", "/x.png"] {
        assert!(urls.iter().any(|u| u.ends_with(file)), "{file} in {urls:?}");
    }
    assert!(
        !urls.iter().any(|u| u.ends_with("/api")),
        "fetch calls are client spans already"
    );
    assert!(
        !urls.iter().any(|u| u.ends_with("/favicon.ico")),
        "requested after load"
    );
    for r in &resources {
        assert_eq!(r["parentSpanId"], doc["spanId"]);
        assert!(
            ms(&r["start"]) >= ms(&doc["start"]) && ms(&r["end"]) <= ms(&doc["end"]),
            "{} within documentLoad",
            url(r)
        );
    }
    let find = |file: &str| {
        *resources
            .iter()
            .find(|s| url(s).ends_with(file))
            .expect("resource")
    };
    // The cross-origin image without Timing-Allow-Origin: zeros left out.
    let foreign = find("/x.png");
    assert_eq!(
        event_names(foreign),
        ["responseEnd"],
        "only the end, which the browser always gives"
    );
    assert!(foreign["attrs"].get("http.response.size").is_none());
    assert!(foreign["attrs"].get("http.response.body.size").is_none());
    let css = find("/style.css");
    assert_eq!(css["attrs"]["rum.resource.initiator_type"], "link");
    assert!(css["attrs"]["http.response.size"].as_u64().is_some());
    // The script's response named its server span: a link to it.
    let script = find("/app.js");
    assert_eq!(
        script["links"],
        serde_json::json!([{"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "a0f067aa0ba902b7"}])
    );
    // Span ids are distinct.
    let mut ids: Vec<&str> = spans.iter().filter_map(|s| s["spanId"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), spans.len());
}

#[test]
fn at_most_the_cap_of_resources_the_rest_counted_on_document_load() {
    let f: Value = serde_json::from_str(FIXTURE).expect("fixture");
    let css = timing(&f["resources"][0], 0.0);
    let extra: Vec<(String, [f64; FIELD_COUNT])> = (0..400)
        .map(|i| {
            let mut t = css;
            t[START_TIME] += (i % 50) as f64 * 0.001;
            (alloc::format!("https://cdn.example/{i}.css"), t)
        })
        .collect();
    let (spans, _) = spans(None, "", &extra);
    let resources = spans
        .iter()
        .filter(|s| s["name"] == "resourceFetch")
        .count();
    assert_eq!(resources, MAX_RESOURCE_SPANS);
    // The first the browser reported are kept: the fixture's 4 that qualify, then extras.
    assert_eq!(
        spans[0]["attrs"]["rum.document_load.resources_dropped"],
        (4 + 400 - MAX_RESOURCE_SPANS) as u64
    );
    let urls: Vec<&str> = spans
        .iter()
        .filter_map(|s| s["attrs"]["url.full"].as_str())
        .collect();
    assert!(
        urls.iter().any(|u| u.ends_with("/style.css"))
            && urls.contains(&"https://cdn.example/245.css")
    );
    assert!(!urls.contains(&"https://cdn.example/246.css"));
}

#[test]
fn a_fetch_made_before_the_sdk_wrapped_fetch_is_a_resource_span() {
    // The fixture's fetch call to /api, as if the SDK had loaded after it (a loader page).
    let f: Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    let api = f["resources"]
        .as_array()
        .and_then(|r| {
            r.iter()
                .find(|e| e["name"].as_str().is_some_and(|n| n.ends_with("/api")))
        })
        .expect("the fetch call");
    let start = api["startTime"].as_f64().expect("startTime");
    let url = |s: &Value| s["attrs"]["url.full"].as_str().unwrap_or("").to_owned();
    let early = |wrapped_at: f64| {
        spans_wrapped_at(None, "", &[], wrapped_at)
            .0
            .into_iter()
            .filter(|s| s["name"] == "resourceFetch" && url(s).ends_with("/api"))
            .collect::<Vec<_>>()
    };
    let before = early(start + 1.0);
    assert_eq!(
        before.len(),
        1,
        "started before the wrappers: no client span but this"
    );
    assert_eq!(before[0]["attrs"]["rum.resource.initiator_type"], "fetch");
    assert!(
        early(start).is_empty(),
        "started once wrapped: a client span already"
    );
}
