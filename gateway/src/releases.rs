//! Release comparison (canary analysis): a release's figures from its samples
//! ([`store::releases`]), and two releases' figures side by side with a verdict per figure
//! from a statistical test ([`stats`]): `better`, `worse` or `no_evidence`.
//!
//! * Distributions (each web vital; the durations of each route's fetch and server spans):
//!   Mann–Whitney U, two-sided, normal approximation with tie and continuity corrections. It
//!   compares whole distributions, so it says whether the candidate's values tend to be larger;
//!   p75 and p95 are shown beside it, not tested one by one.
//! * Rates: the two-proportion z-test (pooled, no continuity correction). The error rate is
//!   shown as error occurrences per 1,000 page views, and tested as the share of page views
//!   with at least one error, since a proportion counts each page view once (a page that
//!   throws the same error in a loop is one bad page view, not a hundred); likewise the share
//!   of sessions with an error and each route's share of spans with status `error`.
//! * Lower is better for every figure. A verdict needs [`MIN_SAMPLES`] on each side and
//!   p < [`ALPHA`]; otherwise it is `no_evidence` with the reason.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::stats::{self, mann_whitney_u, nearest_rank, two_proportion_z};
use crate::store::releases::{ReleaseKey, ReleaseSamples, RouteSamples};

/// The significance level: a difference with p below it is a verdict.
pub const ALPHA: f64 = 0.05;
/// Fewest samples on each side for a verdict (page views, sessions, reports or spans).
pub const MIN_SAMPLES: u64 = 30;
/// The web vitals, in the order they are shown.
pub const VITALS: [&str; 5] = ["LCP", "INP", "CLS", "FCP", "TTFB"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Better,
    Worse,
    NoEvidence,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::NoEvidence => "no_evidence",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// Mann–Whitney U, two-sided, asymptotic, tie-corrected, with continuity correction.
    MannWhitneyU,
    /// Two-proportion z-test, two-sided, pooled, without continuity correction.
    TwoProportionZ,
}

impl Test {
    pub fn as_str(self) -> &'static str {
        match self {
            Test::MannWhitneyU => "mann_whitney_u",
            Test::TwoProportionZ => "two_proportion_z",
        }
    }
}

/// What is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureKind {
    /// Errors per 1,000 page views; tested as the share of page views with an error.
    ErrorRate,
    /// The share of sessions with an error.
    SessionsWithErrors,
    /// One web vital's reports (`name`: LCP, INP, CLS, FCP, TTFB).
    Vital,
    /// Durations of a route's browser fetch spans, ms (`name`: the route).
    FetchLatency,
    /// The share of a route's browser fetch spans with status `error`.
    FetchErrorRate,
    /// Durations of a route's server spans, ms.
    ServerLatency,
    /// The share of a route's server spans with status `error`.
    ServerErrorRate,
}

impl FigureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FigureKind::ErrorRate => "error_rate",
            FigureKind::SessionsWithErrors => "sessions_with_errors",
            FigureKind::Vital => "vital",
            FigureKind::FetchLatency => "fetch_latency",
            FigureKind::FetchErrorRate => "fetch_error_rate",
            FigureKind::ServerLatency => "server_latency",
            FigureKind::ServerErrorRate => "server_error_rate",
        }
    }
}

/// One release's side of a figure. Distributions fill `p75`/`p95`; rates `events`/`rate`
/// (and the error rate `per_1000`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Side {
    /// Samples: reports, spans, page views or sessions.
    pub n: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p75: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
    /// Samples with the event (an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    /// `events / n`, 0 to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Error occurrences per 1,000 page views (`error_rate` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_1000: Option<f64>,
}

/// Candidate minus baseline, for each value both sides have.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Difference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p75: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_1000: Option<f64>,
}

fn minus(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(b? - a?)
}

impl Difference {
    fn of(baseline: &Side, candidate: &Side) -> Difference {
        Difference {
            p75: minus(baseline.p75, candidate.p75),
            p95: minus(baseline.p95, candidate.p95),
            rate: minus(baseline.rate, candidate.rate),
            per_1000: minus(baseline.per_1000, candidate.per_1000),
        }
    }
}

/// One figure of both releases, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub figure: FigureKind,
    /// The vital or the route; None for the page and session figures.
    pub name: Option<String>,
    /// `ms`, `score` (CLS), `errors per 1,000 page views` or `share`.
    pub unit: &'static str,
    pub baseline: Side,
    pub candidate: Side,
    pub difference: Difference,
    pub verdict: Verdict,
    pub test: Test,
    /// Two-sided; None when a side has no samples.
    pub p_value: Option<f64>,
    /// The test's z, positive when the candidate's values or rate are the higher.
    pub z: Option<f64>,
    /// Why the verdict is what it is, in a sentence.
    pub reason: String,
}

