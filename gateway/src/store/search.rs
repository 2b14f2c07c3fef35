//! Trace search: what `GET /api/traces` filters on, kept as one `trace_index` row per trace
//! and indexed batch beside the spans in their partition, and the read that merges a time
//! range's rows per trace, filters and pages them.
//!
//! Rows are appended (a row kept up to date per trace would be a write to a random page per
//! batch, as the spans' own index avoids); a trace whose spans came in several batches has
//! several rows, merged at read time. The filters on sets (services, span names, URLs) match
//! when any span of the trace matches.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{partitions, StoreError};
use crate::model::attr::{PAGE_VIEW_ID, SERVICE_NAME, SESSION_ID, USER_ID};
use crate::model::{Attributes, Source, Span, StatusCode};

/// The table, in `main` and in every partition (`super::SPAN_TABLES`).
pub(crate) const TRACE_INDEX_TABLE: &str = r#"
-- What trace search filters on (store/search.rs): one row per trace and indexed batch,
-- appended; found by time through trace_index_by_start and by trace (to delete a dropped
-- trace) through trace_index_by_id, whose key starts with the spans' epoch as spans_by_id's
-- does. Sets hold each value between '\n's, so instr('\n' || value || '\n') finds a whole one.
CREATE TABLE IF NOT EXISTS trace_index (
    trace_id        TEXT NOT NULL,
    epoch           INTEGER NOT NULL,
    start_unix_nano INTEGER NOT NULL,
    end_unix_nano   INTEGER NOT NULL,
    spans           INTEGER NOT NULL,
    errors          INTEGER NOT NULL,
    browser_spans   INTEGER NOT NULL,
    services        TEXT NOT NULL,
    -- Span names, and URLs and routes, lowercased (ASCII).
    names           TEXT NOT NULL,
    urls            TEXT NOT NULL,
    root_start      INTEGER,
    root_name       TEXT,
    root_service    TEXT,
    root_kind       TEXT,
    url             TEXT,
    route           TEXT,
    session_id      TEXT,
    user_id         TEXT,
    page_view_id    TEXT
);
CREATE INDEX IF NOT EXISTS trace_index_by_start ON trace_index (start_unix_nano);
CREATE INDEX IF NOT EXISTS trace_index_by_id ON trace_index (epoch, trace_id);
-- The traces with an error: a partial index, so error-free rows add no entries. (A session's
-- traces are found through session_spans, which the journeys keep anyway.)
DROP INDEX IF EXISTS trace_index_by_session;
CREATE INDEX IF NOT EXISTS trace_index_errors ON trace_index (start_unix_nano) WHERE errors > 0;
"#;

/// Most distinct values a row keeps per set, and most bytes per set: a trace of thousands of
/// distinct span names is searchable by its first ones.
const MAX_SET_VALUES: usize = 64;
const MAX_SET_BYTES: usize = 8 * 1024;

const URL_FULL: &str = "url.full";
const URL_PATH: &str = "url.path";
const HTTP_ROUTE: &str = "http.route";

/// What the index keeps of one span.
#[derive(Debug, Clone, Copy)]
pub struct SpanFacts<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub root: bool,
    pub start: i64,
    pub end: i64,
    pub error: bool,
    pub browser: bool,
    pub service: Option<&'a str>,
    pub url: Option<&'a str>,
    pub path: Option<&'a str>,
    pub route: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub page_view_id: Option<&'a str>,
}

