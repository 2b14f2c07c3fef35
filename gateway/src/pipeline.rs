//! The stages after validation, in the order data flows: enrich → scrub → errors → truncate,
//! then the export encoding. Both ingest endpoints call [`Pipeline::process`] between
//! validation and the store. None of these stages can refuse a request: they transform it,
//! and what they cut is counted in the self-metrics. Sampling is decided per trace after the
//! store has the spans (`sample`, `store/tail.rs`), not per request here.

use std::sync::Arc;

use crate::enrich::{Enricher, RequestContext};
use crate::errors::Errors;
use crate::export::encode::Encoder;
use crate::limit::caps;
use crate::model::attr::CLOCK_SKEW_ADJUSTED_MS;
use crate::model::time::now_unix_nano;
use crate::model::{Batch, ExportPayload};
use crate::scrub::{ScrubConfig, Scrubber};
use crate::telemetry::{Counter, Telemetry};
use crate::validate::ValidBatch;

pub struct Pipeline {
    enricher: Arc<Enricher>,
    scrubber: Scrubber,
    errors: Errors,
    max_string_chars: usize,
    /// `None` when export is off.
    encoder: Option<Encoder>,
    telemetry: Arc<Telemetry>,
}

/// What the store receives: the batch, and its export requests (empty when export is off).
#[derive(Debug)]
pub struct Processed {
    pub batch: Batch,
    pub payloads: Vec<ExportPayload>,
}

/// The clock-skew correction of the journey's times, which `enrich::clock_skew` (spans and
/// view starts) does not move: a view's end, the browser events and errors shift by the same offset,
/// so the timeline keeps its order.
fn shift_journey_times(batch: &mut Batch, offset_nanos: i64) {
    let shift = |nanos: i64| nanos.saturating_add(offset_nanos).max(0);
    let ms = serde_json::Value::from(offset_nanos / 1_000_000);
    for view in &mut batch.page_views {
        view.end_unix_nano = view.end_unix_nano.map(shift);
    }
    for event in &mut batch.events {
        event.time_unix_nano = shift(event.time_unix_nano);
        event
            .attributes
            .insert(CLOCK_SKEW_ADJUSTED_MS.into(), ms.clone());
    }
    for error in &mut batch.errors {
        error.time_unix_nano = shift(error.time_unix_nano);
        error
            .attributes
            .insert(CLOCK_SKEW_ADJUSTED_MS.into(), ms.clone());
    }
}

impl Pipeline {
    pub fn new(
        enricher: Arc<Enricher>,
        scrub: &ScrubConfig,
        errors: Errors,
        max_string_chars: usize,
        encoder: Option<Encoder>,
        telemetry: Arc<Telemetry>,
    ) -> Pipeline {
        Pipeline {
            enricher,
            scrubber: Scrubber::new(scrub),
            errors,
            max_string_chars,
            encoder,
            telemetry,
        }
    }

    /// A validated batch → what may be stored and exported: enrich (client address, geo,
    /// user agent, clock skew: before scrubbing drops the client address), scrub, string
    /// truncation (after scrubbing, so a cut cannot leave half an e-mail address unmasked);
    /// then the export encoding (on the request's task, not the store's writer thread).
    pub fn process(&self, valid: ValidBatch, ctx: &RequestContext) -> Processed {
        let clock_offset_nanos = valid.clock_offset_nanos;
        let mut batch = self.enricher.enrich(valid, ctx);
        if let Some(offset) = clock_offset_nanos {
            shift_journey_times(&mut batch, offset);
        }
        let mut batch = self.scrubber.scrub(batch);
        // Errors are parsed, symbolicated and grouped after scrubbing, so a masked e-mail
        // address in a message cannot split a group.
        self.errors.process(&mut batch);
        let (batch, truncated) = caps::truncate_strings(batch, self.max_string_chars);
        self.telemetry.add(Counter::StringsTruncated, truncated);
        let payloads = self
            .encoder
            .map(|e| e.encode(&batch, now_unix_nano()))
            .unwrap_or_default();
        Processed { batch, payloads }
    }
}
