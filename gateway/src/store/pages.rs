//! Per-page web vitals over a time range, as CrUX and Search Console summarise them: for each
//! service, environment and page (the view's name, else its URL's path), the 75th percentile
//! of each vital and the shares of good, needs-improvement and poor reports ([`pages`]); the
//! p75 of one vital over time, split by a dimension ([`series`]); and the page views behind a
//! figure ([`page_views`]).
//!
//! All three read the page views whose start is in the range through `page_views_by_start`,
//! and their vitals through the vitals' primary key. Each metric instance counts once with its
//! latest report (a back/forward-cache restore is a page experience of its own, as in CrUX).

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::Serialize;

use super::StoreError;
use crate::model::time::url_path;

/// Most page views one list returns.
pub const MAX_LIST: u32 = 1000;

/// The page a view counts under: its name (`rum.setView`, a route template), else its URL's
/// path.
pub fn page_key(name: &str, url: &str) -> String {
    if name.is_empty() {
        url_path(url).to_string()
    } else {
        name.to_string()
    }
}

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
    pub service: Option<String>,
    pub environment: Option<String>,
    /// The view's name, else its URL's path.
    pub page: String,
    /// The same as `page` (the field's name before pages had names).
    pub path: String,
    pub page_views: usize,
    pub vitals: BTreeMap<String, VitalSummary>,
}

/// What a chart or list splits page views by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// `user_agent.name`.
    Browser,
    /// `browser.mobile`: mobile or desktop.
    Device,
    /// `geo.country.iso_code`.
    Country,
    /// `browser.connection.effective_type`.
    Connection,
    /// The resource's `service.version`.
    Release,
}

impl Dimension {
    pub const NAMES: &'static str = "browser, device, country, connection, release";

    pub fn parse(name: &str) -> Option<Dimension> {
        Some(match name {
            "browser" => Dimension::Browser,
            "device" => Dimension::Device,
            "country" => Dimension::Country,
            "connection" => Dimension::Connection,
            "release" => Dimension::Release,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Browser => "browser",
            Dimension::Device => "device",
            Dimension::Country => "country",
            Dimension::Connection => "connection",
            Dimension::Release => "release",
        }
    }

    /// The SQL giving a view's group (`p` is the page view), 'unknown' when it has none.
    fn sql(self) -> &'static str {
        match self {
            Dimension::Browser => {
                "coalesce(json_extract(p.attributes, '$.\"user_agent.name\"'), 'unknown')"
            }
            Dimension::Device => {
                "CASE json_extract(p.attributes, '$.\"browser.mobile\"')
                    WHEN 1 THEN 'mobile' WHEN 0 THEN 'desktop' ELSE 'unknown' END"
            }
            Dimension::Country => {
                "coalesce(json_extract(p.attributes, '$.\"geo.country.iso_code\"'), 'unknown')"
            }
            Dimension::Connection => {
                "coalesce(json_extract(p.attributes, '$.\"browser.connection.effective_type\"'), 'unknown')"
            }
            Dimension::Release => {
                "coalesce(json_extract(p.resource, '$.\"service.version\"'), 'unknown')"
            }
        }
    }
}

const SERVICE_SQL: &str = "json_extract(p.resource, '$.\"service.name\"')";
const ENVIRONMENT_SQL: &str =
    "coalesce(json_extract(p.resource, '$.\"deployment.environment.name\"'),
    json_extract(p.resource, '$.\"deployment.environment\"'))";

/// Which page views count.
#[derive(Debug, Clone, Default)]
pub struct PageFilter {
    pub service: Option<String>,
    pub environment: Option<String>,
    /// A page as [`page_key`] gives it.
    pub page: Option<String>,
    /// Views starting in this range (unix nanoseconds, inclusive).
    pub from: i64,
    pub to: i64,
}

