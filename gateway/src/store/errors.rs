//! Browser errors in the store: every recorded error (`errors`, keyed by session and the SDK's
//! id, so a later beacon's higher count updates it), and per fingerprint a group row
//! (`error_groups`: first and last seen, occurrences, records, sessions and users affected)
//! with the sessions, users and releases it was seen in. Written in the writer's transaction
//! ([`insert_error`]); read for `/api/errors` ([`groups`], [`group`]) and a session's
//! timeline ([`session_items`]).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Value};

use super::StoreError;
use crate::model::attr::{DEPLOYMENT_ENVIRONMENT, SERVICE_NAME, USER_ID};
use crate::model::{BrowserError, Frame};

/// The tables of this module, created by [`super::open`].
pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS errors (
    session_id      TEXT NOT NULL,
    error_id        TEXT NOT NULL,
    page_view_id    TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    time_unix_nano  INTEGER NOT NULL,
    count           INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    type            TEXT NOT NULL,
    message         TEXT NOT NULL,
    stack           TEXT NOT NULL,
    source          TEXT,
    line            INTEGER,
    col             INTEGER,
    frames          TEXT NOT NULL,
    frames_omitted  INTEGER NOT NULL,
    action_span_id  TEXT,
    trace_id        TEXT,
    span_id         TEXT,
    user_id         TEXT,
    service         TEXT NOT NULL,
    version         TEXT NOT NULL,
    environment     TEXT NOT NULL,
    attributes      TEXT NOT NULL,
    PRIMARY KEY (session_id, error_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS errors_by_fingerprint ON errors (fingerprint, time_unix_nano);
CREATE INDEX IF NOT EXISTS errors_by_time ON errors (time_unix_nano);

CREATE TABLE IF NOT EXISTS error_groups (
    fingerprint     TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    message         TEXT NOT NULL,
    culprit         TEXT,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    count           INTEGER NOT NULL,
    records         INTEGER NOT NULL,
    sessions        INTEGER NOT NULL,
    users           INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS error_groups_by_last_seen ON error_groups (last_seen);

CREATE TABLE IF NOT EXISTS error_group_sessions (
    fingerprint     TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    PRIMARY KEY (fingerprint, session_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS error_group_users (
    fingerprint     TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    PRIMARY KEY (fingerprint, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS error_group_releases (
    fingerprint     TEXT NOT NULL,
    service         TEXT NOT NULL,
    version         TEXT NOT NULL,
    environment     TEXT NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    count           INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, service, version, environment)
) WITHOUT ROWID;
"#;

fn text<'a>(attrs: &'a crate::model::Attributes, key: &str) -> &'a str {
    attrs.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `function (file)` of the top in-app frame, original where resolved: where the group
/// happens, for the list.
fn culprit(frames: &[Frame]) -> Option<String> {
    let frame = frames.iter().find(|f| f.in_app).or(frames.first())?;
    let function = frame.best_function().unwrap_or("?");
    let file = frame
        .original
        .as_ref()
        .map_or(frame.url.as_str(), |o| o.file.as_str());
    Some(format!("{function} ({file})"))
}

/// What storing one error added: occurrences (new, or the rise of a known record's count)
/// and whether the record is new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Added {
    pub occurrences: i64,
    pub new_record: bool,
}

/// Stores an error, or raises a known record's count to the new one (the largest wins), and
/// updates its group. A count update keeps the record as first stored (its frames and
/// fingerprint): a source map uploaded between the two beacons does not move it.
pub(super) fn insert_error(
    tx: &Connection,
    e: &BrowserError,
    received: i64,
) -> Result<Added, StoreError> {
    let count = i64::try_from(e.count).unwrap_or(i64::MAX);
    let known: Option<(i64, String)> = tx
        .prepare_cached(
            "SELECT count, fingerprint FROM errors WHERE session_id = ?1 AND error_id = ?2",
        )?
        .query_row(params![e.session_id, e.id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let service = text(&e.resource, SERVICE_NAME);
    let version = text(&e.resource, crate::model::attr::SERVICE_VERSION);
    let environment = text(&e.resource, DEPLOYMENT_ENVIRONMENT);
    let user = e.attributes.get(USER_ID).and_then(Value::as_str);
    let (fingerprint, added) = match known {
        Some((old, fingerprint)) => {
            if count <= old {
                return Ok(Added {
                    occurrences: 0,
                    new_record: false,
                });
            }
            tx.prepare_cached(
                "UPDATE errors SET count = ?3 WHERE session_id = ?1 AND error_id = ?2",
            )?
            .execute(params![e.session_id, e.id, count])?;
            (
                fingerprint,
                Added {
                    occurrences: count - old,
                    new_record: false,
                },
            )
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO errors (session_id, error_id, page_view_id, fingerprint,
                    time_unix_nano, count, kind, type, message, stack, source, line, col, frames,
                    frames_omitted, action_span_id, trace_id, span_id, user_id, service, version,
                    environment, attributes, received_unix_nano)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
            )?
            .execute(params![
                e.session_id,
                e.id,
                e.page_view_id,
                e.fingerprint,
                e.time_unix_nano,
                count,
                e.kind,
                e.error_type,
                e.message,
                e.stack,
                e.source,
                e.line,
                e.column,
                serde_json::to_string(&e.frames)?,
                i64::try_from(e.frames_omitted).unwrap_or(i64::MAX),
                e.action_span_id.map(|s| s.to_string()),
                e.trace_id.map(|t| t.to_string()),
                e.span_id.map(|s| s.to_string()),
                user,
                service,
                version,
                environment,
                serde_json::to_string(&e.attributes)?,
                received,
            ])?;
            (
                e.fingerprint.clone(),
                Added {
                    occurrences: count,
                    new_record: true,
                },
            )
        }
    };
    let mut new_session = 0;
    let mut new_user = 0;
    if added.new_record {
        new_session = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO error_group_sessions (fingerprint, session_id) VALUES (?1, ?2)",
            )?
            .execute(params![fingerprint, e.session_id])?;
        if let Some(user) = user {
            new_user = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO error_group_users (fingerprint, user_id) VALUES (?1, ?2)",
                )?
                .execute(params![fingerprint, user])?;
        }
    }
    tx.prepare_cached(
        "INSERT INTO error_groups (fingerprint, type, message, culprit, first_seen, last_seen,
            count, records, sessions, users) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (fingerprint) DO UPDATE SET
            first_seen = min(first_seen, excluded.first_seen),
            last_seen = max(last_seen, excluded.last_seen),
            count = count + excluded.count,
            records = records + excluded.records,
            sessions = sessions + excluded.sessions,
            users = users + excluded.users",
    )?
    .execute(params![
        fingerprint,
        e.error_type,
        e.message,
        culprit(&e.frames),
        e.time_unix_nano,
        added.occurrences,
        i64::from(added.new_record),
        i64::try_from(new_session).unwrap_or(0),
        i64::try_from(new_user).unwrap_or(0),
    ])?;
    tx.prepare_cached(
        "INSERT INTO error_group_releases (fingerprint, service, version, environment,
            first_seen, last_seen, count) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
         ON CONFLICT (fingerprint, service, version, environment) DO UPDATE SET
            first_seen = min(first_seen, excluded.first_seen),
            last_seen = max(last_seen, excluded.last_seen),
            count = count + excluded.count",
    )?
    .execute(params![
        fingerprint,
        service,
        version,
        environment,
        e.time_unix_nano,
        added.occurrences
    ])?;
    Ok(added)
}

/// What `/api/errors` filters by; every field optional.
#[derive(Debug, Clone, Default)]
pub struct ErrorFilter {
    pub service: Option<String>,
    pub version: Option<String>,
    pub environment: Option<String>,
    /// Unix nanoseconds, inclusive.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl ErrorFilter {
    fn is_empty(&self) -> bool {
        self.service.is_none()
            && self.version.is_none()
            && self.environment.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }

    /// The `WHERE` clause over `errors` (`?1`..`?5`: service, version, environment, from, to).
    const WHERE: &'static str = "(?1 IS NULL OR service = ?1) AND (?2 IS NULL OR version = ?2)
        AND (?3 IS NULL OR environment = ?3) AND (?4 IS NULL OR time_unix_nano >= ?4)
        AND (?5 IS NULL OR time_unix_nano <= ?5)";
}

/// One group in the list.
#[derive(Debug, Serialize, PartialEq)]
pub struct GroupSummary {
    pub fingerprint: String,
    /// `exception.type` and message of its first record.
    #[serde(rename = "type")]
    pub error_type: String,
    pub message: String,
    /// `function (file)` of its first record's top in-app frame.
    pub culprit: Option<String>,
    /// Unix nanoseconds as decimal strings.
    pub first_seen_unix_nano: String,
    pub last_seen_unix_nano: String,
    /// Occurrences: the sum of its records' counts.
    pub count: i64,
    /// Records (one per view and de-duplicated error, as the SDK sent them).
    pub records: i64,
    pub sessions: i64,
    pub users: i64,
    /// `{service, version, environment, count, first_seen_unix_nano, last_seen_unix_nano}`.
    pub releases: Vec<Value>,
    /// Occurrences per bucket of the sparkline's range, oldest first.
    pub sparkline: Vec<i64>,
}

fn releases(conn: &Connection, fingerprint: &str) -> Result<Vec<Value>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT service, version, environment, count, first_seen, last_seen
         FROM error_group_releases WHERE fingerprint = ?1 ORDER BY last_seen DESC",
    )?;
    let rows = stmt.query_map(params![fingerprint], |r| {
        Ok(json!({
            "service": r.get::<_, String>(0)?,
            "version": r.get::<_, String>(1)?,
            "environment": r.get::<_, String>(2)?,
            "count": r.get::<_, i64>(3)?,
            "first_seen_unix_nano": r.get::<_, i64>(4)?.to_string(),
            "last_seen_unix_nano": r.get::<_, i64>(5)?.to_string(),
        }))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Occurrences of `fingerprint` (matching `filter`) in `buckets` equal parts of
/// `[from, to]`, by each record's time.
fn sparkline(
    conn: &Connection,
    fingerprint: &str,
    filter: &ErrorFilter,
    (from, to): (i64, i64),
    buckets: usize,
) -> Result<Vec<i64>, StoreError> {
    let mut counts = vec![0i64; buckets];
    let span = (to - from).max(1) as i128;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT time_unix_nano, count FROM errors
         WHERE fingerprint = ?6 AND time_unix_nano >= ?7 AND time_unix_nano <= ?8 AND {}",
        ErrorFilter::WHERE
    ))?;
    let rows = stmt.query_map(
        params![
            filter.service,
            filter.version,
            filter.environment,
            filter.from,
            filter.to,
            fingerprint,
            from,
            to
        ],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
    )?;
    for row in rows {
        let (time, count) = row?;
        let i = ((time - from) as i128 * buckets as i128 / span) as usize;
        if let Some(slot) = counts.get_mut(i.min(buckets.saturating_sub(1))) {
            *slot += count;
        }
    }
    Ok(counts)
}