impl<'a> SpanFacts<'a> {
    pub fn of(span: &'a Span) -> SpanFacts<'a> {
        SpanFacts::from_parts(
            &span.name,
            span.kind.as_str(),
            span.parent_span_id.is_none(),
            (span.start_unix_nano, span.end_unix_nano),
            span.status == StatusCode::Error,
            span.source == Source::Browser,
            &span.attributes,
            &span.resource,
        )
    }

    /// From a span's stored columns (a bulk loader's rows).
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        name: &'a str,
        kind: &'a str,
        root: bool,
        (start, end): (i64, i64),
        error: bool,
        browser: bool,
        attributes: &'a Attributes,
        resource: &'a Attributes,
    ) -> SpanFacts<'a> {
        let text = |key: &str| attributes.get(key).and_then(|v| v.as_str());
        SpanFacts {
            name,
            kind,
            root,
            start,
            end,
            error,
            browser,
            service: resource.get(SERVICE_NAME).and_then(|v| v.as_str()),
            url: text(URL_FULL),
            path: text(URL_PATH),
            route: text(HTTP_ROUTE),
            session_id: text(SESSION_ID),
            user_id: text(USER_ID),
            page_view_id: text(PAGE_VIEW_ID),
        }
    }
}

/// A `\n`-delimited set of distinct values, capped.
#[derive(Debug, Default)]
struct Set {
    text: String,
    values: usize,
}

impl Set {
    fn add(&mut self, value: &str) {
        if value.is_empty() || self.values >= MAX_SET_VALUES {
            return;
        }
        let value = value.replace('\n', " ");
        if self.text.is_empty() {
            self.text.push('\n');
        }
        let needle = format!("\n{value}\n");
        if self.text.contains(&needle) || self.text.len() + value.len() + 1 > MAX_SET_BYTES {
            return;
        }
        self.text.push_str(&value);
        self.text.push('\n');
        self.values += 1;
    }
}

/// One trace's row for one batch.
#[derive(Debug, Default)]
struct Row {
    start: i64,
    end: i64,
    spans: i64,
    errors: i64,
    browser: i64,
    services: Set,
    names: Set,
    urls: Set,
    /// The earliest root span: start, name, service, kind.
    root: Option<(i64, String, Option<String>, String)>,
    /// The root's URL and route, else the first seen.
    url: Option<String>,
    route: Option<String>,
    session_id: Option<String>,
    user_id: Option<String>,
    page_view_id: Option<String>,
}

/// The rows of one batch, per trace (hex id).
#[derive(Debug, Default)]
pub struct TraceIndexRows {
    rows: HashMap<String, Row>,
}

