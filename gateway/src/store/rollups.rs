//! Hourly rollups: what the store keeps of vitals and latencies once their raw rows are past
//! the raw tier (`store/retention.rs`), for `store.rollup_retention_hours` (400 days).
//!
//! A rollup is a histogram per hour, metric (each web vital; `fetch.duration` of the
//! browser's fetch/XHR spans; `server.duration` of the backend's server spans), service,
//! version, route, country and browser. Buckets are logarithmic, 16 per doubling: a quantile
//! read from one is the geometric middle of its bucket, within [`RELATIVE_ERROR`] (2.2 %) of
//! the raw value it stands for. Zero (a CLS of 0) has a bucket of its own, exact.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::StoreError;
use crate::model::time::url_path;

pub(crate) const SCHEMA: &str = r#"
-- Hourly histograms (store/rollups.rs), kept past the raw tier.
CREATE TABLE IF NOT EXISTS rollups (
    hour            INTEGER NOT NULL,
    metric          TEXT NOT NULL,
    service         TEXT NOT NULL,
    version         TEXT NOT NULL,
    route           TEXT NOT NULL,
    country         TEXT NOT NULL,
    browser         TEXT NOT NULL,
    count           INTEGER NOT NULL,
    sum             REAL NOT NULL,
    zero            INTEGER NOT NULL,
    -- [[bucket index, count], ...]
    buckets         TEXT NOT NULL,
    PRIMARY KEY (hour, metric, service, version, route, country, browser)
) WITHOUT ROWID;
"#;

/// Buckets per doubling.
const PER_DOUBLING: f64 = 16.0;

/// The largest relative difference between a value and its bucket's middle: 2^(1/32) − 1.
pub const RELATIVE_ERROR: f64 = 0.021_897_148_654_116_7;

/// Values at or below this count as zero.
const ZERO: f64 = 1e-9;

/// A log-bucketed histogram.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    pub count: u64,
    pub sum: f64,
    pub zero: u64,
    pub buckets: BTreeMap<i32, u64>,
}

fn bucket_of(value: f64) -> i32 {
    (value.log2() * PER_DOUBLING).floor() as i32
}

fn middle_of(bucket: i32) -> f64 {
    ((f64::from(bucket) + 0.5) / PER_DOUBLING).exp2()
}

impl Histogram {
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        self.count += 1;
        self.sum += value;
        if value <= ZERO {
            self.zero += 1;
        } else {
            *self.buckets.entry(bucket_of(value)).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        self.count += other.count;
        self.sum += other.sum;
        self.zero += other.zero;
        for (bucket, n) in &other.buckets {
            *self.buckets.entry(*bucket).or_default() += n;
        }
    }

    /// The nearest-rank quantile (the smallest value at least `q` of the values do not
    /// exceed, as the raw summaries compute it), as its bucket's middle.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((self.count as f64 * q).ceil() as u64).max(1);
        if rank <= self.zero {
            return Some(0.0);
        }
        let mut seen = self.zero;
        for (bucket, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(middle_of(*bucket));
            }
        }
        self.buckets.keys().next_back().map(|b| middle_of(*b))
    }

    fn buckets_json(&self) -> String {
        let pairs: Vec<[i64; 2]> = self
            .buckets
            .iter()
            .map(|(b, n)| [i64::from(*b), i64::try_from(*n).unwrap_or(i64::MAX)])
            .collect();
        serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".into())
    }

    fn from_row(count: i64, sum: f64, zero: i64, buckets: &str) -> Result<Histogram, StoreError> {
        let pairs: Vec<[i64; 2]> = serde_json::from_str(buckets)?;
        Ok(Histogram {
            count: u64::try_from(count).unwrap_or(0),
            sum,
            zero: u64::try_from(zero).unwrap_or(0),
            buckets: pairs
                .into_iter()
                .map(|[b, n]| (b as i32, u64::try_from(n).unwrap_or(0)))
                .collect(),
        })
    }
}

/// What a rollup row is per: the hour (Unix seconds of its start) and the dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    pub hour: i64,
    pub metric: String,
    pub service: String,
    pub version: String,
    pub route: String,
    pub country: String,
    pub browser: String,
}

/// The hour (Unix seconds) `unix_nano` falls in.
pub fn hour_of(unix_nano: i64) -> i64 {
    unix_nano.div_euclid(1_000_000_000).div_euclid(3600) * 3600
}

/// Histograms being built, merged into the table at the end.
#[derive(Debug, Default)]
pub struct Rollup(pub HashMap<RollupKey, Histogram>);

impl Rollup {
    pub fn add(&mut self, key: RollupKey, value: f64) {
        self.0.entry(key).or_default().add(value);
    }

