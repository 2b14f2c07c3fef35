//! The SDK's only network egress: `navigator.sendBeacon`, which the browser delivers even
//! while the page unloads; `fetch` with `keepalive` when sendBeacon refuses (queue full,
//! unsupported).

use js_sys::{Function, Object};
use wasm_bindgen::prelude::*;

use crate::encode::{object, set};
use crate::ffi;

pub struct Transport {
    url: JsValue,
    /// The page's fetch as it was before the SDK wrapped it.
    fetch: Option<Function>,
    /// Swallows a failed fallback fetch, so it is never an unhandled rejection.
    on_error: ffi::Callback,
}

impl Transport {
    pub fn new(url: JsValue, fetch: Option<Function>) -> Self {
        Transport { url, fetch, on_error: Closure::new(|_: JsValue| {}) }
    }

    pub fn send(&self, body: &JsValue) {
        if let Ok(true) = ffi::send_beacon(&self.url, body) {
            return;
        }
        let Some(fetch) = &self.fetch else { return };
        let init: Object = object();
        set(&init, "method", "POST");
        set(&init, "body", body.clone());
        set(&init, "keepalive", true);
        // text/plain keeps it a simple request (no CORS preflight), like sendBeacon's.
        let headers = object();
        set(&headers, "content-type", "text/plain;charset=UTF-8");
        set(&init, "headers", headers);
        if let Ok(promise) = fetch.call2(&JsValue::UNDEFINED, &self.url, &init) {
            let _ = js_sys::Promise::from(promise).catch(&self.on_error);
        }
    }
}
