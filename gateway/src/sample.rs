//! The sample stage: which traces the gateway keeps.
//!
//! * The SDK's head decision is honoured: beacons carry sampled sessions only, and OTLP
//!   exporters send only the spans their SDK sampled. `Span.flags` is not read for it: the
//!   Python and Go SDKs fill in only the is-remote bits (`0x100`/`0x300`) and leave the W3C
//!   sampled bit 0 on spans they sampled.
//! * Then the gateway's own ratio, from the first `[[sample.rules]]` entry matching the
//!   span's `service.name` and `deployment.environment.name` (default 1.0), decided from the
//!   trace id exactly as OpenTelemetry's `TraceIdRatioBased` sampler does. The decision is a
//!   pure function of the trace id, so a trace's browser and backend spans are kept or
//!   dropped together whichever arrives first; with different ratios per service, a trace
//!   kept at the lower ratio is also kept at the higher one.
//! * `keep_errors`: a trace with an error span in the same request is kept whole (that
//!   request's spans of it). The decision is per batch: spans of that trace that arrived in
//!   an earlier or later request were decided by the ratio alone.
//!
//! Page views and vitals are per session, not per trace, and always kept (the SDK samples
//! sessions). Kept spans record their ratio in the attribute `sampling.ratio` when it is
//! below 1.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use crate::config::error::Invalid;
use crate::model::attr::{
    DEPLOYMENT_ENVIRONMENT as ENVIRONMENT, DEPLOYMENT_ENVIRONMENT_OLD as ENVIRONMENT_OLD,
    SAMPLING_KEPT_FOR_ERROR, SAMPLING_RATIO, SERVICE_NAME,
};
use crate::model::{Batch, Span, StatusCode, TraceId};

/// The `[sample]` config section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SampleConfig {
    /// First match wins; no match means ratio 1.0. Defaults to none.
    pub rules: Vec<SampleRule>,
    /// Keep every trace that has an error span in the request. Defaults to false.
    pub keep_errors: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleRule {
    /// Matches `service.name` exactly; absent matches any.
    pub service: Option<String>,
    /// Matches `deployment.environment.name` exactly; absent matches any.
    pub environment: Option<String>,
    /// Share of traces kept, 0.0 to 1.0.
    pub ratio: f64,
}

impl SampleConfig {
    pub fn check(&self) -> Result<(), Invalid> {
        for rule in &self.rules {
            if !(0.0..=1.0).contains(&rule.ratio) {
                return Err(Invalid::new(
                    "sample.rules.ratio",
                    format!("{} is not between 0.0 and 1.0", rule.ratio),
                ));
            }
        }
        Ok(())
    }
}

/// OpenTelemetry's `TraceIdRatioBased` decision: the trace id's low 8 bytes, big-endian,
/// shifted right by one, below `ratio · 2⁶³`.
pub fn trace_id_ratio_keeps(trace_id: &TraceId, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    let bound = (ratio.max(0.0) * (1u64 << 63) as f64) as u64;
    let mut low = [0u8; 8];
    low.copy_from_slice(&trace_id.0[8..16]);
    (u64::from_be_bytes(low) >> 1) < bound
}

#[derive(Debug, Clone)]
pub struct Sampler {
    config: SampleConfig,
}

impl Sampler {
    pub fn new(config: &SampleConfig) -> Sampler {
        Sampler {
            config: config.clone(),
        }
    }