    /// Merges every histogram into its row (created when new).
    pub fn merge_into(self, tx: &Connection) -> Result<(), StoreError> {
        for (key, histogram) in self.0 {
            let existing = tx
                .prepare_cached(
                    "SELECT count, sum, zero, buckets FROM rollups WHERE hour = ?1 AND metric = ?2
                       AND service = ?3 AND version = ?4 AND route = ?5 AND country = ?6
                       AND browser = ?7",
                )?
                .query_row(
                    params![
                        key.hour,
                        key.metric,
                        key.service,
                        key.version,
                        key.route,
                        key.country,
                        key.browser
                    ],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, f64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    },
                )
                .optional()?;
            let mut merged = match existing {
                Some((count, sum, zero, buckets)) => {
                    Histogram::from_row(count, sum, zero, &buckets)?
                }
                None => Histogram::default(),
            };
            merged.merge(&histogram);
            tx.prepare_cached(
                "INSERT OR REPLACE INTO rollups (hour, metric, service, version, route, country,
                    browser, count, sum, zero, buckets)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                key.hour,
                key.metric,
                key.service,
                key.version,
                key.route,
                key.country,
                key.browser,
                i64::try_from(merged.count).unwrap_or(i64::MAX),
                merged.sum,
                i64::try_from(merged.zero).unwrap_or(i64::MAX),
                merged.buckets_json(),
            ])?;
        }
        Ok(())
    }
}

/// Rolls up the vitals received in `[from, to)` (nanoseconds), by page view: the page's
/// service and version (its resource), route (its view name, else its URL's path), country and
/// browser (its enrichment).
pub fn vitals(tx: &Connection, from: i64, to: i64) -> Result<Rollup, StoreError> {
    let mut rollup = Rollup::default();
    let mut stmt = tx.prepare_cached(
        "SELECT v.name, v.value, v.received_unix_nano,
                coalesce(json_extract(p.resource, '$.\"service.name\"'), ''),
                coalesce(json_extract(p.resource, '$.\"service.version\"'), ''),
                p.name, p.url,
                coalesce(json_extract(p.attributes, '$.\"geo.country.iso_code\"'), ''),
                coalesce(json_extract(p.attributes, '$.\"user_agent.name\"'), '')
         FROM vitals v JOIN page_views p ON p.page_view_id = v.page_view_id
         WHERE v.received_unix_nano >= ?1 AND v.received_unix_nano < ?2",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(5)?;
        let url: String = r.get(6)?;
        let route = if name.is_empty() {
            url_path(&url).to_string()
        } else {
            name
        };
        rollup.add(
            RollupKey {
                hour: hour_of(r.get(2)?),
                metric: r.get(0)?,
                service: r.get(3)?,
                version: r.get(4)?,
                route,
                country: r.get(7)?,
                browser: r.get(8)?,
            },
            r.get(1)?,
        );
    }
    Ok(rollup)
}

/// The filter of a quantile read; `None` matches any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub metric: String,
    pub service: Option<String>,
    pub version: Option<String>,
    pub route: Option<String>,
    pub country: Option<String>,
    pub browser: Option<String>,
}

/// Quantiles of a metric over a time range, and where they were read from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantiles {
    pub metric: String,
    pub count: u64,
    pub p75: Option<f64>,
    pub p95: Option<f64>,
    /// `raw` (exact nearest-rank), `rollups`, or `raw+rollups`.
    pub source: &'static str,
    /// The largest relative error of a quantile read from rollups (0 for raw).
    pub max_relative_error: f64,
}

fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    let rank = ((sorted.len() as f64 * q).ceil() as usize).max(1);
    sorted.get(rank - 1).copied()
}

