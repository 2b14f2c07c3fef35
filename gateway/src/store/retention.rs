//! Tiered retention: what the store keeps, for how long, and the background pass that keeps it
//! so, one bounded step at a time between the indexer's groups (so ingest never waits long for
//! it), each step's progress committed with its work (so a restart resumes mid-pass).
//!
//! | tier | default | what |
//! |---|---|---|
//! | raw (`store.retention_hours`) | 7 days | span partitions, page views, vitals, sessions, events |
//! | errors (`store.error_retention_hours`) | 90 days | traces with an error (copied out of their partition before it is deleted), error occurrences and groups |
//! | rollups (`store.rollup_retention_hours`) | 400 days | hourly histograms of each vital and of fetch and server latency (`rollups.rs`) |
//! | size cap (`store.max_bytes`) | off | the whole data directory; oldest partitions first, then the oldest raw rows |
//!
//! A step does the first of these that has work, one chunk of it:
//! 1. the oldest partition past the raw tier: scan a chunk of its spans (their latencies into
//!    the rollups, the traces with an error noted), then copy the noted traces' spans into
//!    `rum.sqlite` chunk by chunk, then delete the partition's files;
//! 2. vitals: roll up the next whole hour past the raw tier; then delete rolled-up vitals,
//!    page views, sessions and events past it;
//! 3. error occurrences, groups and the copied error traces past the error tier;
//! 4. rollups past the rollup tier;
//! 5. the size cap.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::partitions::Partitions;
use super::rollups::{self, hour_of, Rollup, RollupKey};
use super::StoreError;

pub(crate) const SCHEMA: &str = r#"
-- The retention pass's progress (store/retention.rs), committed with each step's work.
CREATE TABLE IF NOT EXISTS retention_state (
    key             TEXT PRIMARY KEY,
    value           INTEGER NOT NULL
) WITHOUT ROWID;
-- The traces with an error in the partition being archived.
CREATE TABLE IF NOT EXISTS archive_traces (
    trace_id        TEXT PRIMARY KEY
) WITHOUT ROWID;
-- Traces kept for their errors (copied into rum.sqlite from a deleted partition), and the end
-- of that partition's window: the error tier counts from then.
CREATE TABLE IF NOT EXISTS kept_traces (
    trace_id        TEXT PRIMARY KEY,
    kept_unix_nano  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kept_traces_by_time ON kept_traces (kept_unix_nano);
"#;

/// The tiers (`[store]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Raw data (the partitions' `retention_secs` too), seconds.
    pub raw_secs: u64,
    /// Traces with errors, error occurrences and groups, seconds.
    pub error_secs: u64,
    /// Hourly rollups, seconds.
    pub rollup_secs: u64,
    /// The data directory's size cap, bytes; 0 is none.
    pub max_bytes: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            raw_secs: 7 * 24 * 3600,
            error_secs: 90 * 24 * 3600,
            rollup_secs: 400 * 24 * 3600,
            max_bytes: 0,
        }
    }
}

impl RetentionConfig {
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.error_secs < self.raw_secs {
            return Err((
                "store.error_retention_hours",
                "must be at least store.retention_hours".into(),
            ));
        }
        if self.rollup_secs < self.raw_secs {
            return Err((
                "store.rollup_retention_hours",
                "must be at least store.retention_hours".into(),
            ));
        }
        Ok(())
    }
}

/// Spans scanned or copied per step. (20,000 took steps of up to 300 ms, and the
/// acknowledgement p99 at half load rose from 28 to 309 ms while the pass was busy.)
const SPAN_CHUNK: i64 = 5_000;
/// Rows deleted per table per step.
const DELETE_CHUNK: i64 = 2_000;
/// Sessions, or traces with errors, deleted per step.
const TRACE_CHUNK: i64 = 200;

const NANOS: i64 = 1_000_000_000;

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing was due.
    Idle,
    /// A chunk of work (more may follow).
    Worked,
}

/// Where the vitals' raw tier begins: every report received before it is in the rollups (and
/// perhaps deleted). `i64::MIN` before the first hour is rolled up.
pub fn vitals_rolled_to(conn: &Connection) -> Result<i64, StoreError> {
    Ok(state(conn, "vitals.rolled_to")?.unwrap_or(i64::MIN))
}

