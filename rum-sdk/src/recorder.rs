//! What one page view records, between the browser's facts coming in
//! ([`crate::bindings`]) and beacons going out: spans and vitals become beacon items and wait
//! in the [`Batch`].

use alloc::vec::Vec;

use crate::batch::Batch;
use crate::beacon::{self, Envelope, ItemKind};
use crate::json::Json;
use crate::trace::document_load::{Navigation, PageLoad, Resource};
use crate::trace::http::HttpCall;
use crate::trace::ids::IdGenerator;
use crate::trace::span::Span;
use crate::vitals::Report;

pub struct Recorder {
    pub envelope: Envelope,
    batch: Batch,
    ids: IdGenerator,
    page_load: Option<PageLoad>,
    /// The last beacon written, for JS to read.
    pub out: Vec<u8>,
}

impl Recorder {
    /// `seed`: random bits from `crypto.getRandomValues`, for the ids the wasm mints.
    pub fn new(envelope: Envelope, seed: u64) -> Self {
        Recorder {
            envelope,
            batch: Batch::default(),
            ids: IdGenerator::new(seed),
            page_load: Some(PageLoad::default()),
            out: Vec::new(),
        }
    }

    fn span(&mut self, span: &Span) -> bool {
        let mut j = Json::new();
        span.encode(&mut j);
        self.batch.push(ItemKind::Span, j.bytes)
    }

    /// A fetch or XHR call; true when a beacon is due.
    pub fn http(&mut self, call: HttpCall) -> bool {
        let span = call.into_span(self.envelope.view.start);
        self.span(&span)
    }

    /// A vital report with its attribution JSON; true when a beacon is due.
    pub fn vital(&mut self, report: &Report, generation: u32, attribution: &[u8]) -> bool {
        let item = beacon::vital(report, generation, &self.envelope.view, attribution);
        self.batch.push(ItemKind::Vital, item)
    }

    /// A resource timing entry seen before the page load was recorded.
    pub fn resource(&mut self, resource: Resource) {
        if let Some(load) = &mut self.page_load {
            load.add_resource(resource);
        }
    }

    /// The navigation entry, complete: records the page load's spans, once per page view.
    pub fn navigation(&mut self, nav: &Navigation) -> bool {
        let Some(load) = self.page_load.take() else {
            return false;
        };
        let mut due = false;
        for span in load.spans(nav, self.envelope.view.start, &mut self.ids) {
            due |= self.span(&span);
        }
        due
    }

    /// Writes the next beacon into [`Self::out`]; false when nothing is queued.
    pub fn next_beacon(&mut self, sent_at: f64) -> bool {
        self.batch
            .next_beacon(&self.envelope, sent_at, &mut self.out)
    }

    pub fn queued(&self) -> usize {
        self.batch.len()
    }
}