impl TraceIndexRows {
    pub fn add(&mut self, trace_id: &str, span: &SpanFacts) {
        let row = self
            .rows
            .entry(trace_id.to_string())
            .or_insert_with(|| Row {
                start: span.start,
                end: span.end,
                ..Row::default()
            });
        row.start = row.start.min(span.start);
        row.end = row.end.max(span.end);
        row.spans += 1;
        row.errors += i64::from(span.error);
        row.browser += i64::from(span.browser);
        if let Some(service) = span.service {
            row.services.add(service);
        }
        // Lowercased (ASCII) once here, so a search's substring test need not per row.
        row.names.add(&span.name.to_ascii_lowercase());
        for url in [span.url, span.path, span.route].into_iter().flatten() {
            row.urls.add(&url.to_ascii_lowercase());
        }
        let url = span.url.or(span.path);
        let earlier_root = span.root && row.root.as_ref().is_none_or(|r| span.start < r.0);
        if earlier_root {
            row.root = Some((
                span.start,
                span.name.to_string(),
                span.service.map(String::from),
                span.kind.to_string(),
            ));
            // The root's own URL and route win over those of the spans seen before it.
            if url.is_some() {
                row.url = url.map(String::from);
            }
            if span.route.is_some() {
                row.route = span.route.map(String::from);
            }
        }
        let first = |slot: &mut Option<String>, value: Option<&str>| {
            if slot.is_none() {
                *slot = value.map(String::from);
            }
        };
        first(&mut row.url, url);
        first(&mut row.route, span.route);
        first(&mut row.session_id, span.session_id);
        first(&mut row.user_id, span.user_id);
        first(&mut row.page_view_id, span.page_view_id);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends the rows to `conn`'s `trace_index`, under the spans' `epoch`.
    pub fn write(self, conn: &Connection, epoch: i64) -> Result<(), StoreError> {
        let mut insert = conn.prepare_cached(INSERT_TRACE_INDEX)?;
        for (trace_id, row) in self.rows {
            let (root_start, root_name, root_service, root_kind) = match row.root {
                Some((start, name, service, kind)) => {
                    (Some(start), Some(name), service, Some(kind))
                }
                None => (None, None, None, None),
            };
            insert.execute(params![
                trace_id,
                epoch,
                row.start,
                row.end,
                row.spans,
                row.errors,
                row.browser,
                row.services.text,
                row.names.text,
                row.urls.text,
                root_start,
                root_name,
                root_service,
                root_kind,
                row.url,
                row.route,
                row.session_id,
                row.user_id,
                row.page_view_id,
            ])?;
        }
        Ok(())
    }
}

const INSERT_TRACE_INDEX: &str = "INSERT INTO trace_index (trace_id, epoch, start_unix_nano,
        end_unix_nano, spans, errors, browser_spans, services, names, urls, root_start,
        root_name, root_service, root_kind, url, route, session_id, user_id, page_view_id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

/// Deletes a trace's rows in the given epochs (a dropped or expired trace).
pub(crate) fn delete_trace_rows(
    conn: &Connection,
    trace_id: &str,
    epochs: std::ops::RangeInclusive<i64>,
) -> Result<(), StoreError> {
    let mut delete =
        conn.prepare_cached("DELETE FROM trace_index WHERE epoch = ?1 AND trace_id = ?2")?;
    for epoch in epochs {
        delete.execute(params![epoch, trace_id])?;
    }
    Ok(())
}

/// Builds `conn`'s `trace_index` from its spans, once, when the table is new in a store that
/// already holds spans (a store from before trace search): one row per trace.
pub(crate) fn backfill(conn: &Connection) -> Result<u64, StoreError> {
    let filled: Option<i64> = conn
        .query_row("SELECT 1 FROM trace_index LIMIT 1", [], |r| r.get(0))
        .optional()?;
    let any_span: Option<i64> = conn
        .query_row("SELECT 1 FROM spans LIMIT 1", [], |r| r.get(0))
        .optional()?;
    if filled.is_some() || any_span.is_none() {
        return Ok(0);
    }
    let started = std::time::Instant::now();
    let mut rows = TraceIndexRows::default();
    let mut epochs: HashMap<String, i64> = HashMap::new();
    {
        let resources: HashMap<i64, Attributes> = conn
            .prepare("SELECT resource_hash, attributes FROM main.resources")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(hash, json)| Some((hash, serde_json::from_str(&json).ok()?)))
            .collect();
        let mut stmt = conn.prepare(
            "SELECT trace_id, epoch, name, kind, parent_span_id IS NULL, start_unix_nano,
                    end_unix_nano, status_code, source, attributes, resource, resource_hash
             FROM spans",
        )?;
        let mut query = stmt.query([])?;
        let empty = Attributes::new();
        while let Some(r) = query.next()? {
            let trace_id: String = r.get(0)?;
            let attributes: Attributes =
                serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default();
            let inline: Option<Attributes> = serde_json::from_str(&r.get::<_, String>(10)?).ok();
            let hash: Option<i64> = r.get(11)?;
            let resource = inline
                .as_ref()
                .or_else(|| hash.and_then(|h| resources.get(&h)))
                .unwrap_or(&empty);
            let (name, kind, status, source): (String, String, String, String) =
                (r.get(2)?, r.get(3)?, r.get(7)?, r.get(8)?);
            let facts = SpanFacts::from_parts(
                &name,
                &kind,
                r.get(4)?,
                (r.get(5)?, r.get(6)?),
                status == "error",
                source == "browser",
                &attributes,
                resource,
            );
            rows.add(&trace_id, &facts);
            epochs.entry(trace_id).or_insert(r.get(1)?);
        }
    }
    let traces = rows.rows.len() as u64;
    let tx = conn.unchecked_transaction()?;
    for (trace_id, row) in std::mem::take(&mut rows.rows) {
        let epoch = epochs.get(&trace_id).copied().unwrap_or(0);
        let mut one = TraceIndexRows::default();
        one.rows.insert(trace_id, row);
        one.write(&tx, epoch)?;
    }
    tx.commit()?;
    tracing::info!(
        traces,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Indexed the stored traces for search (a one-time upgrade)."
    );
    Ok(traces)
}

