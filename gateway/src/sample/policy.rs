//! The tail-sampling policies: what a trace's spans say about it ([`TraceFacts`]) and the
//! decision, in the documented order (`super`'s module doc): drop rule, error, slow, keep rule,
//! ratio; first match wins.

use serde_json::Value;

use super::{trace_id_ratio_keeps, AttributeRule, SampleConfig};
use crate::model::attr::{
    DEPLOYMENT_ENVIRONMENT as ENVIRONMENT, DEPLOYMENT_ENVIRONMENT_OLD as ENVIRONMENT_OLD,
    SERVICE_NAME,
};
use crate::model::{Span, StatusCode, TraceId};
use crate::outcome::SampleReason;

/// The OpenTelemetry attribute a server names its route with.
const HTTP_ROUTE: &str = "http.route";
/// The path of a browser call or page, when no route is known.
const URL_PATH: &str = "url.path";
/// The span event OpenTelemetry records an exception as.
const EXCEPTION_EVENT: &str = "exception";

/// What the policies need to know of a trace, merged over its spans as they arrive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceFacts {
    pub error: bool,
    /// Earliest span start and latest span end.
    pub start_unix_nano: i64,
    pub end_unix_nano: i64,
    /// Of the trace's root span when it has arrived, else of its first span.
    pub service: Option<String>,
    pub environment: Option<String>,
    /// The first `http.route` of its spans, else the first `url.path`.
    pub route: Option<String>,
    /// Whether `route` came from `http.route`.
    pub route_is_template: bool,
    pub keep_match: bool,
    pub drop_match: bool,
}

/// How a trace was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub keep: bool,
    pub reason: SampleReason,
}

/// Where a trace's ratio comes from: the first `[[sample.rules]]` entry matching it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RatioSource {
    Fixed(f64),
    /// Adaptive: this many kept traces per second per service.
    Target(f64),
}

/// The policies, compiled from `[sample]`.
#[derive(Debug, Clone)]
pub struct Policy {
    config: SampleConfig,
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .get(key)
        .or_else(|| span.resource.get(key))
        .and_then(Value::as_str)
}

fn matches(want: &Option<String>, have: Option<&str>) -> bool {
    want.as_deref().is_none_or(|w| Some(w) == have)
}

impl AttributeRule {
    fn matches(&self, span: &Span) -> bool {
        if !matches(&self.service, attr(span, SERVICE_NAME)) {
            return false;
        }
        let Some(value) = attr(span, &self.attribute) else {
            return false;
        };
        match (&self.equals, &self.prefix) {
            (Some(equals), _) => value == equals,
            (None, Some(prefix)) => value.starts_with(prefix.as_str()),
            (None, None) => false,
        }
    }
}

impl Policy {
    pub fn new(config: &SampleConfig) -> Policy {
        Policy {
            config: config.clone(),
        }
    }

    /// Merges one span into its trace's facts (`first`: the trace's first span seen).
    pub fn observe(&self, facts: &mut TraceFacts, span: &Span, first: bool) {
        if first {
            facts.start_unix_nano = span.start_unix_nano;
            facts.end_unix_nano = span.end_unix_nano;
        } else {
            facts.start_unix_nano = facts.start_unix_nano.min(span.start_unix_nano);
            facts.end_unix_nano = facts.end_unix_nano.max(span.end_unix_nano);
        }
        facts.error |= span.status == StatusCode::Error
            || span.events.iter().any(|e| e.name == EXCEPTION_EVENT);
        if facts.service.is_none() || span.parent_span_id.is_none() {
            if let Some(service) = attr(span, SERVICE_NAME) {
                facts.service = Some(service.to_string());
                facts.environment = attr(span, ENVIRONMENT)
                    .or_else(|| attr(span, ENVIRONMENT_OLD))
                    .map(str::to_string);
            }
        }
        if let Some(route) = attr(span, HTTP_ROUTE) {
            // A server's route template wins over a browser's path, whichever came first.
            if !facts.route_is_template {
                facts.route = Some(route.to_string());
                facts.route_is_template = true;
            }
        } else if facts.route.is_none() {
            facts.route = attr(span, URL_PATH).map(str::to_string);
        }
        facts.keep_match |= self.config.keep.iter().any(|r| r.matches(span));
        facts.drop_match |= self.config.drop.iter().any(|r| r.matches(span));
    }

