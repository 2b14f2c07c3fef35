//! Builds beacon v1 (`docs/beacon-v1.md`) as JavaScript objects; `JSON.stringify` turns them
//! into text, so no number formatting is compiled into the wasm.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::vitals::Report;

/// The wire format's version.
pub const VERSION: f64 = 1.0;

pub fn object() -> Object {
    Object::new()
}

pub fn set(target: &Object, key: &str, value: impl Into<JsValue>) {
    // Setting a property on a plain object cannot fail; ignore the impossible error.
    let _ = Reflect::set(target, &JsValue::from_str(key), &value.into());
}

pub fn get(source: &JsValue, key: &str) -> JsValue {
    Reflect::get(source, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A vital as the beacon carries it: web-vitals' Metric fields.
pub fn vital(report: &Report, id: &JsValue, navigation_type: &JsValue) -> Object {
    let o = object();
    set(&o, "name", report.name.as_str());
    set(&o, "value", report.value);
    set(&o, "delta", report.delta);
    set(&o, "id", id.clone());
    set(&o, "rating", report.rating.as_str());
    set(&o, "nav", navigation_type.clone());
    o
}

/// The beacon envelope around queued spans and vitals.
pub fn beacon(context: &Context, spans: Array, vitals: Array) -> Object {
    let o = object();
    set(&o, "v", VERSION);
    set(&o, "sentAt", js_sys::Date::now());
    set(&o, "resource", context.resource.clone());
    set(&o, "session", context.session.clone());
    set(&o, "view", context.view.clone());
    set(&o, "spans", spans);
    set(&o, "vitals", vitals);
    o
}

/// What every beacon of this page view repeats, as the JS layer prepared it.
pub struct Context {
    /// `{ "service.name": …, … }`
    pub resource: JsValue,
    /// `{ id }`
    pub session: JsValue,
    /// `{ id, url, referrer, type, start }`
    pub view: JsValue,
}