/// A search's filters; each `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct TraceQuery {
    /// A service any span of the trace belongs to (exact).
    pub service: Option<String>,
    /// A substring of any span's name (ASCII case-insensitive).
    pub name: Option<String>,
    /// A substring of any span's `url.full`, `url.path` or `http.route` (ASCII
    /// case-insensitive).
    pub url: Option<String>,
    /// Only traces with (true) or without (false) an error span.
    pub error: Option<bool>,
    /// Trace duration bounds, nanoseconds.
    pub min_duration: Option<i64>,
    pub max_duration: Option<i64>,
    /// Spans starting in this range count (unix nanoseconds, inclusive).
    pub from: i64,
    pub to: i64,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    /// Traces of one of these page views.
    pub page_view_ids: Option<Vec<String>>,
    /// Traces after this one in the order (start descending, then trace id descending).
    pub after: Option<Cursor>,
    pub limit: u32,
}

/// Where a page of results ended: its last trace's start and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub start: i64,
    pub trace_id: String,
}

impl Cursor {
    /// `{start}.{trace_id}`, as the API hands it out.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.start, self.trace_id)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (start, trace_id) = text.split_once('.')?;
        let ok = trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| {
            Some(Cursor {
                start: start.parse().ok()?,
                trace_id: trace_id.to_ascii_lowercase(),
            })
        })?
    }
}

/// A trace a search found.
#[derive(Debug, Serialize, PartialEq)]
pub struct TraceHit {
    pub trace_id: String,
    /// Unix nanoseconds, as decimal strings.
    pub start_time_unix_nano: String,
    pub end_time_unix_nano: String,
    pub duration_ms: f64,
    pub span_count: i64,
    pub error_count: i64,
    pub root_name: Option<String>,
    pub root_service: Option<String>,
    pub root_kind: Option<String>,
    pub url: Option<String>,
    pub route: Option<String>,
    pub services: Vec<String>,
    /// Whether it has browser spans, and backend (OTLP) spans.
    pub browser: bool,
    pub backend: bool,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub page_view_id: Option<String>,
}

/// The schemas holding a `trace_index` (a partition from before it, not yet upgraded, has
/// none and is left out).
fn index_sources(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for source in partitions::sources(conn)? {
        let has: Option<i64> = conn
            .query_row(
                &format!(
                    "SELECT 1 FROM {source}.sqlite_schema WHERE type = 'table' AND name = 'trace_index'"
                ),
                [],
                |r| r.get(0),
            )
            .optional()?;
        if has.is_some() {
            out.push(source);
        }
    }
    Ok(out)
}

/// Most page views whose traces a search seeks through the session index; with more, it
/// streams every row and checks the page views on each merged trace.
const MAX_VIEWS_TO_SEEK: usize = 100;

/// A trace's earliest root span: its start, name, service and kind.
type Root = (i64, Option<String>, Option<String>, Option<String>);

/// One trace merged over all its rows.
#[derive(Debug, Default)]
struct Merged {
    start: i64,
    end: i64,
    spans: i64,
    errors: i64,
    browser: i64,
    services: Vec<String>,
    names: String,
    urls: String,
    root: Option<Root>,
    root_url: Option<String>,
    root_route: Option<String>,
    url: Option<String>,
    route: Option<String>,
    session_ids: Vec<String>,
    user_ids: Vec<String>,
    page_view_ids: Vec<String>,
}

