//! The page load as a trace, named and shaped as OpenTelemetry's document-load
//! instrumentation makes it (`@opentelemetry/instrumentation-document-load`), so backends and
//! dashboards built for it recognise ours:
//!
//! * `documentLoad`: from the navigation's `fetchStart` to `loadEventEnd`, the navigation
//!   timing marks as span events;
//! * `documentFetch`, its child: the HTML document's request, with the network marks;
//! * `resourceFetch`, its other children: one per stylesheet, script, image or font that
//!   finished loading before `load` (fetch and XHR calls are client spans already, but for
//!   those made before the SDK had wrapped `fetch` and XHR: a loader page's early calls), at most
//!   [`MAX_RESOURCE_SPANS`] (the first the browser reported), the number left out recorded
//!   on `documentLoad`.
//!
//! JS hands over the navigation entry, then each resource entry, then the navigation entry
//! again ([`PageLoad::start`], [`PageLoad::resource`], [`PageLoad::finish`]): each span is
//! written as it is known, nothing is kept but ids and a count, and `documentLoad`, written
//! last, knows how many resources were left out.
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

use super::ids::{parse_traceparent, IdGenerator, SpanId, TraceId};
use super::span::{link, SpanHead, SpanKind};
use crate::batch::{Batch, ItemKind};
use crate::json::Json;

/// Resource spans per page load; more are counted, not sent.
pub const MAX_RESOURCE_SPANS: usize = 250;

/// The fields of a navigation or resource timing entry the spans are built from, in the
/// order of the numbers JS sends, comma-separated and NUL-terminated: `js/src/document-load.js`
/// reads this very text out of the wasm's memory ([`crate::bindings`]'s `fields`), so the
/// order is written once. The navigation-only marks follow the shared ones;
/// `firstContentfulPaint` is the paint entry's `startTime`.
pub const FIELD_NAMES: &str = "startTime,fetchStart,domainLookupStart,domainLookupEnd,connectStart,secureConnectionStart,connectEnd,requestStart,responseStart,responseEnd,transferSize,encodedBodySize,decodedBodySize,responseStatus,unloadEventStart,unloadEventEnd,domInteractive,domContentLoadedEventStart,domContentLoadedEventEnd,domComplete,loadEventStart,loadEventEnd,firstContentfulPaint\0";
/// How many [`FIELD_NAMES`] there are.
pub const FIELD_COUNT: usize = 23;

/// The field names, in order.
pub fn fields() -> impl Iterator<Item = &'static [u8]> {
    let names = FIELD_NAMES.as_bytes();
    names
        .get(..names.len() - 1)
        .unwrap_or_default()
        .split(|&b| b == b',')
}

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
/// A resource entry's `firstContentfulPaint` slot, a page mark it has none of, carries when
/// the SDK's fetch and XHR wrappers were installed.
const WRAPPED_AT: usize = 22;

/// The navigation entry and what the page said about its server span. Strings are the
/// bytes JS wrote.
pub struct Navigation<'a> {
    /// The entry's numbers, in [`FIELD_NAMES`]' order.
    pub timing: &'a [f64; FIELD_COUNT],
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
    /// In [`FIELD_NAMES`]' order; the navigation-only slots are 0.
    pub timing: &'a [f64; FIELD_COUNT],
    pub url: &'a [u8],
    /// `initiatorType`: `script`, `link`, `img`, `css`, `fetch`, …
    pub initiator: &'a [u8],
    pub protocol: &'a [u8],
    /// `renderBlockingStatus`: `blocking` or `non-blocking`, where the browser gives it.
    pub render_blocking: &'a [u8],
    pub server_timing: &'a [u8],
}

/// The page load being recorded: its trace, `documentLoad`'s id, and the resources so far.
pub struct PageLoad {
    trace_id: TraceId,
    load_id: SpanId,
    server: Option<SpanId>,
    fetch_start: f64,
    load_event_end: f64,
    resources: usize,
    dropped: u64,
}

impl PageLoad {
    /// Starts from the complete navigation entry: the trace is the server span's when the
    /// page named it, else a new one.
    pub fn start(nav: &Navigation, ids: &mut IdGenerator) -> PageLoad {
        let server = parse_traceparent(nav.server_timing).or_else(|| parse_traceparent(nav.meta));
        let trace_id = server.map_or_else(|| ids.trace_id(), |(trace, _)| trace);
        PageLoad {
            trace_id,
            load_id: ids.span_id(),
            server: server.map(|(_, span)| span),
            fetch_start: nav.timing[FETCH_START],
            load_event_end: nav.timing[LOAD_EVENT_END],
            resources: 0,
            dropped: 0,
        }
    }

