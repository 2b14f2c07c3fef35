//! Largest Contentful Paint: when the largest image or text block in the viewport rendered.
//! <https://web.dev/articles/lcp>. Milliseconds from the navigation (from activation when
//! prerendered), from the last `largest-contentful-paint` entry painted before the page was
//! first hidden. Candidates stop at the first trusted keydown or click, or when the page is
//! hidden; the value is reported once then (every candidate with `reportAllChanges`).
//! Good ≤ 2500 ms, poor > 4000 ms.

use super::{MetricName, Report, Reporter};

pub const THRESHOLDS: [f64; 2] = [2500.0, 4000.0];

pub struct Lcp {
    value: Option<f64>,
    /// The candidate entry's own start time (attribution finds the entry by it).
    entry_start: f64,
    stopped: bool,
    reporter: Reporter,
}

impl Default for Lcp {
    fn default() -> Self {
        Lcp {
            value: None,
            entry_start: 0.0,
            stopped: false,
            reporter: Reporter::new(MetricName::Lcp, THRESHOLDS),
        }
    }
}

impl Lcp {
    /// A candidate entry's start time (render time, else load time); reported at once only
    /// with `report_all_changes`.
    pub fn on_entry(
        &mut self,
        start_time: f64,
        activation_start: f64,
        report_all_changes: bool,
    ) -> Option<Report> {
        if self.stopped {
            return None;
        }
        let value = (start_time - activation_start).max(0.0);
        self.value = Some(value);
        self.entry_start = start_time;
        report_all_changes
            .then(|| self.reporter.report(value))
            .flatten()
            .map(|r| r.with_detail(start_time))
    }

    /// Input or hidden: no later candidate counts; the final value is reported.
    pub fn finalize(&mut self) -> Option<Report> {
        if self.stopped {
            return None;
        }
        self.stopped = true;
        let entry_start = self.entry_start;
        self.value
            .and_then(|v| self.reporter.report(v))
            .map(|r| r.with_detail(entry_start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_candidate_before_stop_is_reported_once() {
        let mut lcp = Lcp::default();
        assert_eq!(lcp.on_entry(500.0, 0.0, false), None);
        lcp.on_entry(900.0, 0.0, false);
        assert_eq!(lcp.finalize().map(|r| r.value), Some(900.0));
        assert_eq!(lcp.on_entry(5000.0, 0.0, true), None);
        assert_eq!(lcp.finalize(), None);
    }

    #[test]
    fn no_candidate_means_no_report() {
        assert_eq!(Lcp::default().finalize(), None);
    }
}
