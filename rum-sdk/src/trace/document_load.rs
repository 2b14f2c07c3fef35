//! The page load as a trace, named and shaped as OpenTelemetry's document-load
//! instrumentation makes it (`@opentelemetry/instrumentation-document-load`), so backends and
//! dashboards built for it recognise ours:
//!
//! * `documentLoad`: from the navigation's `fetchStart` to `loadEventEnd`, the navigation
//!   timing marks as span events;
//! * `documentFetch`, its child: the HTML document's request, with the network marks;
//! * `resourceFetch`, its other children: one per stylesheet, script, image or font that
//!   finished loading before `load` (fetch and XHR calls are client spans already), at most
//!   [`MAX_RESOURCE_SPANS`], the number left out recorded on `documentLoad`.
//!
//! Joined to the backend: when the HTML's response named its server span, in
//! `Server-Timing: traceparent;desc="00-{trace}-{span}-{flags}"` or in
//! `<meta name="traceparent">`, the page load joins that trace with `documentLoad` as the
//! server span's child. That is OpenTelemetry's choice too: it keeps the browser's page load
//! one subtree, under the request that served it. Without either, the page load is a trace of
//! its own. A resource whose response names a server span the same way is linked to it.
//!
//! Times from the entries are milliseconds since the navigation's start; a mark the browser
//! leaves at 0 (no unload, no TLS, a cross-origin resource without `Timing-Allow-Origin`) is
//! left out rather than sent as a time, and so are sizes of 0.

use alloc::string::String;
use alloc::vec::Vec;

use super::ids::{parse_traceparent, IdGenerator, SpanId, TraceId};
use super::span::{Event, Span, SpanKind, Value};

/// Resource spans per page load; more are counted, not sent.
pub const MAX_RESOURCE_SPANS: usize = 250;
/// Resource entries kept while the page loads, before the cap picks the earliest.
pub const MAX_RESOURCE_ENTRIES: usize = 1000;

/// The fields of a navigation or resource timing entry the spans are built from, in the order
/// of the numbers JS sends (`js/src/document-load.js` reads these names from the entry).
/// The navigation-only marks follow the shared ones; `firstContentfulPaint` is the paint
/// entry's `startTime`.
pub const FIELDS: [&str; 23] = [
    "startTime",
    "fetchStart",
    "domainLookupStart",
    "domainLookupEnd",
    "connectStart",
    "secureConnectionStart",
    "connectEnd",
    "requestStart",
    "responseStart",
    "responseEnd",
    "transferSize",
    "encodedBodySize",
    "decodedBodySize",
    "responseStatus",
    "unloadEventStart",
    "unloadEventEnd",
    "domInteractive",
    "domContentLoadedEventStart",
    "domContentLoadedEventEnd",
    "domComplete",
    "loadEventStart",
    "loadEventEnd",
    "firstContentfulPaint",
];

const START_TIME: usize = 0;
const FETCH_START: usize = 1;
/// `domainLookupStart` to `responseEnd`: the request's marks, events of the fetch spans.
const NETWORK_MARKS: core::ops::Range<usize> = 2..10;
const RESPONSE_END: usize = 9;
const TRANSFER_SIZE: usize = 10;
const ENCODED_BODY_SIZE: usize = 11;
const DECODED_BODY_SIZE: usize = 12;
const RESPONSE_STATUS: usize = 13;
/// `unloadEventStart` to `firstContentfulPaint`: the page's marks, events of `documentLoad`.
const PAGE_MARKS: core::ops::Range<usize> = 14..23;
const LOAD_EVENT_END: usize = 21;

/// One timing entry's numbers, indexed as [`FIELDS`]; a resource's navigation-only slots are 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing(pub [f64; FIELDS.len()]);

/// The navigation entry and what the page said about its server span.
#[derive(Debug, Clone)]
pub struct Navigation {
    pub timing: Timing,
    pub url: String,
    /// `nextHopProtocol`: `http/1.1`, `h2`, `h3`.
    pub protocol: String,
    /// The `desc` of the entry's `serverTiming` named `traceparent`.
    pub server_timing: String,
    /// `<meta name="traceparent">`'s content.
    pub meta: String,
}

/// A resource timing entry.
#[derive(Debug, Clone)]
pub struct Resource {
    pub timing: Timing,
    pub url: String,
    /// `initiatorType`: `script`, `link`, `img`, `css`, `fetch`, …
    pub initiator: String,
    pub protocol: String,
    /// `renderBlockingStatus`: `blocking` or `non-blocking`, where the browser gives it.
    pub render_blocking: String,
    pub server_timing: String,
}

/// What the page load is made of, collected until the navigation entry is complete.
#[derive(Debug, Default)]
pub struct PageLoad {
    resources: Vec<Resource>,
    /// Entries beyond [`MAX_RESOURCE_ENTRIES`].
    overflow: u32,
}

impl PageLoad {
    pub fn add_resource(&mut self, resource: Resource) {
        if self.resources.len() < MAX_RESOURCE_ENTRIES {
            self.resources.push(resource);
        } else {
            self.overflow += 1;
        }
    }

