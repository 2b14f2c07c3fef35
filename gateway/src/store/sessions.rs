//! User journeys in the store: a `sessions` row per browser session (kept up to date by every
//! beacon, so listing recent sessions reads one small table), the session's custom and
//! session `events`, and `session_spans`, an index of the session's actions, route changes,
//! fetches and page loads by time, so a session reads back in order without scanning spans.
//!
//! Writes run in the writer's transaction ([`Journeys`]); reads ([`recent_sessions`],
//! [`session`]) on the read connection.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Value};

use super::StoreError;
use crate::model::attr::{
    ACTION_FRUSTRATION_TYPE, ACTION_TYPE, PAGE_VIEW_ID, ROUTE_CHANGE_SPAN, ROUTE_CHANGE_TRIGGER,
    SESSION_ID, USER_ID,
};
use crate::model::{BrowserEvent, PageView, Source, Span, SpanKind, StatusCode};

/// The tables of this module, created by [`super::open`].
pub(super) const SCHEMA: &str = r#"
-- One row per browser session, upserted by every beacon.
CREATE TABLE IF NOT EXISTS sessions (
    session_id      TEXT PRIMARY KEY,
    start_unix_nano INTEGER NOT NULL,
    end_unix_nano   INTEGER NOT NULL,
    user_id         TEXT,
    view_count      INTEGER NOT NULL DEFAULT 0,
    action_count    INTEGER NOT NULL DEFAULT 0,
    frustrated_count INTEGER NOT NULL DEFAULT 0,
    error_count     INTEGER NOT NULL DEFAULT 0,
    event_count     INTEGER NOT NULL DEFAULT 0,
    country         TEXT,
    browser         TEXT,
    service         TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_end ON sessions (end_unix_nano);

-- Custom and session events. A retried beacon re-sends its events: the key ignores them.
CREATE TABLE IF NOT EXISTS events (
    session_id      TEXT NOT NULL,
    time_unix_nano  INTEGER NOT NULL,
    name            TEXT NOT NULL,
    page_view_id    TEXT NOT NULL,
    attributes      TEXT NOT NULL,
    PRIMARY KEY (session_id, time_unix_nano, name, page_view_id)
) WITHOUT ROWID;

"#;

/// The session's span index: in `main` (before partitions) and in every partition, beside
/// the spans it points to.
pub(super) const SESSION_SPANS_TABLE: &str = r#"
-- The session's spans worth a place on its timeline, by start time.
CREATE TABLE IF NOT EXISTS session_spans (
    session_id      TEXT NOT NULL,
    start_unix_nano INTEGER NOT NULL,
    trace_id        TEXT NOT NULL,
    span_id         TEXT NOT NULL,
    category        TEXT NOT NULL,
    PRIMARY KEY (session_id, start_unix_nano, trace_id, span_id)
) WITHOUT ROWID;
"#;

/// A view's journey fields, merged into its row by every beacon: the first previous view
/// kept, the latest non-empty name, the largest end, visible time and drop counts, and the
/// attributes merged (a later `rum.setUser` reaches the view).
pub(super) const UPDATE_PAGE_VIEW: &str = "UPDATE page_views SET
        name = CASE WHEN ?2 != '' THEN ?2 ELSE name END,
        previous_id = coalesce(previous_id, ?3),
        end_unix_nano = max(coalesce(end_unix_nano, ?4), coalesce(?4, end_unix_nano)),
        visible_ms = max(coalesce(visible_ms, ?5), coalesce(?5, visible_ms)),
        dropped_actions = max(dropped_actions, ?6),
        dropped_events = max(dropped_events, ?7),
        dropped_route_changes = max(dropped_route_changes, ?8),
        attributes = json_patch(attributes, ?9),
        dropped_errors = max(dropped_errors, ?10)
     WHERE page_view_id = ?1";

/// The view columns this module adds to `page_views` (for stores made before them).
pub(super) const PAGE_VIEW_COLUMNS: [(&str, &str); 8] = [
    ("name", "TEXT NOT NULL DEFAULT ''"),
    ("previous_id", "TEXT"),
    ("end_unix_nano", "INTEGER"),
    ("visible_ms", "REAL"),
    ("dropped_actions", "INTEGER NOT NULL DEFAULT 0"),
    ("dropped_events", "INTEGER NOT NULL DEFAULT 0"),
    ("dropped_route_changes", "INTEGER NOT NULL DEFAULT 0"),
    ("dropped_errors", "INTEGER NOT NULL DEFAULT 0"),
];

/// Where a span sits on a session's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Action,
    RouteChange,
    Fetch,
    PageLoad,
}

