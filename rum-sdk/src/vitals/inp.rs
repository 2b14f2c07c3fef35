//! Interaction to Next Paint: the latency of (nearly) the slowest interaction of the page.
//! <https://web.dev/articles/inp>. Milliseconds, from `event` entries (observed with a
//! `durationThreshold` of 40 ms) and `first-input`, grouped by `interactionId` with the
//! longest duration per interaction. With fewer than 50 interactions it is the slowest; past
//! that, one interaction in 50 is ignored (the 98th percentile, as web-vitals estimates it
//! from its ten longest), counting interactions with `performance.interactionCount`, which
//! includes those under the observer's threshold. Reported when the page is hidden.
//! Good ≤ 200 ms, poor > 500 ms.

use super::{MetricName, Report, Reporter};

pub const THRESHOLDS: [f64; 2] = [200.0, 500.0];
pub const DURATION_THRESHOLD: f64 = 40.0;
/// web-vitals keeps the ten longest interactions, enough for the p98 of 500 interactions.
const KEPT: usize = 10;

pub struct Inp {
    /// (interactionId, longest duration), longest first; the first `kept` are live. A fixed
    /// array rather than a Vec: no allocation, and no growth code in the wasm.
    longest: [(u64, f64); KEPT],
    kept: usize,
    reporter: Reporter,
}

impl Default for Inp {
    fn default() -> Self {
        Inp {
            longest: [(0, 0.0); KEPT],
            kept: 0,
            reporter: Reporter::new(MetricName::Inp, THRESHOLDS),
        }
    }
}

impl Inp {
    pub fn on_event(&mut self, interaction_id: f64, duration: f64) {
        if interaction_id.is_nan() || interaction_id <= 0.0 || duration.is_nan() || duration < 0.0 {
            return;
        }
        let id = interaction_id as u64;
        let live = &mut self.longest[..self.kept.min(KEPT)];
        let (duration, from) = match live.iter().position(|(i, _)| *i == id) {
            Some(at) => (live[at].1.max(duration), at),
            None => {
                // A new interaction shorter than every kept one when all places are taken.
                if self.kept == KEPT && live.last().is_some_and(|(_, d)| *d >= duration) {
                    return;
                }
                (duration, live.len().min(KEPT - 1))
            }
        };
        // Move it to its place in the longest-first order; at most ten items, by hand, as a
        // sort routine costs kilobytes of wasm.
        let to = live
            .iter()
            .position(|(_, d)| *d < duration)
            .unwrap_or(live.len())
            .min(from);
        if let Some(window) = self.longest.get_mut(to..=from) {
            // Insert at the front, shifting the rest right by one; the last drops out
            // (by hand: core's `rotate_right` is 700 bytes of wasm).
            let mut carry = (id, duration);
            for slot in window {
                core::mem::swap(slot, &mut carry);
            }
        }
        self.kept = (self.kept + usize::from(from == self.kept)).min(KEPT);
    }

    /// The p98 estimate given the page's interaction count: the longest, skipping one per
    /// 50 interactions. After a back/forward-cache restore, interactions that all stayed
    /// under the observer's threshold count as 8 ms (web-vitals' rule).
    pub fn value(&self, interaction_count: f64, restored: bool) -> Option<f64> {
        self.candidate(interaction_count, restored).map(|(_, d)| d)
    }

    /// (interactionId, latency) of the p98 interaction; the id is 0 for the 8 ms stand-in.
    fn candidate(&self, interaction_count: f64, restored: bool) -> Option<(u64, f64)> {
        let skip = (interaction_count / 50.0) as usize;
        match self.kept.checked_sub(1) {
            Some(last) => self.longest.get(skip.min(last)).copied(),
            None => (restored && interaction_count > 0.0).then_some((0, 8.0)),
        }
    }

    pub fn report(&mut self, interaction_count: f64, restored: bool) -> Option<Report> {
        let (id, latency) = self.candidate(interaction_count, restored)?;
        self.reporter
            .report(latency)
            .map(|r| r.with_detail(id as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_per_interaction_and_worst_under_fifty() {
        let mut inp = Inp::default();
        assert_eq!(inp.report(0.0, false), None, "no interaction, no INP");
        inp.on_event(1.0, 48.0);
        inp.on_event(1.0, 120.0); // same interaction, longer entry
        inp.on_event(2.0, 80.0);
        inp.on_event(0.0, 900.0); // not an interaction
        assert_eq!(inp.report(2.0, false).map(|r| r.value), Some(120.0));
    }

    #[test]
    fn p98_skips_one_per_fifty() {
        let mut inp = Inp::default();
        inp.on_event(1.0, 600.0);
        for id in 2..=60 {
            inp.on_event(f64::from(id), 50.0 + f64::from(id));
        }
        // 60 interactions: the single longest (600) is skipped.
        assert_eq!(inp.value(60.0, false), Some(110.0));
        // The browser counted 120 (most under 40 ms): skip two.
        assert_eq!(inp.value(120.0, false), Some(109.0));
    }

    #[test]
    fn keeps_the_ten_longest_in_order() {
        let mut inp = Inp::default();
        let durations = [
            70.0, 300.0, 45.0, 120.0, 90.0, 500.0, 60.0, 41.0, 250.0, 80.0, 44.0, 400.0, 42.0,
        ];
        for (i, d) in durations.iter().enumerate() {
            inp.on_event(i as f64 + 1.0, *d);
        }
        inp.on_event(3.0, 1000.0); // a kept interaction grows and moves to the front
        let mut want: Vec<f64> = durations.to_vec();
        want.sort_by(|a, b| b.total_cmp(a));
        let kept: Vec<f64> = inp.longest[..inp.kept].iter().map(|(_, d)| *d).collect();
        assert_eq!(kept[0], 1000.0);
        assert_eq!(&kept[1..], &want[..9]);
    }
}