impl Figure {
    /// Both sides, the test's result and the verdict it gives.
    fn tested(
        figure: FigureKind,
        name: Option<String>,
        unit: &'static str,
        baseline: Side,
        candidate: Side,
        test: Test,
        result: Option<stats::TestResult>,
    ) -> Figure {
        let (verdict, reason) = verdict(baseline.n, candidate.n, result);
        Figure {
            figure,
            name,
            unit,
            difference: Difference::of(&baseline, &candidate),
            baseline,
            candidate,
            verdict,
            test,
            p_value: result.map(|r| r.p_value),
            z: result.map(|r| r.z),
            reason,
        }
    }

    /// `vital LCP`, `fetch_latency GET /api/cart`, `error_rate`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("{} {name}", self.figure.as_str()),
            None => self.figure.as_str().to_string(),
        }
    }
}

/// The verdict of a test whose z is positive when the candidate is the higher (lower is better).
fn verdict(
    baseline_n: u64,
    candidate_n: u64,
    result: Option<stats::TestResult>,
) -> (Verdict, String) {
    if baseline_n < MIN_SAMPLES || candidate_n < MIN_SAMPLES {
        return (
            Verdict::NoEvidence,
            format!(
                "too few samples ({baseline_n} baseline, {candidate_n} candidate; \
                 {MIN_SAMPLES} needed on each side)"
            ),
        );
    }
    let Some(result) = result else {
        return (Verdict::NoEvidence, "too few samples".into());
    };
    if result.p_value >= ALPHA {
        return (
            Verdict::NoEvidence,
            format!("no significant difference (p ≥ {ALPHA})"),
        );
    }
    if result.z > 0.0 {
        (
            Verdict::Worse,
            format!("the candidate is higher (p < {ALPHA})"),
        )
    } else {
        (
            Verdict::Better,
            format!("the candidate is lower (p < {ALPHA})"),
        )
    }
}

fn distribution_side(values: &[f64]) -> Side {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Side {
        n: sorted.len() as u64,
        p75: nearest_rank(&sorted, 0.75),
        p95: nearest_rank(&sorted, 0.95),
        ..Side::default()
    }
}

fn distribution(
    figure: FigureKind,
    name: Option<String>,
    unit: &'static str,
    baseline: &[f64],
    candidate: &[f64],
) -> Figure {
    let (b, c) = (distribution_side(baseline), distribution_side(candidate));
    let result = mann_whitney_u(baseline, candidate).map(|m| m.test);
    Figure::tested(figure, name, unit, b, c, Test::MannWhitneyU, result)
}

fn rate_side(events: u64, n: u64) -> Side {
    Side {
        n,
        events: Some(events),
        rate: (n > 0).then(|| events as f64 / n as f64),
        ..Side::default()
    }
}

fn proportion(figure: FigureKind, name: Option<String>, b: Side, c: Side) -> Figure {
    let (be, ce) = (b.events.unwrap_or(0), c.events.unwrap_or(0));
    let result = two_proportion_z(be, b.n, ce, c.n);
    let unit = if figure == FigureKind::ErrorRate {
        "errors per 1,000 page views"
    } else {
        "share"
    };
    Figure::tested(figure, name, unit, b, c, Test::TwoProportionZ, result)
}

fn error_rate_side(s: &ReleaseSamples) -> Side {
    Side {
        per_1000: (s.page_views > 0).then(|| s.errors as f64 * 1000.0 / s.page_views as f64),
        ..rate_side(s.page_views_with_errors, s.page_views)
    }
}

/// Routes of both releases, busiest first (then by name).
fn routes<'a>(
    a: &'a BTreeMap<String, RouteSamples>,
    b: &'a BTreeMap<String, RouteSamples>,
) -> Vec<&'a String> {
    let mut totals: BTreeMap<&String, usize> = BTreeMap::new();
    for (route, samples) in a.iter().chain(b) {
        *totals.entry(route).or_default() += samples.durations_ms.len();
    }
    let mut routes: Vec<(&String, usize)> = totals.into_iter().collect();
    routes.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(y.0)));
    routes.into_iter().map(|(r, _)| r).collect()
}

