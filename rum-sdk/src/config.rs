//! The SDK's settings, read from the object the JS layer (`js/src/index.js`) builds from the
//! user's `init()` options. User-facing options are documented in `docs/api.md`.

use js_sys::Function;
use wasm_bindgen::{JsCast, JsValue};

use crate::encode::{get, Context};

/// Items (spans + vitals) that trigger a send. Defaults to 30, which keeps a beacon far
/// below sendBeacon's 64 KB.
pub const DEFAULT_MAX_ITEMS: u32 = 30;
/// Milliseconds between sends of a partly filled queue. Defaults to 5000.
pub const DEFAULT_FLUSH_INTERVAL: u32 = 5000;

pub struct SdkConfig {
    /// Full beacon URL: `{endpoint}/v1/rum?key={apiKey}`.
    pub url: JsValue,
    /// `performance.timeOrigin`: unix ms of the navigation's start.
    pub time_origin: f64,
    pub context: Context,
    pub fetch: Option<Function>,
    pub max_items: u32,
    pub flush_interval: u32,
}

impl SdkConfig {
    /// `None` when a required field is missing: the SDK then does not start.
    pub fn from_js(cfg: &JsValue) -> Option<SdkConfig> {
        let url = get(cfg, "url");
        if !url.is_string() {
            return None;
        }
        let time_origin = get(cfg, "timeOrigin").as_f64()?;
        let number = |key: &str, default: u32| {
            get(cfg, key).as_f64().filter(|n| *n >= 1.0).map_or(default, |n| n as u32)
        };
        Some(SdkConfig {
            url,
            time_origin,
            context: Context { resource: get(cfg, "resource"), session: get(cfg, "session"), view: get(cfg, "view") },
            fetch: get(cfg, "fetch").dyn_into::<Function>().ok(),
            max_items: number("maxItems", DEFAULT_MAX_ITEMS),
            flush_interval: number("flushInterval", DEFAULT_FLUSH_INTERVAL),
        })
    }
}