fn state(conn: &Connection, key: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM retention_state WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

fn set_state(conn: &Connection, key: &str, value: i64) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR REPLACE INTO retention_state (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value])?;
    Ok(())
}

/// One step of the pass at the store clock's `now` (nanoseconds); `current` is the partition
/// being written (the size cap never deletes it).
pub fn step(
    conn: &mut Connection,
    partitions: &Partitions,
    current: Option<i64>,
    config: &RetentionConfig,
    now: i64,
) -> Result<Step, StoreError> {
    let secs = |s: u64| {
        i64::try_from(s)
            .unwrap_or(i64::MAX / NANOS)
            .saturating_mul(NANOS)
    };
    let raw_cutoff = now.saturating_sub(secs(config.raw_secs));
    // The partition being written is past the raw tier only when the clock has moved past its
    // window: new records go to a newer one (`writer.rs`'s target), so it can go too.
    if let Some(start) = partitions.expiring(now, None).first().copied() {
        archive_step(conn, partitions, start)?;
        return Ok(Step::Worked);
    }
    if raw_step(conn, raw_cutoff)? == Step::Worked {
        return Ok(Step::Worked);
    }
    if error_step(conn, now.saturating_sub(secs(config.error_secs)))? == Step::Worked {
        return Ok(Step::Worked);
    }
    let rollup_cutoff = now
        .saturating_sub(secs(config.rollup_secs))
        .div_euclid(NANOS);
    let deleted = conn
        .prepare_cached(
            "DELETE FROM rollups WHERE (hour, metric, service, version, route, country, browser)
             IN (SELECT hour, metric, service, version, route, country, browser FROM rollups
                 WHERE hour < ?1 LIMIT ?2)",
        )?
        .execute(params![rollup_cutoff, DELETE_CHUNK])?;
    if deleted > 0 {
        return Ok(Step::Worked);
    }
    if config.max_bytes > 0 {
        return size_cap_step(conn, partitions, current, config.max_bytes);
    }
    Ok(Step::Idle)
}

/// Archives a chunk of partition `start` (scan, then copy), or deletes it once done.
fn archive_step(
    conn: &mut Connection,
    partitions: &Partitions,
    start: i64,
) -> Result<(), StoreError> {
    if state(conn, "archive.partition")? != Some(start) {
        // A new partition (or one a crash left half done is gone): start over.
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM archive_traces", [])?;
        tx.execute("DELETE FROM retention_state WHERE key GLOB 'archive.*'", [])?;
        set_state(&tx, "archive.partition", start)?;
        set_state(&tx, "archive.phase", 0)?;
        set_state(&tx, "archive.rowid", 0)?;
        // Traces a browser error names, from the partition's window.
        let width = i64::try_from(partitions.config().width_secs).unwrap_or(i64::MAX / NANOS);
        tx.execute(
            "INSERT OR IGNORE INTO archive_traces (trace_id)
             SELECT trace_id FROM errors WHERE trace_id IS NOT NULL
               AND time_unix_nano >= ?1 AND time_unix_nano < ?2",
            params![start * NANOS, (start + width) * NANOS],
        )?;
        tx.commit()?;
    }
    let path = partitions.path(start);
    if !path.exists() {
        partitions.remove(start);
        return Ok(());
    }
    conn.execute(
        "ATTACH DATABASE ?1 AS archived",
        [format!("file:{}?mode=ro", path.display())],
    )?;
    let width = i64::try_from(partitions.config().width_secs).unwrap_or(i64::MAX / NANOS);
    let result = archive_chunk(conn, start, (start + width).saturating_mul(NANOS));
    let detached = conn.execute_batch("DETACH DATABASE archived");
    let done = result?;
    detached?;
    if done {
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM archive_traces", [])?;
        tx.execute("DELETE FROM retention_state WHERE key GLOB 'archive.*'", [])?;
        tx.commit()?;
        partitions.remove(start);
    }
    Ok(())
}

