//! The export outbox: a durable, byte-bounded FIFO of OTLP-encoded requests waiting for the
//! exporter. The store owns the table; the exporter (`export::otlp`) reads and empties it.
//!
//! It is an `outbox` table in the store's own SQLite database, appended by the store's writer
//! inside the same transaction as the batch itself, with payloads encoded before they reach
//! the writer (`export::encode`). One commit (WAL, `synchronous=FULL`)
//! therefore makes the stored batch and its export entry durable together before the request
//! is acknowledged: nothing acknowledged can be stored but never queued, and the ack path
//! pays no second file or fsync. An entry leaves only when the receiver answered 2xx, or when
//! it is dropped (counted by [`DropReason`]).
//!
//! Drop policy when full: after each group commit the oldest entries are deleted, in the same
//! transaction, until the queued payload bytes are within `export.max_queue_bytes`. Newest
//! data wins because a RUM dashboard cares most about what happens now.

use std::sync::Arc;

use rusqlite::{params, Connection};
use tokio::sync::Notify;

use crate::model::ExportPayload;
use crate::outcome::{DropReason, Signal};
use crate::telemetry::{Counter, Telemetry};

/// The outbox's tables. `outbox_meta.bytes` is kept equal to the payload bytes queued by
/// triggers, so checking the bound never scans the queue.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS outbox (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    signal  TEXT NOT NULL,
    items   INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_meta (
    id    INTEGER PRIMARY KEY CHECK (id = 0),
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO outbox_meta (id, bytes) VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS outbox_added AFTER INSERT ON outbox BEGIN
    UPDATE outbox_meta SET bytes = bytes + length(NEW.payload) WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS outbox_removed AFTER DELETE ON outbox BEGIN
    UPDATE outbox_meta SET bytes = bytes - length(OLD.payload) WHERE id = 0;
END;
"#;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("outbox: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("outbox task failed: {0}")]
    Task(String),
}

/// The writer's side of the outbox: its bound and the exporter's wake-up.
#[derive(Debug, Clone)]
pub struct Outbox {
    max_bytes: u64,
    appended: Arc<Notify>,
}

/// One queued request: an `ExportTraceServiceRequest` or `ExportLogsServiceRequest`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    /// `None` for a signal this version does not know.
    pub signal: Option<Signal>,
    /// Spans or log records in the payload.
    pub items: u64,
    pub payload: Vec<u8>,
}

/// Items the bound pushed out, per signal.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    pub traces: u64,
    pub logs: u64,
    pub metrics: u64,
}

impl Outbox {
    /// An outbox bounded to `max_bytes` of queued payload (`export.max_queue_bytes`).
    pub fn new(max_bytes: u64) -> Self {
        Outbox {
            max_bytes,
            appended: Arc::new(Notify::new()),
        }
    }

    /// Woken after each commit that queued something.
    pub fn appended(&self) -> Arc<Notify> {
        Arc::clone(&self.appended)
    }

    pub fn wake(&self) {
        self.appended.notify_one();
    }

    /// Appends encoded requests on `conn`, inside the caller's transaction.
    pub fn append(&self, conn: &Connection, payloads: &[ExportPayload]) -> Result<(), QueueError> {
        for payload in payloads {
            insert(conn, payload.signal, payload.items, &payload.bytes)?;
        }
        Ok(())
    }

    /// After the writer's commit: counts what the bound dropped, updates the size gauge and
    /// wakes the exporter.
    pub fn committed(&self, telemetry: &Telemetry, dropped: Dropped, queued_bytes: u64) {
        telemetry.add(
            Counter::ExportDropped(Signal::Traces, DropReason::QueueFull),
            dropped.traces,
        );
        telemetry.add(
            Counter::ExportDropped(Signal::Logs, DropReason::QueueFull),
            dropped.logs,
        );
        telemetry.add(
            Counter::ExportDropped(Signal::Metrics, DropReason::QueueFull),
            dropped.metrics,
        );
        if dropped.traces + dropped.logs + dropped.metrics > 0 {
            tracing::warn!(
                spans = dropped.traces,
                log_records = dropped.logs,
                vital_reports = dropped.metrics,
                "Export outbox full: dropped its oldest entries."
            );
        }
        telemetry.set_queue_bytes(queued_bytes);
        self.wake();
    }

