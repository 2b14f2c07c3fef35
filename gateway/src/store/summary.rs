//! Per-page web vitals: for each URL path, the 75th percentile of each vital and the share of
//! good, needs-improvement and poor reports, as CrUX and Search Console summarise them.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::Serialize;

use super::StoreError;
use crate::model::time::url_path;

/// Most recent vital reports a summary reads, so its cost stays bounded.
pub const MAX_REPORTS: u32 = 50_000;

#[derive(Debug, Serialize, PartialEq)]
pub struct VitalSummary {
    /// Nearest-rank 75th percentile: the smallest value at least 75% of reports do not exceed.
    pub p75: f64,
    pub count: usize,
    /// Shares of reports by rating, 0 to 1.
    pub good: f64,
    pub needs_improvement: f64,
    pub poor: f64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct PageSummary {
    /// The URL's path, without query or fragment.
    pub path: String,
    pub page_views: usize,
    pub vitals: BTreeMap<String, VitalSummary>,
}

/// One path's page view ids, and per vital name its values and counts of good,
/// needs-improvement and poor.
type PageReports = (
    std::collections::BTreeSet<String>,
    BTreeMap<String, (Vec<f64>, [usize; 3])>,
);

/// The newest [`MAX_REPORTS`] reports with their page's URL, through `vitals_by_received`, so
/// the read costs the same however large the store has grown.
const NEWEST_REPORTS: &str = "SELECT p.page_view_id, p.url, v.name, v.value, v.rating
     FROM vitals v JOIN page_views p ON p.page_view_id = v.page_view_id
     ORDER BY v.received_unix_nano DESC LIMIT ?1";

/// Every page seen, most viewed first. Each metric instance counts once with its latest
/// report (a back/forward-cache restore is a page experience of its own, as in CrUX).
pub fn pages(conn: &Connection) -> Result<Vec<PageSummary>, StoreError> {
    let mut stmt = conn.prepare_cached(NEWEST_REPORTS)?;
    let rows = stmt.query_map(params![MAX_REPORTS], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, f64>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut by_path: BTreeMap<String, PageReports> = BTreeMap::new();
    for row in rows {
        let (view, url, name, value, rating) = row?;
        let page = by_path.entry(url_path(&url).to_string()).or_default();
        page.0.insert(view);
        let (values, ratings) = page.1.entry(name).or_default();
        values.push(value);
        match rating.as_str() {
            "good" => ratings[0] += 1,
            "needs-improvement" => ratings[1] += 1,
            _ => ratings[2] += 1,
        }
    }
    let mut pages: Vec<PageSummary> = by_path
        .into_iter()
        .map(|(path, (views, vitals))| PageSummary {
            path,
            page_views: views.len(),
            vitals: vitals
                .into_iter()
                .map(|(name, (values, ratings))| (name, summarize(values, ratings)))
                .collect(),
        })
        .collect();
    pages.sort_by(|a, b| {
        b.page_views
            .cmp(&a.page_views)
            .then_with(|| a.path.cmp(&b.path))
    });
    Ok(pages)
}

fn summarize(mut values: Vec<f64>, ratings: [usize; 3]) -> VitalSummary {
    values.sort_by(f64::total_cmp);
    let count = values.len();
    // Nearest rank: the ceil(0.75 n)-th smallest.
    let rank = (count * 3).div_ceil(4).max(1);
    let share = |n: usize| {
        if count == 0 {
            0.0
        } else {
            n as f64 / count as f64
        }
    };
    VitalSummary {
        p75: values.get(rank - 1).copied().unwrap_or(0.0),
        count,
        good: share(ratings[0]),
        needs_improvement: share(ratings[1]),
        poor: share(ratings[2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_the_newest_reports_by_index_not_by_scanning_every_vital() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = crate::store::open(dir.path()).expect("store");
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {NEWEST_REPORTS}"))
            .expect("plan")
            .query_map(params![MAX_REPORTS], |r| r.get::<_, String>(3))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("plan rows");
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX vitals_by_received")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "{plan:?}"
        );
    }

    #[test]
    fn p75_is_the_nearest_rank() {
        let s = summarize(vec![400.0, 100.0, 300.0, 200.0], [3, 1, 0]);
        assert_eq!(s.p75, 300.0);
        assert_eq!(
            (s.count, s.good, s.needs_improvement, s.poor),
            (4, 0.75, 0.25, 0.0)
        );
        assert_eq!(summarize(vec![5.0], [1, 0, 0]).p75, 5.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(summarize(hundred, [100, 0, 0]).p75, 75.0);
    }
}