/// One chunk of the archive of the attached partition; true when it is finished.
fn archive_chunk(conn: &mut Connection, start: i64, window_end: i64) -> Result<bool, StoreError> {
    let phase = state(conn, "archive.phase")?.unwrap_or(0);
    let from = state(conn, "archive.rowid")?.unwrap_or(0);
    let last: i64 = conn.query_row(
        "SELECT coalesce(max(rowid), 0) FROM archived.spans",
        [],
        |r| r.get(0),
    )?;
    let to = from + SPAN_CHUNK;
    let tx = conn.transaction()?;
    match phase {
        0 => {
            let mut rollup = Rollup::default();
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT s.trace_id, s.kind, s.source, s.status_code, s.start_unix_nano,
                        s.end_unix_nano,
                        coalesce(json_extract(s.attributes, '$.\"http.route\"'),
                                 json_extract(s.attributes, '$.\"url.path\"'),
                                 json_extract(s.attributes, '$.\"url.full\"'), ''),
                        coalesce(json_extract(coalesce(r.attributes, nullif(s.resource, '')),
                                 '$.\"service.name\"'), ''),
                        coalesce(json_extract(coalesce(r.attributes, nullif(s.resource, '')),
                                 '$.\"service.version\"'), '')
                     FROM archived.spans s LEFT JOIN main.resources r
                       ON r.resource_hash = s.resource_hash
                     WHERE s.rowid > ?1 AND s.rowid <= ?2",
                )?;
                let mut rows = stmt.query(params![from, to])?;
                while let Some(r) = rows.next()? {
                    let trace: String = r.get(0)?;
                    let kind: String = r.get(1)?;
                    let source: String = r.get(2)?;
                    let status: String = r.get(3)?;
                    if status == "error" {
                        tx.prepare_cached(
                            "INSERT OR IGNORE INTO archive_traces (trace_id) VALUES (?1)",
                        )?
                        .execute([&trace])?;
                    }
                    let metric = match (kind.as_str(), source.as_str()) {
                        ("server", _) => "server.duration",
                        ("client", "browser") => "fetch.duration",
                        _ => continue,
                    };
                    let start_nanos: i64 = r.get(4)?;
                    let end_nanos: i64 = r.get(5)?;
                    let route: String = r.get(6)?;
                    rollup.add(
                        RollupKey {
                            hour: hour_of(start_nanos),
                            metric: metric.into(),
                            service: r.get(7)?,
                            version: r.get(8)?,
                            route: route_of(&route),
                            country: String::new(),
                            browser: String::new(),
                        },
                        (end_nanos - start_nanos).max(0) as f64 / 1e6,
                    );
                }
            }
            rollup.merge_into(&tx)?;
            if to >= last {
                set_state(&tx, "archive.phase", 1)?;
                set_state(&tx, "archive.rowid", 0)?;
            } else {
                set_state(&tx, "archive.rowid", to)?;
            }
            tx.commit()?;
            Ok(false)
        }
        _ => {
            let epoch: i64 =
                tx.query_row(super::writer::NEXT_EPOCH, [super::EPOCH_BITS], |r| r.get(0))?;
            tx.execute(
                "INSERT INTO main.spans (trace_id, span_id, parent_span_id, name, kind,
                    start_unix_nano, end_unix_nano, status_code, status_message, attributes,
                    resource, source, resource_hash, epoch)
                 SELECT trace_id, span_id, parent_span_id, name, kind, start_unix_nano,
                    end_unix_nano, status_code, status_message, attributes, resource, source,
                    resource_hash, ?3
                 FROM archived.spans
                 WHERE rowid > ?1 AND rowid <= ?2
                   AND trace_id IN (SELECT trace_id FROM archive_traces)
                   AND NOT EXISTS (SELECT 1 FROM main.spans m WHERE m.epoch = ?3
                       AND m.trace_id = archived.spans.trace_id
                       AND m.span_id = archived.spans.span_id)",
                params![from, to, epoch],
            )?;
            let finished = to >= last;
            if finished {
                // Their search rows, under the newest epoch of main's spans (the error tier's
                // deletion seeks a trace's rows in the epochs its spans span).
                tx.execute(
                    "INSERT INTO main.trace_index SELECT trace_id,
                        (SELECT coalesce(max(epoch), 0) FROM main.spans), start_unix_nano,
                        end_unix_nano, spans, errors, browser_spans, services, names, urls,
                        root_start, root_name, root_service, root_kind, url, route, session_id,
                        user_id, page_view_id
                     FROM archived.trace_index
                     WHERE trace_id IN (SELECT trace_id FROM archive_traces)",
                    [],
                )?;
                // The traces' events and links, starts (for the traces list) and the
                // sessions' index entries.
                tx.execute_batch(
                    "INSERT OR IGNORE INTO main.span_extras SELECT * FROM archived.span_extras
                        WHERE trace_id IN (SELECT trace_id FROM archive_traces);
                     INSERT INTO main.trace_starts SELECT * FROM archived.trace_starts
                        WHERE trace_id IN (SELECT trace_id FROM archive_traces);
                     INSERT OR IGNORE INTO main.session_spans SELECT * FROM archived.session_spans
                        WHERE trace_id IN (SELECT trace_id FROM archive_traces);",
                )?;
                tx.execute(
                    "INSERT OR REPLACE INTO kept_traces (trace_id, kept_unix_nano)
                     SELECT trace_id, ?1 FROM archive_traces",
                    [window_end],
                )?;
                tracing::info!(
                    partition = start,
                    "Kept the partition's traces with errors; deleting the partition."
                );
            } else {
                set_state(&tx, "archive.rowid", to)?;
            }
            tx.commit()?;
            Ok(finished)
        }
    }
}