impl Category {
    fn of(span: &Span) -> Option<Category> {
        if span.attributes.contains_key(ACTION_TYPE) {
            Some(Category::Action)
        } else if span.name == ROUTE_CHANGE_SPAN
            || span.attributes.contains_key(ROUTE_CHANGE_TRIGGER)
        {
            Some(Category::RouteChange)
        } else if span.kind == SpanKind::Client {
            Some(Category::Fetch)
        } else if span.name == "documentLoad" {
            Some(Category::PageLoad)
        } else {
            None
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Category::Action => "action",
            Category::RouteChange => "route_change",
            Category::Fetch => "fetch",
            Category::PageLoad => "page_load",
        }
    }
}

/// Whether a span counts as an error of its session: status error or an `error.type`.
fn is_error(span: &Span) -> bool {
    span.status == StatusCode::Error || span.attributes.contains_key("error.type")
}

/// What one transaction adds to each session it touches.
#[derive(Debug, Default)]
struct Delta {
    start: Option<i64>,
    end: Option<i64>,
    views: i64,
    actions: i64,
    frustrated: i64,
    errors: i64,
    exceptions: i64,
    events: i64,
    user: Option<String>,
    country: Option<String>,
    browser: Option<String>,
    service: Option<String>,
}

impl Delta {
    fn time(&mut self, nanos: i64) {
        self.start = Some(self.start.map_or(nanos, |s| s.min(nanos)));
        self.end = Some(self.end.map_or(nanos, |e| e.max(nanos)));
    }
}

fn string_attr(attrs: &crate::model::Attributes, key: &str) -> Option<String> {
    attrs.get(key).and_then(Value::as_str).map(String::from)
}

/// The journey side of one batch's write: collects what each session gains as rows go in,
/// then upserts the `sessions` rows.
#[derive(Debug, Default)]
pub(super) struct Journeys {
    sessions: HashMap<String, Delta>,
}

