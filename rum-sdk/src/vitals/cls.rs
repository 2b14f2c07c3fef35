//! Cumulative Layout Shift: the largest burst of unexpected layout shifts.
//! <https://web.dev/articles/cls>. Unitless. Shifts within 1 s of each other, spanning at most
//! 5 s, form a session window; CLS is the largest window's sum. Shifts with
//! `hadRecentInput` are excluded. Only reported once FCP was, then whenever the page is
//! hidden (on every change with `reportAllChanges`). Good ≤ 0.1, poor > 0.25.

use super::{MetricName, Report, Reporter};

pub const THRESHOLDS: [f64; 2] = [0.1, 0.25];
/// Largest gap between two shifts of one window, ms.
const GAP: f64 = 1000.0;
/// Longest span of one window, ms.
const CAP: f64 = 5000.0;
/// [`Cls::on_shift`]'s answer, so that attribution keeps only the shift entries CLS may
/// name (not the latest n, which a burst of later small shifts would push out): the shift
/// is now the largest of its window…
pub const WINDOW_LARGEST: u8 = 1;
/// …and its window (with its largest shift) is now the one CLS reports.
pub const LARGEST_WINDOW: u8 = 2;

pub struct Cls {
    window_value: f64,
    window_first: f64,
    window_last: f64,
    /// (start time, value) of the largest shift of the current window and of the window
    /// that made the value: CLS attribution reports the latter.
    window_largest: (f64, f64),
    largest: (f64, f64),
    value: f64,
    reporter: Reporter,
}

impl Default for Cls {
    fn default() -> Self {
        Cls {
            window_value: 0.0,
            window_first: f64::NEG_INFINITY,
            window_last: f64::NEG_INFINITY,
            window_largest: (0.0, 0.0),
            largest: (0.0, 0.0),
            value: 0.0,
            reporter: Reporter::new(MetricName::Cls, THRESHOLDS),
        }
    }
}

impl Cls {
    /// Returns [`WINDOW_LARGEST`] and [`LARGEST_WINDOW`] flags.
    pub fn on_shift(&mut self, start_time: f64, value: f64, had_recent_input: bool) -> u8 {
        if had_recent_input || value.is_nan() || value < 0.0 {
            return 0;
        }
        let mut flags = WINDOW_LARGEST;
        // A window whose sum is still 0 is not continued (web-vitals' LayoutShiftManager).
        if self.window_value != 0.0
            && start_time - self.window_last < GAP
            && start_time - self.window_first < CAP
        {
            self.window_value += value;
            // On a tie the later shift wins, as web-vitals' reduce picks it.
            if value >= self.window_largest.1 {
                self.window_largest = (start_time, value);
            } else {
                flags = 0;
            }
        } else {
            self.window_value = value;
            self.window_first = start_time;
            self.window_largest = (start_time, value);
        }
        self.window_last = start_time;
        // Compared after every shift, not after a batch of entries as web-vitals does: a
        // batch spanning several windows (shifts before FCP) must not report its last window
        // when an earlier one is larger (docs/api.md).
        if self.window_value > self.value {
            self.value = self.window_value;
            self.largest = self.window_largest;
            flags |= LARGEST_WINDOW;
        }
        flags
    }

    /// Reports the value if `force` (the page is hidden) and it changed since the last report.
    pub fn report(&mut self, force: bool) -> Option<Report> {
        let largest_start = self.largest.0;
        force
            .then(|| self.reporter.report(self.value))
            .flatten()
            .map(|r| r.with_detail(largest_start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_session_window_wins() {
        let mut cls = Cls::default();
        cls.on_shift(100.0, 0.05, false);
        cls.on_shift(600.0, 0.05, false); // same window: 0.1
        cls.on_shift(3000.0, 0.02, false); // gap > 1 s: new window 0.02
        cls.on_shift(3500.0, 0.5, true); // after input: ignored
        let report = cls.report(true).expect("first");
        assert!((report.value - 0.1).abs() < 1e-12);
        assert_eq!(
            report.detail, 600.0,
            "the largest shift of the winning window; a tie goes to the later"
        );
        assert_eq!(cls.report(true), None);
    }

    #[test]
    fn window_is_capped_at_five_seconds() {
        let mut cls = Cls::default();
        for i in 0..12 {
            cls.on_shift(f64::from(i) * 500.0, 0.01, false);
        }
        // 0..=4500 ms fits one 5 s window (10 shifts); the rest start a new one.
        assert!((cls.report(true).expect("report").value - 0.1).abs() < 1e-9);
    }

    #[test]
    fn flags_name_the_shifts_attribution_must_keep() {
        let mut cls = Cls::default();
        assert_eq!(
            cls.on_shift(100.0, 0.2, false),
            WINDOW_LARGEST | LARGEST_WINDOW
        );
        assert_eq!(
            cls.on_shift(300.0, 0.1, false),
            LARGEST_WINDOW,
            "the window grew; its largest is still at 100"
        );
        // 150 small shifts in later, smaller windows: none may displace the shift at 100.
        for i in 0..150 {
            let flags = cls.on_shift(2000.0 + f64::from(i) * 1500.0, 0.001, false);
            assert_eq!(
                flags, WINDOW_LARGEST,
                "a new window's first shift, but not the largest window"
            );
        }
        assert_eq!(
            cls.on_shift(300_000.0, 0.5, true),
            0,
            "after input: ignored"
        );
        let report = cls.report(true).expect("report");
        assert!((report.value - 0.3).abs() < 1e-12);
        assert_eq!(report.detail, 100.0);
    }

    /// web-vitals compares a window with the metric only after each batch of entries, so a
    /// batch spanning windows yields its last window. CLS is the largest (docs/api.md).
    #[test]
    fn largest_window_wins_even_when_a_smaller_one_follows_in_the_same_batch() {
        let mut cls = Cls::default();
        // One buffered batch, as delivered at FCP: a 0.3 window, then a 0.05 one.
        cls.on_shift(100.0, 0.15, false);
        cls.on_shift(200.0, 0.15, false);
        cls.on_shift(1500.0, 0.05, false);
        let report = cls.report(true).expect("report");
        assert!(
            (report.value - 0.3).abs() < 1e-12,
            "the largest window, not the last: {}",
            report.value
        );
        assert_eq!(report.detail, 200.0);
    }

    #[test]
    fn zero_is_reported_once() {
        let mut cls = Cls::default();
        assert_eq!(cls.report(true).map(|r| r.value), Some(0.0));
        assert_eq!(cls.report(true), None);
    }
}
