//! First Contentful Paint: when the browser first rendered any text, image or canvas.
//! <https://web.dev/articles/fcp>. Milliseconds from the navigation (from activation for a
//! prerendered page), from the `paint` entry named `first-contentful-paint`. Reported as
//! soon as it is known. Good ≤ 1800 ms, poor > 3000 ms.

use super::{MetricName, Report, Reporter};

pub const THRESHOLDS: [f64; 2] = [1800.0, 3000.0];
pub const ENTRY_NAME: &str = "first-contentful-paint";

pub struct Fcp {
    reporter: Reporter,
}

impl Default for Fcp {
    fn default() -> Self {
        Fcp {
            reporter: Reporter::new(MetricName::Fcp, THRESHOLDS),
        }
    }
}

impl Fcp {
    /// A `first-contentful-paint` entry's start time; `activation_start` is 0 unless the page
    /// was prerendered.
    pub fn on_paint(&mut self, start_time: f64, activation_start: f64) -> Option<Report> {
        self.reporter
            .report((start_time - activation_start).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_to_activation_and_reported_once() {
        let mut fcp = Fcp::default();
        assert_eq!(fcp.on_paint(300.0, 100.0).map(|r| r.value), Some(200.0));
        assert_eq!(fcp.on_paint(300.0, 100.0), None);
    }
}
