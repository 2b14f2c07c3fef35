//! The stages after validation, in the order data flows: enrich → scrub → truncate → sample.
//! Both ingest endpoints call [`Pipeline::process`] between validation and the store. None of
//! these stages can refuse a request: they transform it, and what they drop or cut is
//! counted in the self-metrics.

use std::sync::Arc;

use crate::enrich::{Enricher, RequestContext};
use crate::limit::caps;
use crate::model::Batch;
use crate::sample::{SampleConfig, Sampler};
use crate::scrub::{ScrubConfig, Scrubber};
use crate::telemetry::{Counter, Telemetry};
use crate::validate::ValidBatch;

pub struct Pipeline {
    enricher: Arc<Enricher>,
    scrubber: Scrubber,
    sampler: Sampler,
    max_string_chars: usize,
    telemetry: Arc<Telemetry>,
}

impl Pipeline {
    pub fn new(
        enricher: Arc<Enricher>,
        scrub: &ScrubConfig,
        sample: &SampleConfig,
        max_string_chars: usize,
        telemetry: Arc<Telemetry>,
    ) -> Pipeline {
        Pipeline {
            enricher,
            scrubber: Scrubber::new(scrub),
            sampler: Sampler::new(sample),
            max_string_chars,
            telemetry,
        }
    }

    /// A validated batch → what may be stored and exported: enrich (client address, geo,
    /// user agent, clock skew: before scrubbing drops the client address), scrub, string
    /// truncation (after scrubbing, so a cut cannot leave half an e-mail address unmasked),
    /// sampling.
    pub fn process(&self, valid: ValidBatch, ctx: &RequestContext) -> Batch {
        let batch = self.enricher.enrich(valid, ctx);
        let batch = self.scrubber.scrub(batch);
        let (batch, truncated) = caps::truncate_strings(batch, self.max_string_chars);
        self.telemetry.add(Counter::StringsTruncated, truncated);
        let (batch, sampled_out) = self.sampler.sample(batch);
        self.telemetry.add(Counter::SpansSampledOut, sampled_out);
        batch
    }
}