/// Every figure of `baseline` against `candidate`, in a fixed order: the error rate, sessions
/// with errors, the five vitals (then any other vital name), and per route fetch then server
/// latency and error rate.
pub fn compare(baseline: &ReleaseSamples, candidate: &ReleaseSamples) -> Vec<Figure> {
    let mut figures = vec![
        proportion(
            FigureKind::ErrorRate,
            None,
            error_rate_side(baseline),
            error_rate_side(candidate),
        ),
        proportion(
            FigureKind::SessionsWithErrors,
            None,
            rate_side(baseline.sessions_with_errors, baseline.sessions),
            rate_side(candidate.sessions_with_errors, candidate.sessions),
        ),
    ];
    let mut names: Vec<&str> = VITALS.to_vec();
    for name in baseline.vitals.keys().chain(candidate.vitals.keys()) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let empty: Vec<f64> = Vec::new();
    for name in names {
        let unit = if name == "CLS" { "score" } else { "ms" };
        figures.push(distribution(
            FigureKind::Vital,
            Some(name.to_string()),
            unit,
            baseline.vitals.get(name).unwrap_or(&empty),
            candidate.vitals.get(name).unwrap_or(&empty),
        ));
    }
    let none = RouteSamples::default();
    for (spans_b, spans_c, latency, errors) in [
        (
            &baseline.fetch,
            &candidate.fetch,
            FigureKind::FetchLatency,
            FigureKind::FetchErrorRate,
        ),
        (
            &baseline.server,
            &candidate.server,
            FigureKind::ServerLatency,
            FigureKind::ServerErrorRate,
        ),
    ] {
        for route in routes(spans_b, spans_c) {
            let b = spans_b.get(route).unwrap_or(&none);
            let c = spans_c.get(route).unwrap_or(&none);
            figures.push(distribution(
                latency,
                Some(route.clone()),
                "ms",
                &b.durations_ms,
                &c.durations_ms,
            ));
            figures.push(proportion(
                errors,
                Some(route.clone()),
                rate_side(b.errors, b.durations_ms.len() as u64),
                rate_side(c.errors, c.durations_ms.len() as u64),
            ));
        }
    }
    figures
}

/// A route's figures in a release's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteSummary {
    pub route: String,
    pub n: u64,
    pub p75_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub errors: u64,
    /// `errors / n`.
    pub error_rate: Option<f64>,
}

/// A vital's figures in a release's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VitalFigures {
    pub n: u64,
    pub p75: Option<f64>,
    pub p95: Option<f64>,
}

/// One release with its figures, as `GET /api/releases` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseSummary {
    pub version: String,
    /// None when environments were pooled.
    pub environment: Option<String>,
    /// Unix nanoseconds as decimal strings: the first and last page view or span start.
    pub first_seen_unix_nano: Option<String>,
    pub last_seen_unix_nano: Option<String>,
    pub sessions: u64,
    pub page_views: u64,
    /// Error occurrences.
    pub errors: u64,
    pub errors_per_1000_page_views: Option<f64>,
    pub page_views_with_errors: u64,
    pub sessions_with_errors: u64,
    /// `sessions_with_errors / sessions`.
    pub session_error_share: Option<f64>,
    pub vitals: BTreeMap<String, VitalFigures>,
    /// Browser fetch spans per route, busiest first.
    pub fetch: Vec<RouteSummary>,
    /// Server spans per route, busiest first.
    pub server: Vec<RouteSummary>,
    /// Spans of routes past the per-release cap, not in `fetch` or `server`.
    pub other_route_spans: u64,
}

fn route_summaries(routes: &BTreeMap<String, RouteSamples>) -> Vec<RouteSummary> {
    let mut list: Vec<RouteSummary> = routes
        .iter()
        .map(|(route, s)| {
            let side = distribution_side(&s.durations_ms);
            RouteSummary {
                route: route.clone(),
                n: side.n,
                p75_ms: side.p75,
                p95_ms: side.p95,
                errors: s.errors,
                error_rate: rate_side(s.errors, side.n).rate,
            }
        })
        .collect();
    list.sort_by(|a, b| b.n.cmp(&a.n).then_with(|| a.route.cmp(&b.route)));
    list
}

