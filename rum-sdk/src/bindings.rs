//! The wasm module's exports, plain C-ABI functions of numbers (wasm-bindgen's glue would
//! add about 0.8 KB of JS and an externref table for nothing, since only numbers cross;
//! `js/src/wasm.js` loads the module). Only numbers cross: facts come in as arguments or through the
//! byte channel ([`crate::io`]: f64 slots, then strings), beacons go out as a length whose
//! bytes JS reads at [`out`]. Times are milliseconds since the navigation's start.
//!
//! Each vitals export returns how many metric reports the fact caused, written into the
//! channel's f64 slots (six each: name and rating indexes, value, delta, generation,
//! detail), which JS reads as soon as the call returns and hands back to [`vital`] with
//! their attribution. No import and no `JsValue` crossing: a JS object handed to the wasm
//! brings wasm-bindgen's externref table and allocator.

use crate::batch;
use crate::beacon::{Envelope, MAX_ATTRIBUTION_BYTES};
use crate::global::Global;
use crate::io;
use crate::journey::action::{Action, ActionType};
use crate::journey::route::{RouteChange, TRIGGERS};
use crate::journey::settle::Settle;
use crate::journey::view::View;
use crate::journey::Fact;
use crate::recorder::Recorder;
use crate::trace::document_load::{Navigation, Resource, FIELD_COUNT, FIELD_NAMES};
use crate::trace::http::HttpCall;
use crate::trace::ids::{SpanId, TraceId};
use crate::vitals::page::{PageVitals, Tagged};
use crate::vitals::{MetricName, Rating, Report};

/// The SDK's version, sent as `telemetry.sdk.version`.
const SDK_VERSION: &str = "0.1.0";
/// Longest string the SDK records (URLs); the gateway cuts at 4096 characters too.
const MAX_STRING_BYTES: usize = 4096;
/// Longest service name, version or environment.
const MAX_NAME_BYTES: usize = 256;

static VITALS: Global<PageVitals> = Global::new();
static RECORDER: Global<Recorder<'static>> = Global::new();

/// Numbers per report in the channel's output.
const REPORT_NUMBERS: usize = 6;

/// Runs `f` on the page's vitals; the reports it makes are written to the channel and
/// counted, at most five (one per metric, which is all one fact can cause).
fn with(f: impl FnOnce(&mut PageVitals, &mut dyn FnMut(Tagged))) -> u32 {
    let mut n = 0;
    VITALS.with(|v| {
        f(v, &mut |t: Tagged| {
            let r = t.report;
            if n < 5 {
                let numbers = [
                    r.name as u8 as f64,
                    r.value,
                    r.delta,
                    r.rating as u8 as f64,
                    t.generation.into(),
                    r.detail,
                ];
                io::output(n * REPORT_NUMBERS, &numbers);
                n += 1;
            }
        })
    });
    n as u32
}

/// The byte channel's address: `io.rs` describes its layout.
#[no_mangle]
pub extern "C" fn io() -> usize {
    io::address()
}

/// Where the timing entries' field names start: [`FIELD_NAMES`], comma-separated and
/// NUL-terminated, the order JS sends their numbers in.
#[no_mangle]
pub extern "C" fn fields() -> usize {
    FIELD_NAMES.as_ptr() as usize
}

/// Where the beacon [`flush`] wrote starts.
#[no_mangle]
pub extern "C" fn out() -> usize {
    io::out_address()
}