/// A span's route for rollups: its `http.route` or `url.path`, or the path of its `url.full`.
fn route_of(text: &str) -> String {
    if text.contains("://") {
        crate::model::time::url_path(text).to_string()
    } else {
        text.to_string()
    }
}

/// Rolls up the next hour of vitals past the raw tier, or deletes a chunk of raw rows past it.
fn raw_step(conn: &mut Connection, cutoff: i64) -> Result<Step, StoreError> {
    let cutoff_hour = hour_of(cutoff) * NANOS;
    let rolled_to = match state(conn, "vitals.rolled_to")? {
        Some(at) => at,
        None => {
            let oldest: Option<i64> =
                conn.query_row("SELECT min(received_unix_nano) FROM vitals", [], |r| {
                    r.get(0)
                })?;
            match oldest {
                Some(oldest) => hour_of(oldest) * NANOS,
                None => cutoff_hour,
            }
        }
    };
    if rolled_to < cutoff_hour {
        let next = rolled_to + 3600 * NANOS;
        let tx = conn.transaction()?;
        rollups::vitals(&tx, rolled_to, next)?.merge_into(&tx)?;
        set_state(&tx, "vitals.rolled_to", next)?;
        tx.commit()?;
        return Ok(Step::Worked);
    }
    if state(conn, "vitals.rolled_to")?.is_none() {
        set_state(conn, "vitals.rolled_to", rolled_to)?;
    }
    // Sessions last active before the raw tier go with their page views, vitals and events
    // (their vitals were all received by then, so they are rolled up).
    // (Page views without a session row, stored before sessions existed, are kept.)
    let deleted = delete_sessions(conn, rolled_to.min(cutoff), TRACE_CHUNK)?;
    Ok(if deleted > 0 {
        Step::Worked
    } else {
        Step::Idle
    })
}