    /// Deletes the oldest entries until the queue is within its bound, inside the caller's
    /// transaction. Returns what was dropped and the bytes left queued.
    pub fn enforce_bound(&self, conn: &Connection) -> Result<(Dropped, u64), QueueError> {
        let mut dropped = Dropped::default();
        let mut bytes = queued_bytes(conn)?;
        while bytes > self.max_bytes {
            let oldest = conn
                .prepare_cached("SELECT id, signal, items FROM outbox ORDER BY id LIMIT 64")?
                .query_map([], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            if oldest.is_empty() {
                break;
            }
            for (id, signal, items) in oldest {
                conn.prepare_cached("DELETE FROM outbox WHERE id = ?1")?
                    .execute(params![id])?;
                let items = u64::try_from(items).unwrap_or(0);
                match Signal::parse(&signal) {
                    Some(Signal::Logs) => dropped.logs += items,
                    Some(Signal::Metrics) => dropped.metrics += items,
                    _ => dropped.traces += items,
                }
                bytes = queued_bytes(conn)?;
                if bytes <= self.max_bytes {
                    break;
                }
            }
        }
        Ok((dropped, bytes))
    }
}

/// Creates the outbox's tables if missing.
pub fn ensure_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

fn insert(
    conn: &Connection,
    signal: Signal,
    items: usize,
    payload: &[u8],
) -> Result<(), QueueError> {
    conn.prepare_cached("INSERT INTO outbox (signal, items, payload) VALUES (?1, ?2, ?3)")?
        .execute(params![
            signal.as_str(),
            i64::try_from(items).unwrap_or(i64::MAX),
            payload
        ])?;
    Ok(())
}

/// Payload bytes queued.
pub fn queued_bytes(conn: &Connection) -> Result<u64, QueueError> {
    let bytes: i64 = conn.query_row("SELECT bytes FROM outbox_meta WHERE id = 0", [], |row| {
        row.get(0)
    })?;
    Ok(u64::try_from(bytes).unwrap_or(0))
}

/// The oldest entries, in order, holding at most `max_items` items (always at least one
/// entry, so an entry larger than the limit still goes out alone).
pub fn oldest(conn: &Connection, max_items: u64) -> Result<Vec<Entry>, QueueError> {
    let mut statement = conn
        .prepare_cached("SELECT id, signal, items, payload FROM outbox ORDER BY id LIMIT 1024")?;
    let mut rows = statement.query([])?;
    let mut entries = Vec::new();
    let mut total = 0u64;
    while let Some(row) = rows.next()? {
        let items = u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0);
        if !entries.is_empty() && total + items > max_items {
            break;
        }
        total += items;
        entries.push(Entry {
            id: row.get(0)?,
            signal: Signal::parse(&row.get::<_, String>(1)?),
            items,
            payload: row.get(3)?,
        });
    }
    Ok(entries)
}

/// Removes delivered (or dropped) entries; ids already gone are ignored.
pub fn remove(conn: &mut Connection, ids: &[i64]) -> Result<(), QueueError> {
    let tx = conn.transaction()?;
    for id in ids {
        tx.prepare_cached("DELETE FROM outbox WHERE id = ?1")?
            .execute(params![id])?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-item traces payload whose bytes are all `n` (the test reads it back).
    fn payload(n: u8) -> ExportPayload {
        ExportPayload {
            signal: Signal::Traces,
            items: 1,
            bytes: vec![n; 100],
        }
    }

    #[test]
    fn fifo_bound_drops_oldest_and_counts_bytes() {
        let conn = Connection::open_in_memory().expect("db");
        ensure_schema(&conn).expect("schema");
        let one = 100;
        let outbox = Outbox::new(one * 2);
        for n in 1..=3 {
            outbox.append(&conn, &[payload(n)]).expect("append");
        }
        assert_eq!(queued_bytes(&conn).expect("bytes"), one * 3);
        let (dropped, bytes) = outbox.enforce_bound(&conn).expect("bound");
        assert_eq!(
            dropped,
            Dropped {
                traces: 1,
                logs: 0,
                metrics: 0
            }
        );
        assert_eq!(bytes, one * 2);
        let entries = oldest(&conn, 10).expect("read");
        // Entry 1 went; entry 2 is now the oldest.
        assert_eq!(entries[0].payload[0], 2);
        assert_eq!(oldest(&conn, 1).expect("read").len(), 1);
    }
}
