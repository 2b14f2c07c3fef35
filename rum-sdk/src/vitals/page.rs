//! The five vitals of one page, as web-vitals computes and reports them, over plain values:
//! times are milliseconds from the navigation's start, as performance entries give them.
//!
//! What is shared between the metrics lives here: the activation start of a prerendered
//! page, the time the page was first hidden (nothing painted after it counts), CLS waiting
//! for FCP, the final reports when the page hides, and new metric instances on a
//! back/forward-cache restore.

use super::cls::Cls;
use super::fcp::Fcp;
use super::inp::Inp;
use super::lcp::Lcp;
use super::ttfb::Ttfb;
use super::Report;

/// A report of one metric instance. `generation` is 0 for the page load and n for the
/// n-th restore from the back/forward cache, whose metrics web-vitals reports as new
/// instances (new ids, navigationType `back-forward-cache`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tagged {
    pub report: Report,
    pub generation: u32,
}

pub struct PageVitals {
    activation_start: f64,
    /// When the page was first hidden; `f64::INFINITY` while it never was.
    first_hidden: f64,
    report_all_changes: bool,
    generation: u32,
    /// CLS is only reported once FCP was (web-vitals starts CLS from FCP's callback).
    fcp_reported: bool,
    /// `performance.interactionCount` when the current instance of INP began.
    interaction_baseline: f64,
    fcp: Fcp,
    lcp: Lcp,
    cls: Cls,
    inp: Inp,
    ttfb: Ttfb,
}

impl PageVitals {
    /// `first_hidden`: as web-vitals' visibility watcher finds it when the SDK starts (the
    /// first `visibility-state` entry named hidden, 0 if the page is hidden now, else
    /// infinity).
    pub fn new(activation_start: f64, first_hidden: f64, report_all_changes: bool) -> Self {
        PageVitals {
            activation_start: activation_start.max(0.0),
            first_hidden,
            report_all_changes,
            generation: 0,
            fcp_reported: false,
            interaction_baseline: 0.0,
            fcp: Fcp::default(),
            lcp: Lcp::default(),
            cls: Cls::default(),
            inp: Inp::default(),
            ttfb: Ttfb::default(),
        }
    }

    fn tag(&self, report: Option<Report>, emit: &mut dyn FnMut(Tagged)) {
        if let Some(report) = report {
            emit(Tagged {
                report,
                generation: self.generation,
            });
        }
    }

    /// The `first-contentful-paint` paint entry.
    pub fn on_fcp(&mut self, start_time: f64, emit: &mut dyn FnMut(Tagged)) {
        if self.fcp_reported || start_time >= self.first_hidden {
            return;
        }
        let report = self.fcp.on_paint(start_time, self.activation_start);
        self.fcp_reported = report.is_some();
        self.tag(report, emit);
        // CLS begins now; shifts already seen count, as its buffered observer would see them.
        let cls = self.cls.report(self.report_all_changes);
        self.tag(cls, emit);
    }

    pub fn on_lcp(&mut self, start_time: f64, emit: &mut dyn FnMut(Tagged)) {
        if start_time >= self.first_hidden {
            return;
        }
        let report = self
            .lcp
            .on_entry(start_time, self.activation_start, self.report_all_changes);
        self.tag(report, emit);
    }

    /// Returns [`Cls::on_shift`]'s flags, for attribution.
    pub fn on_shift(
        &mut self,
        start_time: f64,
        value: f64,
        had_recent_input: bool,
        emit: &mut dyn FnMut(Tagged),
    ) -> u8 {
        let flags = self.cls.on_shift(start_time, value, had_recent_input);
        if self.fcp_reported {
            let report = self.cls.report(self.report_all_changes);
            self.tag(report, emit);
        }
        flags
    }

    pub fn on_event(
        &mut self,
        interaction_id: f64,
        duration: f64,
        interaction_count: f64,
        emit: &mut dyn FnMut(Tagged),
    ) {
        self.inp.on_event(interaction_id, duration);
        if self.report_all_changes {
            let report = self.inp.report(
                self.interactions_since(interaction_count),
                self.generation > 0,
            );
            self.tag(report, emit);
        }
    }

    /// A trusted keydown or click: LCP is final.
    pub fn on_input(&mut self, emit: &mut dyn FnMut(Tagged)) {
        let report = self.lcp.finalize();
        self.tag(report, emit);
    }

    /// `visibilitychange` to hidden (or `pagehide`) at `time_stamp`: LCP is final, and CLS
    /// and INP report their current values.
    pub fn on_hidden(
        &mut self,
        time_stamp: f64,
        interaction_count: f64,
        emit: &mut dyn FnMut(Tagged),
    ) {
        self.first_hidden = self.first_hidden.min(time_stamp);
        let lcp = self.lcp.finalize();
        self.tag(lcp, emit);
        if self.fcp_reported {
            let cls = self.cls.report(true);
            self.tag(cls, emit);
        }
        let inp = self.inp.report(
            self.interactions_since(interaction_count),
            self.generation > 0,
        );
        self.tag(inp, emit);
    }