/// Deletes up to `limit` sessions last accepted before `before`, oldest first, with their page
/// views, vitals, events and timeline entries in `rum.sqlite`; returns how many.
fn delete_sessions(conn: &mut Connection, before: i64, limit: i64) -> Result<usize, StoreError> {
    let tx = conn.transaction()?;
    let sessions: Vec<String> = tx
        .prepare_cached(
            "SELECT session_id FROM sessions WHERE received_unix_nano < ?1
             ORDER BY received_unix_nano LIMIT ?2",
        )?
        .query_map(params![before, limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for session in &sessions {
        tx.prepare_cached(
            "DELETE FROM vitals WHERE page_view_id IN
                (SELECT page_view_id FROM page_views WHERE session_id = ?1)",
        )?
        .execute([session])?;
        for statement in [
            "DELETE FROM page_views WHERE session_id = ?1",
            "DELETE FROM events WHERE session_id = ?1",
            "DELETE FROM session_spans WHERE session_id = ?1",
            "DELETE FROM sessions WHERE session_id = ?1",
        ] {
            tx.prepare_cached(statement)?.execute([session])?;
        }
    }
    tx.commit()?;
    Ok(sessions.len())
}

/// Deletes a chunk of error occurrences, the groups left without any, and the kept error
/// traces past the error tier.
fn error_step(conn: &mut Connection, cutoff: i64) -> Result<Step, StoreError> {
    let tx = conn.transaction()?;
    let mut deleted = tx
        .prepare_cached(
            "DELETE FROM errors WHERE (session_id, error_id) IN (SELECT session_id, error_id
                FROM errors WHERE received_unix_nano < ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, DELETE_CHUNK])?;
    if deleted > 0 {
        let groups: Vec<String> = tx
            .prepare_cached(
                "SELECT fingerprint FROM error_groups g WHERE NOT EXISTS
                    (SELECT 1 FROM errors e WHERE e.fingerprint = g.fingerprint)",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for fingerprint in &groups {
            for table in [
                "error_groups",
                "error_group_sessions",
                "error_group_users",
                "error_group_releases",
            ] {
                tx.prepare_cached(&format!("DELETE FROM {table} WHERE fingerprint = ?1"))?
                    .execute([fingerprint])?;
            }
        }
    }
    let traces: Vec<String> = tx
        .prepare_cached(
            "SELECT trace_id FROM kept_traces WHERE kept_unix_nano < ?1
             ORDER BY kept_unix_nano LIMIT ?2",
        )?
        .query_map(params![cutoff, TRACE_CHUNK], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !traces.is_empty() {
        let (low, high): (Option<i64>, Option<i64>) =
            tx.query_row("SELECT min(epoch), max(epoch) FROM spans", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        for trace in &traces {
            if let (Some(low), Some(high)) = (low, high) {
                deleted += super::tail::delete_spans(&tx, trace, low..=high)? as usize;
            }
            for statement in [
                "DELETE FROM trace_starts WHERE trace_id = ?1",
                "DELETE FROM kept_traces WHERE trace_id = ?1",
            ] {
                deleted += tx.prepare_cached(statement)?.execute([trace])?;
            }
        }
    }
    tx.commit()?;
    Ok(if deleted > 0 {
        Step::Worked
    } else {
        Step::Idle
    })
}

/// What the size cap counts: `rum.sqlite` and the partitions, with their WALs. (The ingest
/// log is not counted: it holds what the index and the exporter have not taken yet, a segment
/// of at most 64 MiB when both keep up.)
pub fn store_bytes(data_dir: &Path) -> u64 {
    let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
    let main: u64 = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| size(&data_dir.join(format!("{}{suffix}", super::DB_FILE))))
        .sum();
    let partitions: u64 = std::fs::read_dir(data_dir.join(super::partitions::DIR))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.metadata().map_or(0, |m| m.len()))
                .sum()
        })
        .unwrap_or(0);
    main + partitions
}

