//! Buffered PerformanceObservers, one per entry type, feeding the running SDK.

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::encode::{object, set};
use crate::ffi::{self, Callback, Entry, EntryList, PerformanceObserver};
use crate::vitals::inp;

/// The entry types the SDK observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Paint,
    LargestContentfulPaint,
    LayoutShift,
    Event,
    FirstInput,
}

impl Kind {
    pub const ALL: [Kind; 5] =
        [Kind::Paint, Kind::LargestContentfulPaint, Kind::LayoutShift, Kind::Event, Kind::FirstInput];

    fn entry_type(self) -> &'static str {
        match self {
            Kind::Paint => "paint",
            Kind::LargestContentfulPaint => "largest-contentful-paint",
            Kind::LayoutShift => "layout-shift",
            Kind::Event => "event",
            Kind::FirstInput => "first-input",
        }
    }
}

/// The observers, kept to read their pending entries (`takeRecords`) when the page hides;
/// `None` where the browser lacks the entry type.
pub struct Observers([Option<PerformanceObserver>; 5]);

impl Observers {
    /// Observes every kind the browser supports; `on_entries` receives each batch.
    pub fn start(on_entries: fn(Kind, Array)) -> Observers {
        let mut observers = [None, None, None, None, None];
        for (slot, kind) in observers.iter_mut().zip(Kind::ALL) {
            let callback: Callback = Closure::new(move |list: JsValue| {
                on_entries(kind, list.unchecked_into::<EntryList>().get_entries());
            });
            let Ok(observer) = PerformanceObserver::new(&callback) else { continue };
            let options = object();
            set(&options, "type", kind.entry_type());
            set(&options, "buffered", true);
            if kind == Kind::Event {
                set(&options, "durationThreshold", inp::DURATION_THRESHOLD);
            }
            // An entry type this browser lacks throws (or is ignored): skip it.
            if observer.observe(&options).is_ok() {
                callback.forget();
                *slot = Some(observer);
            }
        }
        Observers(observers)
    }

    /// Entries the browser queued but has not yet delivered.
    pub fn take_pending(&self, mut on_entries: impl FnMut(Kind, Array)) {
        for (observer, kind) in self.0.iter().zip(Kind::ALL) {
            if let Some(observer) = observer {
                on_entries(kind, observer.take_records());
            }
        }
    }
}

/// The navigation entry, if the browser has one.
pub fn navigation_entry() -> Option<Entry> {
    let first = ffi::entries_by_type("navigation").get(0);
    (!first.is_undefined()).then(|| first.unchecked_into())
}