/// Starts recording the page. Numbers: `performance.timeOrigin`, two 32-bit random seeds,
/// screen width and height, viewport width and height, `userAgentData.mobile` (0, 1, or 2
/// when unknown), 1 if the page is visible now. Strings: service name, version,
/// environment, session id, view id, URL, referrer, navigation type, connection's
/// effective type, language. Returns the batch interval in ms, for JS's timer; 0 (record
/// nothing) if the session id is not one or the envelope does not fit its buffer.
#[no_mangle]
pub extern "C" fn init(len: usize) -> u32 {
    let mut i = io::input(len);
    let n = i.numbers;
    let service = [
        i.string(MAX_NAME_BYTES),
        i.string(MAX_NAME_BYTES),
        i.string(MAX_NAME_BYTES),
    ];
    let session_id = i.string(32);
    // A session id has a trace id's shape: 32 lowercase hex digits, not all zero.
    if TraceId::from_hex(session_id).is_none() {
        return 0;
    }
    let (view_id, url, referrer, navigation_type) = (
        i.string(16),
        i.string(MAX_STRING_BYTES),
        i.string(MAX_STRING_BYTES),
        i.string(32),
    );
    let mut view = View::new(view_id, url, referrer, navigation_type, 0.0);
    view.visibility(0.0, n[8] == 1.0);
    let envelope = Envelope {
        service,
        sdk_version: SDK_VERSION,
        screen: [n[3] as u32, n[4] as u32, n[5] as u32, n[6] as u32],
        effective_type: i.string(64),
        language: i.string(64),
        mobile: (n[7] < 2.0).then_some(n[7] == 1.0),
    };
    let seed = (n[1] as u64) << 32 | n[2] as u64;
    // SAFETY: JS calls init once per page; a second call replaces (drops) the recorder
    // holding the arena before anything uses the new one.
    let arena = unsafe { io::queue() };
    let recorder = Recorder::new(&envelope, session_id, view, n[0], seed, arena);
    // An envelope too large for its buffer (only strings full of characters JSON escapes
    // could make one): record nothing rather than send beacons the gateway refuses.
    if !recorder.has_envelope() {
        return 0;
    }
    RECORDER.set(recorder);
    batch::INTERVAL_MS
}

/// Beacon due (bit 0) and more bits, as JS reads an export's result.
fn due(due: bool) -> u32 {
    due as u32
}

/// A click (number 1: 0) or Enter or Space (1) at number 0, on an interactive element
/// (number 2: 1), the one of the last action (number 3: 1), within the session's cap
/// (number 4: 1). Strings: trace id and span id JS minted, name, target selector. Returns
/// bit 0: a beacon is due; bit 1: merged into the last action (JS keeps its trace).
#[no_mangle]
pub extern "C" fn act(len: usize) -> u32 {
    let mut i = io::input(len);
    let n = i.numbers;
    let (Some(trace_id), Some(span_id)) = (
        TraceId::from_hex(i.string(32)),
        SpanId::from_hex(i.string(16)),
    ) else {
        return 0;
    };
    let kind = if n[1] == 1.0 {
        ActionType::Key
    } else {
        ActionType::Click
    };
    let action = Action::new(
        trace_id,
        span_id,
        kind,
        n[0],
        i.string(MAX_STRING_BYTES),
        i.string(MAX_STRING_BYTES),
        n[2] == 1.0,
    );
    RECORDER
        .with(|r| {
            let (d, merged) = r.action(action, n[3] == 1.0, n[4] == 1.0);
            due(d) | (merged as u32) << 1
        })
        .unwrap_or(0)
}

/// At `now`: a DOM mutation (`fact` 0), a request start (1) or end (2, which started at
/// `started`), an error (3).
#[no_mangle]
pub extern "C" fn mark(fact: u32, now: f64, started: f64) {
    let fact = match fact {
        0 => Fact::Mutation,
        1 => Fact::RequestStart,
        2 => Fact::RequestEnd,
        _ => Fact::Error,
    };
    RECORDER.with(|r| r.mark(fact, now, started));
}

/// JS looks in every 100 ms while an action or route change is open. Returns bit 0: a
/// beacon is due; bit 1: something is still open.
#[no_mangle]
pub extern "C" fn tick(now: f64) -> u32 {
    RECORDER
        .with(|r| {
            let (d, open) = r.tick(now);
            due(d) | (open as u32) << 1
        })
        .unwrap_or(0)
}

/// The current view ends at `now` (JS then sends what is queued). Returns 1.
#[no_mangle]
pub extern "C" fn leave(now: f64) -> u32 {
    RECORDER.with(|r| r.leave(now)).unwrap_or(false) as u32
}

/// The page became visible (1) or hidden (0) at `now`.
#[no_mangle]
pub extern "C" fn seen(now: f64, visible: u32) {
    RECORDER.with(|r| r.visibility(now, visible == 1));
}