/// A release's figures.
pub fn summarize(key: &ReleaseKey, s: &ReleaseSamples) -> ReleaseSummary {
    ReleaseSummary {
        version: key.version.clone(),
        environment: key.environment.clone(),
        first_seen_unix_nano: s.first_seen.map(|t| t.to_string()),
        last_seen_unix_nano: s.last_seen.map(|t| t.to_string()),
        sessions: s.sessions,
        page_views: s.page_views,
        errors: s.errors,
        errors_per_1000_page_views: error_rate_side(s).per_1000,
        page_views_with_errors: s.page_views_with_errors,
        sessions_with_errors: s.sessions_with_errors,
        session_error_share: rate_side(s.sessions_with_errors, s.sessions).rate,
        vitals: s
            .vitals
            .iter()
            .map(|(name, values)| {
                let side = distribution_side(values);
                (
                    name.clone(),
                    VitalFigures {
                        n: side.n,
                        p75: side.p75,
                        p95: side.p95,
                    },
                )
            })
            .collect(),
        fetch: route_summaries(&s.fetch),
        server: route_summaries(&s.server),
        other_route_spans: s.other_routes,
    }
}

/// Releases newest first (by their last page view or span).
pub fn summaries(releases: &BTreeMap<ReleaseKey, ReleaseSamples>) -> Vec<ReleaseSummary> {
    let mut list: Vec<(Option<i64>, ReleaseSummary)> = releases
        .iter()
        .map(|(key, s)| (s.last_seen, summarize(key, s)))
        .collect();
    list.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.version.cmp(&b.1.version)));
    list.into_iter().map(|(_, s)| s).collect()
}

/// No page view or span of a release in the range read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no release {version} of service {service}{} in the time range", .environment.as_ref().map_or(String::new(), |e| format!(" in environment {e}")))]
pub struct UnknownRelease {
    pub service: String,
    pub environment: Option<String>,
    pub version: String,
}

/// Two releases compared, as `GET /api/releases/compare` returns it and
/// `rum-gateway compare` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub service: String,
    /// None when environments were pooled.
    pub environment: Option<String>,
    pub alpha: f64,
    pub min_samples: u64,
    pub baseline: ReleaseSummary,
    pub candidate: ReleaseSummary,
    pub figures: Vec<Figure>,
    /// Labels of the figures whose verdict is `worse` (`Figure::label`).
    pub worse: Vec<String>,
    /// Labels of the figures whose verdict is `better`.
    pub better: Vec<String>,
}

/// Compares `baseline` with `candidate` among `releases` (read with environments pooled, or
/// for `environment` alone); an error names a release with no data.
pub fn comparison(
    service: &str,
    environment: Option<&str>,
    releases: &BTreeMap<ReleaseKey, ReleaseSamples>,
    baseline: &str,
    candidate: &str,
) -> Result<Comparison, UnknownRelease> {
    let find = |version: &str| {
        releases
            .iter()
            .find(|(key, _)| key.version == version)
            .ok_or_else(|| UnknownRelease {
                service: service.to_string(),
                environment: environment.map(String::from),
                version: version.to_string(),
            })
    };
    let (bk, bs) = find(baseline)?;
    let (ck, cs) = find(candidate)?;
    let figures = compare(bs, cs);
    let labels = |verdict: Verdict| {
        figures
            .iter()
            .filter(|f| f.verdict == verdict)
            .map(Figure::label)
            .collect()
    };
    Ok(Comparison {
        service: service.to_string(),
        environment: environment.map(String::from),
        alpha: ALPHA,
        min_samples: MIN_SAMPLES,
        baseline: summarize(bk, bs),
        candidate: summarize(ck, cs),
        worse: labels(Verdict::Worse),
        better: labels(Verdict::Better),
        figures,
    })
}

fn number(value: f64, unit: &str) -> String {
    match unit {
        "score" => format!("{value:.3}"),
        "share" => format!("{:.2}%", value * 100.0),
        _ => format!("{value:.1}"),
    }
}

fn signed(value: f64, unit: &str) -> String {
    let text = number(value, unit);
    if value > 0.0 {
        format!("+{text}")
    } else {
        text
    }
}

fn side_text(side: &Side, unit: &str) -> String {
    match (side.p75, side.p95, side.per_1000, side.rate) {
        (Some(p75), Some(p95), _, _) => format!(
            "p75 {} p95 {} (n={})",
            number(p75, unit),
            number(p95, unit),
            side.n
        ),
        (_, _, Some(per_1000), _) => format!(
            "{per_1000:.1}/1000 ({} of {} views)",
            side.events.unwrap_or(0),
            side.n
        ),
        (_, _, _, Some(rate)) => format!(
            "{} ({} of {})",
            number(rate, "share"),
            side.events.unwrap_or(0),
            side.n
        ),
        _ => format!("n={}", side.n),
    }
}

