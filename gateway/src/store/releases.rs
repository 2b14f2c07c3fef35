//! The samples of each release of a service, for release comparison (`releases.rs`): its page
//! views, sessions and errors, every web vital report, and the durations and outcomes of its
//! browser fetch spans and its server spans, each per route.
//!
//! A release is a `service.version` of one `service.name`, in one
//! `deployment.environment.name` (or the older `deployment.environment`) unless the read pools
//! them. It is read from the resource each record was sent with: the page view's (its vitals
//! and errors belong to it through `page_view_id`) and the span's. A session with views in two
//! releases counts in both, with the errors of its views in each.
//!
//! Cost: `service.name` and `service.version` live in resource JSON, not in an indexed column,
//! so a read scans the page views (by `page_views_by_start` when a time range is given) and
//! every client and server span of the range, in `main` and each partition.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{params, Connection};

use super::{partitions, StoreError};
use crate::model::attr::{
    DEPLOYMENT_ENVIRONMENT, DEPLOYMENT_ENVIRONMENT_OLD, SERVICE_NAME, SERVICE_VERSION,
};
use crate::model::time::url_path;

/// Most routes kept per kind of span and release; the rest are counted in `other_routes`.
/// Paths with ids in them would otherwise make a route per id.
pub const MAX_ROUTES: usize = 50;

/// What a read selects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub service: String,
    /// One environment; None reads every environment (see [`read`]'s `by_environment`).
    pub environment: Option<String>,
    /// Only these versions; None reads every version.
    pub versions: Option<Vec<String>>,
    /// Unix nanoseconds, inclusive: page views by their start, spans by theirs.
    pub from: Option<i64>,
    /// Unix nanoseconds, exclusive.
    pub to: Option<i64>,
}

/// A release: its version and, when read per environment, its environment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReleaseKey {
    /// None when environments were pooled.
    pub environment: Option<String>,
    pub version: String,
}

/// One route's spans.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteSamples {
    /// Milliseconds, one per span.
    pub durations_ms: Vec<f64>,
    /// Spans whose status is `error`.
    pub errors: u64,
}

/// Everything a release's figures are computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReleaseSamples {
    pub page_views: u64,
    /// Page views with at least one error.
    pub page_views_with_errors: u64,
    /// Error occurrences (each record's `count`).
    pub errors: u64,
    pub sessions: u64,
    /// Sessions with at least one error in a view of this release.
    pub sessions_with_errors: u64,
    /// Per vital name (LCP, INP, CLS, FCP, TTFB), each metric instance's latest value.
    pub vitals: BTreeMap<String, Vec<f64>>,
    /// Browser fetch/XHR client spans per route (`{method} {path}`).
    pub fetch: BTreeMap<String, RouteSamples>,
    /// Server spans per route (`{method} {http.route}`, else the URL path).
    pub server: BTreeMap<String, RouteSamples>,
    /// Spans left out by [`MAX_ROUTES`].
    pub other_routes: u64,
    /// Unix nanoseconds: the first and last page view or span start seen.
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

impl ReleaseSamples {
    fn seen(&mut self, at: i64) {
        self.first_seen = Some(self.first_seen.map_or(at, |f| f.min(at)));
        self.last_seen = Some(self.last_seen.map_or(at, |l| l.max(at)));
    }
}

/// JSON paths of the resource's keys, as SQLite's `json_extract` spells them.
fn path(key: &str) -> String {
    format!("'$.\"{key}\"'")
}

/// `(environment, version)` columns of a resource JSON column `res`.
fn release_columns(res: &str) -> String {
    format!(
        "coalesce(json_extract({res}, {env}), json_extract({res}, {env_old}), ''),
         coalesce(json_extract({res}, {version}), '')",
        env = path(DEPLOYMENT_ENVIRONMENT),
        env_old = path(DEPLOYMENT_ENVIRONMENT_OLD),
        version = path(SERVICE_VERSION),
    )
}

/// The release a row belongs to under `filter`, or None when the filter leaves it out.
fn key_of(
    filter: &Filter,
    by_environment: bool,
    environment: String,
    version: String,
) -> Option<ReleaseKey> {
    if filter
        .environment
        .as_ref()
        .is_some_and(|e| *e != environment)
    {
        return None;
    }
    if filter
        .versions
        .as_ref()
        .is_some_and(|vs| !vs.contains(&version))
    {
        return None;
    }
    Some(ReleaseKey {
        environment: by_environment.then_some(environment),
        version,
    })
}

