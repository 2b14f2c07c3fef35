//! Time to First Byte: from the navigation's start (its activation when prerendered) to the
//! first byte of the document's response. <https://web.dev/articles/ttfb>. Milliseconds,
//! from the `navigation` entry's `responseStart`. Reported once the page has loaded (as
//! web-vitals waits for `load`), and as 0 after a back/forward-cache restore. Good ≤ 800 ms,
//! poor > 1800 ms.

use super::{MetricName, Report, Reporter};

pub const THRESHOLDS: [f64; 2] = [800.0, 1800.0];

pub struct Ttfb {
    reporter: Reporter,
}

impl Default for Ttfb {
    fn default() -> Self {
        Ttfb {
            reporter: Reporter::new(MetricName::Ttfb, THRESHOLDS),
        }
    }
}

impl Ttfb {
    pub fn on_navigation(&mut self, response_start: f64, activation_start: f64) -> Option<Report> {
        self.reporter
            .report((response_start - activation_start).max(0.0))
    }

    /// A restore from the back/forward cache has no network wait.
    pub fn on_restore(&mut self) -> Option<Report> {
        self.reporter.report(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttfb_from_response_start() {
        let mut t = Ttfb::default();
        let r = t.on_navigation(120.5, 0.0).expect("report");
        assert_eq!((r.value, r.rating.as_str()), (120.5, "good"));
        assert_eq!(
            Ttfb::default().on_navigation(900.0, 50.0).map(|r| r.value),
            Some(850.0)
        );
    }
}
