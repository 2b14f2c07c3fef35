//! The embedded store: SQLite databases (WAL) in the data directory, behind the ingest log
//! ([`log`]): `rum.sqlite`, and the span partitions, one file per day ([`partitions`]).
//!
//! Browser and backend spans share one `spans` table per file, found by trace id, so a trace
//! joins both sides. Writes go through [`writer`]'s single indexer thread; reads use their own
//! connection, with the partitions attached, which WAL lets run beside the writer.

pub mod errors;
pub mod log;
pub mod outbox;
pub mod pages;
pub mod partitions;
pub mod releases;
pub mod retention;
pub mod rollups;
pub mod search;
pub mod sessions;
pub mod tail;
pub mod writer;

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;

pub use writer::StoreHandle;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "rum.sqlite";

/// Spans per epoch of `spans_by_id`, as a power of two (see the `spans` table).
pub const EPOCH_BITS: u32 = 17;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored JSON is corrupt: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the store's writer has stopped")]
    WriterGone,
    #[error(transparent)]
    Log(#[from] log::LogError),
    #[error(transparent)]
    Outbox(#[from] outbox::QueueError),
    #[error("indexing: {0}")]
    Index(String),
}

pub(crate) const SPANS_TABLE: &str = r#"
-- Spans in the order they were indexed (a rowid table): each insert appends to the last page,
-- and a page is written full. Found by trace id through spans_by_id, whose key starts with the
-- span's epoch (its rowid >> EPOCH_BITS, so 131,072 consecutive spans share one): a random
-- trace id then lands among the current epoch's entries, a few MB that every transaction
-- rewrites in place, instead of on a random page of an index as large as the store, one page
-- written per span. A lookup by trace id seeks once per epoch (`partitions::union_all`). (Stores from before
-- kept the rows in trace-id order and are rewritten once at start: `migrate_spans_to_rowid`.)
CREATE TABLE IF NOT EXISTS spans (
    trace_id        TEXT NOT NULL,
    span_id         TEXT NOT NULL,
    parent_span_id  TEXT,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    start_unix_nano INTEGER NOT NULL,
    end_unix_nano   INTEGER NOT NULL,
    status_code     TEXT NOT NULL,
    status_message  TEXT NOT NULL,
    attributes      TEXT NOT NULL,
    -- Inline resource JSON: rows written before resource_hash existed, and the rare span
    -- whose resource hash collides with another resource's. '' otherwise.
    resource        TEXT NOT NULL,
    source          TEXT NOT NULL,
    resource_hash   INTEGER,
    epoch           INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS spans_by_id ON spans (epoch, trace_id, span_id);
"#;

/// Tables of the span index beside `spans`, in `main` (spans stored before partitions) and in
/// every partition (`partitions.rs`).
pub(crate) const SPAN_TABLES: &str = r#"
-- A span's events and links, as JSON arrays, for the spans that have any (most have none,
-- and the span row stays the size it was).
CREATE TABLE IF NOT EXISTS span_extras (
    trace_id        TEXT NOT NULL,
    span_id         TEXT NOT NULL,
    events          TEXT NOT NULL,
    links           TEXT NOT NULL,
    PRIMARY KEY (trace_id, span_id)
) WITHOUT ROWID;

-- Each trace once, when its first span was indexed: what the recent-traces list read before
-- trace search (`trace_index`, store/search.rs). No longer written; the rows of stores from
-- before are deleted with their traces by tail sampling and retention.
CREATE TABLE IF NOT EXISTS trace_starts (
    trace_id        TEXT NOT NULL,
    start_unix_nano INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS trace_starts_by_start ON trace_starts (start_unix_nano);

"#;

/// Where the index has got in the ingest log, in `rum.sqlite` and in each partition.
pub(crate) const POSITION_TABLE: &str = r#"
-- The last ingest log record committed here (store/log.rs, store/writer.rs): set in the same
-- transaction as the rows, so a restart indexes exactly the records after it.
CREATE TABLE IF NOT EXISTS ingest_log_position (
    id              INTEGER PRIMARY KEY CHECK (id = 0),
    indexed_seq     INTEGER NOT NULL
);
"#;

/// The last ingest log record `conn`'s database holds (`ingest_log_position`), if it has one.
pub(crate) fn indexed_position(conn: &Connection) -> rusqlite::Result<Option<u64>> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT indexed_seq FROM ingest_log_position WHERE id = 0",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(seq.map(|s| u64::try_from(s).unwrap_or(0)))
}

const SCHEMA: &str = r#"
-- Each distinct resource once (a beacon's spans all share one; with it inline every span row
-- outgrew its page and took an overflow page), keyed by a hash of its JSON (resource_hash).
CREATE TABLE IF NOT EXISTS resources (
    resource_hash   INTEGER PRIMARY KEY,
    attributes      TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS vitals (
    page_view_id    TEXT NOT NULL,
    metric_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    value           REAL NOT NULL,
    delta           REAL NOT NULL,
    rating          TEXT NOT NULL,
    navigation_type TEXT NOT NULL,
    received_unix_nano INTEGER NOT NULL,
    attribution     TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (page_view_id, metric_id)
) WITHOUT ROWID;
-- The newest reports first, for the per-page summary (store/summary.rs): without it that read
-- scanned and sorted every vital, a cost that grew with the store (1.8 s at 3 million).
-- Appended at its right edge, as reports arrive in time order.
CREATE INDEX IF NOT EXISTS vitals_by_received ON vitals (received_unix_nano);

"#;

/// Opens (creating if needed) the database in `data_dir` with the schema applied.
pub fn open(data_dir: &Path) -> Result<Connection, StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|source| StoreError::CreateDir {
        path: data_dir.into(),
        source,
    })?;
    let conn = Connection::open(data_dir.join(DB_FILE))?;
    // WAL lets readers run beside the writer; synchronous=FULL makes a commit durable
    // before the request it holds is acknowledged.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(POSITION_TABLE)?;
    conn.execute_batch(SPAN_TABLES)?;
    conn.execute_batch(search::TRACE_INDEX_TABLE)?;
    conn.execute_batch(sessions::SESSION_SPANS_TABLE)?;
    open_page_views_table(&conn)?;
    add_column(&conn, "vitals", "attribution", "TEXT NOT NULL DEFAULT '{}'")?;
    open_spans_table(&conn)?;
    migrate_traces_to_trace_starts(&conn)?;
    search::backfill(&conn)?;
    conn.execute_batch(sessions::SCHEMA)?;
    add_column(
        &conn,
        "sessions",
        "exception_count",
        "INTEGER NOT NULL DEFAULT 0",
    )?;
    conn.execute_batch(errors::SCHEMA)?;
    // When each session and error was last accepted: what the retention tiers count from.
    // Rows from before get the upgrade's time (kept a whole tier from it).
    let upgraded_at = crate::model::time::now_unix_nano();
    for table in ["sessions", "errors"] {
        add_column(
            &conn,
            table,
            "received_unix_nano",
            "INTEGER NOT NULL DEFAULT 0",
        )?;
        conn.execute(
            &format!("UPDATE {table} SET received_unix_nano = ?1 WHERE received_unix_nano = 0"),
            [upgraded_at],
        )?;
    }
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS sessions_by_received ON sessions (received_unix_nano);
         CREATE INDEX IF NOT EXISTS errors_by_received ON errors (received_unix_nano);",
    )?;
    conn.execute_batch(tail::TAIL_TABLE)?;
    conn.execute_batch(rollups::SCHEMA)?;
    conn.execute_batch(retention::SCHEMA)?;
    Ok(conn)
}