/// The groups, most recently seen first. Without a filter they come from `error_groups`;
/// with one they are counted from the records that match it. The sparkline covers
/// `[from, to]` (defaults: the 24 hours before `now`).
pub fn groups(
    conn: &Connection,
    filter: &ErrorFilter,
    limit: u32,
    buckets: usize,
    now: i64,
) -> Result<Vec<GroupSummary>, StoreError> {
    let mut list: Vec<GroupSummary> = Vec::new();
    let head = |r: &rusqlite::Row<'_>| -> rusqlite::Result<GroupSummary> {
        Ok(GroupSummary {
            fingerprint: r.get(0)?,
            error_type: r.get(1)?,
            message: r.get(2)?,
            culprit: r.get(3)?,
            first_seen_unix_nano: r.get::<_, i64>(4)?.to_string(),
            last_seen_unix_nano: r.get::<_, i64>(5)?.to_string(),
            count: r.get(6)?,
            records: r.get(7)?,
            sessions: r.get(8)?,
            users: r.get(9)?,
            releases: Vec::new(),
            sparkline: Vec::new(),
        })
    };
    if filter.is_empty() {
        let mut stmt = conn.prepare_cached(
            "SELECT fingerprint, type, message, culprit, first_seen, last_seen, count, records,
                    sessions, users
             FROM error_groups ORDER BY last_seen DESC, fingerprint LIMIT ?1",
        )?;
        for row in stmt.query_map(params![limit], head)? {
            list.push(row?);
        }
    } else {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT e.fingerprint, g.type, g.message, g.culprit, min(e.time_unix_nano),
                    max(e.time_unix_nano), sum(e.count), count(*), count(DISTINCT e.session_id),
                    count(DISTINCT e.user_id)
             FROM errors e JOIN error_groups g ON g.fingerprint = e.fingerprint
             WHERE {}
             GROUP BY e.fingerprint ORDER BY max(e.time_unix_nano) DESC, e.fingerprint LIMIT ?6",
            ErrorFilter::WHERE
        ))?;
        let rows = stmt.query_map(
            params![
                filter.service,
                filter.version,
                filter.environment,
                filter.from,
                filter.to,
                limit
            ],
            head,
        )?;
        for row in rows {
            list.push(row?);
        }
    }
    let to = filter.to.unwrap_or(now);
    let from = filter
        .from
        .unwrap_or_else(|| to.saturating_sub(24 * 3600 * 1_000_000_000));
    for group in &mut list {
        group.releases = releases(conn, &group.fingerprint)?;
        group.sparkline = sparkline(conn, &group.fingerprint, filter, (from, to), buckets)?;
    }
    Ok(list)
}

