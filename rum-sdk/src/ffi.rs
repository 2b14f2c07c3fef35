//! Hand-written bindings to the few browser APIs the SDK uses. Written here rather than taken
//! from web-sys so each costs only the glue it needs, and so `observe` can pass
//! `{type, buffered}`, which web-sys' `PerformanceObserverInit` cannot express.
//! Every call that can throw is `catch`, so no exception reaches the page.

use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

/// The one closure shape the SDK hands to the browser, to keep wasm-bindgen's glue small.
pub type Callback = Closure<dyn FnMut(JsValue)>;

#[wasm_bindgen]
extern "C" {
    pub type PerformanceObserver;
    #[wasm_bindgen(constructor, catch)]
    pub fn new(callback: &Callback) -> Result<PerformanceObserver, JsValue>;
    /// `observe({type, buffered: true, ...})`: one entry type, with the entries that happened
    /// before the SDK loaded.
    #[wasm_bindgen(method, catch)]
    pub fn observe(this: &PerformanceObserver, options: &Object) -> Result<(), JsValue>;
    #[wasm_bindgen(method, js_name = takeRecords)]
    pub fn take_records(this: &PerformanceObserver) -> Array;

    /// A `PerformanceObserverEntryList`.
    pub type EntryList;
    #[wasm_bindgen(method, js_name = getEntries)]
    pub fn get_entries(this: &EntryList) -> Array;

    /// Any `PerformanceEntry`; getters of fields a subtype lacks read `undefined` (NaN or
    /// false here), which the metric code treats as absent.
    pub type Entry;
    #[wasm_bindgen(method, getter)]
    pub fn name(this: &Entry) -> JsValue;
    #[wasm_bindgen(method, getter, js_name = startTime)]
    pub fn start_time(this: &Entry) -> f64;
    #[wasm_bindgen(method, getter)]
    pub fn duration(this: &Entry) -> f64;
    /// `layout-shift`: the shift's score.
    #[wasm_bindgen(method, getter)]
    pub fn value(this: &Entry) -> f64;
    /// `layout-shift`: whether it followed user input within 500 ms.
    #[wasm_bindgen(method, getter, js_name = hadRecentInput)]
    pub fn had_recent_input(this: &Entry) -> bool;
    /// `event`, `first-input`: the interaction it belongs to, 0 for none.
    #[wasm_bindgen(method, getter, js_name = interactionId)]
    pub fn interaction_id(this: &Entry) -> f64;
    /// `navigation`: when the first byte of the response arrived.
    #[wasm_bindgen(method, getter, js_name = responseStart)]
    pub fn response_start(this: &Entry) -> f64;
    /// `navigation`: when a prerendered page was activated (0 otherwise).
    #[wasm_bindgen(method, getter, js_name = activationStart)]
    pub fn activation_start(this: &Entry) -> f64;

    #[wasm_bindgen(js_namespace = performance, js_name = getEntriesByType)]
    pub fn entries_by_type(entry_type: &str) -> Array;

    #[wasm_bindgen(catch, js_namespace = window, js_name = addEventListener)]
    pub fn window_listen(event: &str, callback: &Callback, capture: bool) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = document, js_name = addEventListener)]
    pub fn document_listen(event: &str, callback: &Callback, capture: bool) -> Result<(), JsValue>;

    #[wasm_bindgen(js_name = setInterval)]
    pub fn set_interval(callback: &Callback, millis: u32) -> JsValue;

    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    pub fn get_random_values(buffer: &mut [u8]) -> Result<JsValue, JsValue>;

    /// `navigator.sendBeacon`: queues the body for delivery even while the page unloads.
    #[wasm_bindgen(catch, js_namespace = navigator, js_name = sendBeacon)]
    pub fn send_beacon(url: &JsValue, body: &JsValue) -> Result<bool, JsValue>;

    /// An `Event`; only its target is read.
    pub type Event;
    #[wasm_bindgen(method, getter)]
    pub fn target(this: &Event) -> EventTarget;
    /// The document, as the target of `visibilitychange`.
    pub type EventTarget;
    #[wasm_bindgen(method, getter)]
    pub fn hidden(this: &EventTarget) -> bool;

}