impl Journeys {
    /// A browser span that was just stored (not a re-sent one).
    pub(super) fn span(&mut self, tx: &Connection, span: &Span) -> Result<(), StoreError> {
        if span.source != Source::Browser {
            return Ok(());
        }
        let Some(session) = span.attributes.get(SESSION_ID).and_then(Value::as_str) else {
            return Ok(());
        };
        let delta = self.sessions.entry(session.to_string()).or_default();
        delta.time(span.start_unix_nano);
        delta.time(span.end_unix_nano);
        if is_error(span) {
            delta.errors += 1;
        }
        let Some(category) = Category::of(span) else {
            return Ok(());
        };
        if category == Category::Action {
            delta.actions += 1;
            if span.attributes.contains_key(ACTION_FRUSTRATION_TYPE) {
                delta.frustrated += 1;
            }
        }
        tx.prepare_cached(
            "INSERT OR IGNORE INTO session_spans (session_id, start_unix_nano, trace_id, span_id,
                category) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            session,
            span.start_unix_nano,
            span.trace_id.to_string(),
            span.span_id.to_string(),
            category.as_str(),
        ])?;
        Ok(())
    }

    /// A page view after its row was inserted (`new`) or merged.
    pub(super) fn view(&mut self, view: &PageView, new: bool) {
        let delta = self.sessions.entry(view.session_id.clone()).or_default();
        delta.time(view.start_unix_nano);
        if let Some(end) = view.end_unix_nano {
            delta.time(end);
        }
        if new {
            delta.views += 1;
        }
        let attrs = &view.attributes;
        delta.user = string_attr(attrs, USER_ID).or(delta.user.take());
        delta.country = string_attr(attrs, "geo.country.iso_code").or(delta.country.take());
        delta.browser = string_attr(attrs, "user_agent.name").or(delta.browser.take());
        delta.service = string_attr(&view.resource, "service.name").or(delta.service.take());
    }

    /// A browser event; ignored when already stored (a retried beacon).
    pub(super) fn event(
        &mut self,
        tx: &Connection,
        event: &BrowserEvent,
    ) -> Result<(), StoreError> {
        let inserted = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO events (session_id, time_unix_nano, name, page_view_id,
                    attributes) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                event.session_id,
                event.time_unix_nano,
                event.name,
                event.page_view_id,
                serde_json::to_string(&event.attributes)?,
            ])?;
        let delta = self.sessions.entry(event.session_id.clone()).or_default();
        delta.time(event.time_unix_nano);
        if inserted > 0 {
            delta.events += 1;
        }
        Ok(())
    }

    /// A browser error after it was stored, with the occurrences it added (0 for a re-sent
    /// record): they count as errors of the session beside error spans.
    pub(super) fn error(&mut self, error: &crate::model::BrowserError, occurrences: i64) {
        let delta = self.sessions.entry(error.session_id.clone()).or_default();
        delta.time(error.time_unix_nano);
        delta.errors += occurrences;
        delta.exceptions += occurrences;
    }

    /// Upserts the `sessions` row of every session the batch touched.
    /// `received`: when the batch was accepted (the store clock), which the raw tier's
    /// retention counts from.
    pub(super) fn finish(self, tx: &Connection, received: i64) -> Result<(), StoreError> {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO sessions (session_id, start_unix_nano, end_unix_nano, user_id, view_count,
                action_count, frustrated_count, error_count, event_count, country, browser, service,
                exception_count, received_unix_nano)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (session_id) DO UPDATE SET
                received_unix_nano = max(received_unix_nano, excluded.received_unix_nano),
                start_unix_nano = min(start_unix_nano, excluded.start_unix_nano),
                end_unix_nano = max(end_unix_nano, excluded.end_unix_nano),
                user_id = coalesce(excluded.user_id, user_id),
                view_count = view_count + excluded.view_count,
                action_count = action_count + excluded.action_count,
                frustrated_count = frustrated_count + excluded.frustrated_count,
                error_count = error_count + excluded.error_count,
                event_count = event_count + excluded.event_count,
                exception_count = exception_count + excluded.exception_count,
                country = coalesce(excluded.country, country),
                browser = coalesce(excluded.browser, browser),
                service = coalesce(service, excluded.service)",
        )?;
        for (id, d) in self.sessions {
            let (Some(start), Some(end)) = (d.start, d.end) else {
                continue;
            };
            stmt.execute(params![
                id,
                start,
                end,
                d.user,
                d.views,
                d.actions,
                d.frustrated,
                d.errors,
                d.events,
                d.country,
                d.browser,
                d.service,
                d.exceptions,
                received
            ])?;
        }
        Ok(())
    }
}

/// A session in the recent-sessions list and at the head of its timeline.
#[derive(Debug, Serialize, PartialEq)]
pub struct SessionSummary {
    pub session_id: String,
    pub user_id: Option<String>,
    pub view_count: i64,
    pub action_count: i64,
    /// Actions with a frustration signal (rage, dead or error click).
    pub frustrated_action_count: i64,
    /// Errors of the session: browser spans with status error or an `error.type`, plus the
    /// occurrences of its recorded errors (`exception_count`).
    pub error_count: i64,
    /// Occurrences of the session's recorded errors (the `errors` of its beacons, each
    /// record's `count`).
    pub exception_count: i64,
    pub event_count: i64,
    /// Unix nanoseconds as decimal strings: the session's first and last recorded moment.
    pub start_time_unix_nano: String,
    pub end_time_unix_nano: String,
    pub duration_ms: f64,
    /// `geo.country.iso_code` of its views.
    pub country: Option<String>,
    /// `user_agent.name` of its views.
    pub browser: Option<String>,
    /// `service.name` of the web app.
    pub service: Option<String>,
}