/// Opens the store in `data_dir` for reading, with its span partitions attached, as the read
/// connection has them: for tools and tests that read the files (`partitions::union_all`).
pub fn open_read(data_dir: &Path) -> Result<Connection, StoreError> {
    let conn = open(data_dir)?;
    partitions::Partitions::open(data_dir, partitions::PartitionConfig::default())?
        .attach(&conn, &mut 0)?;
    Ok(conn)
}

/// The `CREATE TABLE` statement of `table`, or None when the store has no such table.
fn table_sql(conn: &Connection, table: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .optional()?)
}

/// Creates the `spans` table; stores made before the rowid `spans` table (each row in a B-tree keyed by its random trace
/// id, so every insert rewrote a random page of the store's largest table) are rewritten into
/// it once, in one transaction: a crash during it leaves the old table as it was.
fn open_spans_table(conn: &Connection) -> Result<(), StoreError> {
    let sql = table_sql(conn, "spans")?;
    match sql {
        None => Ok(conn.execute_batch(SPANS_TABLE)?),
        Some(sql) if sql.contains("WITHOUT ROWID") => migrate_spans_to_rowid(conn),
        Some(_) => Ok(()),
    }
}

fn migrate_spans_to_rowid(conn: &Connection) -> Result<(), StoreError> {
    // The oldest stores lack this column.
    add_column(conn, "spans", "resource_hash", "INTEGER")?;
    let started = std::time::Instant::now();
    const COLUMNS: &str = "trace_id, span_id, parent_span_id, name, kind, start_unix_nano,
        end_unix_nano, status_code, status_message, attributes, resource, source, resource_hash";
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         ALTER TABLE spans RENAME TO spans_by_trace_id;
         {SPANS_TABLE}
         INSERT INTO spans ({COLUMNS}) SELECT {COLUMNS} FROM spans_by_trace_id ORDER BY start_unix_nano;
         UPDATE spans SET epoch = rowid >> {EPOCH_BITS};
         DROP TABLE spans_by_trace_id;
         COMMIT;"
    ))?;
    let rows: i64 = conn.query_row("SELECT count(*) FROM spans", [], |r| r.get(0))?;
    tracing::info!(
        rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Rewrote the spans table in insertion order (a one-time upgrade)."
    );
    Ok(())
}