/// One group with its latest `limit` occurrences; `None` for an unknown fingerprint.
pub fn group(
    conn: &Connection,
    fingerprint: &str,
    limit: u32,
    buckets: usize,
    now: i64,
) -> Result<Option<Value>, StoreError> {
    let head = conn
        .prepare_cached(
            "SELECT fingerprint, type, message, culprit, first_seen, last_seen, count, records,
                    sessions, users
             FROM error_groups WHERE fingerprint = ?1",
        )?
        .query_row(params![fingerprint], |r| {
            Ok(GroupSummary {
                fingerprint: r.get(0)?,
                error_type: r.get(1)?,
                message: r.get(2)?,
                culprit: r.get(3)?,
                first_seen_unix_nano: r.get::<_, i64>(4)?.to_string(),
                last_seen_unix_nano: r.get::<_, i64>(5)?.to_string(),
                count: r.get(6)?,
                records: r.get(7)?,
                sessions: r.get(8)?,
                users: r.get(9)?,
                releases: Vec::new(),
                sparkline: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut head) = head else {
        return Ok(None);
    };
    head.releases = releases(conn, fingerprint)?;
    let filter = ErrorFilter::default();
    head.sparkline = sparkline(
        conn,
        fingerprint,
        &filter,
        (now.saturating_sub(24 * 3600 * 1_000_000_000), now),
        buckets,
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT e.session_id, e.error_id, e.page_view_id, e.time_unix_nano, e.count, e.kind,
                e.type, e.message, e.stack, e.source, e.line, e.col, e.frames, e.frames_omitted,
                e.action_span_id, e.trace_id, e.span_id, e.user_id, e.service, e.version,
                e.environment, e.attributes, v.url, v.name
         FROM errors e LEFT JOIN page_views v ON v.page_view_id = e.page_view_id
         WHERE e.fingerprint = ?1 ORDER BY e.time_unix_nano DESC, e.error_id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![fingerprint, limit], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, String>(8)?,
            (
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<i64>>(10)?,
                r.get::<_, Option<i64>>(11)?,
            ),
            r.get::<_, String>(12)?,
            r.get::<_, i64>(13)?,
            (
                r.get::<_, Option<String>>(14)?,
                r.get::<_, Option<String>>(15)?,
                r.get::<_, Option<String>>(16)?,
            ),
            r.get::<_, Option<String>>(17)?,
            (
                r.get::<_, String>(18)?,
                r.get::<_, String>(19)?,
                r.get::<_, String>(20)?,
            ),
            r.get::<_, String>(21)?,
            (
                r.get::<_, Option<String>>(22)?,
                r.get::<_, Option<String>>(23)?,
            ),
        ))
    })?;
    let mut occurrences = Vec::new();
    for row in rows {
        let (
            session,
            id,
            view,
            time,
            count,
            kind,
            error_type,
            message,
            stack,
            (source, line, col),
            frames,
            omitted,
            (action, trace, span),
            user,
            (service, version, environment),
            attributes,
            (view_url, view_name),
        ) = row?;
        let action_trace_id = match &action {
            Some(action) => action_trace(conn, &session, action)?,
            None => None,
        };
        occurrences.push(json!({
            "error_id": id,
            "session_id": session,
            "view_id": view,
            "view_url": view_url,
            "view_name": view_name,
            "time_unix_nano": time.to_string(),
            "count": count,
            "kind": kind,
            "type": error_type,
            "message": message,
            "stack": stack,
            "source": source,
            "line": line,
            "col": col,
            "frames": serde_json::from_str::<Value>(&frames)?,
            "frames_omitted": omitted,
            "action_span_id": action,
            "action_trace_id": action_trace_id,
            "trace_id": trace,
            "span_id": span,
            "user_id": user,
            "service": service,
            "version": version,
            "environment": environment,
            "attributes": serde_json::from_str::<Value>(&attributes)?,
        }));
    }
    let mut value = serde_json::to_value(head)?;
    if let Some(map) = value.as_object_mut() {
        map.insert("occurrences".into(), Value::Array(occurrences));
    }
    Ok(Some(value))
}

