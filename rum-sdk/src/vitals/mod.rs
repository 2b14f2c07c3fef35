//! Web vitals: one file per metric, each a pure state machine over plain values
//! (times in milliseconds relative to the navigation), so `cargo test` covers the logic on
//! the host. This module holds what they share: ratings and web-vitals' report-on-change
//! rule (`bindReporter`).

pub mod cls;
pub mod fcp;
pub mod inp;
pub mod lcp;
pub mod page;
pub mod ttfb;

/// Which metric; the name is the one web-vitals uses. The discriminant is what crosses to JS
/// (`NAMES` in `js/src/vitals.js` lists them in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MetricName {
    Cls,
    Fcp,
    Inp,
    Lcp,
    Ttfb,
}

impl MetricName {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricName::Cls => "CLS",
            MetricName::Fcp => "FCP",
            MetricName::Inp => "INP",
            MetricName::Lcp => "LCP",
            MetricName::Ttfb => "TTFB",
        }
    }
}

/// web-vitals' rating: a value up to the first threshold is good, up to the second needs
/// improvement, above it is poor. The discriminant crosses to JS (`RATINGS` in
/// `js/src/vitals.js`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Rating {
    Good,
    NeedsImprovement,
    Poor,
}

impl Rating {
    pub fn of(value: f64, thresholds: [f64; 2]) -> Rating {
        if value > thresholds[1] {
            Rating::Poor
        } else if value > thresholds[0] {
            Rating::NeedsImprovement
        } else {
            Rating::Good
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Good => "good",
            Rating::NeedsImprovement => "needs-improvement",
            Rating::Poor => "poor",
        }
    }
}

/// One report of a metric, as web-vitals' `Metric` (the id and navigation type are the
/// page view's, added when encoded).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    pub name: MetricName,
    pub value: f64,
    pub delta: f64,
    pub rating: Rating,
    /// Which entry the value came from, for attribution: the LCP entry's `startTime`, the
    /// start time of the largest shift of the CLS window, the INP interaction's
    /// `interactionId`; 0 otherwise.
    pub detail: f64,
}

impl Report {
    fn with_detail(mut self, detail: f64) -> Report {
        self.detail = detail;
        self
    }
}

/// web-vitals' `bindReporter`: called when a report is due (a final moment such as the page
/// being hidden, or any change with `reportAllChanges`), it reports only if the value changed
/// since the last report (or was never reported), with the delta.
#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    name: MetricName,
    thresholds: [f64; 2],
    last: Option<f64>,
}

impl Reporter {
    pub const fn new(name: MetricName, thresholds: [f64; 2]) -> Self {
        Reporter {
            name,
            thresholds,
            last: None,
        }
    }

    /// The report for `value`, or `None` when it has not changed since the last one.
    pub fn report(&mut self, value: f64) -> Option<Report> {
        if value.is_nan() || value < 0.0 {
            return None;
        }
        let delta = value - self.last.unwrap_or(0.0);
        if delta == 0.0 && self.last.is_some() {
            return None;
        }
        self.last = Some(value);
        Some(Report {
            name: self.name,
            value,
            delta,
            rating: Rating::of(value, self.thresholds),
            detail: 0.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_include_the_threshold_in_the_better_band() {
        let t = [2500.0, 4000.0];
        assert_eq!(Rating::of(2500.0, t), Rating::Good);
        assert_eq!(Rating::of(2500.1, t), Rating::NeedsImprovement);
        assert_eq!(Rating::of(4000.0, t), Rating::NeedsImprovement);
        assert_eq!(Rating::of(4000.1, t), Rating::Poor);
    }

    #[test]
    fn reporter_sends_first_value_even_zero_then_only_changes_with_delta() {
        let mut r = Reporter::new(MetricName::Cls, [0.1, 0.25]);
        assert_eq!(r.report(0.0).map(|m| m.delta), Some(0.0));
        assert_eq!(r.report(0.0), None);
        let m = r.report(0.15).expect("changed");
        assert!((m.delta - 0.15).abs() < 1e-12);
        assert_eq!(m.rating, Rating::NeedsImprovement);
        assert_eq!(r.report(-1.0), None);
    }
}