const SUMMARY_COLUMNS: &str = "session_id, user_id, view_count, action_count, frustrated_count,
    error_count, event_count, start_unix_nano, end_unix_nano, country, browser, service,
    exception_count";

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionSummary> {
    let start: i64 = r.get(7)?;
    let end: i64 = r.get(8)?;
    Ok(SessionSummary {
        session_id: r.get(0)?,
        user_id: r.get(1)?,
        view_count: r.get(2)?,
        action_count: r.get(3)?,
        frustrated_action_count: r.get(4)?,
        error_count: r.get(5)?,
        event_count: r.get(6)?,
        start_time_unix_nano: start.to_string(),
        end_time_unix_nano: end.to_string(),
        duration_ms: end.saturating_sub(start) as f64 / 1e6,
        country: r.get(9)?,
        browser: r.get(10)?,
        service: r.get(11)?,
        exception_count: r.get(12)?,
    })
}

/// The most recently active sessions first.
pub fn recent_sessions(conn: &Connection, limit: u32) -> Result<Vec<SessionSummary>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM sessions ORDER BY end_unix_nano DESC, session_id LIMIT ?1"
    ))?;
    let rows = stmt.query_map(params![limit], summary_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One session's views and timeline; `None` for an unknown session.
pub fn session(conn: &Connection, session_id: &str) -> Result<Option<Value>, StoreError> {
    let summary = conn
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM sessions WHERE session_id = ?1"
        ))?
        .query_row(params![session_id], summary_row)
        .optional()?;
    let Some(summary) = summary else {
        return Ok(None);
    };
    let spans = session_spans(conn, session_id)?;
    let views = session_views(conn, session_id, &spans)?;
    let mut items: Vec<Item> = Vec::new();
    for view in &views {
        items.push(view.item());
        items.extend(view.vital_items());
    }
    items.extend(
        spans
            .iter()
            .filter(|s| s.category != "page_load")
            .map(SpanRow::item),
    );
    items.extend(session_events(conn, session_id)?);
    items.extend(
        super::errors::session_items(conn, session_id)?
            .into_iter()
            .map(|(time, key, json)| Item {
                time,
                rank: rank("error"),
                key,
                json,
            }),
    );
    // Time order; at one instant a view before what happens in it, then by kind and id.
    items.sort_by(|a, b| (a.time, a.rank, &a.key).cmp(&(b.time, b.rank, &b.key)));
    let views: Vec<Value> = views.into_iter().map(|v| v.json).collect();
    let items: Vec<Value> = items.into_iter().map(|i| i.json).collect();
    Ok(Some(
        json!({ "session": summary, "views": views, "items": items }),
    ))
}

/// One timeline entry with its sort key.
struct Item {
    time: i64,
    rank: u8,
    key: String,
    json: Value,
}

/// Sort rank of each kind at the same instant.
fn rank(kind: &str) -> u8 {
    match kind {
        "view" => 0,
        "route_change" => 1,
        "action" => 2,
        "fetch" => 3,
        "event" => 4,
        "error" => 5,
        _ => 6,
    }
}

struct SpanRow {
    category: String,
    trace_id: String,
    span_id: String,
    parent_span_id: Option<String>,
    name: String,
    start: i64,
    end: i64,
    status: String,
    attributes: Value,
}

impl SpanRow {
    fn view_id(&self) -> Option<&str> {
        self.attributes.get(PAGE_VIEW_ID).and_then(Value::as_str)
    }

