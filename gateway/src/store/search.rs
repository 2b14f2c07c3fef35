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
struct Set(String);

impl Set {
    fn add(&mut self, value: &str) {
        if value.is_empty() {
            return;
        }
        let value = value.replace('\n', " ");
        if self.0.is_empty() {
            self.0.push('\n');
        }
        let needle = format!("\n{value}\n");
        if self.0.contains(&needle)
            || self.0.len() + value.len() + 1 > MAX_SET_BYTES
            || self.0.matches('\n').count() > MAX_SET_VALUES
        {
            return;
        }
        self.0.push_str(&value);
        self.0.push('\n');
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
        row.names.add(span.name);
        for url in [span.url, span.path, span.route].into_iter().flatten() {
            row.urls.add(url);
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
                row.services.0,
                row.names.0,
                row.urls.0,
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

/// The traces matching `q`, newest first, and the cursor of the next page when there is one.
pub fn search(
    conn: &Connection,
    q: &TraceQuery,
) -> Result<(Vec<TraceHit>, Option<Cursor>), StoreError> {
    let sources = index_sources(conn)?;
    if sources.is_empty() {
        return Ok((Vec::new(), None));
    }
    let sql = format!(
        "SELECT trace_id, min(start_unix_nano), max(end_unix_nano), sum(spans), sum(errors),
                sum(browser_spans)
         FROM ({})
         GROUP BY trace_id
         HAVING (?3 IS NULL OR max(instr(services, ?3)) > 0)
            AND (?4 IS NULL OR max(instr(lower(names), ?4)) > 0)
            AND (?5 IS NULL OR max(instr(lower(urls), ?5)) > 0)
            AND (?6 IS NULL OR (sum(errors) > 0) = ?6)
            AND (?7 IS NULL OR max(end_unix_nano) - min(start_unix_nano) >= ?7)
            AND (?8 IS NULL OR max(end_unix_nano) - min(start_unix_nano) <= ?8)
            AND (?9 IS NULL OR max(session_id = ?9))
            AND (?10 IS NULL OR max(user_id = ?10))
            AND (?11 IS NULL OR max(page_view_id IN (SELECT value FROM json_each(?11))))
            AND (?12 IS NULL OR min(start_unix_nano) < ?12
                 OR (min(start_unix_nano) = ?12 AND trace_id < ?13))
         ORDER BY 2 DESC, 1 DESC
         LIMIT ?14",
        partitions::union_all(
            &sources,
            "SELECT trace_id, start_unix_nano, end_unix_nano, spans, errors, browser_spans,
                    services, names, urls, session_id, user_id, page_view_id
             FROM {s}.trace_index WHERE start_unix_nano BETWEEN ?1 AND ?2"
        )
    );
    let page_views = q
        .page_view_ids
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    let lower = |s: &Option<String>| s.as_ref().map(|s| s.to_ascii_lowercase());
    let mut stmt = conn.prepare_cached(&sql)?;
    let found = stmt
        .query_map(
            params![
                q.from,
                q.to,
                q.service.as_ref().map(|s| format!("\n{s}\n")),
                lower(&q.name),
                lower(&q.url),
                q.error,
                q.min_duration,
                q.max_duration,
                q.session_id,
                q.user_id,
                page_views,
                q.after.as_ref().map(|c| c.start),
                q.after.as_ref().map(|c| c.trace_id.as_str()),
                i64::from(q.limit) + 1,
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    let more = found.len() > q.limit as usize;
    let mut hits = Vec::with_capacity(found.len().min(q.limit as usize));
    for (trace_id, start, end, spans, errors, browser) in found.into_iter().take(q.limit as usize) {
        let mut hit = TraceHit {
            trace_id,
            start_time_unix_nano: start.to_string(),
            end_time_unix_nano: end.to_string(),
            duration_ms: (end - start) as f64 / 1e6,
            span_count: spans,
            error_count: errors,
            root_name: None,
            root_service: None,
            root_kind: None,
            url: None,
            route: None,
            services: Vec::new(),
            browser: browser > 0,
            backend: spans > browser,
            session_id: None,
            user_id: None,
            page_view_id: None,
        };
        details(conn, &sources, &mut hit, start, end)?;
        hits.push(hit);
    }
    let next = if more {
        hits.last().map(|h| Cursor {
            start: h.start_time_unix_nano.parse().unwrap_or(0),
            trace_id: h.trace_id.clone(),
        })
    } else {
        None
    };
    Ok((hits, next))
}

/// Fills a hit's root, URL, route, services, session, user and page view from its rows (those
/// starting within the trace's extent).
fn details(
    conn: &Connection,
    sources: &[String],
    hit: &mut TraceHit,
    start: i64,
    end: i64,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT * FROM ({}) ORDER BY root_start IS NULL, root_start",
        partitions::union_all(
            sources,
            "SELECT root_start, root_name, root_service, root_kind, url, route, services,
                    session_id, user_id, page_view_id
             FROM {s}.trace_index WHERE start_unix_nano BETWEEN ?2 AND ?3 AND trace_id = ?1"
        )
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![hit.trace_id, start, end])?;
    let mut root_url = None;
    let mut root_route = None;
    while let Some(r) = rows.next()? {
        let root_start: Option<i64> = r.get(0)?;
        let url: Option<String> = r.get(4)?;
        let route: Option<String> = r.get(5)?;
        if root_start.is_some() && hit.root_name.is_none() {
            hit.root_name = r.get(1)?;
            hit.root_service = r.get(2)?;
            hit.root_kind = r.get(3)?;
            root_url = url.clone();
            root_route = route.clone();
        }
        hit.url = hit.url.take().or(url);
        hit.route = hit.route.take().or(route);
        for service in r.get::<_, String>(6)?.split('\n').filter(|s| !s.is_empty()) {
            if !hit.services.iter().any(|s| s == service) {
                hit.services.push(service.to_string());
            }
        }
        hit.session_id = hit.session_id.take().or(r.get(7)?);
        hit.user_id = hit.user_id.take().or(r.get(8)?);
        hit.page_view_id = hit.page_view_id.take().or(r.get(9)?);
    }
    // The root's URL and route describe the trace best.
    hit.url = root_url.or(hit.url.take());
    hit.route = root_route.or(hit.route.take());
    Ok(())
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
