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

use alloc::vec::Vec;

use super::ids::{parse_traceparent, IdGenerator, SpanId, TraceId};
use super::span::{events, link, SpanHead, SpanKind};
use crate::io::Input;
use crate::json::Json;

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

/// The navigation entry and what the page said about its server span. Strings are the
/// bytes JS wrote.
pub struct Navigation<'a> {
    /// The entry's numbers, indexed as [`FIELDS`].
    pub timing: &'a [f64; FIELDS.len()],
    pub url: &'a [u8],
    /// `nextHopProtocol`: `http/1.1`, `h2`, `h3`.
    pub protocol: &'a [u8],
    /// The `description` of the entry's `serverTiming` named `traceparent`.
    pub server_timing: &'a [u8],
    /// `<meta name="traceparent">`'s content.
    pub meta: &'a [u8],
}

/// A resource timing entry.
pub struct Resource<'a> {
    /// Indexed as [`FIELDS`]; the navigation-only slots are 0.
    pub timing: &'a [f64; FIELDS.len()],
    pub url: &'a [u8],
    /// `initiatorType`: `script`, `link`, `img`, `css`, `fetch`, …
    pub initiator: &'a [u8],
    pub protocol: &'a [u8],
    /// `renderBlockingStatus`: `blocking` or `non-blocking`, where the browser gives it.
    pub render_blocking: &'a [u8],
    pub server_timing: &'a [u8],
}

/// A resource entry kept until the navigation entry is complete: its numbers, and its
/// strings as the byte channel holds them (each followed by 0xFF).
struct Kept {
    timing: [f64; FIELDS.len()],
    strings: Vec<u8>,
}

/// What the page load is made of, collected until the navigation entry is complete.
#[derive(Default)]
pub struct PageLoad {
    resources: Vec<Kept>,
    /// Entries beyond [`MAX_RESOURCE_ENTRIES`].
    overflow: u64,
}

impl PageLoad {
    pub fn add_resource(&mut self, r: &Resource) {
        if self.resources.len() >= MAX_RESOURCE_ENTRIES {
            self.overflow += 1;
            return;
        }
        let mut strings = Vec::new();
        for s in [
            r.url,
            r.initiator,
            r.protocol,
            r.render_blocking,
            r.server_timing,
        ] {
            strings.extend_from_slice(s);
            strings.push(0xFF);
        }
        self.resources.push(Kept {
            timing: *r.timing,
            strings,
        });
    }

    /// Writes the page load's spans, parents first, each as a beacon item given to `item`;
    /// `time_origin` is `performance.timeOrigin` (unix ms).
    pub fn write(
        &self,
        nav: &Navigation,
        time_origin: f64,
        ids: &mut IdGenerator,
        mut item: impl FnMut(Json),
    ) {
        let t = nav.timing;
        let at = |ms: f64| time_origin + ms;
        let server = parse_traceparent(nav.server_timing).or_else(|| parse_traceparent(nav.meta));
        let trace_id = server.map_or_else(|| ids.trace_id(), |(trace, _)| trace);
        let load_id = ids.span_id();

        // Resources that finished before `load` and are not fetch or XHR calls, earliest first.
        let mut loaded: Vec<(&[f64; FIELDS.len()], Input)> = Vec::new();
        for kept in &self.resources {
            let rt = &kept.timing;
            let mut strings = Input::new([0.0; crate::io::NUMBERS], &kept.strings);
            let _url = strings.string(usize::MAX);
            let initiator = strings.string(usize::MAX);
            if !matches!(initiator, b"fetch" | b"xmlhttprequest" | b"beacon")
                && rt[START_TIME] >= t[FETCH_START]
                && rt[RESPONSE_END] > 0.0
                && rt[RESPONSE_END] <= t[LOAD_EVENT_END]
            {
                loaded.push((rt, Input::new([0.0; crate::io::NUMBERS], &kept.strings)));
            }
        }
        sort_by_key(&mut loaded, |(rt, _)| rt[START_TIME]);
        let dropped = loaded.len().saturating_sub(MAX_RESOURCE_SPANS) as u64 + self.overflow;
        loaded.truncate(MAX_RESOURCE_SPANS);

        let mut j = Json::new();
        SpanHead {
            trace_id: &trace_id,
            span_id: &load_id,
            parent: server.as_ref().map(|(_, span)| span),
            name: b"documentLoad",
            kind: SpanKind::Internal,
            start: at(t[FETCH_START]),
            end: at(t[LOAD_EVENT_END]),
            error: false,
        }
        .open(&mut j);
        j.key("url.full").text(nav.url);
        if dropped > 0 {
            j.key("rum.document_load.resources_dropped").uint(dropped);
        }
        j.close(b'}');
        let mut marks = Vec::new();
        marks.push((FIELDS[FETCH_START], at(t[FETCH_START])));
        collect_marks(&mut marks, t, PAGE_MARKS, time_origin);
        events(&mut j, &marks);
        item(j.close(b'}').take());

        let mut fields = FetchFields {
            url: nav.url,
            protocol: nav.protocol,
            ..FetchFields::default()
        };
        item(fetch_span(
            b"documentFetch",
            &trace_id,
            &ids.span_id(),
            &load_id,
            t,
            t[FETCH_START],
            &fields,
            time_origin,
        ));
        for (rt, mut strings) in loaded {
            fields.url = strings.string(usize::MAX);
            fields.initiator = strings.string(usize::MAX);
            fields.protocol = strings.string(usize::MAX);
            fields.render_blocking = strings.string(usize::MAX);
            fields.server = parse_traceparent(strings.string(usize::MAX));
            item(fetch_span(
                b"resourceFetch",
                &trace_id,
                &ids.span_id(),
                &load_id,
                rt,
                rt[START_TIME],
                &fields,
                time_origin,
            ));
        }
    }
}