    fn item(&self) -> Item {
        Item {
            time: self.start,
            rank: rank(&self.category),
            key: format!("{}{}", self.trace_id, self.span_id),
            json: json!({
                "type": self.category,
                "time_unix_nano": self.start.to_string(),
                "end_time_unix_nano": self.end.to_string(),
                "duration_ms": self.end.saturating_sub(self.start) as f64 / 1e6,
                "view_id": self.view_id(),
                "trace_id": self.trace_id,
                "span_id": self.span_id,
                "parent_span_id": self.parent_span_id,
                "name": self.name,
                "status": self.status,
                "attributes": self.attributes,
            }),
        }
    }
}

fn session_spans(conn: &Connection, session_id: &str) -> Result<Vec<SpanRow>, StoreError> {
    // A session's span index sits in the same file as the spans it points to.
    let sources = super::partitions::sources(conn)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT * FROM ({}) ORDER BY 10, 2, 3",
        super::partitions::union_all(
            &sources,
            "SELECT x.category, s.trace_id, s.span_id, s.parent_span_id, s.name, s.start_unix_nano,
                s.end_unix_nano, s.status_code, s.attributes, x.start_unix_nano
             FROM {s}.session_spans x JOIN {s}.spans s ON s.rowid = (
                 SELECT rowid FROM {s}.spans
                 WHERE epoch IN {epochs} AND trace_id = x.trace_id AND span_id = x.span_id LIMIT 1)
             WHERE x.session_id = ?1"
        )
    ))?;
    let rows = stmt.query_map(params![session_id], |r| {
        Ok((
            SpanRow {
                category: r.get(0)?,
                trace_id: r.get(1)?,
                span_id: r.get(2)?,
                parent_span_id: r.get(3)?,
                name: r.get(4)?,
                start: r.get(5)?,
                end: r.get(6)?,
                status: r.get(7)?,
                attributes: Value::Null,
            },
            r.get::<_, String>(8)?,
        ))
    })?;
    let mut spans: Vec<SpanRow> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        let (mut span, attributes) = row?;
        // A span retried into another partition is stored twice: shown once.
        if !seen.insert((span.trace_id.clone(), span.span_id.clone())) {
            continue;
        }
        span.attributes = serde_json::from_str(&attributes)?;
        spans.push(span);
    }
    Ok(spans)
}

struct ViewRow {
    id: String,
    start: i64,
    end: Option<i64>,
    /// `(name, value, rating, received)` of the latest report of each vital.
    vitals: Vec<(String, f64, String, i64)>,
    json: Value,
}

impl ViewRow {
    fn item(&self) -> Item {
        let mut json = self.json.clone();
        if let Some(map) = json.as_object_mut() {
            map.remove("vitals");
            map.remove("resource");
            map.insert("type".into(), "view".into());
            map.insert("time_unix_nano".into(), self.start.to_string().into());
        }
        Item {
            time: self.start,
            rank: rank("view"),
            key: self.id.clone(),
            json,
        }
    }

    /// A vital's place on the timeline: FCP, LCP and TTFB measure from the view's start, so
    /// they sit at start + value; CLS and INP are final when the view ends, so they sit at its
    /// end (or, before it has ended, when the gateway received the report).
    fn vital_items(&self) -> Vec<Item> {
        self.vitals
            .iter()
            .map(|(name, value, rating, received)| {
                let time = match name.as_str() {
                    "FCP" | "LCP" | "TTFB" => self
                        .start
                        .saturating_add((value * 1e6).round().clamp(0.0, 9.0e18) as i64),
                    _ => self.end.unwrap_or(*received).max(self.start),
                };
                Item {
                    time,
                    rank: rank("vital"),
                    key: format!("{}{name}", self.id),
                    json: json!({
                        "type": "vital",
                        "time_unix_nano": time.to_string(),
                        "view_id": self.id,
                        "trace_id": null,
                        "name": name,
                        "value": value,
                        "rating": rating,
                    }),
                }
            })
            .collect()
    }
}