    /// An SPA route change: CLS and INP so far belong to the view that ends, and report
    /// their values now; from here they count afresh for the new view. FCP, LCP and TTFB
    /// are the page load's alone: LCP is final now, reported with its view.
    pub fn on_route_change(&mut self, interaction_count: f64, emit: &mut dyn FnMut(Tagged)) {
        let lcp = self.lcp.finalize();
        self.tag(lcp, emit);
        if self.fcp_reported {
            let cls = self.cls.report(true);
            self.tag(cls, emit);
        }
        let inp = self
            .inp
            .report(self.interactions_since(interaction_count), false);
        self.tag(inp, emit);
        self.cls = Cls::default();
        self.inp = Inp::default();
        self.interaction_baseline = interaction_count;
    }

    /// The page has loaded: TTFB from the navigation entry's `responseStart`, if it is sane
    /// (`0 < responseStart < now`, as web-vitals requires).
    pub fn on_loaded(&mut self, response_start: f64, now: f64, emit: &mut dyn FnMut(Tagged)) {
        if response_start > 0.0 && response_start < now {
            let report = self
                .ttfb
                .on_navigation(response_start, self.activation_start);
            self.tag(report, emit);
        }
    }

    /// Restored from the back/forward cache: every metric starts over as a new instance.
    /// TTFB is reported at once as 0; FCP and LCP follow with [`Self::on_restore_paint`].
    pub fn on_restore(&mut self, interaction_count: f64, emit: &mut dyn FnMut(Tagged)) {
        // Fresh metric states (through `new`, so their defaults are written once in the
        // wasm), keeping what belongs to the page.
        *self = PageVitals {
            generation: self.generation + 1,
            interaction_baseline: interaction_count,
            activation_start: self.activation_start,
            fcp_reported: self.fcp_reported,
            ..PageVitals::new(0.0, f64::INFINITY, self.report_all_changes)
        };
        let ttfb = self.ttfb.on_restore();
        self.tag(ttfb, emit);
    }

    /// Two animation frames after a restore: FCP and LCP are the time since the `pageshow`.
    /// A page that had not reported FCP before (loaded in a background tab) starts CLS now,
    /// as web-vitals' CLS starts from the first FCP report, whichever instance made it.
    pub fn on_restore_paint(&mut self, since_pageshow: f64, emit: &mut dyn FnMut(Tagged)) {
        let fcp = self.fcp.on_paint(since_pageshow, 0.0);
        self.fcp_reported |= fcp.is_some();
        self.tag(fcp, emit);
        self.lcp.on_entry(since_pageshow, 0.0, false);
        let lcp = self.lcp.finalize();
        self.tag(lcp, emit);
    }

