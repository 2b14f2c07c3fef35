//! The batching policy: items wait here and leave together as beacons.
//!
//! * A beacon is due when [`MAX_ITEMS`] are queued, every [`INTERVAL_MS`] (JS runs the timer
//!   at the interval [`crate::bindings::init`] returns), when the page is hidden, and at
//!   `pagehide`; then everything queued leaves.
//! * A beacon is at most [`MAX_BYTES`]: `sendBeacon` and keepalive `fetch` share a 64 KB
//!   quota of bytes in flight, so beacons of 30 KB leave room for two at once while the page
//!   unloads. A larger batch leaves as several beacons, items in the order they came.
//! * Spans per page view are capped at [`MAX_SPANS_PER_VIEW`]; what is over it is counted,
//!   not queued, so a page that polls forever cannot grow the queue without bound. So is an
//!   item when the queue's bytes are full, or one larger than a beacon can be.
//!
//! Items are written straight into the queue's bytes (a fixed arena, no allocation) and
//! removed from its front as beacons take them. What JS does with a beacon (compress it
//! while the page lives, send it plain while it unloads) is the transport's business, in
//! `js/src/send.js`.

use crate::json::Json;

pub const MAX_ITEMS: usize = 30;
pub const MAX_BYTES: usize = 30_000;
pub const INTERVAL_MS: u32 = 5000;
pub const MAX_SPANS_PER_VIEW: u32 = 1000;
/// Items queued at once; more are dropped and counted.
pub const MAX_QUEUED: usize = 512;
/// The arena the wasm gives a batch: room for a page load's 252 spans between drains.
pub const QUEUE_BYTES: usize = 256 * 1024;

/// Which array of the beacon an item goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Span,
    Vital,
    Event,
    Error,
}

pub struct Batch<'a> {
    /// Items back to back from the start; `used` bytes of them.
    arena: &'a mut [u8],
    used: usize,
    /// Each queued item's kind and length, oldest first.
    items: [(ItemKind, usize); MAX_QUEUED],
    count: usize,
    spans_this_view: u32,
    /// Spans over [`MAX_SPANS_PER_VIEW`], and items that found no room.
    pub dropped: u32,
}

impl<'a> Batch<'a> {
    pub fn new(arena: &'a mut [u8]) -> Self {
        Batch {
            arena,
            used: 0,
            items: [(ItemKind::Span, 0); MAX_QUEUED],
            count: 0,
            spans_this_view: 0,
            dropped: 0,
        }
    }

    /// Queues the item `write` writes; true when a beacon is now due.
    pub fn push(&mut self, kind: ItemKind, write: &mut dyn FnMut(&mut Json)) -> bool {
        if kind == ItemKind::Span && self.spans_this_view >= MAX_SPANS_PER_VIEW {
            self.dropped += 1;
            return false;
        }
        let free = self.arena.get_mut(self.used..).unwrap_or_default();
        let mut j = Json::new(free);
        write(&mut j);
        let len = j.len();
        match self.items.get_mut(self.count) {
            Some(slot) if !j.full && len <= MAX_BYTES => {
                *slot = (kind, len);
                self.count += 1;
                self.used += len;
                self.spans_this_view += u32::from(kind == ItemKind::Span);
            }
            _ => self.dropped += 1,
        }
        self.count >= MAX_ITEMS
    }

    /// A new view (an SPA route change) begins: its spans have their own cap.
    pub fn new_view(&mut self) {
        self.spans_this_view = 0;
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The queued items, oldest first.
    pub fn items(&self) -> impl Iterator<Item = (ItemKind, &[u8])> {
        let mut at = 0;
        self.items.iter().take(self.count).map(move |&(kind, len)| {
            let item = self.arena.get(at..at + len).unwrap_or_default();
            at += len;
            (kind, item)
        })
    }

    /// The next beacon of what is queued, written into `out` with the fields `envelope`
    /// writes; its length, 0 when nothing is queued. Call until 0 to send everything.
    /// `update`: send a beacon even with nothing queued (the view has news).
    pub fn next_beacon(
        &mut self,
        envelope: &mut dyn FnMut(&mut Json),
        sent_at: f64,
        out: &mut [u8],
        update: bool,
    ) -> usize {
        if self.count == 0 {
            return if update {
                crate::beacon::write(envelope, sent_at, &[], self.arena, out).1
            } else {
                0
            };
        }
        let queued = self.items.get(..self.count).unwrap_or_default();
        let (n, len) = crate::beacon::write(envelope, sent_at, queued, self.arena, out);
        // A first item that fits no beacon (n = 0) can never leave: dropped.
        let taken = n.max(1);
        self.dropped += u32::from(n == 0);
        let bytes: usize = self.items.iter().take(taken).map(|(_, len)| len).sum();
        shift(self.arena, bytes, self.used);
        self.used -= bytes;
        for i in 0..self.count - taken {
            if let Some(&next) = self.items.get(i + taken) {
                if let Some(slot) = self.items.get_mut(i) {
                    *slot = next;
                }
            }
        }
        self.count -= taken;
        if n == 0 {
            return self.next_beacon(envelope, sent_at, out, false);
        }
        len
    }
}

/// Moves `bytes[from..end]` to the front. (A loop of checked accesses: `copy_within`'s
/// panic path would bring formatting code into the wasm.)
fn shift(bytes: &mut [u8], from: usize, end: usize) {
    for i in from..end {
        if let Some(&b) = bytes.get(i) {
            if let Some(slot) = bytes.get_mut(i - from) {
                *slot = b;
            }
        }
    }
}

#[cfg(test)]
mod tests;
