//! Interaction to Next Paint: the latency of (nearly) the slowest interaction of the page.
//! <https://web.dev/articles/inp>. Milliseconds, from `event` entries (observed with a
//! `durationThreshold` of 40 ms) and `first-input`, grouped by `interactionId` with the
//! longest duration per interaction. With fewer than 50 interactions it is the slowest; past
//! that, one interaction in 50 is ignored (the 98th percentile, as web-vitals estimates it
//! from its ten longest). Reported when the page is hidden. Good ≤ 200 ms, poor > 500 ms.

use alloc::vec::Vec;

use super::{MetricName, Report, Reporter};

pub const THRESHOLDS: [f64; 2] = [200.0, 500.0];
pub const DURATION_THRESHOLD: f64 = 40.0;
/// web-vitals keeps the ten longest interactions, enough for the p98 of 500 interactions.
const KEPT: usize = 10;

pub struct Inp {
    /// (interactionId, longest duration), longest first.
    longest: Vec<(u64, f64)>,
    /// Interactions seen, including those not kept.
    count: u64,
    reporter: Reporter,
}

impl Default for Inp {
    fn default() -> Self {
        Inp { longest: Vec::new(), count: 0, reporter: Reporter::new(MetricName::Inp, THRESHOLDS) }
    }
}

impl Inp {
    pub fn on_event(&mut self, interaction_id: f64, duration: f64) {
        if !(interaction_id > 0.0) || !(duration >= 0.0) {
            return;
        }
        let id = interaction_id as u64;
        match self.longest.iter_mut().find(|(i, _)| *i == id) {
            Some(entry) => entry.1 = entry.1.max(duration),
            None => {
                self.count += 1;
                self.longest.push((id, duration));
            }
        }
        self.longest.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
        self.longest.truncate(KEPT);
    }

    /// The p98 estimate: the longest, skipping one per 50 interactions.
    pub fn value(&self) -> Option<f64> {
        let skip = usize::try_from(self.count / 50).unwrap_or(usize::MAX);
        let last = self.longest.len().checked_sub(1)?;
        self.longest.get(skip.min(last)).map(|(_, d)| *d)
    }

    pub fn report(&mut self) -> Option<Report> {
        self.value().and_then(|v| self.reporter.report(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_per_interaction_and_worst_under_fifty() {
        let mut inp = Inp::default();
        assert_eq!(inp.report(), None, "no interaction, no INP");
        inp.on_event(1.0, 48.0);
        inp.on_event(1.0, 120.0); // same interaction, longer entry
        inp.on_event(2.0, 80.0);
        inp.on_event(0.0, 900.0); // not an interaction
        assert_eq!(inp.report().map(|r| r.value), Some(120.0));
    }

    #[test]
    fn p98_skips_one_per_fifty() {
        let mut inp = Inp::default();
        inp.on_event(1.0, 600.0);
        for id in 2..=60 {
            inp.on_event(f64::from(id), 50.0 + f64::from(id));
        }
        // 60 interactions: the single longest (600) is skipped.
        assert_eq!(inp.value(), Some(110.0));
    }
}