/// Per service, environment and page, most viewed first.
pub fn pages(conn: &Connection, filter: &PageFilter) -> Result<Vec<PageSummary>, StoreError> {
    let sql = format!(
        "SELECT p.page_view_id, p.url, p.name, {SERVICE_SQL}, {ENVIRONMENT_SQL},
                v.name, v.value, v.rating
         FROM page_views p LEFT JOIN vitals v ON v.page_view_id = p.page_view_id
         WHERE p.start_unix_nano BETWEEN ?1 AND ?2
           AND (?3 IS NULL OR {SERVICE_SQL} = ?3)
           AND (?4 IS NULL OR {ENVIRONMENT_SQL} = ?4)"
    );
    type Key = (Option<String>, Option<String>, String);
    #[derive(Default)]
    struct Page {
        views: std::collections::HashSet<String>,
        vitals: BTreeMap<String, (Vec<f64>, [usize; 3])>,
    }
    let mut by_page: BTreeMap<Key, Page> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![
        filter.from,
        filter.to,
        filter.service,
        filter.environment
    ])?;
    while let Some(r) = rows.next()? {
        let page = page_key(&r.get::<_, String>(2)?, &r.get::<_, String>(1)?);
        if filter.page.as_ref().is_some_and(|p| *p != page) {
            continue;
        }
        let entry = by_page.entry((r.get(3)?, r.get(4)?, page)).or_default();
        entry.views.insert(r.get(0)?);
        if let Some(name) = r.get::<_, Option<String>>(5)? {
            let (values, ratings) = entry.vitals.entry(name).or_default();
            values.push(r.get(6)?);
            ratings[rating_index(&r.get::<_, String>(7)?)] += 1;
        }
    }
    let mut pages: Vec<PageSummary> = by_page
        .into_iter()
        .map(|((service, environment, page), p)| PageSummary {
            service,
            environment,
            path: page.clone(),
            page,
            page_views: p.views.len(),
            vitals: p
                .vitals
                .into_iter()
                .map(|(name, (values, ratings))| (name, summarize(values, ratings)))
                .collect(),
        })
        .collect();
    pages.sort_by(|a, b| {
        b.page_views
            .cmp(&a.page_views)
            .then_with(|| a.page.cmp(&b.page))
    });
    Ok(pages)
}

fn rating_index(rating: &str) -> usize {
    match rating {
        "good" => 0,
        "needs-improvement" => 1,
        _ => 2,
    }
}

/// One point of a series: a bucket's start and the p75 of its reports.
#[derive(Debug, Serialize, PartialEq)]
pub struct Point {
    pub start_ms: i64,
    pub p75: f64,
    pub count: usize,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Series {
    /// The group's value (`all` without a dimension, `unknown` when a view has none).
    pub group: String,
    /// Buckets with reports only, oldest first.
    pub points: Vec<Point>,
}

/// The p75 of `vital` per bucket of `bucket_ms` (views by start time), per group of `by`.
pub fn series(
    conn: &Connection,
    filter: &PageFilter,
    vital: &str,
    bucket_ms: i64,
    by: Option<Dimension>,
) -> Result<Vec<Series>, StoreError> {
    let group = by.map_or("'all'", Dimension::sql);
    let sql = format!(
        "SELECT p.start_unix_nano, p.url, p.name, {group}, v.value
         FROM page_views p JOIN vitals v ON v.page_view_id = p.page_view_id AND v.name = ?5
         WHERE p.start_unix_nano BETWEEN ?1 AND ?2
           AND (?3 IS NULL OR {SERVICE_SQL} = ?3)
           AND (?4 IS NULL OR {ENVIRONMENT_SQL} = ?4)"
    );
    let bucket_nanos = bucket_ms.max(1).saturating_mul(1_000_000);
    let mut groups: BTreeMap<String, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![
        filter.from,
        filter.to,
        filter.service,
        filter.environment,
        vital
    ])?;
    while let Some(r) = rows.next()? {
        if let Some(page) = &filter.page {
            if *page != page_key(&r.get::<_, String>(2)?, &r.get::<_, String>(1)?) {
                continue;
            }
        }
        let start: i64 = r.get(0)?;
        let bucket = start.div_euclid(bucket_nanos) * bucket_nanos / 1_000_000;
        groups
            .entry(r.get(3)?)
            .or_default()
            .entry(bucket)
            .or_default()
            .push(r.get(4)?);
    }
    Ok(groups
        .into_iter()
        .map(|(group, buckets)| Series {
            group,
            points: buckets
                .into_iter()
                .map(|(start_ms, values)| {
                    let s = summarize(values, [0; 3]);
                    Point {
                        start_ms,
                        p75: s.p75,
                        count: s.count,
                    }
                })
                .collect(),
        })
        .collect())
}