    /// The ratio rule for a trace of this service and environment.
    pub fn ratio_source(&self, service: Option<&str>, environment: Option<&str>) -> RatioSource {
        self.config
            .rules
            .iter()
            .find(|r| matches(&r.service, service) && matches(&r.environment, environment))
            .map_or(RatioSource::Fixed(1.0), |r| {
                match (r.ratio, r.target_traces_per_second) {
                    (_, Some(target)) => RatioSource::Target(target),
                    (ratio, None) => RatioSource::Fixed(ratio.unwrap_or(1.0)),
                }
            })
    }

    /// The slow threshold for the trace, in nanoseconds (None: no slow policy applies).
    fn slow_threshold_nanos(&self, facts: &TraceFacts) -> Option<i64> {
        let ms = self
            .config
            .slow
            .iter()
            .find(|r| {
                matches(&r.service, facts.service.as_deref())
                    && matches(&r.route, facts.route.as_deref())
            })
            .map(|r| r.threshold_ms)
            .or((self.config.slow_ms > 0).then_some(self.config.slow_ms))?;
        Some(
            i64::try_from(ms)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000),
        )
    }

    /// The decision for a trace, its ratio (from [`Policy::ratio_source`], or the adaptive
    /// controller's current one) used only when no other policy matches.
    pub fn decide(&self, trace_id: &TraceId, facts: &TraceFacts, ratio: f64) -> Decision {
        let decided = |keep, reason| Decision { keep, reason };
        if facts.drop_match {
            return decided(false, SampleReason::DropRule);
        }
        if self.config.keep_errors && facts.error {
            return decided(true, SampleReason::Error);
        }
        let duration = facts.end_unix_nano.saturating_sub(facts.start_unix_nano);
        if self
            .slow_threshold_nanos(facts)
            .is_some_and(|threshold| duration > threshold)
        {
            return decided(true, SampleReason::Slow);
        }
        if facts.keep_match {
            return decided(true, SampleReason::KeepRule);
        }
        decided(trace_id_ratio_keeps(trace_id, ratio), SampleReason::Ratio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{testing, Attributes, SpanEvent, SpanId};

    fn policy(text: &str) -> Policy {
        let config: SampleConfig = toml::from_str(text).expect("toml");
        config.check().expect("valid");
        Policy::new(&config)
    }

    fn span(service: &str, attributes: &[(&str, &str)], ms: i64) -> Span {
        let mut resource = Attributes::new();
        resource.insert(SERVICE_NAME.into(), service.into());
        resource.insert(ENVIRONMENT.into(), "prod".into());
        let mut span = testing::span(1, 1);
        span.resource = resource;
        for (k, v) in attributes {
            span.attributes.insert((*k).into(), (*v).into());
        }
        span.start_unix_nano = 1_000_000_000;
        span.end_unix_nano = 1_000_000_000 + ms * 1_000_000;
        span
    }

    fn facts(policy: &Policy, spans: &[Span]) -> TraceFacts {
        let mut facts = TraceFacts::default();
        for (i, s) in spans.iter().enumerate() {
            policy.observe(&mut facts, s, i == 0);
        }
        facts
    }

    /// Dropped at any ratio below 1: its low half is all ones.
    const UNLUCKY: TraceId = TraceId([0xff; 16]);

    #[test]
    fn the_policies_apply_in_their_documented_order() {
        let p = policy(
            "slow_ms = 1000\n\
             [[slow]]\nservice = \"api\"\nroute = \"/checkout\"\nthreshold_ms = 200\n\
             [[keep]]\nattribute = \"http.route\"\nequals = \"/pay\"\n\
             [[drop]]\nattribute = \"url.path\"\nprefix = \"/healthz\"\n\
             [[rules]]\nratio = 0.0\n",
        );
        let decide = |spans: &[Span]| p.decide(&UNLUCKY, &facts(&p, spans), 0.0);
        let fast = span("api", &[("http.route", "/items")], 50);
        assert_eq!(
            decide(std::slice::from_ref(&fast)),
            Decision {
                keep: false,
                reason: SampleReason::Ratio
            }
        );

        let mut error = fast.clone();
        error.status = StatusCode::Error;
        assert_eq!(
            decide(&[fast.clone(), error.clone()]).reason,
            SampleReason::Error
        );
        let mut exception = fast.clone();
        exception.events.push(SpanEvent {
            name: "exception".into(),
            time_unix_nano: 1,
            attributes: Attributes::new(),
        });
        assert!(decide(&[exception]).keep);

        // Slow: the global threshold, and a per-route one below it.
        assert_eq!(
            decide(&[span("api", &[("http.route", "/items")], 1500)]).reason,
            SampleReason::Slow
        );
        assert!(!decide(&[span("api", &[("http.route", "/items")], 500)]).keep);
        assert_eq!(
            decide(&[span("api", &[("http.route", "/checkout")], 500)]).reason,
            SampleReason::Slow
        );
        assert!(!decide(&[span("web", &[("http.route", "/checkout")], 500)]).keep);

        assert_eq!(
            decide(&[span("api", &[("http.route", "/pay")], 5)]).reason,
            SampleReason::KeepRule
        );

        // A health check is dropped even with an error (drop wins, as in the Collector).
        let mut health = span("api", &[("url.path", "/healthz/live")], 5);
        health.status = StatusCode::Error;
        assert_eq!(
            decide(&[fast, health]),
            Decision {
                keep: false,
                reason: SampleReason::DropRule
            }
        );
        // keep_errors = false: an error alone keeps nothing.
        let off = policy("keep_errors = false\n[[rules]]\nratio = 0.0\n");
        assert!(!off.decide(&UNLUCKY, &facts(&off, &[error]), 0.0).keep);
    }

    #[test]
    fn the_root_span_names_the_service_and_a_route_template_wins_over_a_path() {
        let p = policy("");
        let browser = span("shop-web", &[("url.path", "/product/42")], 10);
        let mut server = span("shop-api", &[("http.route", "/product/:id")], 5);
        server.parent_span_id = Some(SpanId([2; 8]));
        let mut root = span("shop-web", &[], 20);
        root.parent_span_id = None;
        let mut child = browser.clone();
        child.parent_span_id = Some(SpanId([3; 8]));
        let f = facts(&p, &[server.clone(), child, root]);
        assert_eq!(f.service.as_deref(), Some("shop-web"));
        assert_eq!(f.environment.as_deref(), Some("prod"));
        assert_eq!(f.route.as_deref(), Some("/product/:id"));
        let f = facts(&p, &[browser, server]);
        assert_eq!(f.route.as_deref(), Some("/product/:id"));
    }

    #[test]
    fn the_first_matching_ratio_rule_wins() {
        let p = policy(
            "[[rules]]\nservice = \"web\"\nenvironment = \"prod\"\nratio = 0.1\n\
             [[rules]]\nservice = \"web\"\ntarget_traces_per_second = 5\n[[rules]]\nratio = 0.25\n",
        );
        assert_eq!(
            p.ratio_source(Some("web"), Some("prod")),
            RatioSource::Fixed(0.1)
        );
        assert_eq!(
            p.ratio_source(Some("web"), Some("dev")),
            RatioSource::Target(5.0)
        );
        assert_eq!(p.ratio_source(Some("api"), None), RatioSource::Fixed(0.25));
        assert_eq!(policy("").ratio_source(None, None), RatioSource::Fixed(1.0));
    }
}