    /// A resource entry: queued as a `resourceFetch` span when it finished before `load`, is
    /// not a fetch or XHR call made since the SDK's wrappers exist (those are client spans
    /// already; earlier ones, such as a loader page's early fetches, have no span but this),
    /// and the cap is not reached (then counted). True when a beacon is due.
    pub fn resource(
        &mut self,
        r: &Resource,
        time_origin: f64,
        ids: &mut IdGenerator,
        batch: &mut Batch,
    ) -> bool {
        let t = r.timing;
        let call = matches!(r.initiator, b"fetch" | b"xmlhttprequest" | b"beacon");
        let loaded = (!call || t[START_TIME] < t[WRAPPED_AT])
            && t[START_TIME] >= self.fetch_start
            && t[RESPONSE_END] > 0.0
            && t[RESPONSE_END] <= self.load_event_end;
        if !loaded {
            return false;
        }
        if self.resources >= MAX_RESOURCE_SPANS {
            self.dropped += 1;
            return false;
        }
        self.resources += 1;
        let fields = FetchFields {
            url: r.url,
            protocol: r.protocol,
            initiator: r.initiator,
            render_blocking: r.render_blocking,
            server: parse_traceparent(r.server_timing),
        };
        let span_id = ids.span_id();
        batch.push(ItemKind::Span, &mut |j| {
            self.fetch_span(
                j,
                b"resourceFetch",
                &span_id,
                t,
                t[START_TIME],
                &fields,
                time_origin,
            )
        })
    }

    /// Queues `documentLoad` and `documentFetch`, from the navigation entry (the same as
    /// [`PageLoad::start`]'s). True when a beacon is due.
    pub fn finish(
        &self,
        nav: &Navigation,
        time_origin: f64,
        ids: &mut IdGenerator,
        batch: &mut Batch,
    ) -> bool {
        let t = nav.timing;
        let due = batch.push(ItemKind::Span, &mut |j| {
            SpanHead {
                trace_id: &self.trace_id,
                span_id: &self.load_id,
                parent: self.server.as_ref(),
                name: b"documentLoad",
                kind: SpanKind::Internal,
                start: time_origin + t[FETCH_START],
                end: time_origin + t[LOAD_EVENT_END],
                error: false,
            }
            .open(j);
            j.key("url.full").text(nav.url);
            if self.dropped > 0 {
                j.key("rum.document_load.resources_dropped")
                    .uint(self.dropped);
            }
            j.close(b'}');
            marks(j, t, true, time_origin);
            j.close(b'}');
        });
        let fields = FetchFields {
            url: nav.url,
            protocol: nav.protocol,
            ..FetchFields::default()
        };
        let span_id = ids.span_id();
        due | batch.push(ItemKind::Span, &mut |j| {
            self.fetch_span(
                j,
                b"documentFetch",
                &span_id,
                t,
                t[FETCH_START],
                &fields,
                time_origin,
            )
        })
    }

    /// `documentFetch` or `resourceFetch`: `start` to `responseEnd`, the network marks as
    /// events, status, protocol and sizes as attributes.
    #[allow(clippy::too_many_arguments)]
    fn fetch_span(
        &self,
        j: &mut Json,
        name: &[u8],
        span_id: &SpanId,
        t: &[f64; FIELD_COUNT],
        start: f64,
        f: &FetchFields,
        time_origin: f64,
    ) {
        SpanHead {
            trace_id: &self.trace_id,
            span_id,
            parent: Some(&self.load_id),
            name,
            kind: SpanKind::Internal,
            start: time_origin + start,
            end: time_origin + t[RESPONSE_END],
            error: t[RESPONSE_STATUS] >= 400.0,
        }
        .open(j);
        j.key("url.full").text(f.url);
        if !f.initiator.is_empty() {
            j.key("rum.resource.initiator_type").text(f.initiator);
        }
        if !f.render_blocking.is_empty() {
            j.key("rum.resource.render_blocking_status")
                .text(f.render_blocking);
        }
        for (key, i) in [
            ("http.response.status_code", RESPONSE_STATUS),
            ("http.response.size", TRANSFER_SIZE),
            ("http.response.body.size", ENCODED_BODY_SIZE),
            ("rum.response.decoded_body_size", DECODED_BODY_SIZE),
        ] {
            let value = t.get(i).copied().unwrap_or(0.0);
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
        marks(j, t, false, time_origin);
        if let Some((trace, span)) = &f.server {
            link(j, trace, span);
        }
        j.close(b'}');
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

/// The span's events, in time order: `documentLoad`'s (`page`) are `fetchStart` and the
/// page's marks, the fetches' the network marks; those the browser left at 0 are left out.
fn marks(j: &mut Json, t: &[f64; FIELD_COUNT], page: bool, time_origin: f64) {
    let mut left = [false; FIELD_COUNT];
    let range = if page { PAGE_MARKS } else { NETWORK_MARKS };
    // documentLoad's marks stay inside it: a first paint after `loadEventEnd` (a busy machine
    // may paint after the load) is left out, as a page that has not painted leaves it out.
    let end = if page {
        t[LOAD_EVENT_END]
    } else {
        f64::INFINITY
    };
    for (i, slot) in left.iter_mut().enumerate() {
        *slot = (range.contains(&i) || (page && i == FETCH_START))
            && t.get(i).is_some_and(|v| *v > 0.0 && *v <= end);
    }
    j.key("events").open(b'[');
    // The earliest left, until none is: at most ten marks, and no sort routine in the wasm.
    loop {
        let mut next: Option<(usize, f64)> = None;
        for (i, (&v, &l)) in t.iter().zip(&left).enumerate() {
            if l && next.is_none_or(|(_, best)| v < best) {
                next = Some((i, v));
            }
        }
        let Some((i, v)) = next else { break };
        if let Some(slot) = left.get_mut(i) {
            *slot = false;
        }
        j.open(b'{')
            .key("name")
            .text(fields().nth(i).unwrap_or_default())
            .key("time")
            .ms(time_origin + v)
            .close(b'}');
    }
    j.close(b']');
}

#[cfg(test)]
mod tests;
