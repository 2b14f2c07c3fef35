//! The queue of spans and vitals waiting to be sent. It is flushed when it holds
//! `max_items`, on an interval, and when the page is hidden or unloads.

use js_sys::{Array, Object};

pub struct Queue {
    spans: Array,
    vitals: Array,
    max_items: u32,
}

impl Queue {
    pub fn new(max_items: u32) -> Self {
        Queue { spans: Array::new(), vitals: Array::new(), max_items }
    }

    pub fn push_span(&mut self, span: Object) {
        self.spans.push(&span);
    }

    pub fn push_vital(&mut self, vital: Object) {
        self.vitals.push(&vital);
    }

    pub fn is_full(&self) -> bool {
        self.spans.length() + self.vitals.length() >= self.max_items
    }

    /// Takes everything queued, or `None` when empty.
    pub fn take(&mut self) -> Option<(Array, Array)> {
        if self.spans.length() + self.vitals.length() == 0 {
            return None;
        }
        let spans = core::mem::replace(&mut self.spans, Array::new());
        let vitals = core::mem::replace(&mut self.vitals, Array::new());
        Some((spans, vitals))
    }
}