    /// The ratio of the first rule matching the span's resource.
    pub fn ratio_for(&self, span: &Span) -> f64 {
        let attr = |key: &str| span.resource.get(key).and_then(Value::as_str);
        let service = attr(SERVICE_NAME);
        let environment = attr(ENVIRONMENT).or_else(|| attr(ENVIRONMENT_OLD));
        let matches = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == have)
        };
        self.config
            .rules
            .iter()
            .find(|r| matches(&r.service, service) && matches(&r.environment, environment))
            .map_or(1.0, |r| r.ratio)
    }

    /// The batch without the spans the rules drop, and how many that was.
    pub fn sample(&self, mut batch: Batch) -> (Batch, u64) {
        if self.config.rules.is_empty() {
            return (batch, 0);
        }
        let error_traces: HashSet<TraceId> = if self.config.keep_errors {
            batch
                .spans
                .iter()
                .filter(|s| s.status == StatusCode::Error)
                .map(|s| s.trace_id)
                .collect()
        } else {
            HashSet::new()
        };
        let before = batch.spans.len();
        batch.spans.retain_mut(|span| {
            let ratio = self.ratio_for(span);
            let by_ratio = trace_id_ratio_keeps(&span.trace_id, ratio);
            let for_error = !by_ratio && error_traces.contains(&span.trace_id);
            if ratio < 1.0 && (by_ratio || for_error) {
                span.attributes
                    .insert(SAMPLING_RATIO.into(), Value::from(ratio));
            }
            if for_error {
                span.attributes
                    .insert(SAMPLING_KEPT_FOR_ERROR.into(), Value::Bool(true));
            }
            by_ratio || for_error
        });
        let dropped = before - batch.spans.len();
        (batch, dropped as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{testing, Attributes, Source};

    fn span(trace: u8, service: &str, env: &str, status: StatusCode) -> Span {
        let mut resource = Attributes::new();
        resource.insert(SERVICE_NAME.into(), service.into());
        resource.insert(ENVIRONMENT.into(), env.into());
        Span {
            status,
            resource,
            source: Source::Otlp,
            ..testing::span(trace, 1)
        }
    }

    fn sampler(toml_text: &str) -> Sampler {
        Sampler::new(&toml::from_str::<SampleConfig>(toml_text).expect("toml"))
    }

    #[test]
    fn ratio_boundaries_match_the_reference_formula() {
        // Low half 0x00…: kept at any ratio > 0; 0xff…: dropped at any ratio < 1.
        let low = TraceId([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
        let high = TraceId([0xff; 16]);
        assert!(trace_id_ratio_keeps(&low, 0.0001));
        assert!(!trace_id_ratio_keeps(&low, 0.0));
        assert!(!trace_id_ratio_keeps(&high, 0.9999));
        assert!(trace_id_ratio_keeps(&high, 1.0));
        // 0x80… >> 1 = 2^62: exactly at ratio 0.5's bound, so dropped; just below is kept.
        let half = TraceId([0, 0, 0, 0, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 0]);
        let below = TraceId([
            0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ]);
        assert!(!trace_id_ratio_keeps(&half, 0.5));
        assert!(trace_id_ratio_keeps(&below, 0.5));
    }

    #[test]
    fn first_matching_rule_wins() {
        let s = sampler(
            "[[rules]]\nservice = \"web\"\nenvironment = \"prod\"\nratio = 0.1\n\
             [[rules]]\nservice = \"web\"\nratio = 0.5\n[[rules]]\nratio = 0.25\n",
        );
        assert_eq!(s.ratio_for(&span(1, "web", "prod", StatusCode::Unset)), 0.1);
        assert_eq!(
            s.ratio_for(&span(1, "web", "staging", StatusCode::Unset)),
            0.5
        );
        assert_eq!(
            s.ratio_for(&span(1, "api", "prod", StatusCode::Unset)),
            0.25
        );
        assert_eq!(
            sampler("").ratio_for(&span(1, "api", "prod", StatusCode::Unset)),
            1.0
        );
    }

    #[test]
    fn keep_errors_keeps_the_whole_trace_of_the_batch() {
        // 0xff in the low half: dropped at ratio 0.5.
        let batch = Batch {
            spans: vec![
                span(0xff, "web", "prod", StatusCode::Unset),
                span(0xff, "web", "prod", StatusCode::Error),
                span(0xfe, "web", "prod", StatusCode::Ok),
                span(0x01, "web", "prod", StatusCode::Unset),
            ],
            ..Batch::default()
        };
        let (kept, dropped) =
            sampler("keep_errors = true\n[[rules]]\nratio = 0.5\n").sample(batch.clone());
        assert_eq!(dropped, 1);
        let ids: Vec<u8> = kept.spans.iter().map(|s| s.trace_id.0[15]).collect();
        assert_eq!(ids, [0xff, 0xff, 0x01]);
        assert_eq!(kept.spans[0].attributes[SAMPLING_KEPT_FOR_ERROR], true);
        assert_eq!(kept.spans[2].attributes[SAMPLING_RATIO], 0.5);
        let (without, dropped) = sampler("[[rules]]\nratio = 0.5\n").sample(batch);
        assert_eq!((without.spans.len(), dropped), (1, 3));
    }

    #[test]
    fn a_bad_ratio_is_refused() {
        assert!(toml::from_str::<SampleConfig>("[[rules]]\nratio = 1.5\n")
            .expect("toml")
            .check()
            .is_err());
    }
}