/// A new view, after [`leave`]. Numbers: now, trigger (an index of [`TRIGGERS`]; any other
/// is a session's renewal, with no route change), within the session's cap (1), visible
/// (1). Strings: the new view id, its URL, and the route change's trace id, span id and
/// parent span id (the action that caused it, or empty). Returns 1 if the view began, 0
/// when over the route-change cap (the page stays on its view).
#[no_mangle]
pub extern "C" fn route(len: usize) -> u32 {
    let mut i = io::input(len);
    let n = i.numbers;
    let now = n[0];
    let (view_id, url) = (i.string(16), i.string(MAX_STRING_BYTES));
    let (trace_id, span_id, parent) = (
        TraceId::from_hex(i.string(32)),
        SpanId::from_hex(i.string(16)),
        SpanId::from_hex(i.string(16)),
    );
    RECORDER
        .with(|r| {
            let trigger = TRIGGERS.get(n[1] as usize);
            if trigger.is_some() && !r.admit_route(n[2] == 1.0) {
                // The page stays on its view, which [`leave`] had ended.
                r.journey.view.end = None;
                return 0;
            }
            let old = &r.journey.view;
            let mut view = View::new(view_id, url, old.url.get(), b"route-change", now);
            view.previous = Some(old.id);
            view.visibility(now, n[3] == 1.0);
            if !view.fits() {
                return 0;
            }
            let change = match (trigger, trace_id, span_id) {
                (Some(&trigger), Some(trace_id), Some(span_id)) => Some(RouteChange {
                    trace_id,
                    span_id,
                    parent,
                    trigger,
                    settle: Settle::new(now),
                }),
                _ => None,
            };
            r.enter(view, change);
            1
        })
        .unwrap_or(0)
}

/// `rum.setView(name)`: names the current view.
#[no_mangle]
pub extern "C" fn named(len: usize) {
    let mut i = io::input(len);
    let name = i.string(MAX_NAME_BYTES);
    RECORDER.with(|r| r.journey.view.name = crate::text::Text::new(name));
}

/// An error. Numbers: time, kind (an index of [`crate::errors::KINDS`]), line, column,
/// within the session's cap (1). Strings: type, message, stack, source URL, and the trace
/// and span ids of the request that failed with it (or empty), attributes as a JSON object
/// (or empty). Returns 1 when a beacon is due.
#[no_mangle]
pub extern "C" fn error(len: usize) -> u32 {
    let mut i = io::input(len);
    let n = i.numbers;
    let kind = crate::errors::KINDS
        .get(n[1] as usize)
        .copied()
        .unwrap_or("handled");
    let (error_type, message, stack, source) = (
        // The record and its count updates both say `Error` for an error without a type
        // (the gateway refuses an empty one).
        match i.string(64) {
            b"" => b"Error".as_slice(),
            t => t,
        },
        i.string(crate::errors::MAX_MESSAGE_BYTES),
        i.string(crate::errors::MAX_STACK_BYTES),
        i.string(MAX_STRING_BYTES),
    );
    let request = TraceId::from_hex(i.string(32)).zip(SpanId::from_hex(i.string(16)));
    let attrs = i.whole(crate::journey::event::MAX_ATTRS_BYTES);
    RECORDER
        .with(|r| {
            let e = crate::errors::PageError {
                kind,
                error_type,
                message,
                stack,
                source,
                line: n[2] as u32,
                col: n[3] as u32,
                time: n[0],
                request,
                action: r.journey.action_at(n[0]),
                attrs,
            };
            r.error(&e, n[4] == 1.0)
        })
        .unwrap_or(false) as u32
}

/// An event at number 0, within the session's cap (number 1: 1). Strings: name, attributes
/// as a JSON object (or empty). Returns 1 when a beacon is due.
#[no_mangle]
pub extern "C" fn custom(len: usize) -> u32 {
    let mut i = io::input(len);
    let n = i.numbers;
    let name = i.string(MAX_NAME_BYTES);
    let attrs = i.whole(crate::journey::event::MAX_ATTRS_BYTES);
    if name.is_empty() {
        return 0;
    }
    RECORDER
        .with(|r| r.event(n[0], name, attrs, n[1] == 1.0))
        .unwrap_or(false) as u32
}

