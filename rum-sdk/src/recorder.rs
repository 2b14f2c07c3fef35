//! What one page view records, between the browser's facts coming in
//! ([`crate::bindings`]) and beacons going out: spans and vitals are written as beacon items
//! when they happen and wait in the [`Batch`].

use crate::batch::{Batch, ItemKind};
use crate::beacon::{self, Envelope};
use crate::trace::document_load::{Navigation, PageLoad, Resource};
use crate::trace::http::HttpCall;
use crate::trace::ids::IdGenerator;
use crate::vitals::Report;

/// Room for the envelope: URL and referrer of at most 4096 bytes each, escaped.
pub const ENVELOPE_BYTES: usize = 12 * 1024;

pub struct Recorder<'a> {
    /// [`Envelope::encode`]'s bytes.
    envelope: [u8; ENVELOPE_BYTES],
    envelope_len: usize,
    view_id: [u8; 16],
    /// web-vitals' navigation type, at most `back-forward` long.
    navigation_type: ([u8; 16], usize),
    time_origin: f64,
    batch: Batch<'a>,
    ids: IdGenerator,
    page_load: Option<PageLoad>,
    /// True once the page load was recorded: once per page view.
    page_load_done: bool,
}

impl<'a> Recorder<'a> {
    /// `seed`: random bits from `crypto.getRandomValues`, for the ids the wasm mints;
    /// `arena`: the batch's bytes ([`crate::batch::QUEUE_BYTES`] in the wasm).
    pub fn new(envelope: &Envelope, seed: u64, arena: &'a mut [u8]) -> Self {
        let mut r = Recorder {
            envelope: [0; ENVELOPE_BYTES],
            envelope_len: 0,
            view_id: [0; 16],
            navigation_type: ([0; 16], 0),
            time_origin: envelope.view_start,
            batch: Batch::new(arena),
            ids: IdGenerator::new(seed),
            page_load: None,
            page_load_done: false,
        };
        r.envelope_len = envelope.encode(&mut r.envelope);
        for (slot, b) in r.view_id.iter_mut().zip(envelope.view_id) {
            *slot = *b;
        }
        for (slot, b) in r.navigation_type.0.iter_mut().zip(envelope.navigation_type) {
            *slot = *b;
            r.navigation_type.1 += 1;
        }
        r
    }

    /// Whether the envelope fit its buffer ([`ENVELOPE_BYTES`]); without it, beacons would be
    /// refused.
    pub fn has_envelope(&self) -> bool {
        self.envelope_len > 0
    }

    /// A fetch or XHR call; true when a beacon is due.
    pub fn http(&mut self, call: &HttpCall) -> bool {
        let origin = self.time_origin;
        self.batch
            .push(ItemKind::Span, &mut |j| call.write(origin, j))
    }

    /// A vital report with its attribution JSON; true when a beacon is due.
    pub fn vital(&mut self, report: &Report, generation: u32, attribution: &[u8]) -> bool {
        let (view, (nav, nav_len)) = (&self.view_id, &self.navigation_type);
        let nav = nav.get(..*nav_len).unwrap_or_default();
        self.batch.push(ItemKind::Vital, &mut |j| {
            beacon::vital(j, report, generation, view, nav, attribution)
        })
    }

    /// The navigation entry, complete (`last` false), before its resources; then again
    /// (`last` true) after them, which records `documentLoad` and `documentFetch`. Once per
    /// page view. True when a beacon is due.
    pub fn navigation(&mut self, nav: &Navigation, last: bool) -> bool {
        if self.page_load_done {
            return false;
        }
        if !last {
            self.page_load = Some(PageLoad::start(nav, &mut self.ids));
            return false;
        }
        self.page_load_done = true;
        match self.page_load.take() {
            Some(load) => load.finish(nav, self.time_origin, &mut self.ids, &mut self.batch),
            None => false,
        }
    }

    /// A resource timing entry, between the two [`Recorder::navigation`] calls. True when
    /// a beacon is due.
    pub fn resource(&mut self, resource: &Resource) -> bool {
        match &mut self.page_load {
            Some(load) => load.resource(resource, self.time_origin, &mut self.ids, &mut self.batch),
            None => false,
        }
    }

    /// Writes the next beacon into `out` ([`crate::batch::MAX_BYTES`]); its length, 0 when
    /// nothing is queued.
    pub fn next_beacon(&mut self, sent_at: f64, out: &mut [u8]) -> usize {
        let envelope = self.envelope.get(..self.envelope_len).unwrap_or_default();
        self.batch.next_beacon(envelope, sent_at, out)
    }

    /// Items dropped: over the span cap, or no room.
    pub fn dropped(&self) -> u32 {
        self.batch.dropped
    }
}
