//! The export outbox: the exporter's own position in the ingest log ([`super::log`]), as a
//! consumer of a log keeps one. The log already holds each acknowledged batch with its OTLP
//! payloads (encoded before the writer, `export::encode`), durable before the
//! acknowledgement; the exporter reads them from there in order, independently of the index,
//! and records how far it has delivered in `log/export.position`. Log segments are deleted
//! only once both the index and the exporter are past them, so acknowledged data reaches the
//! exporter after a crash too, and the ack path pays no second write for export.
//!
//! Entries leave when the receiver answered 2xx, or when they are dropped (counted by
//! [`DropReason`]). The bound: when more than `export.max_queue_bytes` of payload waits, the
//! oldest entries are dropped (counted as `queue_full`): newest data wins, because a RUM
//! dashboard cares most about what happens now. The log's segments behind a waiting exporter
//! take about three times that bound on disk (each record also holds its batch).
//!
//! Delivery is at least once: after a crash, entries past the saved position are sent again.
//! Stores written before the log fed the exporter have an `outbox` table; its entries (all
//! older than the position the exporter starts at) are sent first ([`Legacy`]).

use std::collections::VecDeque;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use tokio::sync::Notify;

use super::log::{self, LogError, LogReader, RecordAt, LOG_DIR};
use crate::model::ExportPayload;
use crate::outcome::{DropReason, Signal};
use crate::telemetry::{Counter, Telemetry};

/// The exporter's position (the last log record it has finished), in the log's directory.
pub const POSITION_FILE: &str = "export.position";