/// The trace of a session's action span, from the session's span index.
fn action_trace(
    conn: &Connection,
    session: &str,
    action_span_id: &str,
) -> Result<Option<String>, StoreError> {
    let sources = super::partitions::sources(conn)?;
    Ok(conn
        .prepare_cached(&format!(
            "SELECT trace_id FROM ({}) LIMIT 1",
            super::partitions::union_all(
                &sources,
                "SELECT trace_id FROM {s}.session_spans WHERE session_id = ?1 AND span_id = ?2"
            )
        ))?
        .query_row(params![session, action_span_id], |r| r.get(0))
        .optional()?)
}

/// A session's errors for its timeline: `(time, key, item)`.
pub(super) fn session_items(
    conn: &Connection,
    session_id: &str,
) -> Result<Vec<(i64, String, Value)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT error_id, page_view_id, fingerprint, time_unix_nano, count, kind, type, message,
                action_span_id, trace_id, span_id, frames
         FROM errors WHERE session_id = ?1 ORDER BY time_unix_nano, error_id",
    )?;
    let rows = stmt.query_map(params![session_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, Option<String>>(8)?,
            r.get::<_, Option<String>>(9)?,
            r.get::<_, Option<String>>(10)?,
            r.get::<_, String>(11)?,
        ))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (
            id,
            view,
            fingerprint,
            time,
            count,
            kind,
            error_type,
            message,
            action,
            trace,
            span,
            frames,
        ) = row?;
        let frames: Vec<Frame> = serde_json::from_str(&frames).unwrap_or_default();
        items.push((
            time,
            id.clone(),
            json!({
                "type": "error",
                "time_unix_nano": time.to_string(),
                "view_id": view,
                "error_id": id,
                "fingerprint": fingerprint,
                "name": error_type,
                "message": message,
                "kind": kind,
                "count": count,
                "culprit": culprit(&frames),
                "action_span_id": action,
                "trace_id": trace,
                "span_id": span,
            }),
        ));
    }
    Ok(items)
}