fn difference_text(d: &Difference, unit: &str) -> String {
    match (d.p75, d.p95, d.per_1000, d.rate) {
        (Some(p75), Some(p95), _, _) => {
            format!("p75 {} p95 {}", signed(p75, unit), signed(p95, unit))
        }
        (_, _, Some(per_1000), _) => format!("{}/1000", signed(per_1000, "")),
        (_, _, _, Some(rate)) => signed(rate, "share"),
        _ => "-".into(),
    }
}

/// The comparison as a plain-text table: figure, baseline, candidate, difference, verdict,
/// test, p.
pub fn table(figures: &[Figure]) -> String {
    let header = [
        "figure",
        "baseline",
        "candidate",
        "difference",
        "verdict",
        "test",
        "p",
    ];
    let rows: Vec<[String; 7]> = figures
        .iter()
        .map(|f| {
            [
                f.label(),
                side_text(&f.baseline, f.unit),
                side_text(&f.candidate, f.unit),
                difference_text(&f.difference, f.unit),
                f.verdict.as_str().to_string(),
                f.test.as_str().to_string(),
                f.p_value.map_or("-".into(), |p| format!("{p:.3e}")),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        text.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&header.map(String::from));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(lcp: impl Fn(u64) -> f64, views: u64, with_errors: u64) -> ReleaseSamples {
        ReleaseSamples {
            page_views: views,
            page_views_with_errors: with_errors,
            errors: with_errors * 2,
            sessions: views / 2,
            sessions_with_errors: with_errors / 2,
            vitals: BTreeMap::from([("LCP".to_string(), (0..views).map(lcp).collect())]),
            ..ReleaseSamples::default()
        }
    }

    fn find<'a>(figures: &'a [Figure], label: &str) -> &'a Figure {
        figures
            .iter()
            .find(|f| f.label() == label)
            .unwrap_or_else(|| panic!("no {label}"))
    }

    #[test]
    fn a_slower_lcp_and_more_errors_are_worse_and_the_rest_no_evidence() {
        let base = samples(|i| 1000.0 + (i % 100) as f64 * 10.0, 400, 20);
        let slow = samples(|i| 1300.0 + (i % 100) as f64 * 13.0, 400, 60);
        let figures = compare(&base, &slow);
        assert_eq!(find(&figures, "vital LCP").verdict, Verdict::Worse);
        assert_eq!(find(&figures, "error_rate").verdict, Verdict::Worse);
        assert_eq!(find(&figures, "error_rate").candidate.per_1000, Some(300.0));
        assert_eq!(
            find(&figures, "sessions_with_errors").verdict,
            Verdict::Worse
        );
        let inp = find(&figures, "vital INP");
        assert_eq!(inp.verdict, Verdict::NoEvidence);
        assert!(inp.reason.starts_with("too few samples"), "{}", inp.reason);
        // The other way round, the same figures are better.
        let back = compare(&slow, &base);
        assert_eq!(find(&back, "vital LCP").verdict, Verdict::Better);
        assert_eq!(find(&back, "error_rate").verdict, Verdict::Better);
        // A release against itself: nothing.
        assert!(compare(&base, &base)
            .iter()
            .all(|f| f.verdict == Verdict::NoEvidence));
    }

    #[test]
    fn below_the_minimum_a_clear_difference_is_no_evidence() {
        let base = samples(|_| 1000.0, 29, 0);
        let slow = samples(|_| 9000.0, 29, 29);
        let figures = compare(&base, &slow);
        let lcp = find(&figures, "vital LCP");
        assert_eq!(lcp.verdict, Verdict::NoEvidence);
        assert!(lcp.p_value.is_some_and(|p| p < 1e-6), "{lcp:?}");
        assert!(lcp.reason.starts_with("too few samples"));
    }

    #[test]
    fn routes_of_either_release_are_compared() {
        let mut base = ReleaseSamples::default();
        let mut cand = ReleaseSamples::default();
        base.server.insert(
            "GET /a".into(),
            RouteSamples {
                durations_ms: vec![10.0; 50],
                errors: 0,
            },
        );
        cand.server.insert(
            "GET /b".into(),
            RouteSamples {
                durations_ms: vec![10.0; 50],
                errors: 5,
            },
        );
        let figures = compare(&base, &cand);
        let a = find(&figures, "server_latency GET /a");
        assert_eq!((a.baseline.n, a.candidate.n), (50, 0));
        assert_eq!(a.verdict, Verdict::NoEvidence);
        assert_eq!(
            find(&figures, "server_error_rate GET /b").candidate.rate,
            Some(0.1)
        );
        let text = table(&figures);
        assert!(text.starts_with("figure"), "{text}");
        assert!(text.contains("server_error_rate GET /b"), "{text}");
    }
}