    /// The spans of the page load, parents before children; `time_origin` is
    /// `performance.timeOrigin` (unix ms).
    pub fn spans(&self, nav: &Navigation, time_origin: f64, ids: &mut IdGenerator) -> Vec<Span> {
        let t = &nav.timing.0;
        let at = |ms: f64| time_origin + ms;
        let server = parse_traceparent(&nav.server_timing).or_else(|| parse_traceparent(&nav.meta));
        let trace_id = server.map_or_else(|| ids.trace_id(), |(trace, _)| trace);
        let load_id = ids.span_id();

        // Resources that finished before `load` and are not fetch or XHR calls, earliest first.
        let mut loaded: Vec<&Resource> = self
            .resources
            .iter()
            .filter(|r| {
                let rt = &r.timing.0;
                !matches!(r.initiator.as_str(), "fetch" | "xmlhttprequest" | "beacon")
                    && rt[START_TIME] >= t[FETCH_START]
                    && rt[RESPONSE_END] > 0.0
                    && rt[RESPONSE_END] <= t[LOAD_EVENT_END]
            })
            .collect();
        sort_by_key(&mut loaded, |r| r.timing.0[START_TIME]);
        let dropped =
            loaded.len().saturating_sub(MAX_RESOURCE_SPANS) as u64 + u64::from(self.overflow);
        loaded.truncate(MAX_RESOURCE_SPANS);

        let mut load = Span {
            trace_id,
            span_id: load_id,
            parent: server.map(|(_, span)| span),
            name: "documentLoad".into(),
            kind: SpanKind::Internal,
            start: at(t[FETCH_START]),
            end: at(t[LOAD_EVENT_END]),
            error: false,
            attrs: alloc::vec![("url.full", Value::Str(nav.url.clone()))],
            events: alloc::vec![Event {
                name: FIELDS[FETCH_START],
                time: at(t[FETCH_START])
            }],
            links: Vec::new(),
        };
        if dropped > 0 {
            load.attrs
                .push(("rum.document_load.resources_dropped", Value::Int(dropped)));
        }
        marks(&mut load.events, t, PAGE_MARKS, time_origin);

        let mut fetch = fetch_span(
            "documentFetch",
            trace_id,
            ids.span_id(),
            load_id,
            &nav.timing,
            time_origin,
        );
        fetch.attrs.push(("url.full", Value::Str(nav.url.clone())));
        protocol(&mut fetch, &nav.protocol);

        let mut spans = Vec::with_capacity(2 + loaded.len());
        spans.push(load);
        spans.push(fetch);
        for r in loaded {
            let mut span = fetch_span(
                "resourceFetch",
                trace_id,
                ids.span_id(),
                load_id,
                &r.timing,
                time_origin,
            );
            span.start = at(r.timing.0[START_TIME]);
            span.attrs.push(("url.full", Value::Str(r.url.clone())));
            span.attrs.push((
                "rum.resource.initiator_type",
                Value::Str(r.initiator.clone()),
            ));
            if !r.render_blocking.is_empty() {
                span.attrs.push((
                    "rum.resource.render_blocking_status",
                    Value::Str(r.render_blocking.clone()),
                ));
            }
            protocol(&mut span, &r.protocol);
            if let Some(server) = parse_traceparent(&r.server_timing) {
                span.links.push(server);
            }
            spans.push(span);
        }
        spans
    }
}

/// `documentFetch` or `resourceFetch`: `fetchStart` to `responseEnd`, the network marks as
/// events, status and sizes as attributes.
fn fetch_span(
    name: &str,
    trace_id: TraceId,
    span_id: SpanId,
    parent: SpanId,
    timing: &Timing,
    time_origin: f64,
) -> Span {
    let t = &timing.0;
    let mut span = Span {
        trace_id,
        span_id,
        parent: Some(parent),
        name: name.into(),
        kind: SpanKind::Internal,
        start: time_origin + t[FETCH_START],
        end: time_origin + t[RESPONSE_END].max(t[FETCH_START]),
        error: t[RESPONSE_STATUS] >= 400.0,
        attrs: Vec::new(),
        events: Vec::new(),
        links: Vec::new(),
    };
    marks(&mut span.events, t, NETWORK_MARKS, time_origin);
    for (key, i) in [
        ("http.response.status_code", RESPONSE_STATUS),
        ("http.response.size", TRANSFER_SIZE),
        ("http.response.body.size", ENCODED_BODY_SIZE),
        ("rum.response.decoded_body_size", DECODED_BODY_SIZE),
    ] {
        let value = t.get(i).copied().unwrap_or(0.0);
        if value >= 1.0 {
            span.attrs.push((key, Value::Int(value as u64)));
        }
    }
    span
}

/// The marks of `range` that the browser set, as events in time order.
fn marks(events: &mut Vec<Event>, t: &[f64], range: core::ops::Range<usize>, time_origin: f64) {
    for i in range {
        if t[i] > 0.0 {
            events.push(Event {
                name: FIELDS[i],
                time: time_origin + t[i],
            });
        }
    }
    sort_by_key(events, |e| e.time);
}

/// A stable insertion sort: core's sort adds about 4 KB to the wasm, and these lists are
/// short (ten marks) or arrive nearly in order (resources, by start time).
fn sort_by_key<T>(list: &mut [T], key: impl Fn(&T) -> f64) {
    for i in 1..list.len() {
        let mut j = i;
        while j > 0 && key(&list[j - 1]) > key(&list[j]) {
            list.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// `network.protocol.name`/`version` from ALPN's `nextHopProtocol`; unknown values are left out.
fn protocol(span: &mut Span, next_hop: &str) {
    let version = match next_hop {
        "http/1.0" => "1.0",
        "http/1.1" => "1.1",
        "h2" | "h2c" => "2",
        "h3" => "3",
        _ => return,
    };
    span.attrs
        .push(("network.protocol.name", Value::Str("http".into())));
    span.attrs
        .push(("network.protocol.version", Value::Str(version.into())));
}

#[cfg(test)]
mod tests;