/// Which page views a list holds, beyond a [`PageFilter`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub pages: PageFilter,
    /// Only views that reported this vital.
    pub vital: Option<String>,
    /// Only views in this group.
    pub group: Option<(Dimension, String)>,
    /// Views after this one, newest first: its start and id.
    pub after: Option<(i64, String)>,
    pub limit: u32,
}

/// The ids of the views matching `filter`, newest first, and whether more follow.
pub fn page_views(
    conn: &Connection,
    filter: &ListFilter,
) -> Result<(Vec<(i64, String)>, bool), StoreError> {
    let group = filter.group.as_ref().map_or("NULL", |(d, _)| d.sql());
    let sql = format!(
        "SELECT p.start_unix_nano, p.page_view_id, p.url, p.name FROM page_views p
         WHERE p.start_unix_nano BETWEEN ?1 AND ?2
           AND (?3 IS NULL OR {SERVICE_SQL} = ?3)
           AND (?4 IS NULL OR {ENVIRONMENT_SQL} = ?4)
           AND (?5 IS NULL OR EXISTS (SELECT 1 FROM vitals v
                WHERE v.page_view_id = p.page_view_id AND v.name = ?5))
           AND (?6 IS NULL OR {group} = ?6)
           AND (?7 IS NULL OR p.start_unix_nano < ?7
                OR (p.start_unix_nano = ?7 AND p.page_view_id < ?8))
         ORDER BY p.start_unix_nano DESC, p.page_view_id DESC"
    );
    let limit = filter.limit as usize;
    let mut out = Vec::new();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![
        filter.pages.from,
        filter.pages.to,
        filter.pages.service,
        filter.pages.environment,
        filter.vital,
        filter.group.as_ref().map(|(_, g)| g),
        filter.after.as_ref().map(|a| a.0),
        filter.after.as_ref().map(|a| a.1.as_str()),
    ])?;
    while let Some(r) = rows.next()? {
        if let Some(page) = &filter.pages.page {
            if *page != page_key(&r.get::<_, String>(3)?, &r.get::<_, String>(2)?) {
                continue;
            }
        }
        if out.len() == limit {
            return Ok((out, true));
        }
        out.push((r.get(0)?, r.get(1)?));
    }
    Ok((out, false))
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
    fn a_range_reads_the_page_views_by_their_start_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = crate::store::open(dir.path()).expect("store");
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT p.page_view_id FROM page_views p
             LEFT JOIN vitals v ON v.page_view_id = p.page_view_id
             WHERE p.start_unix_nano BETWEEN 1 AND 2 AND (NULL IS NULL OR {SERVICE_SQL} = 'x')"
        );
        let plan: Vec<String> = conn
            .prepare(&sql)
            .expect("plan")
            .query_map([], |r| r.get::<_, String>(3))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("plan rows");
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX page_views_by_start")),
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

    #[test]
    fn a_page_is_its_name_else_its_path() {
        assert_eq!(
            page_key("/product/:sku", "https://a.test/product/42?x=1"),
            "/product/:sku"
        );
        assert_eq!(page_key("", "https://a.test/product/42?x=1"), "/product/42");
    }
}
