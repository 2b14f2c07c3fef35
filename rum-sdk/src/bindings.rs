//! The wasm module's exports, called by `js/src/index.js`. Nothing here throws.

use wasm_bindgen::prelude::*;

use crate::config::SdkConfig;
use crate::lifecycle;
use crate::observe::Observers;
use crate::sdk::{Sdk, SDK};

/// Starts the SDK with the config the JS layer built. Returns false (and does nothing) when
/// the config is unusable.
#[wasm_bindgen]
pub fn start(config: JsValue) -> bool {
    let Some(config) = SdkConfig::from_js(&config) else { return false };
    let interval = config.flush_interval;
    SDK.set(Sdk::new(config));
    let observers = Observers::start(|kind, entries| {
        SDK.with(|sdk| sdk.on_entries(kind, entries));
    });
    SDK.with(|sdk| sdk.set_observers(observers));
    lifecycle::start(interval);
    true
}

/// A fetch call finished (or failed): `{ traceId, spanId, method, url, start, end, status, error? }`.
#[wasm_bindgen(js_name = fetchDone)]
pub fn fetch_done(record: JsValue) {
    SDK.with(|sdk| sdk.on_fetch(&record));
}

/// Sends whatever is queued now.
#[wasm_bindgen]
pub fn flush() {
    SDK.with(|sdk| sdk.flush());
}
