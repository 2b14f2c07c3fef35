//! The wasm module's exports, called by `js/src/vitals.js` with plain numbers taken from
//! performance entries and events (times in ms since the navigation's start). Each report
//! goes to the [`Sink`] synchronously, inside the call that caused it.

use wasm_bindgen::prelude::*;

use crate::ffi::Sink;
use crate::global::Global;
use crate::vitals::page::{PageVitals, Tagged};

struct Running {
    vitals: PageVitals,
    sink: Sink,
}

static RUNNING: Global<Running> = Global::new();

fn with(f: impl FnOnce(&mut PageVitals, &mut dyn FnMut(Tagged))) {
    RUNNING.with(|r| {
        let sink = &r.sink;
        f(&mut r.vitals, &mut |t: Tagged| {
            let r = t.report;
            let _ = sink.report(
                r.name as u8,
                r.value,
                r.delta,
                r.rating as u8,
                t.generation,
                r.detail,
            );
        })
    });
}

/// Starts measuring: `activation_start` of a prerendered page (0 otherwise), when the page
/// was first hidden (infinity if never), and web-vitals' `reportAllChanges`.
#[wasm_bindgen]
pub fn start(activation_start: f64, first_hidden: f64, report_all_changes: bool, sink: Sink) {
    RUNNING.set(Running {
        vitals: PageVitals::new(activation_start, first_hidden, report_all_changes),
        sink,
    });
}

/// A `first-contentful-paint` entry.
#[wasm_bindgen]
pub fn fcp(start_time: f64) {
    with(|v, emit| v.on_fcp(start_time, emit));
}

/// A `largest-contentful-paint` entry.
#[wasm_bindgen]
pub fn lcp(start_time: f64) {
    with(|v, emit| v.on_lcp(start_time, emit));
}

/// A `layout-shift` entry. Returns [`crate::vitals::cls`]'s flags: which shift entries
/// attribution must keep.
#[wasm_bindgen]
pub fn shift(start_time: f64, value: f64, had_recent_input: bool) -> u8 {
    let mut flags = 0;
    with(|v, emit| flags = v.on_shift(start_time, value, had_recent_input, emit));
    flags
}

/// An `event` or `first-input` entry, with `performance.interactionCount` now.
#[wasm_bindgen]
pub fn event(interaction_id: f64, duration: f64, interaction_count: f64) {
    with(|v, emit| v.on_event(interaction_id, duration, interaction_count, emit));
}

/// A trusted keydown or click.
#[wasm_bindgen]
pub fn input() {
    with(|v, emit| v.on_input(emit));
}

/// The page became hidden (or unloads) at `time_stamp`.
#[wasm_bindgen]
pub fn hidden(time_stamp: f64, interaction_count: f64) {
    with(|v, emit| v.on_hidden(time_stamp, interaction_count, emit));
}

/// `load` has passed: the navigation entry's `responseStart` and `performance.now()`.
#[wasm_bindgen]
pub fn loaded(response_start: f64, now: f64) {
    with(|v, emit| v.on_loaded(response_start, now, emit));
}

/// `pageshow` from the back/forward cache.
#[wasm_bindgen]
pub fn restore(interaction_count: f64) {
    with(|v, emit| v.on_restore(interaction_count, emit));
}

/// Two animation frames after a restore: the time since its `pageshow`.
#[wasm_bindgen(js_name = restorePaint)]
pub fn restore_paint(since_pageshow: f64) {
    with(|v, emit| v.on_restore_paint(since_pageshow, emit));
}