/// The page views' columns before the journey fields (`sessions::PAGE_VIEW_COLUMNS`).
const PAGE_VIEW_BASE_COLUMNS: [(&str, &str); 8] = [
    ("page_view_id", "TEXT NOT NULL"),
    ("session_id", "TEXT NOT NULL"),
    ("url", "TEXT NOT NULL"),
    ("referrer", "TEXT NOT NULL"),
    ("navigation_type", "TEXT NOT NULL"),
    ("start_unix_nano", "INTEGER NOT NULL"),
    ("resource", "TEXT NOT NULL"),
    ("attributes", "TEXT NOT NULL DEFAULT '{}'"),
];

/// Page views in the order they were first stored (a rowid table), found by id through
/// page_views_by_id: a row (a kilobyte, with its resource and enrichment) is appended, and only
/// the small index entry lands on a random page. Every beacon of a view updates its row, which
/// is then near the end of the table, in pages the same transaction writes anyway.
const PAGE_VIEW_INDEXES: &str = "
    CREATE UNIQUE INDEX IF NOT EXISTS page_views_by_id ON page_views (page_view_id);
    CREATE INDEX IF NOT EXISTS page_views_by_start ON page_views (start_unix_nano);
    CREATE INDEX IF NOT EXISTS page_views_by_session ON page_views (session_id, start_unix_nano);";

fn page_view_columns() -> impl Iterator<Item = (&'static str, &'static str)> {
    PAGE_VIEW_BASE_COLUMNS
        .into_iter()
        .chain(sessions::PAGE_VIEW_COLUMNS)
}