    fn interactions_since(&self, interaction_count: f64) -> f64 {
        (interaction_count - self.interaction_baseline).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vitals::MetricName;

    fn collect(f: impl FnOnce(&mut dyn FnMut(Tagged))) -> Vec<(MetricName, f64, u32)> {
        let mut out = Vec::new();
        f(&mut |t: Tagged| out.push((t.report.name, t.report.value, t.generation)));
        out
    }

    #[test]
    fn hidden_before_first_paint_reports_no_fcp_lcp_or_cls() {
        let mut v = PageVitals::new(0.0, f64::INFINITY, false);
        assert!(collect(|e| v.on_hidden(50.0, 0.0, e)).is_empty());
        // Paint entries delivered late, stamped after the page was hidden.
        assert!(collect(|e| v.on_fcp(80.0, e)).is_empty());
        assert!(collect(|e| v.on_lcp(80.0, e)).is_empty());
        assert!(collect(|e| v.on_hidden(200.0, 0.0, e)).is_empty());
    }

    #[test]
    fn cls_waits_for_fcp_then_counts_earlier_shifts() {
        let mut v = PageVitals::new(0.0, f64::INFINITY, false);
        assert!(collect(|e| _ = v.on_shift(10.0, 0.2, false, e)).is_empty());
        assert!(collect(|e| v.on_fcp(100.0, e))
            .iter()
            .any(|r| r.0 == MetricName::Fcp));
        let reports = collect(|e| v.on_hidden(1000.0, 0.0, e));
        assert_eq!(reports, vec![(MetricName::Cls, 0.2, 0)]);
    }

    #[test]
    fn prerendered_times_count_from_activation() {
        let mut v = PageVitals::new(500.0, f64::INFINITY, false);
        assert_eq!(collect(|e| v.on_fcp(650.0, e))[0].1, 150.0);
        v.on_lcp(700.0, &mut |_| {});
        assert_eq!(
            collect(|e| v.on_input(e)),
            vec![(MetricName::Lcp, 200.0, 0)]
        );
        assert_eq!(
            collect(|e| v.on_loaded(300.0, 900.0, e)),
            vec![(MetricName::Ttfb, 0.0, 0)]
        );
    }

    #[test]
    fn restore_starts_new_instances() {
        let mut v = PageVitals::new(0.0, f64::INFINITY, false);
        v.on_fcp(100.0, &mut |_| {});
        v.on_event(5.0, 300.0, 1.0, &mut |_| {});
        v.on_hidden(2000.0, 1.0, &mut |_| {});
        assert_eq!(
            collect(|e| v.on_restore(1.0, e)),
            vec![(MetricName::Ttfb, 0.0, 1)]
        );
        assert_eq!(
            collect(|e| v.on_restore_paint(16.5, e)),
            vec![(MetricName::Fcp, 16.5, 1), (MetricName::Lcp, 16.5, 1)]
        );
        // An interaction counted by the browser but under the observer's threshold: 8 ms.
        let reports = collect(|e| v.on_hidden(5000.0, 2.0, e));
        assert!(reports.contains(&(MetricName::Inp, 8.0, 1)), "{reports:?}");
        assert!(reports.contains(&(MetricName::Cls, 0.0, 1)), "{reports:?}");
    }

    #[test]
    fn cls_starts_with_the_fcp_of_a_restore_when_the_load_had_none() {
        // Loaded hidden (a background tab): no FCP, so no CLS, before leaving.
        let mut v = PageVitals::new(0.0, 0.0, false);
        assert!(
            collect(|e| v.on_fcp(900.0, e)).is_empty(),
            "painted after the page was hidden"
        );
        assert!(collect(|e| v.on_hidden(3000.0, 0.0, e))
            .iter()
            .all(|r| r.0 != MetricName::Cls));
        v.on_restore(0.0, &mut |_| {});
        v.on_shift(5000.0, 0.05, false, &mut |_| {}); // before the restore's FCP: counts
        assert_eq!(
            collect(|e| v.on_restore_paint(20.0, e)),
            vec![(MetricName::Fcp, 20.0, 1), (MetricName::Lcp, 20.0, 1)]
        );
        v.on_shift(5200.0, 0.1, false, &mut |_| {});
        let reports = collect(|e| v.on_hidden(8000.0, 0.0, e));
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!((reports[0].0, reports[0].2), (MetricName::Cls, 1));
        assert!((reports[0].1 - 0.15).abs() < 1e-12, "{reports:?}");
    }

    #[test]
    fn a_route_change_closes_cls_and_inp_and_starts_them_afresh() {
        let mut v = PageVitals::new(0.0, f64::INFINITY, false);
        v.on_fcp(100.0, &mut |_| {});
        v.on_shift(500.0, 0.1, false, &mut |_| {});
        v.on_lcp(400.0, &mut |_| {});
        v.on_event(5.0, 300.0, 1.0, &mut |_| {});
        let closed = collect(|e| v.on_route_change(1.0, e));
        assert_eq!(closed.len(), 3, "{closed:?}");
        assert_eq!(
            closed[0],
            (MetricName::Lcp, 400.0, 0),
            "LCP is the page load's"
        );
        assert!((closed[1].1 - 0.1).abs() < 1e-12 && closed[1].0 == MetricName::Cls);
        assert_eq!(closed[2], (MetricName::Inp, 300.0, 0));
        // The new view: a shift and a quick interaction of its own, nothing from before.
        v.on_shift(9000.0, 0.02, false, &mut |_| {});
        v.on_event(9.0, 48.0, 2.0, &mut |_| {});
        let reports = collect(|e| v.on_hidden(12_000.0, 2.0, e));
        assert!(
            reports
                .iter()
                .any(|r| r.0 == MetricName::Cls && (r.1 - 0.02).abs() < 1e-12),
            "{reports:?}"
        );
        assert!(reports.contains(&(MetricName::Inp, 48.0, 0)), "{reports:?}");
        assert!(
            reports.iter().all(|r| r.0 != MetricName::Lcp),
            "{reports:?}"
        );
    }

    #[test]
    fn report_all_changes_reports_each_lcp_candidate() {
        let mut v = PageVitals::new(0.0, f64::INFINITY, true);
        assert_eq!(
            collect(|e| v.on_lcp(100.0, e)),
            vec![(MetricName::Lcp, 100.0, 0)]
        );
        assert_eq!(
            collect(|e| v.on_lcp(300.0, e)),
            vec![(MetricName::Lcp, 300.0, 0)]
        );
        assert!(
            collect(|e| v.on_input(e)).is_empty(),
            "unchanged: nothing new to report"
        );
    }
}
