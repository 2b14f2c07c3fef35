//! The sample stage: which traces the gateway keeps, decided per trace, not per request.
//!
//! * The SDK's head decision is honoured: beacons carry sampled sessions only, and OTLP
//!   exporters send only the spans their SDK sampled. `Span.flags` is not read for it: the
//!   Python and Go SDKs fill in only the is-remote bits (`0x100`/`0x300`) and leave the W3C
//!   sampled bit 0 on spans they sampled.
//! * Then **tail sampling**: a trace's spans (browser beacons and backend OTLP, in separate
//!   requests) are stored and acknowledged as they come, and wait for a decision window
//!   (`decision_wait_ms` after the trace's first span); then the trace is kept whole or its
//!   spans are deleted whole, by the policies of [`policy`], first match wins:
//!   1. a `[[sample.drop]]` rule matches a span: dropped (health checks, static assets; as
//!      the OpenTelemetry Collector's `drop` policy, it wins over every keep);
//!   2. an error (`keep_errors`): a span with status error or an `exception` event, or a
//!      browser error naming the trace: kept;
//!   3. slower than `slow_ms` or a `[[sample.slow]]` threshold for its service and route: kept;
//!   4. a `[[sample.keep]]` rule matches a span (a critical path): kept;
//!   5. the trace-id ratio of the first `[[sample.rules]]` entry matching the trace's service
//!      and environment (a fixed `ratio`, or an adaptive one from `target_traces_per_second`,
//!      [`adaptive`]), decided exactly as OpenTelemetry's `TraceIdRatioBased` sampler does.
//!
//! Spans that arrive after their trace's decision follow it. The mechanics (the waiting
//! traces' table, the decision pass, export after the decision) are in `store/tail.rs`.
//! When no policy can drop anything (no rule below 1.0, no adaptive rule, no drop rule) every
//! trace is kept and nothing waits.
//!
//! Page views and vitals are per session, not per trace, and always kept (the SDK samples
//! sessions). Kept spans record a ratio below 1 in the attribute `sampling.ratio`.

pub mod adaptive;
pub mod policy;

use serde::Deserialize;

use crate::config::error::Invalid;
use crate::model::TraceId;

/// The `[sample]` config section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SampleConfig {
    /// The trace-id ratio per service and environment; first match wins; no match means 1.0.
    pub rules: Vec<SampleRule>,
    /// Keep every trace with an error span, `exception` event or browser error. Default true.
    pub keep_errors: bool,
    /// How long a trace waits for more spans after its first, in milliseconds. Default 10,000.
    pub decision_wait_ms: u64,
    /// Keep traces slower than this (first span start to last span end), in ms; 0 is off
    /// (the default).
    pub slow_ms: u64,
    /// Slow thresholds per service and route (first match wins over `slow_ms`).
    pub slow: Vec<SlowRule>,
    /// Always keep traces with a span matching one of these.
    pub keep: Vec<AttributeRule>,
    /// Never keep traces with a span matching one of these.
    pub drop: Vec<AttributeRule>,
    /// Most traces waiting for a decision; past it the oldest is decided early. Default 100,000.
    pub max_waiting_traces: u64,
    /// Spans after which a waiting trace is decided early. Default 1,000.
    pub max_spans_per_trace: u64,
    /// How long a decision is remembered for spans arriving late, in ms. Default 60,000.
    pub remember_decisions_ms: u64,
    /// Most decisions remembered (in memory, about 60 bytes each); past it the oldest are
    /// forgotten early. Default 500,000.
    pub max_remembered_decisions: u64,
    /// The adaptive ratio's tuning (rules with `target_traces_per_second`).
    pub adaptive: adaptive::AdaptiveConfig,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            rules: Vec::new(),
            keep_errors: true,
            decision_wait_ms: 10_000,
            slow_ms: 0,
            slow: Vec::new(),
            keep: Vec::new(),
            drop: Vec::new(),
            max_waiting_traces: 100_000,
            max_spans_per_trace: 1_000,
            remember_decisions_ms: 60_000,
            max_remembered_decisions: 500_000,
            adaptive: adaptive::AdaptiveConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleRule {
    /// Matches `service.name` exactly; absent matches any.
    pub service: Option<String>,
    /// Matches `deployment.environment.name` exactly; absent matches any.
    pub environment: Option<String>,
    /// Share of traces kept, 0.0 to 1.0.
    pub ratio: Option<f64>,
    /// Instead of `ratio`: traces kept per second per service, the ratio following traffic.
    pub target_traces_per_second: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowRule {
    pub service: Option<String>,
    /// The trace's `http.route` (else `url.path`), exactly; absent matches any.
    pub route: Option<String>,
    pub threshold_ms: u64,
}

/// A span attribute (or resource attribute) that equals a value or starts with a prefix.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeRule {
    pub service: Option<String>,
    pub attribute: String,
    pub equals: Option<String>,
    pub prefix: Option<String>,
}