/// Most log records read per refill; the rest wait for the next one.
const READ_AHEAD_RECORDS: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("outbox: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("outbox: {0}")]
    Log(#[from] LogError),
    #[error("outbox position {path}: {source}")]
    Position {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("outbox task failed: {0}")]
    Task(String),
}

/// What the store's writer and the exporter share: how far the log is acknowledged, how far
/// the exporter has finished (the log keeps its segments until then), and the exporter's
/// wake-up after each append.
#[derive(Debug, Clone)]
pub struct Outbox {
    max_bytes: u64,
    appended: Arc<Notify>,
    acked: Arc<AtomicU64>,
    exported: Arc<AtomicU64>,
    /// Tail sampling (`super::tail`): the exporter reads only up to `released`, the records
    /// whose traces are all decided, and leaves out the spans of dropped traces.
    held: Arc<std::sync::atomic::AtomicBool>,
    released: Arc<AtomicU64>,
    decisions: Arc<std::sync::Mutex<Option<Arc<std::sync::Mutex<super::tail::Decisions>>>>>,
}

impl Outbox {
    /// An outbox bounded to `max_bytes` of queued payload (`export.max_queue_bytes`).
    pub fn new(max_bytes: u64) -> Self {
        Outbox {
            max_bytes,
            appended: Arc::new(Notify::new()),
            acked: Arc::new(AtomicU64::new(0)),
            exported: Arc::new(AtomicU64::new(0)),
            held: Arc::default(),
            released: Arc::new(AtomicU64::new(0)),
            decisions: Arc::default(),
        }
    }

    /// The writer, at start, when tail sampling runs: export waits for [`Outbox::release`]
    /// and follows `decisions`.
    pub fn hold(&self, decisions: Arc<std::sync::Mutex<super::tail::Decisions>>) {
        *self.decisions.lock().unwrap_or_else(|p| p.into_inner()) = Some(decisions);
        self.held.store(true, Ordering::Release);
    }

    /// The writer: every trace in the records up to `last` is decided; wakes the exporter.
    pub fn release(&self, last: u64) {
        self.released.fetch_max(last, Ordering::AcqRel);
        self.appended.notify_one();
    }

    /// Whether export follows tail-sampling decisions.
    pub fn held(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }

    /// The last record the exporter may read.
    fn readable(&self) -> u64 {
        let acked = self.acked.load(Ordering::Acquire);
        if self.held() {
            acked.min(self.released.load(Ordering::Acquire))
        } else {
            acked
        }
    }

    /// Woken after each log append.
    pub fn appended(&self) -> Arc<Notify> {
        Arc::clone(&self.appended)
    }

    /// The writer: records `last` as acknowledged and wakes the exporter.
    pub fn acknowledged(&self, last: u64) {
        self.acked.store(last, Ordering::Release);
        self.appended.notify_one();
    }

    /// The last record the exporter has finished: the log keeps everything after it.
    pub fn exported(&self) -> u64 {
        self.exported.load(Ordering::Acquire)
    }

    /// The writer, at start, after opening the log: loads the exporter's saved position, or, for a data directory
    /// that has none yet, starts it at `indexed` (what a store from before this design had
    /// already put in its `outbox` table, or nothing for a new one).
    pub fn open_position(&self, data_dir: &Path, indexed: u64) -> Result<u64, QueueError> {
        let path = position_path(data_dir);
        let position = match fs::read_to_string(&path) {
            Ok(text) => match text.trim().parse::<u64>() {
                Ok(position) => position,
                Err(_) => {
                    // Start over rather than skip: re-sending is allowed, losing is not.
                    tracing::warn!(path = %path.display(), "Unreadable export position; exporting what the log still holds.");
                    0
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                save_position(data_dir, indexed)?;
                indexed
            }
            Err(source) => return Err(QueueError::Position { path, source }),
        };
        self.exported.store(position, Ordering::Release);
        Ok(position)
    }
}

fn position_path(data_dir: &Path) -> PathBuf {
    data_dir.join(LOG_DIR).join(POSITION_FILE)
}

/// Writes the position to a new file, syncs it and renames it over the old one.
fn save_position(data_dir: &Path, position: u64) -> Result<(), QueueError> {
    let path = position_path(data_dir);
    let temporary = path.with_extension("position.new");
    let error = |source| QueueError::Position {
        path: path.clone(),
        source,
    };
    let mut file = fs::File::create(&temporary).map_err(error)?;
    file.write_all(format!("{position}\n").as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(error)?;
    fs::rename(&temporary, &path).map_err(error)
}

/// One queued request: an `ExportTraceServiceRequest`, `ExportLogsServiceRequest` or
/// `ExportMetricsServiceRequest`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    /// `None` for a signal this version does not know.
    pub signal: Option<Signal>,
    /// Spans, log records or vital reports in the payload.
    pub items: u64,
    pub payload: Vec<u8>,
    /// From the `outbox` table of an older store, not from the log.
    pub legacy: bool,
}

/// Items the bound pushed out, per signal.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    pub traces: u64,
    pub logs: u64,
    pub metrics: u64,
}

impl Dropped {
    fn add(&mut self, signal: Signal, items: u64) {
        match signal {
            Signal::Traces => self.traces += items,
            Signal::Logs => self.logs += items,
            Signal::Metrics => self.metrics += items,
        }
    }

    /// Counts what was dropped and says so once.
    pub fn count(&self, telemetry: &Telemetry) {
        for (signal, items) in [
            (Signal::Traces, self.traces),
            (Signal::Logs, self.logs),
            (Signal::Metrics, self.metrics),
        ] {
            telemetry.add(Counter::ExportDropped(signal, DropReason::QueueFull), items);
        }
        if self.traces + self.logs + self.metrics > 0 {
            tracing::warn!(
                spans = self.traces,
                log_records = self.logs,
                vital_reports = self.metrics,
                "Export outbox full: dropped its oldest entries."
            );
        }
    }
}

/// What the exporter reads of a log record: its payloads (the batch is skipped).
#[derive(Deserialize)]
struct Payloads {
    payloads: Vec<ExportPayload>,
}

/// A payload read from the log and not yet finished: where to read it again, and its size.
#[derive(Debug)]
struct Pending {
    id: i64,
    seq: u64,
    at: RecordAt,
    index: usize,
    signal: Signal,
    items: u64,
    bytes: u64,
    done: bool,
}

/// The exporter's side: the payloads read ahead of its position, by their place in the log
/// (their bytes are read again when sent, so memory holds positions, not payloads).
pub struct ExportQueue {
    data_dir: PathBuf,
    outbox: Outbox,
    reader: LogReader,
    pending: VecDeque<Pending>,
    next_id: i64,
    position: u64,
    queued_bytes: u64,
    /// With tail sampling: the decisions (`super::tail`).
    decisions: Option<Arc<std::sync::Mutex<super::tail::Decisions>>>,
}

impl ExportQueue {
    /// Starts after the position the writer loaded ([`Outbox::open_position`]).
    pub fn new(data_dir: &Path, outbox: &Outbox) -> ExportQueue {
        let position = outbox.exported();
        let decisions = outbox
            .decisions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        ExportQueue {
            decisions,
            data_dir: data_dir.to_path_buf(),
            outbox: outbox.clone(),
            reader: LogReader::new(data_dir, position),
            pending: VecDeque::new(),
            next_id: 1,
            position,
            queued_bytes: 0,
        }
    }

    /// Payload bytes waiting.
    pub fn queued_bytes(&self) -> u64 {
        self.queued_bytes
    }

    /// Reads what was acknowledged since the last call and applies the bound; returns what
    /// the bound dropped.
    pub fn refill(&mut self) -> Result<Dropped, QueueError> {
        let acked = self.outbox.readable();
        loop {
            let records = self.reader.read(acked, READ_AHEAD_RECORDS)?;
            if records.is_empty() {
                break;
            }
            for (seq, at, record) in records {
                let payloads = match serde_json::from_slice::<Payloads>(&record) {
                    Ok(p) => p.payloads,
                    // The index counts it too (`index_refused`); nothing here can send it.
                    Err(error) => {
                        tracing::error!(seq, %error, "An ingest log record does not decode; it is not exported.");
                        Vec::new()
                    }
                };
                for (index, payload) in payloads.into_iter().enumerate() {
                    self.queued_bytes += payload.bytes.len() as u64;
                    self.pending.push_back(Pending {
                        id: self.next_id,
                        seq,
                        at,
                        index,
                        signal: payload.signal,
                        items: payload.items as u64,
                        bytes: payload.bytes.len() as u64,
                        done: false,
                    });
                    self.next_id += 1;
                }
            }
        }
        let mut dropped = Dropped::default();
        for p in self.pending.iter_mut().filter(|p| !p.done) {
            if self.queued_bytes <= self.outbox.max_bytes {
                break;
            }
            p.done = true;
            self.queued_bytes -= p.bytes;
            dropped.add(p.signal, p.items);
        }
        self.advance()?;
        Ok(dropped)
    }

    /// The oldest entries, in order, holding at most `max_items` items (always at least one
    /// entry, so an entry larger than the limit still goes out alone).
    pub fn oldest(&self, max_items: u64) -> Result<Vec<Entry>, QueueError> {
        let mut entries = Vec::new();
        let mut total = 0u64;
        let mut record: Option<(u64, Vec<ExportPayload>)> = None;
        for p in self.pending.iter().filter(|p| !p.done) {
            if !entries.is_empty() && total + p.items > max_items {
                break;
            }
            total += p.items;
            if record.as_ref().is_none_or(|(seq, _)| *seq != p.seq) {
                let bytes = log::read_at(&self.data_dir, p.at)?;
                let payloads = serde_json::from_slice::<Payloads>(&bytes)
                    .map(|r| r.payloads)
                    .unwrap_or_default();
                record = Some((p.seq, payloads));
            }
            let mut payload = record
                .as_mut()
                .and_then(|(_, payloads)| payloads.get_mut(p.index))
                .map(|payload| std::mem::take(&mut payload.bytes))
                .unwrap_or_default();
            let mut items = p.items;
            if let (Some(decisions), Signal::Traces) = (&self.decisions, p.signal) {
                // Spans of traces tail sampling dropped stay behind.
                let decisions = decisions.lock().unwrap_or_else(|p| p.into_inner());
                (payload, items) =
                    super::tail::filter_trace_payload(payload, |trace| decisions.exported(trace));
                if items == 0 {
                    // Every span was dropped: the entry is finished without a request.
                    entries.push(Entry {
                        id: p.id,
                        signal: Some(p.signal),
                        items: 0,
                        payload: Vec::new(),
                        legacy: false,
                    });
                    continue;
                }
            }
            entries.push(Entry {
                id: p.id,
                signal: Some(p.signal),
                items,
                payload,
                legacy: false,
            });
        }
        Ok(entries)
    }

    /// Marks delivered (or dropped) entries finished and saves the position past every
    /// finished record; ids already finished are ignored.
    pub fn remove(&mut self, ids: &[i64]) -> Result<(), QueueError> {
        for p in self.pending.iter_mut() {
            if !p.done && ids.contains(&p.id) {
                p.done = true;
                self.queued_bytes -= p.bytes;
            }
        }
        self.advance()
    }

    fn advance(&mut self) -> Result<(), QueueError> {
        while self.pending.front().is_some_and(|p| p.done) {
            self.pending.pop_front();
        }
        let position = match self.pending.front() {
            Some(p) => p.seq - 1,
            None => self.reader.next_seq() - 1,
        };
        if position != self.position {
            save_position(&self.data_dir, position)?;
            self.position = position;
            self.outbox.exported.store(position, Ordering::Release);
        }
        Ok(())
    }
}

/// The `outbox` table of a store written before the exporter read the log: drained first.
pub struct Legacy;

impl Legacy {
    /// Whether `conn`'s store has entries in an `outbox` table.
    pub fn present(conn: &Connection) -> Result<bool, QueueError> {
        let table: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'outbox'",
                [],
                |row| row.get(0),
            )
            .optional()?;
        if table.is_none() {
            return Ok(false);
        }
        let any: Option<i64> = conn
            .query_row("SELECT id FROM outbox LIMIT 1", [], |row| row.get(0))
            .optional()?;
        Ok(any.is_some())
    }

    /// Payload bytes left in the table.
    pub fn queued_bytes(conn: &Connection) -> Result<u64, QueueError> {
        let bytes: i64 = conn.query_row(
            "SELECT COALESCE(SUM(length(payload)), 0) FROM outbox",
            [],
            |row| row.get(0),
        )?;
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    /// The oldest entries, as [`ExportQueue::oldest`].
    pub fn oldest(conn: &Connection, max_items: u64) -> Result<Vec<Entry>, QueueError> {
        let mut statement = conn.prepare_cached(
            "SELECT id, signal, items, payload FROM outbox ORDER BY id LIMIT 1024",
        )?;
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
                legacy: true,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::log::Log;

    /// A log record as the writer writes it: a batch (skipped here) and its payloads, each
    /// one traces payload of `size` bytes, all `n`.
    fn record(n: u8, size: usize) -> Vec<u8> {
        let payload = ExportPayload {
            signal: Signal::Traces,
            items: 1,
            bytes: vec![n; size],
        };
        serde_json::to_vec(&serde_json::json!({
            "batch": {"anything": n},
            "payloads": [payload],
            "received_unix_nano": 1,
        }))
        .expect("json")
    }

    fn append(log: &mut Log, outbox: &Outbox, records: &[Vec<u8>]) {
        let slices: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
        let first = log.append(&slices).expect("append");
        outbox.acknowledged(first + records.len() as u64 - 1);
    }

    #[test]
    fn entries_come_in_log_order_and_the_position_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut log, _) = Log::open(dir.path(), 0).expect("log");
        let outbox = Outbox::new(1 << 20);
        assert_eq!(outbox.open_position(dir.path(), 0).expect("position"), 0);
        append(
            &mut log,
            &outbox,
            &[record(1, 10), record(2, 10), record(3, 10)],
        );
        let mut queue = ExportQueue::new(dir.path(), &outbox);
        assert_eq!(queue.refill().expect("refill"), Dropped::default());
        assert_eq!(queue.queued_bytes(), 30);
        let two = queue.oldest(2).expect("oldest");
        assert_eq!(two.len(), 2);
        assert_eq!((two[0].payload[0], two[1].payload[0]), (1, 2));
        // The second delivered before the first (another signal's request, say): the position
        // waits for the first.
        queue.remove(&[two[1].id]).expect("remove");
        assert_eq!(outbox.exported(), 0);
        queue.remove(&[two[0].id]).expect("remove");
        assert_eq!(outbox.exported(), 2);
        drop(queue);

        let again = Outbox::new(1 << 20);
        assert_eq!(again.open_position(dir.path(), 0).expect("saved"), 2);
        again.acknowledged(3);
        let mut queue = ExportQueue::new(dir.path(), &again);
        queue.refill().expect("refill");
        let rest = queue.oldest(10).expect("oldest");
        assert_eq!(rest.len(), 1, "only what was not delivered");
        assert_eq!(rest[0].payload[0], 3);
    }

    #[test]
    fn over_the_bound_the_oldest_are_dropped_and_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut log, _) = Log::open(dir.path(), 0).expect("log");
        let outbox = Outbox::new(250);
        outbox.open_position(dir.path(), 0).expect("position");
        let mut queue = ExportQueue::new(dir.path(), &outbox);
        for n in 1..=4 {
            append(&mut log, &outbox, &[record(n, 100)]);
        }
        let dropped = queue.refill().expect("refill");
        assert_eq!(dropped.traces, 2);
        assert_eq!(queue.queued_bytes(), 200);
        assert_eq!(outbox.exported(), 2, "the dropped are finished");
        let kept = queue.oldest(10).expect("oldest");
        assert_eq!(
            kept.iter().map(|e| e.payload[0]).collect::<Vec<_>>(),
            vec![3, 4]
        );
    }

    #[test]
    fn segments_stay_until_the_exporter_is_past_them_and_it_reads_across_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut log, _) = Log::open(dir.path(), 0).expect("log");
        let outbox = Outbox::new(1 << 20);
        outbox.open_position(dir.path(), 0).expect("position");
        append(&mut log, &outbox, &[record(1, 10)]);
        log.roll().expect("roll");
        append(&mut log, &outbox, &[record(2, 10)]);
        // Indexed through 2, exported through 0: the log keeps both segments.
        log.trim(outbox.exported().min(2));
        let mut queue = ExportQueue::new(dir.path(), &outbox);
        queue.refill().expect("refill");
        let both = queue.oldest(10).expect("oldest");
        assert_eq!(
            both.iter().map(|e| e.payload[0]).collect::<Vec<_>>(),
            vec![1, 2]
        );
        queue
            .remove(&both.iter().map(|e| e.id).collect::<Vec<_>>())
            .expect("remove");
        assert_eq!(outbox.exported(), 2);
    }
}