/// Over the cap: deletes the oldest partition (not the one being written), else a chunk of the
/// oldest raw rows and rollups.
fn size_cap_step(
    conn: &mut Connection,
    partitions: &Partitions,
    current: Option<i64>,
    max_bytes: u64,
) -> Result<Step, StoreError> {
    let Some(data_dir) = partitions.dir().parent() else {
        return Ok(Step::Idle);
    };
    let bytes = store_bytes(data_dir);
    if bytes <= max_bytes {
        return Ok(Step::Idle);
    }
    if let Some(oldest) = partitions
        .starts()
        .into_iter()
        .find(|s| Some(*s) != current)
    {
        tracing::warn!(
            partition = oldest,
            bytes,
            max_bytes,
            "The store is over store.max_bytes: deleting its oldest partition."
        );
        partitions.remove(oldest);
        return Ok(Step::Worked);
    }
    // One partition left: the oldest sessions of rum.sqlite make room (SQLite reuses their
    // pages; the file does not shrink).
    let deleted = delete_sessions(conn, i64::MAX, TRACE_CHUNK)?;
    Ok(if deleted > 0 {
        Step::Worked
    } else {
        Step::Idle
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::partitions::PartitionConfig;

    /// A partition holding `spans` spans of `pad` bytes each.
    fn fill(partitions: &Partitions, start: i64, spans: i64, pad: usize) {
        let conn = partitions.open_for_write(start, 0).expect("partition");
        let attributes = format!("{{\"pad\":\"{}\"}}", "x".repeat(pad));
        for i in 0..spans {
            conn.execute(
                crate::store::writer::INSERT_SPAN,
                params![
                    format!("{:032x}", start * 100_000 + i),
                    "00f067aa0ba902b7",
                    None::<String>,
                    "GET",
                    "client",
                    start * NANOS,
                    start * NANOS + 1,
                    "unset",
                    "",
                    attributes,
                    "",
                    None::<i64>,
                    "browser",
                    0
                ],
            )
            .expect("span");
        }
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("checkpoint");
    }

    #[test]
    fn an_archive_stopped_midway_resumes_and_keeps_exactly_the_error_traces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = PartitionConfig {
            width_secs: 3600,
            retention_secs: 3600,
        };
        let partitions = Partitions::open(dir.path(), config).expect("partitions");
        // 50,000 spans (three chunks), every 1,000th trace with an error span.
        let conn = partitions.open_for_write(0, 0).expect("partition");
        conn.execute_batch("BEGIN").expect("begin");
        for i in 0..50_000i64 {
            conn.execute(
                crate::store::writer::INSERT_SPAN,
                params![
                    format!("{:032x}", i / 2),
                    format!("{:016x}", i + 1),
                    None::<String>,
                    "GET",
                    "server",
                    i,
                    i + 1_000_000,
                    if i % 2000 == 1 { "error" } else { "unset" },
                    "",
                    "{}",
                    "",
                    None::<i64>,
                    "otlp",
                    i >> crate::store::EPOCH_BITS
                ],
            )
            .expect("span");
        }
        conn.execute_batch("COMMIT").expect("commit");
        drop(conn);
        let now = 3 * 3600 * NANOS;
        let retention = RetentionConfig {
            raw_secs: 3600,
            ..RetentionConfig::default()
        };
        {
            let mut main = crate::store::open(dir.path()).expect("store");
            // Two steps: the first chunk scanned, the archive left half done (a stop).
            for _ in 0..2 {
                step(&mut main, &partitions, None, &retention, now).expect("step");
            }
            assert_eq!(partitions.starts(), [0], "not finished yet");
        }
        let partitions = Partitions::open(dir.path(), config).expect("reopened");
        let mut main = crate::store::open(dir.path()).expect("reopened store");
        let mut steps = 0;
        while !partitions.starts().is_empty() {
            step(&mut main, &partitions, None, &retention, now).expect("step");
            steps += 1;
            assert!(steps < 20);
        }
        let kept: i64 = main
            .query_row("SELECT count(DISTINCT trace_id) FROM spans", [], |r| {
                r.get(0)
            })
            .expect("count");
        let spans: i64 = main
            .query_row("SELECT count(*) FROM spans", [], |r| r.get(0))
            .expect("count");
        let server: i64 = main
            .query_row(
                "SELECT coalesce(sum(count), 0) FROM rollups WHERE metric = 'server.duration'",
                [],
                |r| r.get(0),
            )
            .expect("rollups");
        assert_eq!((kept, spans), (25, 50), "each error trace whole, once");
        assert_eq!(server, 50_000, "every span's latency rolled up once");
        assert!(!partitions.path(0).exists());
    }

    #[test]
    fn the_size_cap_deletes_the_oldest_partitions_first_and_never_the_one_being_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = crate::store::open(dir.path()).expect("store");
        let partitions = Partitions::open(
            dir.path(),
            PartitionConfig {
                width_secs: 3600,
                retention_secs: 8 * 3600,
            },
        )
        .expect("partitions");
        for hour in 0..4 {
            fill(&partitions, hour * 3600, 200, 2000);
        }
        let all = store_bytes(dir.path());
        let one = std::fs::metadata(partitions.path(0)).expect("file").len();
        // Room for about two partitions beside rum.sqlite.
        let cap = all - 2 * one + one / 2;
        let config = RetentionConfig {
            max_bytes: cap,
            ..RetentionConfig::default()
        };
        let current = Some(3 * 3600);
        let now = 4 * 3600 * NANOS;
        let mut steps = 0;
        while step(&mut conn, &partitions, current, &config, now).expect("step") == Step::Worked {
            steps += 1;
            assert!(steps < 100, "the pass does not settle");
        }
        let after = store_bytes(dir.path());
        println!(
            "{all} B in 4 partitions + rum.sqlite; cap {cap} B; {after} B after {steps} steps"
        );
        assert!(after <= cap, "{after} > {cap}");
        assert_eq!(
            partitions.starts(),
            [2 * 3600, 3 * 3600],
            "the oldest went first"
        );
        // A cap below the partition being written leaves that one.
        let tiny = RetentionConfig {
            max_bytes: 1,
            ..RetentionConfig::default()
        };
        while step(&mut conn, &partitions, current, &tiny, now).expect("step") == Step::Worked {}
        assert_eq!(partitions.starts(), [3 * 3600]);
    }
}
