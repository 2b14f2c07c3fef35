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

/// Starts recording the page view. Numbers: `performance.timeOrigin`, two 32-bit random
/// seeds, screen width and height, viewport width and height, `userAgentData.mobile` (0, 1,
/// or 2 when unknown). Strings: service name, version, environment, session id, view id,
/// URL, referrer, navigation type, connection's effective type, language. Returns the
/// batch interval in ms, for JS's timer; 0 (record nothing) if the session id is not one or
/// the envelope does not fit its buffer.
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
    let envelope = Envelope {
        service,
        sdk_version: SDK_VERSION,
        session_id,
        view_id: i.string(16),
        url: i.string(MAX_STRING_BYTES),
        referrer: i.string(MAX_STRING_BYTES),
        navigation_type: i.string(32),
        view_start: n[0],
        screen: [n[3] as u32, n[4] as u32, n[5] as u32, n[6] as u32],
        effective_type: i.string(64),
        language: i.string(64),
        mobile: (n[7] < 2.0).then_some(n[7] == 1.0),
    };
    let seed = (n[1] as u64) << 32 | n[2] as u64;
    // SAFETY: JS calls init once per page; a second call replaces (drops) the recorder
    // holding the arena before anything uses the new one.
    let arena = unsafe { io::queue() };
    let recorder = Recorder::new(&envelope, seed, arena);
    // An envelope too large for its buffer (only strings full of characters JSON escapes
    // could make one): record nothing rather than send beacons the gateway refuses.
    if !recorder.has_envelope() {
        return 0;
    }
    RECORDER.set(recorder);
    batch::INTERVAL_MS
}

/// A fetch or XHR call ended. Numbers: start, end, response status (0 if none). Strings:
/// trace id, span id, method, URL, error. Returns 1 when a beacon is due.
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
        start: n[0],
        end: n[1],
        status: n[2] as u16,
    };
    RECORDER.with(|r| r.http(&call)).unwrap_or(false) as u32
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