/// Reads every row of one trace (one index seek per epoch of each source) and merges them.
fn merge(conn: &Connection, sources: &[String], trace_id: &str) -> Result<Merged, StoreError> {
    let sql = format!(
        "SELECT * FROM ({})",
        partitions::union_all(
            sources,
            "SELECT start_unix_nano, end_unix_nano, spans, errors, browser_spans, services,
                    names, urls, root_start, root_name, root_service, root_kind, url, route,
                    session_id, user_id, page_view_id
             FROM {s}.trace_index
             WHERE epoch IN (WITH RECURSIVE e(n) AS (
                     SELECT min(epoch) FROM {s}.trace_index
                     UNION ALL SELECT n + 1 FROM e
                        WHERE n < (SELECT max(epoch) FROM {s}.trace_index))
                   SELECT n FROM e WHERE n IS NOT NULL)
               AND trace_id = ?1"
        )
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([trace_id])?;
    let mut m = Merged {
        start: i64::MAX,
        end: i64::MIN,
        ..Merged::default()
    };
    let push = |list: &mut Vec<String>, value: Option<String>| {
        if let Some(v) = value {
            if !list.contains(&v) {
                list.push(v);
            }
        }
    };
    while let Some(r) = rows.next()? {
        m.start = m.start.min(r.get(0)?);
        m.end = m.end.max(r.get(1)?);
        m.spans += r.get::<_, i64>(2)?;
        m.errors += r.get::<_, i64>(3)?;
        m.browser += r.get::<_, i64>(4)?;
        for service in r.get::<_, String>(5)?.split('\n').filter(|s| !s.is_empty()) {
            push(&mut m.services, Some(service.to_string()));
        }
        m.names.push_str(&r.get::<_, String>(6)?);
        m.urls.push_str(&r.get::<_, String>(7)?);
        let (url, route): (Option<String>, Option<String>) = (r.get(12)?, r.get(13)?);
        if let Some(root_start) = r.get::<_, Option<i64>>(8)? {
            if m.root.as_ref().is_none_or(|(s, ..)| root_start < *s) {
                m.root = Some((root_start, r.get(9)?, r.get(10)?, r.get(11)?));
                m.root_url = url.clone();
                m.root_route = route.clone();
            }
        }
        m.url = m.url.take().or(url);
        m.route = m.route.take().or(route);
        push(&mut m.session_ids, r.get(14)?);
        push(&mut m.user_ids, r.get(15)?);
        push(&mut m.page_view_ids, r.get(16)?);
    }
    Ok(m)
}

impl Merged {
    /// Whether the merged trace passes every filter of `q`.
    fn matches(
        &self,
        q: &TraceQuery,
        lower_name: Option<&str>,
        lower_url: Option<&str>,
        views: Option<&std::collections::HashSet<&str>>,
    ) -> bool {
        let duration = self.end - self.start;
        q.service.as_ref().is_none_or(|s| self.services.contains(s))
            && lower_name.is_none_or(|n| self.names.contains(n))
            && lower_url.is_none_or(|u| self.urls.contains(u))
            && q.error.is_none_or(|e| (self.errors > 0) == e)
            && q.min_duration.is_none_or(|d| duration >= d)
            && q.max_duration.is_none_or(|d| duration <= d)
            && q.session_id
                .as_ref()
                .is_none_or(|s| self.session_ids.contains(s))
            && q.user_id.as_ref().is_none_or(|u| self.user_ids.contains(u))
            && views.is_none_or(|ids| {
                self.page_view_ids
                    .iter()
                    .any(|id| ids.contains(id.as_str()))
            })
    }

    fn hit(self, trace_id: String) -> TraceHit {
        let (root_name, root_service, root_kind) = match self.root {
            Some((_, name, service, kind)) => (name, service, kind),
            None => (None, None, None),
        };
        // The root's service first, then the others as their rows came.
        let mut services = self.services;
        if let Some(at) = services
            .iter()
            .position(|s| Some(s) == root_service.as_ref())
        {
            let root = services.remove(at);
            services.insert(0, root);
        }
        TraceHit {
            trace_id,
            start_time_unix_nano: self.start.to_string(),
            end_time_unix_nano: self.end.to_string(),
            duration_ms: (self.end - self.start) as f64 / 1e6,
            span_count: self.spans,
            error_count: self.errors,
            root_name,
            root_service,
            root_kind,
            // The root's URL and route describe the trace best.
            url: self.root_url.or(self.url),
            route: self.root_route.or(self.route),
            services,
            browser: self.browser > 0,
            backend: self.spans > self.browser,
            // The first span's that carries one.
            session_id: self.session_ids.into_iter().next(),
            user_id: self.user_ids.into_iter().next(),
            page_view_id: self.page_view_ids.into_iter().next(),
        }
    }
}

/// Where a search streams its candidates from: the rows satisfying the most selective of its
/// filters that a single row can (the others are checked on the merged trace, since the
/// service may be on one span and the session on another). Session, user and page view
/// filters read the session's timeline index (`session_spans`: its actions, route changes,
/// fetches and page loads, the roots of its browser traces), the rest `trace_index`.
fn candidates(q: &TraceQuery) -> (&'static str, &'static str, Option<String>) {
    const SESSIONS: &str = "session_spans";
    const INDEX: &str = "trace_index";
    // Many page views (a popular page's) are better checked on the merged traces.
    if let Some(ids) = q
        .page_view_ids
        .as_ref()
        .filter(|ids| ids.len() <= MAX_VIEWS_TO_SEEK)
    {
        let json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        return (
            SESSIONS,
            "session_id IN (SELECT session_id FROM main.page_views
                WHERE page_view_id IN (SELECT value FROM json_each(?3)))",
            Some(json),
        );
    }
    if let Some(session) = &q.session_id {
        return (SESSIONS, "session_id = ?3", Some(session.clone()));
    }
    if let Some(user) = &q.user_id {
        return (
            SESSIONS,
            "session_id IN (SELECT session_id FROM main.sessions WHERE user_id = ?3)",
            Some(user.clone()),
        );
    }
    if q.error == Some(true) {
        return (INDEX, "errors > 0 AND ?3 IS NULL", None);
    }
    if let Some(url) = &q.url {
        return (INDEX, "instr(urls, ?3) > 0", Some(url.to_ascii_lowercase()));
    }
    if let Some(name) = &q.name {
        return (
            INDEX,
            "instr(names, ?3) > 0",
            Some(name.to_ascii_lowercase()),
        );
    }
    if let Some(min) = q.min_duration {
        // A trace lasting min_duration has a batch of spans (its root, as a rule) that does:
        // Jaeger's duration filter, too, looks at spans. A trace that reaches it only over
        // several batches, none lasting it, is found when another filter names it.
        return (
            INDEX,
            "end_unix_nano - start_unix_nano >= CAST(?3 AS INTEGER)",
            Some(min.to_string()),
        );
    }
    if let Some(service) = &q.service {
        return (
            INDEX,
            "instr(services, ?3) > 0",
            Some(format!("\n{service}\n")),
        );
    }
    (INDEX, "?3 IS NULL", None)
}

