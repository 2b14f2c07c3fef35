//! What one page view records, between the browser's facts coming in
//! ([`crate::bindings`]) and beacons going out: spans and vitals are written as beacon items
//! when they happen and wait in the [`Batch`].

use alloc::vec::Vec;

use crate::batch::Batch;
use crate::beacon::{self, Envelope, ItemKind};
use crate::json::Json;
use crate::trace::document_load::{Navigation, PageLoad, Resource};
use crate::trace::http::HttpCall;
use crate::trace::ids::IdGenerator;
use crate::vitals::Report;

pub struct Recorder {
    /// [`Envelope::encode`]'s bytes.
    envelope: Vec<u8>,
    view_id: Vec<u8>,
    navigation_type: Vec<u8>,
    time_origin: f64,
    batch: Batch,
    ids: IdGenerator,
    page_load: Option<PageLoad>,
    /// The last beacon written, for JS to read.
    pub out: Vec<u8>,
}

impl Recorder {
    /// `seed`: random bits from `crypto.getRandomValues`, for the ids the wasm mints.
    pub fn new(envelope: &Envelope, seed: u64) -> Self {
        Recorder {
            envelope: envelope.encode(),
            view_id: envelope.view_id.into(),
            navigation_type: envelope.navigation_type.into(),
            time_origin: envelope.view_start,
            batch: Batch::default(),
            ids: IdGenerator::new(seed),
            page_load: Some(PageLoad::default()),
            out: Vec::new(),
        }
    }

    /// A fetch or XHR call; true when a beacon is due.
    pub fn http(&mut self, call: &HttpCall) -> bool {
        let mut j = Json::new();
        call.write(self.time_origin, &mut j);
        self.batch.push(ItemKind::Span, j.bytes)
    }

    /// A vital report with its attribution JSON; true when a beacon is due.
    pub fn vital(&mut self, report: &Report, generation: u32, attribution: &[u8]) -> bool {
        let item = beacon::vital(
            report,
            generation,
            &self.view_id,
            &self.navigation_type,
            attribution,
        );
        self.batch.push(ItemKind::Vital, item.bytes)
    }

    /// A resource timing entry seen before the page load was recorded.
    pub fn resource(&mut self, resource: &Resource) {
        if let Some(load) = &mut self.page_load {
            load.add_resource(resource);
        }
    }

    /// The navigation entry, complete: records the page load's spans, once per page view.
    /// True when a beacon is due.
    pub fn navigation(&mut self, nav: &Navigation) -> bool {
        let Some(load) = self.page_load.take() else {
            return false;
        };
        let batch = &mut self.batch;
        let mut due = false;
        load.write(nav, self.time_origin, &mut self.ids, |j| {
            due |= batch.push(ItemKind::Span, j.bytes)
        });
        due
    }

    /// Writes the next beacon into [`Self::out`]; false when nothing is queued.
    pub fn next_beacon(&mut self, sent_at: f64) -> bool {
        self.batch
            .next_beacon(&self.envelope, sent_at, &mut self.out)
    }
}