/// `rum.setUser` and `rum.setAttributes`, for what follows (JS sends what is queued
/// first). Strings: user id (or empty), global attributes as a JSON object (or empty).
#[no_mangle]
pub extern "C" fn user(len: usize) {
    let mut i = io::input(len);
    let id = i.string(MAX_NAME_BYTES);
    let attrs = i.whole(crate::recorder::USER_BYTES);
    RECORDER.with(|r| r.user(id, attrs));
}

/// A new session (32 hex digits) from now on, sampled (number 0: 1) or not (JS sends what
/// is queued first).
#[no_mangle]
pub extern "C" fn session(len: usize) {
    let mut i = io::input(len);
    let sampled = i.numbers[0] == 1.0;
    let id = i.string(32);
    if TraceId::from_hex(id).is_some() {
        RECORDER.with(|r| r.session(id, sampled));
    }
}

/// A fetch or XHR call ended. Numbers: start, end, response status (0 if none). Strings:
/// trace id, span id, method, URL, error, parent span id (or empty). Returns 1 when a
/// beacon is due.
#[no_mangle]
pub extern "C" fn http(len: usize) -> u32 {
    let mut i = io::input(len);
    let n = i.numbers;
    let (Some(trace_id), Some(span_id)) = (
        TraceId::from_hex(i.string(32)),
        SpanId::from_hex(i.string(16)),
    ) else {
        return 0;
    };
    let call = HttpCall {
        trace_id,
        span_id,
        method: i.string(64),
        url: i.string(MAX_STRING_BYTES),
        error: i.string(64),
        parent: SpanId::from_hex(i.string(16)),
        start: n[0],
        end: n[1],
        status: n[2] as u16,
    };
    RECORDER
        .with(|r| {
            r.mark(Fact::RequestEnd, call.end, call.start);
            r.http(&call)
        })
        .unwrap_or(false) as u32
}

/// A vital report as a vitals export gave it (name and rating indexes, value, delta, generation),
/// back with its attribution JSON (a string; may be empty). Returns 1 when a beacon is due.
#[no_mangle]
pub extern "C" fn vital(len: usize) -> u32 {
    let mut i = io::input(len);
    let n = i.numbers;
    let names = [
        MetricName::Cls,
        MetricName::Fcp,
        MetricName::Inp,
        MetricName::Lcp,
        MetricName::Ttfb,
    ];
    let ratings = [Rating::Good, Rating::NeedsImprovement, Rating::Poor];
    let (Some(&name), Some(&rating)) = (names.get(n[0] as usize), ratings.get(n[3] as usize))
    else {
        return 0;
    };
    let report = Report {
        name,
        value: n[1],
        delta: n[2],
        rating,
        detail: 0.0,
    };
    // One byte more than the limit: an attribution that long is marked truncated.
    let attribution = i.string(MAX_ATTRIBUTION_BYTES + 1);
    RECORDER
        .with(|r| r.vital(&report, n[4] as u32, attribution))
        .unwrap_or(false) as u32
}

/// The timing fields of a resource or navigation entry: the first numbers.
fn timing(numbers: &[f64; io::NUMBERS]) -> [f64; FIELD_COUNT] {
    let mut t = [0.0; FIELD_COUNT];
    for (slot, n) in t.iter_mut().zip(numbers) {
        *slot = *n;
    }
    t
}

/// A resource timing entry, between the two [`navigation`] calls. Numbers: the entry's
/// [`FIELD_NAMES`]. Strings: URL, initiator type, next-hop protocol, render-blocking status, the
/// `traceparent` of its `serverTiming`. Returns 1 when a beacon is due.
#[no_mangle]
pub extern "C" fn resource(len: usize) -> u32 {
    let mut i = io::input(len);
    let resource = Resource {
        timing: &timing(&i.numbers),
        url: i.string(MAX_STRING_BYTES),
        initiator: i.string(64),
        protocol: i.string(64),
        render_blocking: i.string(64),
        server_timing: i.string(128),
    };
    RECORDER.with(|r| r.resource(&resource)).unwrap_or(false) as u32
}

