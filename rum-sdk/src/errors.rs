//! Errors the page met (`docs/beacon-v1.md`: `errors`): uncaught exceptions, unhandled
//! rejections, failed loads of scripts, stylesheets and images, and `rum.error` calls,
//! written as beacon items. JS reads them from the browser's events
//! (`js/src/errors.js`); the gateway parses the stacks, symbolicates and groups them.
//!
//! De-duplication, per view: the same error again (its type, message and the top of its
//! stack) is counted, not sent again; its count goes out as an update of the first record
//! (same `id`, a higher `count`) with the next beacon. At most [`MAX_PER_VIEW`] distinct
//! errors per view (the view's cap, [`crate::journey::view::CAPS`]); more are counted in
//! `view.dropped.errors`.

use crate::batch::{Batch, ItemKind};
use crate::json::Json;
use crate::text::Text;
use crate::trace::ids::{IdGenerator, SpanId, TraceId};

/// Distinct errors one view records.
pub const MAX_PER_VIEW: usize = 50;
/// Longest stack kept, in bytes.
pub const MAX_STACK_BYTES: usize = 16 * 1024;
/// Longest message kept, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// How many bytes of the stack tell two errors apart (its top frames).
const KEY_STACK_BYTES: usize = 300;

/// Where an error came from, as `kind` values; JS sends the index.
pub const KINDS: [&str; 5] = [
    "uncaught",
    "unhandledrejection",
    "handled",
    "console",
    "resource",
];

/// What JS read from the browser.
pub struct PageError<'a> {
    pub kind: &'static str,
    pub error_type: &'a [u8],
    pub message: &'a [u8],
    pub stack: &'a [u8],
    pub source: &'a [u8],
    pub line: u32,
    pub col: u32,
    /// Milliseconds since the navigation's start.
    pub time: f64,
    /// The request that failed with it: its trace and client span.
    pub request: Option<(TraceId, SpanId)>,
    /// The user action in progress, if the error came within its window.
    pub action: Option<SpanId>,
    pub attrs: &'a [u8],
}

#[derive(Clone, Copy)]
struct Seen {
    key: u64,
    id: SpanId,
    error_type: Text<64>,
    kind: &'static str,
    time: f64,
    count: u32,
    /// Whether `count` grew since the record or its last update left.
    dirty: bool,
}

/// The errors of the current view.
pub struct Errors {
    seen: [Option<Seen>; MAX_PER_VIEW],
}

impl Default for Errors {
    fn default() -> Self {
        Errors {
            seen: [None; MAX_PER_VIEW],
        }
    }
}

/// What makes two errors the same: type, message, the top of the stack, the source.
fn key_of(e: &PageError) -> u64 {
    let stack_top = e.stack.get(..KEY_STACK_BYTES).unwrap_or(e.stack);
    key(&[e.error_type, e.message, stack_top, e.source])
}

/// FNV-1a over `parts`.
fn key(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x100_0000_01b3);
    }
    h
}

impl Errors {
    /// Whether `e` was recorded in this view before; then it is counted.
    pub fn seen_again(&mut self, e: &PageError) -> bool {
        let k = key_of(e);
        match self.seen.iter_mut().flatten().find(|s| s.key == k) {
            Some(seen) => {
                seen.count += 1;
                seen.dirty = true;
                true
            }
            None => false,
        }
    }

    /// Queues the first record of `e` in `batch` (after [`Errors::seen_again`] said no and
    /// the view's cap let it in). True when a beacon is due.
    pub fn record(
        &mut self,
        e: &PageError,
        ids: &mut IdGenerator,
        time_origin: f64,
        batch: &mut Batch,
    ) -> bool {
        let Some(slot) = self.seen.iter_mut().find(|s| s.is_none()) else {
            return false;
        };
        let id = ids.span_id();
        *slot = Some(Seen {
            key: key_of(e),
            id,
            error_type: Text::new(e.error_type),
            kind: e.kind,
            time: e.time,
            count: 1,
            dirty: false,
        });
        batch.push(ItemKind::Error, &mut |j| {
            write_error(j, e, &id, time_origin)
        })
    }

    /// Queues count updates of the errors seen again since their record or last update
    /// was queued (the gateway keeps the highest count of an id).
    pub fn updates(&mut self, time_origin: f64, batch: &mut Batch) {
        for seen in self.seen.iter_mut().flatten().filter(|s| s.dirty) {
            seen.dirty = false;
            let s = *seen;
            batch.push(ItemKind::Error, &mut |j| {
                j.open(b'{');
                j.key("id").text(&s.id.0);
                j.key("type").text(s.error_type.get());
                j.key("message").str("");
                j.key("kind").str(s.kind);
                j.key("time").ms(time_origin + s.time);
                j.key("count").uint(s.count.into());
                j.close(b'}');
            });
        }
    }
}

/// The first record of an error.
fn write_error(j: &mut Json, e: &PageError, id: &SpanId, time_origin: f64) {
    j.open(b'{');
    j.key("id").text(&id.0);
    j.key("type").text(e.error_type);
    j.key("message")
        .text(e.message.get(..MAX_MESSAGE_BYTES).unwrap_or(e.message));
    if !e.stack.is_empty() {
        j.key("stack")
            .text(e.stack.get(..MAX_STACK_BYTES).unwrap_or(e.stack));
    }
    if !e.source.is_empty() {
        j.key("source").text(e.source);
        j.key("line").uint(e.line.into());
        j.key("col").uint(e.col.into());
    }
    j.key("kind").str(e.kind);
    j.key("time").ms(time_origin + e.time);
    j.key("count").uint(1);
    if let Some(action) = &e.action {
        j.key("actionSpanId").text(&action.0);
    }
    if let Some((trace, span)) = &e.request {
        j.key("traceId").text(&trace.0).key("spanId").text(&span.0);
    }
    if e.attrs.first() == Some(&b'{') {
        j.key("attrs").raw(e.attrs);
    }
    j.close(b'}');
}

#[cfg(test)]
mod tests;
