//! The batching policy: items wait here and leave together as beacons.
//!
//! * A beacon is due when [`MAX_ITEMS`] are queued, every [`INTERVAL_MS`] (JS runs the timer
//!   at the interval [`crate::bindings::init`] returns), when the page is hidden, and at
//!   `pagehide`; then everything queued leaves.
//! * A beacon is at most [`MAX_BYTES`]: `sendBeacon` and keepalive `fetch` share a 64 KB
//!   quota of bytes in flight, so beacons of 30 KB leave room for two at once while the page
//!   unloads. A larger batch leaves as several beacons, items in the order they came.
//! * Spans per page view are capped at [`MAX_SPANS_PER_VIEW`]; what is over it is counted,
//!   not queued, so a page that polls forever cannot grow the queue without bound.
//!
//! What JS does with a beacon (compress it while the page lives, send it plain while it
//! unloads) is the transport's business, in `js/src/send.js`.

use alloc::vec::Vec;

use crate::beacon::{self, ItemKind};

pub const MAX_ITEMS: usize = 30;
pub const MAX_BYTES: usize = 30_000;
pub const INTERVAL_MS: u32 = 5000;
pub const MAX_SPANS_PER_VIEW: u32 = 1000;

#[derive(Default)]
pub struct Batch {
    items: Vec<(ItemKind, Vec<u8>)>,
    spans_this_view: u32,
    /// Spans over [`MAX_SPANS_PER_VIEW`], and items too large for any beacon.
    pub dropped: u32,
}

impl Batch {
    /// Queues an encoded item; true when a beacon is now due.
    pub fn push(&mut self, kind: ItemKind, item: Vec<u8>) -> bool {
        if kind == ItemKind::Span {
            if self.spans_this_view >= MAX_SPANS_PER_VIEW {
                self.dropped += 1;
                return false;
            }
            self.spans_this_view += 1;
        }
        self.items.push((kind, item));
        self.items.len() >= MAX_ITEMS
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The next beacon of what is queued, written into `out`; false when nothing is left.
    /// Call until false to send everything. `envelope` is [`beacon::Envelope::encode`]'s.
    pub fn next_beacon(&mut self, envelope: &[u8], sent_at: f64, out: &mut Vec<u8>) -> bool {
        while !self.items.is_empty() {
            let n = beacon::write(envelope, sent_at, &self.items, MAX_BYTES, out);
            // One item larger than a beacon can be (n = 0) can never leave: dropped.
            let mut taken = 0;
            self.items.retain(|_| {
                taken += 1;
                taken > n.max(1)
            });
            if n > 0 {
                return true;
            }
            self.dropped += 1;
        }
        false
    }
}

#[cfg(test)]
mod tests;
