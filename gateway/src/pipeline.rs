//! The one place the ingest handlers hand a validated batch through the policy stages, in
//! the order data flows: caps → (enrich) → scrub → truncate → sample. Both endpoints call
//! [`Pipeline::process`] between validation and the store.

use axum::http::HeaderMap;
use bytes::Bytes;

use crate::config::{Config, Limits};
use crate::error::Rejection;
use crate::limit::{caps, decode, RateLimits};
use crate::model::Batch;
use crate::sample::Sampler;
use crate::scrub::Scrubber;

#[derive(Debug)]
pub struct Pipeline {
    limits: Limits,
    scrubber: Scrubber,
    sampler: Sampler,
    pub rate: RateLimits,
}

impl Pipeline {
    pub fn new(config: &Config) -> Pipeline {
        Pipeline {
            limits: config.limits().clone(),
            scrubber: Scrubber::new(config.scrub()),
            sampler: Sampler::new(config.sample()),
            rate: RateLimits::new(config.limits(), config.apps()),
        }
    }

    /// The request body inflated per its `Content-Encoding`, within the decompressed cap.
    pub fn decode_body(&self, headers: &HeaderMap, body: Bytes) -> Result<Bytes, Rejection> {
        decode::decode_body(headers, body, self.limits.max_decompressed_bytes)
    }

    /// As [`Pipeline::decode_body`], with an encoding named in the query string too.
    pub fn decode_body_named(
        &self,
        headers: &HeaderMap,
        named: Option<&str>,
        body: Bytes,
    ) -> Result<Bytes, Rejection> {
        decode::decode_body_with(headers, named, body, self.limits.max_decompressed_bytes)
    }

    /// A validated batch → what may be stored and exported: count caps, then `enrich`
    /// (client address, geo, user agent, clock skew: before scrubbing drops the client
    /// address), the time window, scrub, string truncation and sampling. Refuses a batch over
    /// the count caps or with a time outside the window; everything else is a transformation.
    pub fn process(
        &self,
        batch: Batch,
        enrich: impl FnOnce(Batch) -> Batch,
    ) -> Result<Batch, Rejection> {
        caps::check_counts(&batch, &self.limits)?;
        let batch = enrich(batch);
        caps::check_times(&batch, now_unix_nano(), self.limits.max_future_secs)?;
        let batch = self.scrubber.scrub(batch);
        // After scrubbing, so a cut cannot leave half an e-mail address unmasked.
        let batch = caps::truncate_strings(batch, self.limits.max_string_chars);
        Ok(self.sampler.sample(batch))
    }
}

fn now_unix_nano() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