/// The traces matching `q`, newest first by their first span's start, and the cursor of the
/// next page when there is one.
///
/// Rows satisfying the most selective single-row condition ([`candidates`]) stream newest first
/// (by their start: an upper bound of their trace's start); each new trace is merged over all its rows
/// and checked against every filter. The stream stops once `limit + 1` traces matched and the
/// next row starts before the last of them: no later trace can sort before it.
pub fn search(
    conn: &Connection,
    q: &TraceQuery,
) -> Result<(Vec<TraceHit>, Option<Cursor>), StoreError> {
    let sources = index_sources(conn)?;
    if sources.is_empty() {
        return Ok((Vec::new(), None));
    }
    let (table, condition, value) = candidates(q);
    let sql = format!(
        "SELECT trace_id, start_unix_nano FROM ({}) ORDER BY start_unix_nano DESC",
        partitions::union_all(
            &sources,
            &format!(
                "SELECT trace_id, start_unix_nano FROM {{s}}.{table}
                 WHERE start_unix_nano BETWEEN ?1 AND ?2 AND {condition}"
            )
        )
    );
    let lower_name = q.name.as_ref().map(|s| s.to_ascii_lowercase());
    let lower_url = q.url.as_ref().map(|s| s.to_ascii_lowercase());
    let views: Option<std::collections::HashSet<&str>> = q
        .page_view_ids
        .as_ref()
        .map(|ids| ids.iter().map(String::as_str).collect());
    let want = q.limit as usize + 1;
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![q.from, q.to, value])?;
    let mut seen = std::collections::HashSet::new();
    // Matches, sorted newest first: (start, trace id, merged).
    let mut hits: Vec<(i64, String, Merged)> = Vec::new();
    while let Some(r) = rows.next()? {
        let (trace_id, row_start): (String, i64) = (r.get(0)?, r.get(1)?);
        if hits.len() >= want && row_start < hits[want - 1].0 {
            break;
        }
        if !seen.insert(trace_id.clone()) {
            continue;
        }
        let merged = merge(conn, &sources, &trace_id)?;
        if !merged.matches(
            q,
            lower_name.as_deref(),
            lower_url.as_deref(),
            views.as_ref(),
        ) {
            continue;
        }
        if let Some(c) = &q.after {
            if (merged.start, trace_id.as_str()) >= (c.start, c.trace_id.as_str()) {
                continue;
            }
        }
        let at = hits
            .partition_point(|(s, id, _)| (*s, id.as_str()) > (merged.start, trace_id.as_str()));
        hits.insert(at, (merged.start, trace_id, merged));
        hits.truncate(want);
    }
    let more = hits.len() > q.limit as usize;
    hits.truncate(q.limit as usize);
    let next = more
        .then(|| {
            hits.last().map(|(start, id, _)| Cursor {
                start: *start,
                trace_id: id.clone(),
            })
        })
        .flatten();
    Ok((hits.into_iter().map(|(_, id, m)| m.hit(id)).collect(), next))
}