impl SampleConfig {
    pub fn check(&self) -> Result<(), Invalid> {
        for rule in &self.rules {
            match (rule.ratio, rule.target_traces_per_second) {
                (Some(ratio), None) if !(0.0..=1.0).contains(&ratio) => {
                    return Err(Invalid::new(
                        "sample.rules.ratio",
                        format!("{ratio} is not between 0.0 and 1.0"),
                    ))
                }
                (None, Some(target)) if !(target > 0.0 && target.is_finite()) => {
                    return Err(Invalid::new(
                        "sample.rules.target_traces_per_second",
                        format!("{target} is not a positive number"),
                    ))
                }
                (Some(_), Some(_)) | (None, None) => {
                    return Err(Invalid::new(
                        "sample.rules",
                        "each rule needs exactly one of `ratio` and `target_traces_per_second`"
                            .to_string(),
                    ))
                }
                _ => {}
            }
        }
        for rule in self.keep.iter().chain(&self.drop) {
            if rule.equals.is_some() == rule.prefix.is_some() {
                return Err(Invalid::new(
                    "sample.keep / sample.drop",
                    format!(
                        "the rule on `{}` needs exactly one of `equals` and `prefix`",
                        rule.attribute
                    ),
                ));
            }
        }
        if self.decision_wait_ms == 0 || self.decision_wait_ms > 600_000 {
            return Err(Invalid::new(
                "sample.decision_wait_ms",
                format!("{} is not between 1 and 600000", self.decision_wait_ms),
            ));
        }
        if self.max_waiting_traces == 0 || self.max_spans_per_trace == 0 {
            return Err(Invalid::new(
                "sample.max_waiting_traces / sample.max_spans_per_trace",
                "must be at least 1".to_string(),
            ));
        }
        if self.remember_decisions_ms < self.decision_wait_ms {
            return Err(Invalid::new(
                "sample.remember_decisions_ms",
                "must be at least sample.decision_wait_ms".to_string(),
            ));
        }
        self.adaptive.check()
    }

    /// Whether any policy can drop a trace: otherwise every trace is kept and none waits.
    pub fn can_drop(&self) -> bool {
        !self.drop.is_empty()
            || self
                .rules
                .iter()
                .any(|r| r.target_traces_per_second.is_some() || r.ratio.is_some_and(|x| x < 1.0))
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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn config(text: &str) -> Result<(), Invalid> {
        toml::from_str::<SampleConfig>(text).expect("toml").check()
    }

    #[test]
    fn bad_settings_are_refused_naming_the_key() {
        let bad = [
            ("[[rules]]\nratio = 1.5\n", "sample.rules.ratio"),
            (
                "[[rules]]\ntarget_traces_per_second = 0\n",
                "sample.rules.target",
            ),
            ("[[rules]]\nservice = \"x\"\n", "sample.rules"),
            (
                "[[rules]]\nratio = 0.5\ntarget_traces_per_second = 3\n",
                "sample.rules",
            ),
            ("[[drop]]\nattribute = \"url.path\"\n", "sample.drop"),
            ("decision_wait_ms = 0\n", "sample.decision_wait_ms"),
            (
                "remember_decisions_ms = 5\n",
                "sample.remember_decisions_ms",
            ),
        ];
        for (text, key) in bad {
            let error = config(text).expect_err(text).to_string();
            assert!(error.contains(key), "{text}: {error}");
        }
        assert!(
            config("[[rules]]\nratio = 0.5\n[[drop]]\nattribute = \"a\"\nprefix = \"/\"\n").is_ok()
        );
    }

    #[test]
    fn only_a_policy_that_can_drop_makes_traces_wait() {
        let parse = |text: &str| toml::from_str::<SampleConfig>(text).expect("toml");
        assert!(!parse("").can_drop());
        assert!(!parse("slow_ms = 3\n[[rules]]\nratio = 1.0\n").can_drop());
        assert!(parse("[[rules]]\nratio = 0.99\n").can_drop());
        assert!(parse("[[rules]]\ntarget_traces_per_second = 5\n").can_drop());
        assert!(parse("[[drop]]\nattribute = \"a\"\nequals = \"b\"\n").can_drop());
    }
}