fn session_views(
    conn: &Connection,
    session_id: &str,
    spans: &[SpanRow],
) -> Result<Vec<ViewRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT page_view_id, url, referrer, navigation_type, start_unix_nano, end_unix_nano,
                name, previous_id, visible_ms, dropped_actions, dropped_events,
                dropped_route_changes, attributes, resource, dropped_errors
         FROM page_views WHERE session_id = ?1 ORDER BY start_unix_nano, page_view_id",
    )?;
    let rows = stmt.query_map(params![session_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<i64>>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, Option<f64>>(8)?,
            [
                r.get::<_, i64>(9)?,
                r.get::<_, i64>(10)?,
                r.get::<_, i64>(11)?,
                r.get::<_, i64>(14)?,
            ],
            r.get::<_, String>(12)?,
            r.get::<_, String>(13)?,
        ))
    })?;
    let mut views = Vec::new();
    for row in rows {
        let (id, url, referrer, nav, start, end, name, previous, visible, dropped, attrs, res) =
            row?;
        let vitals = view_vitals(conn, &id)?;
        // The view's own trace: its page load (documentLoad) or the route change that
        // started it.
        let trace_id = spans
            .iter()
            .find(|s| {
                s.view_id() == Some(id.as_str())
                    && (s.category == "page_load" || s.category == "route_change")
            })
            .map(|s| s.trace_id.clone());
        let vitals_json: serde_json::Map<String, Value> = vitals
            .iter()
            .map(|(n, value, rating, _)| {
                (
                    n.clone(),
                    json!({ "name": n, "value": value, "rating": rating }),
                )
            })
            .collect();
        let json = json!({
            "view_id": id,
            "name": name,
            "url": url,
            "referrer": referrer,
            "navigation_type": nav,
            "previous_view_id": previous,
            "start_time_unix_nano": start.to_string(),
            "end_time_unix_nano": end.map(|e| e.to_string()),
            "visible_ms": visible,
            "dropped": { "actions": dropped[0], "events": dropped[1], "route_changes": dropped[2],
                         "errors": dropped[3] },
            "trace_id": trace_id,
            "attributes": serde_json::from_str::<Value>(&attrs)?,
            "resource": serde_json::from_str::<Value>(&res)?,
            "vitals": vitals_json,
        });
        views.push(ViewRow {
            id,
            start,
            end,
            vitals,
            json,
        });
    }
    Ok(views)
}

/// The latest report of each vital of a view, in the order they arrived.
fn view_vitals(
    conn: &Connection,
    view_id: &str,
) -> Result<Vec<(String, f64, String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, value, rating, received_unix_nano FROM vitals
         WHERE page_view_id = ?1 ORDER BY received_unix_nano, metric_id",
    )?;
    let rows = stmt.query_map(params![view_id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    let mut latest: Vec<(String, f64, String, i64)> = Vec::new();
    for row in rows {
        let row: (String, f64, String, i64) = row?;
        match latest.iter_mut().find(|v| v.0 == row.0) {
            Some(slot) => *slot = row,
            None => latest.push(row),
        }
    }
    Ok(latest)
}

fn session_events(conn: &Connection, session_id: &str) -> Result<Vec<Item>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT time_unix_nano, name, page_view_id, attributes FROM events
         WHERE session_id = ?1 ORDER BY time_unix_nano, name",
    )?;
    let rows = stmt.query_map(params![session_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (time, name, view_id, attributes) = row?;
        items.push(Item {
            time,
            rank: rank("event"),
            key: format!("{name}{view_id}"),
            json: json!({
                "type": "event",
                "time_unix_nano": time.to_string(),
                "view_id": view_id,
                "trace_id": null,
                "name": name,
                "attributes": serde_json::from_str::<Value>(&attributes)?,
            }),
        });
    }
    Ok(items)
}