/// Gives every partition file a `trace_index`, built from its spans when it is new there
/// (partitions written before trace search), at start.
pub(crate) fn upgrade_partitions(partitions: &partitions::Partitions) -> Result<(), StoreError> {
    for start in partitions.starts() {
        let path = partitions.path(start);
        if !path.exists() {
            continue;
        }
        let conn = Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let table = |name: &str| -> Result<bool, StoreError> {
            Ok(conn
                .query_row(
                    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                    [name],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
                .is_some())
        };
        // A file a crash left empty gets its whole schema when it is next written.
        if table("spans")? && !table("trace_index")? {
            conn.execute_batch(TRACE_INDEX_TABLE)?;
            backfill(&conn)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(start: i64, view: &'a str, session: &'a str, service: &'a str) -> SpanFacts<'a> {
        SpanFacts {
            name: "HTTP GET",
            kind: "client",
            root: true,
            start,
            end: start + 10,
            error: false,
            browser: true,
            service: Some(service),
            url: None,
            path: None,
            route: None,
            session_id: Some(session),
            user_id: None,
            page_view_id: Some(view),
        }
    }

    fn query(limit: u32) -> TraceQuery {
        TraceQuery {
            to: i64::MAX,
            limit,
            ..TraceQuery::default()
        }
    }

    /// 150 traces, one per page view, started at 1000 + i; trace 0 also has a later backend
    /// batch.
    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = crate::store::open(dir.path()).expect("store");
        for i in 0..150i64 {
            let mut rows = TraceIndexRows::default();
            let (view, session) = (format!("v{i:03}"), format!("s{}", i % 3));
            rows.add(
                &format!("{i:032x}"),
                &facts(1000 + i, &view, &session, "web"),
            );
            rows.write(&conn, 0).expect("write");
            conn.execute(
                crate::store::writer::INSERT_PAGE_VIEW,
                params![
                    view,
                    session,
                    "http://a.test/",
                    "",
                    "navigate",
                    1000 + i,
                    "{}",
                    "{}"
                ],
            )
            .expect("page view");
            conn.execute(
                "INSERT INTO session_spans (session_id, start_unix_nano, trace_id, span_id,
                    category) VALUES (?1, ?2, ?3, 'b7ad6b7169203331', 'fetch')",
                params![session, 1000 + i, format!("{i:032x}")],
            )
            .expect("timeline");
        }
        let mut later = TraceIndexRows::default();
        let mut backend = facts(5000, "", "", "api");
        (
            backend.root,
            backend.browser,
            backend.session_id,
            backend.page_view_id,
        ) = (false, false, None, None);
        later.add(&format!("{:032x}", 0), &backend);
        later.write(&conn, 0).expect("write");
        (dir, conn)
    }

    fn ids(hits: &[TraceHit]) -> Vec<i64> {
        hits.iter()
            .map(|h| i64::from_str_radix(&h.trace_id, 16).expect("hex"))
            .collect()
    }

    #[test]
    fn cursor_pages_list_every_trace_once_newest_first_by_its_first_row() {
        let (_dir, conn) = store();
        let mut all = Vec::new();
        let mut q = query(40);
        loop {
            let (hits, next) = search(&conn, &q).expect("search");
            all.extend(ids(&hits));
            match next {
                Some(cursor) => q.after = Some(cursor),
                None => break,
            }
        }
        // Trace 0's later row (5000) streams first, but it sorts by its start (1000): last.
        assert_eq!(all, (0..150).rev().collect::<Vec<_>>());
        let (first, _) = search(&conn, &query(1)).expect("search");
        assert_eq!(ids(&first), vec![149]);
        let (zero, _) = search(
            &conn,
            &TraceQuery {
                service: Some("api".into()),
                ..query(10)
            },
        )
        .expect("search");
        assert_eq!(zero[0].span_count, 2);
        assert_eq!(zero[0].services, vec!["web", "api"]);
        assert_eq!(zero[0].end_time_unix_nano, "5010");
    }

    #[test]
    fn many_page_views_are_checked_on_the_merged_traces_and_few_are_sought() {
        let (_dir, conn) = store();
        let many: Vec<String> = (0..150)
            .filter(|i| *i != 7)
            .map(|i| format!("v{i:03}"))
            .collect();
        assert!(many.len() > MAX_VIEWS_TO_SEEK);
        let (hits, _) = search(
            &conn,
            &TraceQuery {
                page_view_ids: Some(many),
                ..query(1000)
            },
        )
        .expect("search");
        assert_eq!(
            ids(&hits),
            (0..150).rev().filter(|i| *i != 7).collect::<Vec<_>>()
        );
        let (one, _) = search(
            &conn,
            &TraceQuery {
                page_view_ids: Some(vec!["v007".into()]),
                session_id: Some("s1".into()),
                ..query(10)
            },
        )
        .expect("search");
        assert_eq!(ids(&one), vec![7]);
        let (none, _) = search(
            &conn,
            &TraceQuery {
                page_view_ids: Some(vec!["v007".into()]),
                session_id: Some("s2".into()),
                ..query(10)
            },
        )
        .expect("search");
        assert!(none.is_empty(), "the session filter still applies");
    }
}
