//! Page lifecycle listeners: input (ends LCP), hidden and unload (final values and send),
//! and the periodic send.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::ffi::{self, Callback};
use crate::sdk::SDK;

pub fn start(flush_interval: u32) {
    // LCP stops at the first input: web-vitals listens for keydown and click; pointerdown
    // comes first for pointer input.
    for event in ["keydown", "click", "pointerdown"] {
        listen_window(event, true, |_| {
            SDK.with(|sdk| sdk.on_input());
        });
    }
    // `visibilitychange` to hidden is the last moment reliably seen on mobile;
    // `pagehide` covers browsers that unload without it.
    let on_visibility: Callback = Closure::new(|event: JsValue| {
        if event.unchecked_into::<ffi::Event>().target().hidden() {
            SDK.with(|sdk| sdk.on_hidden());
        }
    });
    if ffi::document_listen("visibilitychange", &on_visibility, true).is_ok() {
        on_visibility.forget();
    }
    listen_window("pagehide", true, |_| {
        SDK.with(|sdk| sdk.on_hidden());
    });
    let on_interval: Callback = Closure::new(|_: JsValue| {
        SDK.with(|sdk| sdk.flush());
    });
    ffi::set_interval(&on_interval, flush_interval);
    on_interval.forget();
}

fn listen_window(event: &str, capture: bool, handler: fn(JsValue)) {
    let callback: Callback = Closure::new(handler);
    // The listeners live as long as the page: leak them deliberately.
    if ffi::window_listen(event, &callback, capture).is_ok() {
        callback.forget();
    }
}