/// The navigation entry once `loadEventEnd` is set, before the page's resource entries and
/// again after them (number 23: 0, then 1), which records the page load's spans. Numbers:
/// the entry's [`FIELD_NAMES`]. Strings: URL, next-hop protocol, the `traceparent` of its
/// `serverTiming`, `<meta name="traceparent">`'s content. Returns 1 when a beacon is due.
#[no_mangle]
pub extern "C" fn navigation(len: usize) -> u32 {
    let mut i = io::input(len);
    let last = i.numbers[FIELD_COUNT] == 1.0;
    let nav = Navigation {
        timing: &timing(&i.numbers),
        url: i.string(MAX_STRING_BYTES),
        protocol: i.string(64),
        server_timing: i.string(128),
        meta: i.string(128),
    };
    RECORDER.with(|r| r.navigation(&nav, last)).unwrap_or(false) as u32
}

/// Writes the next beacon of what is queued, sent at `now` (unix ms), and returns its
/// length (its bytes are at [`out`]); 0 when nothing is queued. JS calls it until 0.
#[no_mangle]
pub extern "C" fn flush(now: f64) -> usize {
    // SAFETY: the only reference to the beacon buffer, for this call.
    let out = unsafe { io::out() };
    RECORDER.with(|r| r.next_beacon(now, out)).unwrap_or(0)
}

/// Starts measuring vitals: `activation_start` of a prerendered page (0 otherwise), when the
/// page was first hidden (infinity if never), and web-vitals' `reportAllChanges`.
#[no_mangle]
pub extern "C" fn start(activation_start: f64, first_hidden: f64, report_all_changes: bool) {
    VITALS.set(PageVitals::new(
        activation_start,
        first_hidden,
        report_all_changes,
    ));
}

/// A `first-contentful-paint` entry. This and the exports below return the number of
/// reports written to the channel (see the module's docs).
#[no_mangle]
pub extern "C" fn fcp(start_time: f64) -> u32 {
    with(|v, emit| v.on_fcp(start_time, emit))
}

/// A `largest-contentful-paint` entry.
#[no_mangle]
pub extern "C" fn lcp(start_time: f64) -> u32 {
    with(|v, emit| v.on_lcp(start_time, emit))
}

/// A `layout-shift` entry. Also writes [`crate::vitals::cls`]'s flags (which shift entries
/// attribution must keep) into the channel's last f64 slot.
#[no_mangle]
pub extern "C" fn shift(start_time: f64, value: f64, had_recent_input: bool) -> u32 {
    let mut flags = 0;
    let n = with(|v, emit| flags = v.on_shift(start_time, value, had_recent_input, emit));
    io::output(io::NUMBERS - 1, &[flags.into()]);
    n
}

/// An `event` or `first-input` entry, with `performance.interactionCount` now.
#[no_mangle]
pub extern "C" fn event(interaction_id: f64, duration: f64, interaction_count: f64) -> u32 {
    with(|v, emit| v.on_event(interaction_id, duration, interaction_count, emit))
}

/// A trusted keydown or click.
#[no_mangle]
pub extern "C" fn input() -> u32 {
    with(|v, emit| v.on_input(emit))
}

/// The page became hidden (or unloads) at `time_stamp`.
#[no_mangle]
pub extern "C" fn hidden(time_stamp: f64, interaction_count: f64) -> u32 {
    with(|v, emit| v.on_hidden(time_stamp, interaction_count, emit))
}

/// `load` has passed: the navigation entry's `responseStart` and `performance.now()`.
#[no_mangle]
pub extern "C" fn loaded(response_start: f64, now: f64) -> u32 {
    with(|v, emit| v.on_loaded(response_start, now, emit))
}

/// An SPA route change: CLS and INP of the view that ends are reported now, then count
/// afresh.
#[export_name = "newView"]
pub extern "C" fn new_view(interaction_count: f64) -> u32 {
    with(|v, emit| v.on_route_change(interaction_count, emit))
}

/// `pageshow` from the back/forward cache.
#[no_mangle]
pub extern "C" fn restore(interaction_count: f64) -> u32 {
    with(|v, emit| v.on_restore(interaction_count, emit))
}

/// Two animation frames after a restore: the time since its `pageshow`.
#[export_name = "restorePaint"]
pub extern "C" fn restore_paint(since_pageshow: f64) -> u32 {
    with(|v, emit| v.on_restore_paint(since_pageshow, emit))
}