/// Creates `page_views`; a store made before the rowid table (rows in a B-tree keyed by the
/// random view id) is rewritten into it once, in one transaction; one made before a column
/// existed gets it.
fn open_page_views_table(conn: &Connection) -> Result<(), StoreError> {
    let sql = table_sql(conn, "page_views")?;
    let create = format!(
        "CREATE TABLE page_views ({})",
        page_view_columns()
            .map(|(name, definition)| format!("{name} {definition}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    match sql {
        None => conn.execute_batch(&format!("{create};{PAGE_VIEW_INDEXES}"))?,
        Some(sql) if sql.contains("WITHOUT ROWID") => {
            for (column, definition) in page_view_columns() {
                add_column(conn, "page_views", column, definition)?;
            }
            let columns = page_view_columns()
                .map(|(name, _)| name)
                .collect::<Vec<_>>()
                .join(", ");
            conn.execute_batch(&format!(
                "BEGIN IMMEDIATE;
                 ALTER TABLE page_views RENAME TO page_views_by_view_id;
                 {create};
                 INSERT INTO page_views ({columns})
                     SELECT {columns} FROM page_views_by_view_id ORDER BY start_unix_nano;
                 DROP TABLE page_views_by_view_id;
                 {PAGE_VIEW_INDEXES}
                 COMMIT;"
            ))?;
            tracing::info!("Rewrote the page_views table in insertion order (a one-time upgrade).");
        }
        Some(_) => {
            for (column, definition) in page_view_columns() {
                add_column(conn, "page_views", column, definition)?;
            }
            conn.execute_batch(PAGE_VIEW_INDEXES)?;
        }
    }
    Ok(())
}

/// Stores made before `trace_starts` kept a `traces` row per trace: each becomes its start.
fn migrate_traces_to_trace_starts(conn: &Connection) -> Result<(), StoreError> {
    if table_sql(conn, "traces")?.is_some() {
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             INSERT INTO trace_starts (trace_id, start_unix_nano)
                 SELECT trace_id, start_unix_nano FROM traces ORDER BY start_unix_nano;
             DROP TABLE traces;
             COMMIT;",
        )?;
    }
    Ok(())
}

/// Stores made before a column existed get it (JSON columns: empty for old rows).
fn add_column(
    conn: &Connection,
    table: &str,
    column: &str,
    definition: &str,
) -> Result<(), StoreError> {
    let has_column = conn
        .prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?
        .exists(params![table, column])?;
    if !has_column {
        conn.execute_batch(&format!(
            "ALTER TABLE {table} ADD COLUMN {column} {definition}"
        ))?;
    }
    Ok(())
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SpanStatus {
    pub code: String,
    pub message: String,
}

/// A stored span as the API returns it.
#[derive(Debug, Serialize, PartialEq)]
pub struct StoredSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: String,
    pub start_time_unix_nano: String,
    pub end_time_unix_nano: String,
    pub status: SpanStatus,
    pub attributes: Value,
    pub resource: Value,
    /// `browser` (a beacon) or `otlp` (a backend).
    pub source: String,
    /// `[{"name", "time_unix_nano", "attributes"}]`, in the order sent.
    pub events: Value,
    /// `[{"trace_id", "span_id", "attributes"}]`.
    pub links: Value,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct StoredVital {
    pub name: String,
    pub value: f64,
    pub delta: f64,
    pub rating: String,
    pub id: String,
    pub navigation_type: String,
    pub attribution: Value,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct StoredPageView {
    pub page_view_id: String,
    pub session_id: String,
    pub url: String,
    /// The view's name (`rum.setView`), empty when it has none.
    pub name: String,
    /// The page the view counts under in `/api/pages`: its name, else its URL's path.
    pub page: String,
    pub referrer: String,
    pub navigation_type: String,
    pub start_time_unix_nano: String,
    pub resource: Value,
    /// What the gateway added: client address, geo, user agent, browser context.
    pub attributes: Value,
    /// The latest report of each vital, keyed by name (LCP, INP, CLS, FCP, TTFB).
    pub vitals: serde_json::Map<String, Value>,
}

/// Every span of a trace, ordered by start time.
pub fn trace_spans(conn: &Connection, trace_id: &str) -> Result<Vec<StoredSpan>, StoreError> {
    let sources = partitions::sources(conn)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT * FROM ({}) ORDER BY 6, 2, 15, 16",
        partitions::union_all(
            &sources,
            "SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.start_unix_nano,
                s.end_unix_nano, s.status_code, s.status_message, s.attributes,
                coalesce(r.attributes, s.resource), s.source,
                coalesce(x.events, '[]'), coalesce(x.links, '[]'), '{s}', s.rowid
             FROM {s}.spans s LEFT JOIN main.resources r ON r.resource_hash = s.resource_hash
                  LEFT JOIN {s}.span_extras x ON x.trace_id = s.trace_id AND x.span_id = s.span_id
             WHERE s.epoch IN {epochs} AND s.trace_id = ?1"
        )
    ))?;
    let rows = stmt.query_map(params![trace_id], |r| {
        Ok((
            StoredSpan {
                trace_id: r.get(0)?,
                span_id: r.get(1)?,
                parent_span_id: r.get(2)?,
                name: r.get(3)?,
                kind: r.get(4)?,
                start_time_unix_nano: r.get::<_, i64>(5)?.to_string(),
                end_time_unix_nano: r.get::<_, i64>(6)?.to_string(),
                status: SpanStatus {
                    code: r.get(7)?,
                    message: r.get(8)?,
                },
                attributes: Value::Null,
                resource: Value::Null,
                source: r.get(11)?,
                events: Value::Null,
                links: Value::Null,
            },
            r.get::<_, String>(9)?,
            r.get::<_, String>(10)?,
            r.get::<_, String>(12)?,
            r.get::<_, String>(13)?,
        ))
    })?;
    let mut spans: Vec<StoredSpan> = Vec::new();
    for row in rows {
        let (mut span, attributes, resource, events, links) = row?;
        // A span retried more than an epoch after it was first stored (or in another
        // partition) is stored twice.
        if spans.iter().any(|s| s.span_id == span.span_id) {
            continue;
        }
        span.attributes = serde_json::from_str(&attributes)?;
        span.resource = serde_json::from_str(&resource)?;
        span.events = serde_json::from_str(&events)?;
        span.links = serde_json::from_str(&links)?;
        spans.push(span);
    }
    Ok(spans)
}

pub fn page_view(
    conn: &Connection,
    page_view_id: &str,
) -> Result<Option<StoredPageView>, StoreError> {
    let view = conn
        .prepare_cached(
            "SELECT page_view_id, session_id, url, referrer, navigation_type, start_unix_nano, resource,
                    attributes, name
             FROM page_views WHERE page_view_id = ?1",
        )?
        .query_row(params![page_view_id], |r| {
            Ok((
                StoredPageView {
                    page_view_id: r.get(0)?,
                    session_id: r.get(1)?,
                    page: pages::page_key(&r.get::<_, String>(8)?, &r.get::<_, String>(2)?),
                    url: r.get(2)?,
                    name: r.get(8)?,
                    referrer: r.get(3)?,
                    navigation_type: r.get(4)?,
                    start_time_unix_nano: r.get::<_, i64>(5)?.to_string(),
                    resource: Value::Null,
                    attributes: Value::Null,
                    vitals: serde_json::Map::new(),
                },
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
            ))
        })
        .optional()?;
    let Some((mut view, resource, attributes)) = view else {
        return Ok(None);
    };
    view.resource = serde_json::from_str(&resource)?;
    view.attributes = serde_json::from_str(&attributes)?;
    // Reports arrive in order; a later metric instance (a bfcache restore) wins its name.
    let mut stmt = conn.prepare_cached(
        "SELECT name, value, delta, rating, metric_id, navigation_type, attribution FROM vitals
         WHERE page_view_id = ?1 ORDER BY received_unix_nano, metric_id",
    )?;
    let vitals = stmt.query_map(params![page_view_id], |r| {
        Ok(StoredVital {
            name: r.get(0)?,
            value: r.get(1)?,
            delta: r.get(2)?,
            rating: r.get(3)?,
            id: r.get(4)?,
            navigation_type: r.get(5)?,
            attribution: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or(Value::Null),
        })
    })?;
    for vital in vitals {
        let vital = vital?;
        view.vitals
            .insert(vital.name.clone(), serde_json::to_value(&vital)?);
    }
    Ok(Some(view))
}