/// The p75 and p95 of a vital (or a rollup-only span metric) over `[from, to)` (nanoseconds):
/// hours already rolled up (`rolled_to`: the raw tier's edge) from the rollups, the rest from
/// the raw reports, exactly when no rollup is involved.
pub fn quantiles(
    conn: &Connection,
    filter: &Filter,
    from: i64,
    to: i64,
    rolled_to: i64,
) -> Result<Quantiles, StoreError> {
    let secs = |n: i64| n.div_euclid(1_000_000_000);
    let mut from_rollups = Histogram::default();
    if from < rolled_to {
        // Whole hours: a rollup's hour counts if it starts inside the range.
        from_rollups = histogram(conn, filter, secs(from), secs(to.min(rolled_to)))?;
    }
    let mut raw = Vec::new();
    if to > rolled_to {
        let mut stmt = conn.prepare_cached(
            "SELECT v.value, p.name, p.url FROM vitals v
                JOIN page_views p ON p.page_view_id = v.page_view_id
             WHERE v.name = ?1 AND v.received_unix_nano >= ?2 AND v.received_unix_nano < ?3
               AND (?4 IS NULL OR coalesce(json_extract(p.resource, '$.\"service.name\"'), '') = ?4)
               AND (?5 IS NULL OR coalesce(json_extract(p.resource, '$.\"service.version\"'), '') = ?5)
               AND (?6 IS NULL OR coalesce(json_extract(p.attributes, '$.\"geo.country.iso_code\"'), '') = ?6)
               AND (?7 IS NULL OR coalesce(json_extract(p.attributes, '$.\"user_agent.name\"'), '') = ?7)",
        )?;
        let mut rows = stmt.query(params![
            filter.metric,
            from.max(rolled_to),
            to,
            filter.service,
            filter.version,
            filter.country,
            filter.browser
        ])?;
        while let Some(r) = rows.next()? {
            let name: String = r.get(1)?;
            let url: String = r.get(2)?;
            let route = if name.is_empty() {
                url_path(&url)
            } else {
                &name
            };
            if filter.route.as_deref().is_none_or(|want| want == route) {
                raw.push(r.get::<_, f64>(0)?);
            }
        }
    }
    let metric = filter.metric.clone();
    if from_rollups.count == 0 {
        raw.sort_by(f64::total_cmp);
        return Ok(Quantiles {
            metric,
            count: raw.len() as u64,
            p75: nearest_rank(&raw, 0.75),
            p95: nearest_rank(&raw, 0.95),
            source: "raw",
            max_relative_error: 0.0,
        });
    }
    let source = if raw.is_empty() {
        "rollups"
    } else {
        "raw+rollups"
    };
    for value in raw {
        from_rollups.add(value);
    }
    Ok(Quantiles {
        metric,
        count: from_rollups.count,
        p75: from_rollups.quantile(0.75),
        p95: from_rollups.quantile(0.95),
        source,
        max_relative_error: RELATIVE_ERROR,
    })
}

/// The merged histogram of the rollups matching `filter` for the hours in `[from, to)` (Unix
/// seconds).
pub fn histogram(
    conn: &Connection,
    filter: &Filter,
    from: i64,
    to: i64,
) -> Result<Histogram, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT count, sum, zero, buckets FROM rollups
         WHERE hour >= ?1 AND hour < ?2 AND metric = ?3
           AND (?4 IS NULL OR service = ?4) AND (?5 IS NULL OR version = ?5)
           AND (?6 IS NULL OR route = ?6) AND (?7 IS NULL OR country = ?7)
           AND (?8 IS NULL OR browser = ?8)",
    )?;
    let mut rows = stmt.query(params![
        from,
        to,
        filter.metric,
        filter.service,
        filter.version,
        filter.route,
        filter.country,
        filter.browser
    ])?;
    let mut total = Histogram::default();
    while let Some(r) = rows.next()? {
        let buckets: String = r.get(3)?;
        total.merge(&Histogram::from_row(
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            &buckets,
        )?);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantile_is_within_the_stated_error_of_the_raw_nearest_rank() {
        // A skewed distribution, as LCP is: 1,000 values from 50 ms to ~20 s.
        let mut values: Vec<f64> = (0..1000)
            .map(|i| 50.0 * (1.006f64).powi(i) + f64::from(i % 7))
            .collect();
        let mut h = Histogram::default();
        for v in &values {
            h.add(*v);
        }
        values.sort_by(f64::total_cmp);
        for q in [0.5, 0.75, 0.95, 0.99] {
            let rank = ((values.len() as f64 * q).ceil() as usize).max(1);
            let exact = values[rank - 1];
            let approx = h.quantile(q).expect("values");
            assert!(
                (approx / exact - 1.0).abs() <= RELATIVE_ERROR + 1e-12,
                "q{q}: {approx} vs {exact}"
            );
        }
        // Zeros are exact, and merging is adding.
        let mut cls = Histogram::default();
        for v in [0.0, 0.0, 0.0, 0.1] {
            cls.add(v);
        }
        assert_eq!(cls.quantile(0.75), Some(0.0));
        let mut both = cls.clone();
        both.merge(&h);
        assert_eq!(both.count, 1004);
        assert_eq!(both.zero, 3);
    }

    #[test]
    fn rows_round_trip_and_merge_on_write() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch(SCHEMA).expect("schema");
        let key = RollupKey {
            hour: 3600,
            metric: "LCP".into(),
            service: "web".into(),
            version: "1".into(),
            route: "/".into(),
            country: "GB".into(),
            browser: "Chrome".into(),
        };
        for values in [[100.0, 200.0], [300.0, 400.0]] {
            let mut r = Rollup::default();
            for v in values {
                r.add(key.clone(), v);
            }
            r.merge_into(&conn).expect("merge");
        }
        let filter = Filter {
            metric: "LCP".into(),
            service: Some("web".into()),
            ..Filter::default()
        };
        let h = histogram(&conn, &filter, 0, 7200).expect("read");
        assert_eq!((h.count, h.sum), (4, 1000.0));
        let p75 = h.quantile(0.75).expect("p75");
        assert!((p75 / 300.0 - 1.0).abs() <= RELATIVE_ERROR, "{p75}");
        assert_eq!(
            histogram(&conn, &filter, 7200, 9000).expect("read").count,
            0
        );
    }
}