/// The strings of a fetch span.
#[derive(Default)]
struct FetchFields<'a> {
    url: &'a [u8],
    protocol: &'a [u8],
    /// Resources only.
    initiator: &'a [u8],
    render_blocking: &'a [u8],
    server: Option<(TraceId, SpanId)>,
}

/// `documentFetch` or `resourceFetch`: `start` to `responseEnd`, the network marks as
/// events, status, protocol and sizes as attributes.
#[allow(clippy::too_many_arguments)]
fn fetch_span(
    name: &[u8],
    trace_id: &TraceId,
    span_id: &SpanId,
    parent: &SpanId,
    t: &[f64; FIELDS.len()],
    start: f64,
    f: &FetchFields,
    time_origin: f64,
) -> Json {
    let mut j = Json::new();
    SpanHead {
        trace_id,
        span_id,
        parent: Some(parent),
        name,
        kind: SpanKind::Internal,
        start: time_origin + start,
        end: time_origin + t[RESPONSE_END],
        error: t[RESPONSE_STATUS] >= 400.0,
    }
    .open(&mut j);
    j.key("url.full").text(f.url);
    if !f.initiator.is_empty() {
        j.key("rum.resource.initiator_type").text(f.initiator);
    }
    if !f.render_blocking.is_empty() {
        j.key("rum.resource.render_blocking_status")
            .text(f.render_blocking);
    }
    for (key, value) in [
        ("http.response.status_code", t[RESPONSE_STATUS]),
        ("http.response.size", t[TRANSFER_SIZE]),
        ("http.response.body.size", t[ENCODED_BODY_SIZE]),
        ("rum.response.decoded_body_size", t[DECODED_BODY_SIZE]),
    ] {
        if value >= 1.0 {
            j.key(key).uint(value as u64);
        }
    }
    // `network.protocol.*` from ALPN's `nextHopProtocol`; unknown values are left out.
    let version = match f.protocol {
        b"http/1.0" => "1.0",
        b"http/1.1" => "1.1",
        b"h2" | b"h2c" => "2",
        b"h3" => "3",
        _ => "",
    };
    if !version.is_empty() {
        j.key("network.protocol.name")
            .str("http")
            .key("network.protocol.version")
            .str(version);
    }
    j.close(b'}');
    let mut marks = Vec::new();
    collect_marks(&mut marks, t, NETWORK_MARKS, time_origin);
    events(&mut j, &marks);
    if let Some((trace, span)) = &f.server {
        link(&mut j, trace, span);
    }
    j.close(b'}');
    j
}

/// The marks of `range` that the browser set, as events in time order.
fn collect_marks(
    marks: &mut Vec<(&'static str, f64)>,
    t: &[f64],
    range: core::ops::Range<usize>,
    time_origin: f64,
) {
    for (name, &value) in FIELDS.iter().zip(t).skip(range.start).take(range.len()) {
        if value > 0.0 {
            marks.push((name, time_origin + value));
        }
    }
    sort_by_key(marks, |(_, time)| *time);
}

/// A stable insertion sort: core's sort adds about 4 KB to the wasm, and these lists are
/// short (ten marks) or arrive nearly in order (resources, by start time).
fn sort_by_key<T>(list: &mut [T], key: impl Fn(&T) -> f64) {
    for i in 1..list.len() {
        let mut j = i;
        while j > 0 && list.get(j - 1).map(&key) > list.get(j).map(&key) {
            list.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests;