/// The samples of each release of `filter.service` that has a page view or a client or server
/// span in the range; per environment when `by_environment`, else environments pooled (or
/// the one `filter.environment` names).
pub fn read(
    conn: &Connection,
    filter: &Filter,
    by_environment: bool,
) -> Result<BTreeMap<ReleaseKey, ReleaseSamples>, StoreError> {
    let from = filter.from.unwrap_or(i64::MIN);
    let to = filter.to.unwrap_or(i64::MAX);
    let mut releases: BTreeMap<ReleaseKey, ReleaseSamples> = BTreeMap::new();
    let mut sessions: BTreeMap<ReleaseKey, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();

    // Page views with their error occurrences (errors are keyed by session: a seek each).
    let mut views = conn.prepare_cached(&format!(
        "SELECT p.page_view_id, p.session_id, p.start_unix_nano, {release},
            (SELECT coalesce(sum(e.count), 0) FROM errors e
             WHERE e.session_id = p.session_id AND e.page_view_id = p.page_view_id)
         FROM page_views p
         WHERE p.start_unix_nano >= ?2 AND p.start_unix_nano < ?3
           AND json_extract(p.resource, {service}) = ?1",
        release = release_columns("p.resource"),
        service = path(SERVICE_NAME),
    ))?;
    let mut vitals =
        conn.prepare_cached("SELECT name, value FROM vitals WHERE page_view_id = ?1")?;
    let rows = views.query_map(params![filter.service, from, to], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    for row in rows {
        let (view_id, session_id, start, environment, version, errors) = row?;
        let Some(key) = key_of(filter, by_environment, environment, version) else {
            continue;
        };
        let release = releases.entry(key.clone()).or_default();
        release.seen(start);
        release.page_views += 1;
        let errors = u64::try_from(errors).unwrap_or(0);
        release.errors += errors;
        let (all, with_errors) = sessions.entry(key).or_default();
        if errors > 0 {
            release.page_views_with_errors += 1;
            with_errors.insert(session_id.clone());
        }
        all.insert(session_id);
        let reports = vitals.query_map(params![view_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?))
        })?;
        for report in reports {
            let (name, value) = report?;
            release.vitals.entry(name).or_default().push(value);
        }
    }
    for (key, (all, with_errors)) in sessions {
        if let Some(release) = releases.get_mut(&key) {
            release.sessions = all.len() as u64;
            release.sessions_with_errors = with_errors.len() as u64;
        }
    }

    // Client spans from browsers and server spans, whatever their partition.
    let sources = partitions::sources(conn)?;
    let mut spans = conn.prepare_cached(&format!(
        "SELECT kind, source, status_code, start_unix_nano, end_unix_nano, {release},
            json_extract(attributes, {method}), json_extract(attributes, {route}),
            json_extract(attributes, {url_path}), json_extract(attributes, {url_full})
         FROM ({arms}) WHERE json_extract(res, {service}) = ?1",
        release = release_columns("res"),
        method = path("http.request.method"),
        route = path("http.route"),
        url_path = path("url.path"),
        url_full = path("url.full"),
        service = path(SERVICE_NAME),
        arms = partitions::union_all(
            &sources,
            "SELECT s.kind, s.source, s.status_code, s.start_unix_nano, s.end_unix_nano,
                s.attributes, coalesce(r.attributes, nullif(s.resource, '')) AS res
             FROM {s}.spans s LEFT JOIN main.resources r ON r.resource_hash = s.resource_hash
             WHERE s.kind IN ('client', 'server')
               AND s.start_unix_nano >= ?2 AND s.start_unix_nano < ?3"
        ),
    ))?;
    let rows = spans.query_map(params![filter.service, from, to], |r| {
        Ok(SpanRow {
            kind: r.get(0)?,
            source: r.get(1)?,
            status: r.get(2)?,
            start: r.get(3)?,
            end: r.get(4)?,
            environment: r.get(5)?,
            version: r.get(6)?,
            method: r.get(7)?,
            route: r.get(8)?,
            url_path: r.get(9)?,
            url_full: r.get(10)?,
        })
    })?;
    for row in rows {
        let span = row?;
        let server = span.kind == "server";
        // Client spans of backends (their own outgoing calls) are not the browser's fetches.
        if !server && span.source != "browser" {
            continue;
        }
        let Some(key) = key_of(
            filter,
            by_environment,
            span.environment.clone(),
            span.version.clone(),
        ) else {
            continue;
        };
        let release = releases.entry(key).or_default();
        release.seen(span.start);
        let route = span.route_name();
        let routes = if server {
            &mut release.server
        } else {
            &mut release.fetch
        };
        if !routes.contains_key(&route) && routes.len() >= MAX_ROUTES {
            release.other_routes += 1;
            continue;
        }
        let samples = routes.entry(route).or_default();
        samples
            .durations_ms
            .push(span.end.saturating_sub(span.start).max(0) as f64 / 1e6);
        if span.status == "error" {
            samples.errors += 1;
        }
    }
    Ok(releases)
}

struct SpanRow {
    kind: String,
    source: String,
    status: String,
    start: i64,
    end: i64,
    environment: String,
    version: String,
    method: Option<String>,
    route: Option<String>,
    url_path: Option<String>,
    url_full: Option<String>,
}

impl SpanRow {
    /// `{method} {route}`: the server's `http.route` template where it has one, else the URL's
    /// path (`url.path`, or the path of `url.full`, which browser fetch spans carry).
    fn route_name(&self) -> String {
        let target = self
            .route
            .as_deref()
            .or(self.url_path.as_deref())
            .or(self.url_full.as_deref().map(url_path))
            .unwrap_or("/");
        match self.method.as_deref() {
            Some(method) => format!("{method} {target}"),
            None => target.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_is_the_method_and_the_template_or_the_path() {
        let row = |route: Option<&str>, url_path: Option<&str>, url_full: Option<&str>| SpanRow {
            kind: "server".into(),
            source: "otlp".into(),
            status: "unset".into(),
            start: 0,
            end: 0,
            environment: String::new(),
            version: String::new(),
            method: Some("GET".into()),
            route: route.map(String::from),
            url_path: url_path.map(String::from),
            url_full: url_full.map(String::from),
        };
        assert_eq!(
            row(Some("/items/{id}"), Some("/items/7"), None).route_name(),
            "GET /items/{id}"
        );
        assert_eq!(
            row(None, Some("/items/7"), None).route_name(),
            "GET /items/7"
        );
        assert_eq!(
            row(None, None, Some("http://shop.test/api/cart?x=1")).route_name(),
            "GET /api/cart"
        );
    }
}
