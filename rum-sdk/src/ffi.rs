//! The wasm module's one import: where metric reports go. The JS layer passes it to
//! [`crate::bindings::start`]. Only numbers cross between JS and wasm, which keeps
//! wasm-bindgen's glue (and the download) small.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `{ report(name, value, delta, rating, generation, detail) }` from `js/src/vitals.js`.
    pub type Sink;
    /// `name` and `rating` are the indexes of [`crate::vitals::MetricName`] and
    /// [`crate::vitals::Rating`]; a listener that throws is ignored (`catch`).
    #[wasm_bindgen(method, catch)]
    pub fn report(
        this: &Sink,
        name: u8,
        value: f64,
        delta: f64,
        rating: u8,
        generation: u32,
        detail: f64,
    ) -> Result<(), JsValue>;
}
