//! The store's write path: the ingest log first, the SQLite index after.
//!
//! * The **appender** thread drains a bounded queue of write requests, appends each group's
//!   records to the ingest log ([`super::log`]) with one sync, and only then acknowledges
//!   them: a 2xx means the batch is on disk. A full disk fails the group (503), leaving the
//!   log as it was.
//! * The **indexer** thread takes the acknowledged batches, in order, and commits them into
//!   SQLite in large transactions: `rum.sqlite` first, then the span partition of their time
//!   ([`super::partitions`]), each with the last sequence number it indexed in the same
//!   transaction. After a crash, start-up indexes the log's records past those numbers, each
//!   into the file that lacks it, before anything is served: nothing acknowledged is lost,
//!   nothing is indexed twice.
//! * Reads wait until the index has caught up with what was acknowledged before they began
//!   (at most [`READ_WAIT`]), so an acknowledged event is readable at once.
//!
//! Acknowledged batches not yet indexed are held in memory, at most [`MAX_UNINDEXED_BYTES`]
//! of them (their log records' size); past that, writes wait for the index (at most
//! [`UNINDEXED_WAIT`]), then get 503 `busy`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use super::log::Log;
use super::outbox::Outbox;
use super::partitions::{PartitionConfig, Partitions};
use super::retention::{self, RetentionConfig};
use super::search::{SpanFacts, TraceIndexRows};
use super::sessions::{Journeys, UPDATE_PAGE_VIEW};
use super::tail::{self, Fate, Place, TailIndex};
use super::{open, StoreError};
use crate::model::time::now_unix_nano;
use crate::model::{Batch, ExportPayload, PageView, Span, Vital};
use crate::sample::adaptive::ServiceRatio;
use crate::sample::SampleConfig;
use crate::telemetry::{Counter, Telemetry};

/// Most write requests in one log append, and most batches in one index transaction.
const MAX_GROUP: usize = 256;

/// Acknowledged batches waiting for the index, by the size of their log records: enough for
/// the index's largest groups (hundreds of requests) and under a second of its work, so that a
/// read, which waits for the index, waits less than that. In memory the batches take several
/// times their records' size (8 MiB raised the gateway's peak RSS by 37 MB; 2 MiB made 100-event
/// beacons wait past the bound on a busy machine).
pub const MAX_UNINDEXED_BYTES: u64 = 4 * 1024 * 1024;

/// How long a write waits for room behind the index before it is refused (503 `busy`): as
/// long as a read may wait for the index.
pub const UNINDEXED_WAIT: Duration = READ_WAIT;

/// The longest a read waits for the index to reach what was acknowledged before it.
pub const READ_WAIT: Duration = Duration::from_secs(5);

/// Why a write was not acknowledged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    /// The queue is full, or the index is too far behind; nothing was written.
    #[error("the write queue is full")]
    Busy,
    /// The log append failed (a full disk) or the writer stopped; nothing of the batch was kept.
    #[error("the write failed")]
    Failed,
}

/// What one log record holds: a request's batch, its export payloads, and when it was accepted.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    batch: Batch,
    payloads: Vec<ExportPayload>,
    received_unix_nano: i64,
}

/// The same, borrowed, for encoding without a copy.
#[derive(Serialize)]
struct EntryRef<'a> {
    batch: &'a Batch,
    payloads: &'a [ExportPayload],
    received_unix_nano: i64,
}

struct WriteRequest {
    entry: Entry,
    record: Vec<u8>,
    ack: oneshot::Sender<Result<(), WriteError>>,
}

/// An acknowledged batch on its way into the index.
struct Indexed {
    seq: u64,
    entry: Entry,
    record_bytes: u64,
}

/// How far the log and the index have got.
struct Progress {
    /// The last sequence number acknowledged.
    acked: AtomicU64,
    /// The last sequence number indexed.
    indexed: watch::Sender<u64>,
    /// Log bytes acknowledged or queued but not yet indexed.
    unindexed_bytes: AtomicU64,
    /// Past this many unindexed bytes, writes wait up to `unindexed_wait`, then are refused.
    max_unindexed_bytes: u64,
    unindexed_wait: Duration,
    /// Benchmarks only: see [`Extras::discard`].
    discard: bool,
    /// Set when the appender has stopped: the indexer then stops retrying a failing commit
    /// (the log has the batches; the next start indexes them).
    stopping: AtomicBool,
    /// Tail sampling: the store clock's time up to which every due trace is decided.
    decided: watch::Sender<i64>,
    /// Tail sampling's state for `/metrics` and the admin API (None when it is off).
    sampling: Option<Mutex<SamplingStatus>>,
}

/// Tail sampling as the admin API shows it (`GET /api/sampling`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SamplingStatus {
    pub decision_wait_ms: u64,
    /// Traces waiting for their decision.
    pub waiting_traces: u64,
    /// The adaptive ratio of each service with a `target_traces_per_second` rule.
    pub adaptive: Vec<ServiceRatio>,
}

/// The store's clock, in Unix nanoseconds: tail sampling's windows are measured on it (tests
/// inject one they move by hand).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Cheap to clone: the write queue's sender and a shared read connection.
#[derive(Clone)]
pub struct StoreHandle {
    queue: mpsc::Sender<WriteRequest>,
    /// The store clock: a record's acceptance time, which places it in a partition and in
    /// the retention tiers.
    clock: Clock,
    reader: Arc<Mutex<Reader>>,
    progress: Arc<Progress>,
    partitions: Arc<Partitions>,
}

/// The read connection, with the generation of the partitions it has attached.
struct Reader {
    conn: Connection,
    attached: u64,
}

/// The writer threads (appender, indexer, checkpointer); join them after every
/// [`StoreHandle`] is dropped to finish the queue.
pub struct Writer {
    appender: JoinHandle<()>,
    indexer: JoinHandle<()>,
    checkpointer: JoinHandle<()>,
}

impl Writer {
    pub fn join(self) {
        for (name, thread) in [
            ("appender", self.appender),
            // The appender's end of the index channel is gone now: the indexer finishes.
            ("indexer", self.indexer),
            // And the indexer's end of the stop channel: the checkpointer finishes.
            ("checkpointer", self.checkpointer),
        ] {
            if thread.join().is_err() {
                tracing::error!(thread = name, "A store thread panicked.");
            }
        }
    }
}

/// The indexer's page cache per database, KiB: `rum.sqlite`'s and the span partition's, each
/// half of the 16 MiB one database had before partitions (the same memory in all).
const WRITER_PAGE_CACHE_KIB: i64 = 8 * 1024;

/// How often the checkpointer copies committed WAL frames into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// How long the indexer waits before retrying a transaction that failed as a whole (a full
/// disk): the batches stay in memory and in the log meanwhile.
const INDEX_RETRY: Duration = Duration::from_secs(1);

/// The WAL size past which the indexer checkpoints it itself (see [`truncate_wal_if_over`]).
pub const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Checkpoints the WAL on its own connection, so the indexer never does in the common case:
/// SQLite's automatic checkpoint runs inside a commit, and its copy and fsync of the database
/// file held up every batch waiting on that commit. PASSIVE never blocks the indexer.
/// The newest span partition is checkpointed the same way, on a connection of its own.
fn checkpoint_until_stopped(
    conn: Connection,
    partitions: &Partitions,
    stop: std::sync::mpsc::Receiver<()>,
) {
    use std::sync::mpsc::RecvTimeoutError;
    let mut partition: Option<(i64, Connection)> = None;
    loop {
        let stopping = match stop.recv_timeout(CHECKPOINT_EVERY) {
            Err(RecvTimeoutError::Timeout) => false,
            Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
        };
        let newest = partitions.newest();
        if partition.as_ref().map(|(start, _)| *start) != newest {
            partition = newest.and_then(|start| {
                use rusqlite::OpenFlags;
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                Connection::open_with_flags(partitions.path(start), flags)
                    .ok()
                    .map(|c| (start, c))
            });
        }
        let databases = std::iter::once(&conn).chain(partition.as_ref().map(|(_, c)| c));
        for db in databases {
            if let Err(error) = db.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(%error, "WAL checkpoint failed; retrying.");
            }
        }
        if stopping {
            return;
        }
    }
}

/// Under steady writes a PASSIVE checkpoint never catches up, and SQLite restarts the WAL only
/// after one that did: the WAL grew without bound (3.5 GiB a minute in the soak), and a
/// checkpointer waiting for the write lock starves, since the indexer takes it again at once.
/// So past `limit` bytes the indexer itself, between two of its transactions, runs a TRUNCATE
/// checkpoint: every frame copied, the file emptied. Only the index waits meanwhile:
/// acknowledgements come from the ingest log.
fn truncate_wal_if_over(conn: &Connection, wal: &Path, limit: u64) {
    let size = std::fs::metadata(wal).map_or(0, |m| m.len());
    if size <= limit {
        return;
    }
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(0) => tracing::debug!(wal_bytes = size, "Truncated the WAL."),
        // A reader held an old snapshot past the busy timeout: next time.
        Ok(_) => tracing::warn!(
            wal_bytes = size,
            "The WAL could not be truncated (a long read); retrying."
        ),
        Err(error) => tracing::warn!(%error, wal_bytes = size, "WAL truncation failed; retrying."),
    }
}

/// What the writer does beside storing: keep the log for the exporter (`super::outbox`) and
/// wake it, and count what it committed; and how far the index may fall behind.
pub struct Extras {
    pub outbox: Option<Outbox>,
    pub telemetry: Arc<Telemetry>,
    /// Log bytes acknowledged but not yet indexed past which writes wait, then get 503 `busy`.
    pub max_unindexed_bytes: u64,
    /// How long such a write waits for room.
    pub unindexed_wait: Duration,
    /// Benchmarks only: acknowledge each write once encoded, store nothing.
    pub discard: bool,
    /// The WAL size past which the indexer truncates it ([`WAL_LIMIT_BYTES`]).
    pub wal_limit_bytes: u64,
    /// The span partitions' width and retention.
    pub partitions: PartitionConfig,
    /// The `[sample]` section: tail sampling runs in the indexer when a policy can drop.
    pub sample: SampleConfig,
    /// The retention tiers (`[store]`).
    pub retention: RetentionConfig,
    pub clock: Clock,
}

impl Default for Extras {
    fn default() -> Self {
        Extras {
            outbox: None,
            telemetry: Arc::default(),
            max_unindexed_bytes: MAX_UNINDEXED_BYTES,
            unindexed_wait: UNINDEXED_WAIT,
            discard: false,
            wal_limit_bytes: WAL_LIMIT_BYTES,
            partitions: PartitionConfig::default(),
            sample: SampleConfig::default(),
            retention: RetentionConfig::default(),
            clock: Arc::new(now_unix_nano),
        }
    }
}

/// How far into the ingest log a database has got (0 in a store made before the log existed).
fn indexed_position(conn: &Connection) -> Result<u64, StoreError> {
    Ok(super::indexed_position(conn)?.unwrap_or(0))
}

/// Never backwards: a replay after a crash may index a partition's records that `rum.sqlite`
/// already has.
fn set_position(conn: &Connection, seq: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO ingest_log_position (id, indexed_seq) VALUES (0, ?1)
         ON CONFLICT (id) DO UPDATE SET indexed_seq = max(indexed_seq, excluded.indexed_seq)",
    )?
    .execute(params![i64::try_from(seq).unwrap_or(i64::MAX)])?;
    Ok(())
}

/// Opens the store in `data_dir` and starts its writer with a queue of `capacity` requests.
pub fn start(data_dir: &Path, capacity: usize) -> Result<(StoreHandle, Writer), StoreError> {
    start_with(data_dir, capacity, Extras::default())
}

/// As [`start`], with an export outbox and self-metrics. Indexes what the log holds past the
/// index's position (a crash's leftovers) before returning.
pub fn start_with(
    data_dir: &Path,
    capacity: usize,
    extras: Extras,
) -> Result<(StoreHandle, Writer), StoreError> {
    let mut write_conn = open(data_dir)?;
    write_conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // SQLite's default 2 MiB page cache sent most of a growing store's B-tree page reads to
    // the OS. The read and checkpoint connections keep the default.
    write_conn.pragma_update(None, "cache_size", -WRITER_PAGE_CACHE_KIB)?;
    let position = indexed_position(&write_conn)?;
    let partitions = Arc::new(Partitions::open(data_dir, extras.partitions)?);
    super::search::upgrade_partitions(&partitions)?;
    // rum.sqlite commits before the partition: only the newest partition can be behind it.
    let replay_from = match partitions.newest() {
        Some(newest) => partitions
            .position(newest)?
            .unwrap_or(position)
            .min(position),
        None => position,
    };
    let mut index = SpanIndex::new(Arc::clone(&partitions), position, extras.wal_limit_bytes);
    let mut tail = extras.sample.can_drop().then(|| Tail {
        index: TailIndex::new(&extras.sample),
        last_pass: std::time::Instant::now(),
        releases: std::collections::VecDeque::new(),
        hold_export: extras.outbox.is_some(),
    });
    if let Some(tail) = &mut tail {
        // What the last run left waiting, and the decisions it still remembers.
        tail.index.load(&write_conn, (extras.clock)())?;
    }
    let (log, recovery) = Log::open(data_dir, replay_from)?;
    if let Some(outbox) = &extras.outbox {
        outbox.open_position(data_dir, position)?;
    }
    if !recovery.unindexed.is_empty() {
        tracing::info!(
            records = recovery.unindexed.len(),
            after = position,
            "Indexing the ingest log's records past the index (acknowledged before a stop)."
        );
    }
    let mut indexed = replay_from;
    let mut replay = Vec::new();
    for (seq, record) in recovery.unindexed {
        indexed = seq;
        match serde_json::from_slice::<Entry>(&record) {
            Ok(entry) => replay.push(Indexed {
                seq,
                entry,
                record_bytes: 0,
            }),
            // A record that passed its checksum but does not decode: written by another
            // version of this format. Counted, and kept in the log until it is trimmed.
            Err(error) => {
                tracing::error!(seq, %error, "An ingest log record does not decode; it is not indexed.");
                extras.telemetry.add(Counter::IndexRefused, 1);
            }
        }
        if replay.len() == MAX_GROUP {
            index_group(
                &mut write_conn,
                &mut index,
                &mut tail,
                std::mem::take(&mut replay),
                &extras,
            )?;
        }
    }
    if !replay.is_empty() {
        index_group(&mut write_conn, &mut index, &mut tail, replay, &extras)?;
    }
    let indexed = indexed.max(position);
    let outbox = extras.outbox.clone();
    if let Some(outbox) = &outbox {
        if let Some(tail) = &mut tail {
            // Export waits for the decisions: what was indexed before this start is released
            // once every trace it can hold is decided.
            outbox.hold(tail.index.decisions());
            let due = (extras.clock)().saturating_add(tail.index.wait_nanos());
            tail.releases.push_back((indexed, due));
        }
        outbox.acknowledged(indexed);
    }
    let read_conn = open(data_dir)?;
    read_conn.set_prepared_statement_cache_capacity(64);
    let checkpoint_conn = open(data_dir)?;
    let wal = data_dir.join(format!("{}-wal", super::DB_FILE));
    let spawn_error = |source| StoreError::CreateDir {
        path: data_dir.into(),
        source,
    };
    let progress = Arc::new(Progress {
        acked: AtomicU64::new(indexed),
        indexed: watch::channel(indexed).0,
        unindexed_bytes: AtomicU64::new(0),
        max_unindexed_bytes: extras.max_unindexed_bytes,
        unindexed_wait: extras.unindexed_wait,
        discard: extras.discard,
        stopping: AtomicBool::new(false),
        decided: watch::channel(i64::MIN).0,
        sampling: match &tail {
            Some(_) => Some(Mutex::new(SamplingStatus {
                decision_wait_ms: extras.sample.decision_wait_ms,
                // Traces left waiting by the last run, until the first pass counts again.
                waiting_traces: tail.as_ref().map_or(0, |t| t.index.waiting()),
                ..SamplingStatus::default()
            })),
            None => None,
        },
    });
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let checkpointer = {
        let partitions = Arc::clone(&partitions);
        std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || checkpoint_until_stopped(checkpoint_conn, &partitions, stopped))
            .map_err(spawn_error)?
    };
    let clock = Arc::clone(&extras.clock);
    let (to_index, index_queue) = std::sync::mpsc::channel::<Indexed>();
    let indexer = {
        let progress = Arc::clone(&progress);
        std::thread::Builder::new()
            .name("store-indexer".into())
            .spawn(move || {
                run_indexer(
                    write_conn,
                    index,
                    tail,
                    index_queue,
                    &progress,
                    &extras,
                    &wal,
                );
                drop(stop);
            })
            .map_err(spawn_error)?
    };
    let (queue, rx) = mpsc::channel(capacity);
    let appender = {
        let progress = Arc::clone(&progress);
        std::thread::Builder::new()
            .name("store-appender".into())
            .spawn(move || run_appender(log, rx, to_index, &progress, outbox))
            .map_err(spawn_error)?
    };
    Ok((
        StoreHandle {
            queue,
            clock,
            reader: Arc::new(Mutex::new(Reader {
                conn: read_conn,
                attached: 0,
            })),
            progress,
            partitions,
        },
        Writer {
            appender,
            indexer,
            checkpointer,
        },
    ))
}

impl StoreHandle {
    /// Writes a batch and resolves once it is durable.
    pub async fn write(&self, batch: Batch) -> Result<(), WriteError> {
        self.write_with(batch, Vec::new()).await
    }

    /// Writes a batch with its export payloads; resolves once both are durable (in the
    /// ingest log; the index and the export outbox follow from it).
    pub async fn write_with(
        &self,
        batch: Batch,
        payloads: Vec<ExportPayload>,
    ) -> Result<(), WriteError> {
        self.room_behind_the_index().await?;
        let received_unix_nano = (self.clock)();
        let record = serde_json::to_vec(&EntryRef {
            batch: &batch,
            payloads: &payloads,
            received_unix_nano,
        })
        .map_err(|error| {
            tracing::error!(%error, "A batch could not be encoded for the ingest log.");
            WriteError::Failed
        })?;
        if self.progress.discard {
            return Ok(());
        }
        let record_bytes = record.len() as u64;
        // Counted before the appender can see it (the indexer subtracts it once indexed).
        self.progress
            .unindexed_bytes
            .fetch_add(record_bytes, Ordering::Relaxed);
        let (ack, done) = oneshot::channel();
        let request = WriteRequest {
            entry: Entry {
                batch,
                payloads,
                received_unix_nano,
            },
            record,
            ack,
        };
        self.queue.try_send(request).map_err(|e| {
            self.progress
                .unindexed_bytes
                .fetch_sub(record_bytes, Ordering::Relaxed);
            match e {
                mpsc::error::TrySendError::Full(_) => WriteError::Busy,
                mpsc::error::TrySendError::Closed(_) => WriteError::Failed,
            }
        })?;
        done.await.unwrap_or(Err(WriteError::Failed))
    }

    /// Waits (at most [`UNINDEXED_WAIT`] by default) while the index is more than its bound behind the
    /// log: the requests' latency grows, as with any full queue, before any is refused.
    async fn room_behind_the_index(&self) -> Result<(), WriteError> {
        let progress = &self.progress;
        let full =
            || progress.unindexed_bytes.load(Ordering::Relaxed) > progress.max_unindexed_bytes;
        if !full() {
            return Ok(());
        }
        let mut indexed = progress.indexed.subscribe();
        let room = async {
            while full() {
                if indexed.changed().await.is_err() {
                    return;
                }
            }
        };
        match tokio::time::timeout(progress.unindexed_wait, room).await {
            Ok(()) if !full() => Ok(()),
            _ => Err(WriteError::Busy),
        }
    }

    /// Runs a read on the read connection, off the async runtime, once the index holds
    /// everything acknowledged before the call (waiting at most [`READ_WAIT`]).
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.caught_up().await;
        let reader = Arc::clone(&self.reader);
        let partitions = Arc::clone(&self.partitions);
        tokio::task::spawn_blocking(move || {
            // A panic in another read poisons the lock but leaves the connection usable.
            let mut reader = reader
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let Reader { conn, attached } = &mut *reader;
            partitions.attach(conn, attached)?;
            f(conn)
        })
        .await
        .map_err(|_| StoreError::WriterGone)?
    }

    /// Blocks until the index holds everything acknowledged so far (at most [`READ_WAIT`]);
    /// false if it did not get there. For tools and tests that read the database file.
    pub fn wait_indexed(&self) -> bool {
        let target = self.progress.acked.load(Ordering::Acquire);
        let deadline = std::time::Instant::now() + READ_WAIT;
        while *self.progress.indexed.borrow() < target {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    /// Tail sampling's state (None when no policy can drop, and tail sampling does not run).
    pub fn sampling(&self) -> Option<SamplingStatus> {
        self.progress
            .sampling
            .as_ref()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Waits (at most [`READ_WAIT`]) until every trace due by the store clock's `at` is
    /// decided; false if that did not happen. For tests with an injected clock.
    pub async fn wait_decided(&self, at: i64) -> bool {
        let mut decided = self.progress.decided.subscribe();
        tokio::time::timeout(READ_WAIT, decided.wait_for(|&t| t >= at))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Waits until the index has reached what was acknowledged when called (bounded).
    pub async fn caught_up(&self) {
        let target = self.progress.acked.load(Ordering::Acquire);
        let mut indexed = self.progress.indexed.subscribe();
        if *indexed.borrow() >= target {
            return;
        }
        let waited = tokio::time::timeout(READ_WAIT, indexed.wait_for(|&seq| seq >= target)).await;
        if waited.is_err() {
            tracing::warn!(
                target,
                "The index is more than the read wait behind the ingest log; reading what it has."
            );
        }
    }
}

/// Appends each group to the log, syncs, acknowledges, and hands the batches to the indexer.
fn run_appender(
    mut log: Log,
    mut rx: mpsc::Receiver<WriteRequest>,
    to_index: std::sync::mpsc::Sender<Indexed>,
    progress: &Progress,
    outbox: Option<Outbox>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let records: Vec<&[u8]> = group.iter().map(|r| r.record.as_slice()).collect();
        match log.append(&records) {
            Ok(first_seq) => {
                let last = first_seq + group.len() as u64 - 1;
                // Before any acknowledgement: a read that follows one waits for the index
                // to reach it.
                progress.acked.store(last, Ordering::Release);
                for (seq, request) in (first_seq..).zip(group) {
                    let record_bytes = request.record.len() as u64;
                    let _ = to_index.send(Indexed {
                        seq,
                        entry: request.entry,
                        record_bytes,
                    });
                    // The client may have gone; its batch is stored either way.
                    let _ = request.ack.send(Ok(()));
                }
                if let Some(outbox) = &outbox {
                    outbox.acknowledged(last);
                }
            }
            Err(error) => {
                tracing::error!(%error, requests = group.len(), "Ingest log append failed; the requests are refused.");
                for request in group {
                    progress
                        .unindexed_bytes
                        .fetch_sub(request.record.len() as u64, Ordering::Relaxed);
                    let _ = request.ack.send(Err(WriteError::Failed));
                }
            }
        }
        // Copied out first: the indexer must not wait on this borrow while files are deleted.
        let indexed = *progress.indexed.borrow();
        // The exporter reads the log too: segments stay until it is past them as well.
        let consumed = outbox
            .as_ref()
            .map_or(indexed, |o| o.exported().min(indexed));
        log.trim(consumed);
    }
    progress.stopping.store(true, Ordering::Release);
    tracing::info!("Store appender drained its queue and stopped.");
}

/// Commits the acknowledged batches into SQLite, in order, as they come.
fn run_indexer(
    mut conn: Connection,
    mut index: SpanIndex,
    mut tail: Option<Tail>,
    rx: std::sync::mpsc::Receiver<Indexed>,
    progress: &Progress,
    extras: &Extras,
    wal: &Path,
) {
    let mut retention = RetentionPass {
        next: std::time::Instant::now(),
    };
    loop {
        // Decisions and retention fall due while no batch comes: wake for them.
        let wait = match &tail {
            Some(_) => tail::PASS_EVERY,
            None => RETENTION_IDLE,
        }
        .min(
            retention
                .next
                .saturating_duration_since(std::time::Instant::now()),
        )
        .max(Duration::from_millis(1));
        let first = match rx.recv_timeout(wait) {
            Ok(first) => Some(first),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if let Some(first) = first {
            index_received(
                &mut conn, &mut index, &mut tail, first, &rx, progress, extras, wal,
            );
        }
        retention.run(&mut conn, &mut index, extras);
        if let Some(tail) = &mut tail {
            if tail.last_pass.elapsed() >= tail::PASS_EVERY {
                if let Err(error) = decide_pass(&mut conn, &mut index, tail, progress, extras) {
                    tracing::error!(%error, "A tail-sampling decision pass failed; retrying.");
                }
            }
        }
    }
    tracing::info!("Store indexer drained its queue and stopped.");
}

/// Indexes `first` and what else is queued (a group), retrying until it commits.
#[allow(clippy::too_many_arguments)]
fn index_received(
    conn: &mut Connection,
    index: &mut SpanIndex,
    tail: &mut Option<Tail>,
    first: Indexed,
    rx: &std::sync::mpsc::Receiver<Indexed>,
    progress: &Progress,
    extras: &Extras,
    wal: &Path,
) {
    {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let last = group.last().map_or(0, |g| g.seq);
        let bytes: u64 = group.iter().map(|g| g.record_bytes).sum();
        // Retried until it commits: every batch here was acknowledged and is in the log.
        let mut group = Some(group);
        while let Some(batches) = group.take() {
            match index_group_keeping(conn, index, tail, batches, extras) {
                Ok(()) => {}
                Err((_, error)) if progress.stopping.load(Ordering::Acquire) => {
                    tracing::error!(%error, "Indexing failed while stopping; the next start indexes the rest of the ingest log.");
                    // Nothing more is indexed: the queue's remaining batches wait for the log.
                    while rx.try_recv().is_ok() {}
                    return;
                }
                Err((batches, error)) => {
                    tracing::error!(%error, "Indexing failed; retrying (the batches are in the ingest log).");
                    std::thread::sleep(INDEX_RETRY);
                    group = Some(batches);
                }
            }
        }
        progress.unindexed_bytes.fetch_sub(bytes, Ordering::Relaxed);
        progress.indexed.send_replace(last);
        truncate_wal_if_over(conn, wal, extras.wal_limit_bytes);
        index.after_group();
    }
}

/// The span partition the indexer writes into (`super::partitions`), and how far each
/// database has got in the ingest log: a record at or before a database's position is already
/// in it (a replay after a crash between the two commits), so it is not written there again.
struct SpanIndex {
    partitions: Arc<Partitions>,
    /// `rum.sqlite`'s position.
    main_at: u64,
    current: Option<OpenPartition>,
    wal_limit_bytes: u64,
}

struct OpenPartition {
    start: i64,
    conn: Connection,
    /// Its position.
    at: u64,
    wal: std::path::PathBuf,
}

impl SpanIndex {
    fn new(partitions: Arc<Partitions>, main_at: u64, wal_limit_bytes: u64) -> SpanIndex {
        SpanIndex {
            partitions,
            main_at,
            current: None,
            wal_limit_bytes,
        }
    }

    /// The partition of a record received at `received`: its window's, or the newest if that
    /// is later (the files stay in time order, and a replay lands where the first try did).
    fn target(&self, received: i64) -> i64 {
        let start = self.partitions.start_of(received);
        self.partitions
            .newest()
            .map_or(start, |newest| newest.max(start))
    }

    /// Partition `start`, opened (created with position `before` when new).
    fn open(&mut self, start: i64, before: u64) -> Result<&mut OpenPartition, StoreError> {
        let open = match self.current.take() {
            Some(current) if current.start == start => current,
            _ => {
                let conn = self.partitions.open_for_write(start, before)?;
                conn.pragma_update(None, "wal_autocheckpoint", 0)?;
                conn.pragma_update(None, "cache_size", -WRITER_PAGE_CACHE_KIB)?;
                let at = indexed_position(&conn)?;
                let [_, wal, _] = self.partitions.files(start);
                OpenPartition {
                    start,
                    conn,
                    at,
                    wal,
                }
            }
        };
        Ok(self.current.insert(open))
    }

    /// Between groups: keeps the partition's WAL bounded.
    fn after_group(&mut self) {
        if let Some(current) = &self.current {
            truncate_wal_if_over(&current.conn, &current.wal, self.wal_limit_bytes);
        }
    }

    /// The partition being written (the newest, before the first write): never deleted.
    fn writing(&self) -> Option<i64> {
        self.current
            .as_ref()
            .map(|c| c.start)
            .or(self.partitions.newest())
    }
}

/// The retention pass (`super::retention`), run by the indexer between groups: a step at most
/// every [`RETENTION_IDLE`] while nothing is due, every [`RETENTION_PAUSE`] while there is work.
struct RetentionPass {
    next: std::time::Instant,
}

/// How long the pass rests after a step that found nothing to do.
const RETENTION_IDLE: Duration = Duration::from_secs(1);

/// How long it rests between steps that did work.
const RETENTION_PAUSE: Duration = Duration::from_millis(20);

impl RetentionPass {
    fn run(&mut self, conn: &mut Connection, index: &mut SpanIndex, extras: &Extras) {
        if std::time::Instant::now() < self.next {
            return;
        }
        let current = index.writing();
        let outcome = retention::step(
            conn,
            &index.partitions,
            current,
            &extras.retention,
            (extras.clock)(),
        );
        if index
            .current
            .as_ref()
            .is_some_and(|c| !index.partitions.starts().contains(&c.start))
        {
            // The size cap deleted the partition being written: open a new one next time.
            index.current = None;
        }
        self.next = std::time::Instant::now()
            + match outcome {
                // A pause between steps: the pass takes a bounded share of the index's time.
                Ok(retention::Step::Worked) => RETENTION_PAUSE,
                Ok(retention::Step::Idle) => RETENTION_IDLE,
                Err(error) => {
                    tracing::error!(%error, "A retention step failed; retrying.");
                    RETENTION_IDLE
                }
            };
    }
}

/// Indexes `group`, each record's spans in its partition (a group that crosses into a new
/// window is committed in two runs); a batch the database refuses is counted and skipped. An
/// error means the run it happened in was not committed (earlier runs were, and are skipped
/// when the group is retried).
fn index_group(
    conn: &mut Connection,
    index: &mut SpanIndex,
    tail: &mut Option<Tail>,
    group: Vec<Indexed>,
    extras: &Extras,
) -> Result<(), StoreError> {
    index_group_keeping(conn, index, tail, group, extras).map_err(|(_, e)| e)
}

fn index_group_keeping(
    conn: &mut Connection,
    index: &mut SpanIndex,
    tail: &mut Option<Tail>,
    group: Vec<Indexed>,
    extras: &Extras,
) -> Result<(), (Vec<Indexed>, StoreError)> {
    let now = (extras.clock)();
    let mut from = 0;
    while from < group.len() {
        let target = index.target(group[from].entry.received_unix_nano);
        let len = group[from..]
            .iter()
            .take_while(|g| index.target(g.entry.received_unix_nano) == target)
            .count()
            .max(1);
        let run = &group[from..from + len];
        from += len;
        let before = run[0].seq.saturating_sub(1);
        let main_at = index.main_at;
        let part = match index.open(target, before) {
            Ok(part) => part,
            Err(error) => return Err((group, error)),
        };
        let part_at = part.at;
        let todo = |g: &&Indexed| g.seq > part_at || g.seq > main_at;
        let run: Vec<&Indexed> = run.iter().filter(todo).collect();
        let Some(last) = run.last().map(|g| g.seq) else {
            continue;
        };
        let at = Positions { main_at, part_at };
        let late = std::cell::Cell::new(0);
        let staged = tail::Staged::default();
        let ctx = tail.as_ref().map(|t| TailCtx {
            index: &t.index,
            now,
            partition: target,
            late: &late,
            staged: &staged,
        });
        match commit_group(conn, &mut part.conn, &run, last, at, ctx) {
            Ok(outcomes) => {
                part.at = part.at.max(last);
                index.main_at = index.main_at.max(last);
                if let Some(tail) = tail.as_mut() {
                    extras.telemetry.add(Counter::SpansSampledOut, late.get());
                    tail.index.apply(staged.take());
                    if tail.hold_export {
                        let due = now.saturating_add(tail.index.wait_nanos());
                        tail.releases.push_back((last, due));
                    }
                }
                for (indexed, outcome) in run.iter().zip(&outcomes) {
                    match outcome {
                        Ok(()) if indexed.seq > main_at => {
                            extras.telemetry.batch_committed(&indexed.entry.batch)
                        }
                        Ok(()) => {}
                        Err(_) => extras.telemetry.add(Counter::IndexRefused, 1),
                    }
                }
            }
            Err(failed) => {
                if failed.main_committed {
                    // The retry writes the partition's part alone.
                    index.main_at = index.main_at.max(last);
                }
                return Err((group, failed.error));
            }
        }
    }
    Ok(())
}

/// A run that did not commit whole, and whether `rum.sqlite`'s part of it did (its commit
/// came first and the partition's failed): then only the partition's part is retried.
struct CommitFailed {
    error: StoreError,
    main_committed: bool,
}

impl CommitFailed {
    fn before_main(error: impl Into<StoreError>) -> CommitFailed {
        CommitFailed {
            error: error.into(),
            main_committed: false,
        }
    }

    fn after_main(error: impl Into<StoreError>) -> CommitFailed {
        CommitFailed {
            error: error.into(),
            main_committed: true,
        }
    }
}

/// Commits every batch of a run in one transaction per database, with the log position:
/// `rum.sqlite` first, then the partition (a record whose `rum.sqlite` rows are there already,
/// at or before `main_at`, gets its partition rows only). The whole run is tried at once first;
/// only if that fails is it retried with each batch in its own savepoint, so a bad batch fails
/// alone. (Savepoints on every batch cost a sub-journal write per touched page: about a sixth
/// of the time when every batch is good, which is nearly always.)
fn commit_group(
    conn: &mut Connection,
    part: &mut Connection,
    run: &[&Indexed],
    last: u64,
    at: Positions,
    tail: Option<TailCtx>,
) -> Result<Vec<Result<(), WriteError>>, CommitFailed> {
    match commit_whole(conn, part, run, last, at, tail) {
        Ok(()) => Ok(run.iter().map(|_| Ok(())).collect()),
        Err((error, true)) => Err(CommitFailed::after_main(StoreError::Index(error))),
        Err((error, false)) => {
            tracing::warn!(%error, batches = run.len(), "Index group failed; retrying batch by batch.");
            if let Some(ctx) = tail {
                ctx.late.set(0);
                ctx.staged.borrow_mut().clear();
            }
            commit_each(conn, part, run, last, at, tail)
        }
    }
}

/// The run in one transaction per database without savepoints: all committed, or none, or
/// `rum.sqlite`'s part (the error's `true`: its commit came first; a retry, or after a crash
/// the replay, writes the partition's part alone).
fn commit_whole(
    conn: &mut Connection,
    part: &mut Connection,
    run: &[&Indexed],
    last: u64,
    at: Positions,
    tail: Option<TailCtx>,
) -> Result<(), (String, bool)> {
    let before = |e: rusqlite::Error| (e.to_string(), false);
    let tx = conn.transaction().map_err(before)?;
    let ptx = part.transaction().map_err(before)?;
    for indexed in run {
        store_entry(&tx, &ptx, indexed, at, tail).map_err(|e| (e, false))?;
    }
    set_position(&tx, last).map_err(before)?;
    set_position(&ptx, last).map_err(before)?;
    tx.commit().map_err(before)?;
    ptx.commit().map_err(|e| (e.to_string(), true))
}

/// The run in one transaction per database, each batch in a savepoint in both.
fn commit_each(
    conn: &mut Connection,
    part: &mut Connection,
    run: &[&Indexed],
    last: u64,
    at: Positions,
    tail: Option<TailCtx>,
) -> Result<Vec<Result<(), WriteError>>, CommitFailed> {
    let mut tx = conn.transaction().map_err(CommitFailed::before_main)?;
    let mut ptx = part.transaction().map_err(CommitFailed::before_main)?;
    let mut outcomes = Vec::with_capacity(run.len());
    for indexed in run {
        let outcome = match (tx.savepoint(), ptx.savepoint()) {
            (Ok(mut sp), Ok(mut psp)) => match store_entry(&sp, &psp, indexed, at, tail) {
                Ok(()) => sp
                    .commit()
                    .and_then(|()| psp.commit())
                    .map_err(|e| e.to_string()),
                Err(e) => {
                    let _ = sp.rollback();
                    let _ = psp.rollback();
                    Err(e)
                }
            },
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        };
        outcomes.push(outcome.map_err(|error| {
            tracing::error!(seq = indexed.seq, %error, "The index refused an acknowledged batch; it stays in the ingest log only.");
            WriteError::Failed
        }));
    }
    set_position(&tx, last).map_err(CommitFailed::before_main)?;
    set_position(&ptx, last).map_err(CommitFailed::before_main)?;
    tx.commit().map_err(CommitFailed::before_main)?;
    ptx.commit().map_err(CommitFailed::after_main)?;
    Ok(outcomes)
}

/// How far `rum.sqlite` and the partition had got before a run: a record at or before a
/// position is in that database already.
#[derive(Debug, Clone, Copy)]
struct Positions {
    main_at: u64,
    part_at: u64,
}

/// Inserts the batch: its spans into the partition, the rest into `rum.sqlite`, each unless
/// it is there already. Its export payloads stay in the log, where the exporter reads them
/// (`super::outbox`).
fn store_entry(
    conn: &Connection,
    part: &Connection,
    indexed: &Indexed,
    at: Positions,
    tail: Option<TailCtx>,
) -> Result<(), String> {
    let entry = &indexed.entry;
    let into = Targets {
        main: indexed.seq > at.main_at,
        part: indexed.seq > at.part_at,
    };
    insert_batch(
        conn,
        part,
        &entry.batch,
        entry.received_unix_nano,
        into,
        tail,
    )
    .map_err(|e| e.to_string())
}

/// Tail sampling's part of a run: the traces' rows, at the store clock's `now`, for spans
/// going into `partition`; `late` counts the spans of dropped traces left out.
#[derive(Clone, Copy)]
struct TailCtx<'a> {
    index: &'a TailIndex,
    now: i64,
    partition: i64,
    late: &'a std::cell::Cell<u64>,
    /// The run's observations, applied once it commits.
    staged: &'a tail::Staged,
}

/// Tail sampling's part of the indexer (`super::tail`).
struct Tail {
    index: TailIndex,
    last_pass: std::time::Instant,
    /// Indexed records, by their last sequence number, and the store clock's time after which
    /// every trace they hold is decided: the exporter reads them then.
    releases: std::collections::VecDeque<(u64, i64)>,
    /// Whether an exporter reads the log (and so waits for the releases).
    hold_export: bool,
}

/// Decides every trace whose window has passed (`super::tail`): a dropped trace's spans are
/// deleted from its partition, then the decisions are recorded in `rum.sqlite`; then the
/// records whose traces are all decided are released to the exporter.
fn decide_pass(
    conn: &mut Connection,
    index: &mut SpanIndex,
    tail: &mut Tail,
    progress: &Progress,
    extras: &Extras,
) -> Result<(), StoreError> {
    tail.last_pass = std::time::Instant::now();
    let now = (extras.clock)();
    let waiting = loop {
        let due = tail.index.due(now);
        let decided: Vec<_> = due
            .due
            .iter()
            .map(|d| (d, tail.index.decide(d, now)))
            .collect();
        // Each dropped trace's spans: in the partition of its first span, and in the one being
        // written when that is another (a trace that crossed into a new window).
        let current = index.current.as_ref().map(|c| c.start);
        let mut by_partition: std::collections::BTreeMap<i64, Vec<(&tail::Due, bool)>> =
            std::collections::BTreeMap::new();
        for (d, decision) in &decided {
            if decision.keep {
                continue;
            }
            by_partition.entry(d.partition).or_default().push((d, true));
            if let Some(current) = current.filter(|c| *c != d.partition) {
                by_partition.entry(current).or_default().push((d, false));
            }
        }
        let mut deleted = 0;
        for (partition, traces) in by_partition {
            deleted += delete_in_partition(index, partition, &traces)?;
        }
        let tx = conn.transaction()?;
        let remembered = tail.index.record(&tx, &decided, now)?;
        tx.commit()?;
        tail.index.remember(remembered);
        let telemetry = &extras.telemetry;
        telemetry.add(Counter::SpansSampledOut, deleted);
        for (d, decision) in &decided {
            telemetry.add(Counter::TracesSampled(decision.keep, decision.reason), 1);
            if let Some(early) = d.early {
                telemetry.add(Counter::EarlyDecisions(early), 1);
            }
        }
        if due.complete {
            break tail.index.waiting();
        }
    };
    let mut released = None;
    while let Some(&(seq, due)) = tail.releases.front() {
        if due > now {
            break;
        }
        released = Some(seq);
        tail.releases.pop_front();
    }
    if let (Some(seq), Some(outbox)) = (released, &extras.outbox) {
        outbox.release(seq);
    }
    progress.decided.send_replace(now);
    let adaptive = tail.index.adaptive().snapshot();
    extras.telemetry.set_sampling(
        waiting,
        adaptive
            .iter()
            .map(|a| (a.service.clone(), a.ratio))
            .collect(),
    );
    if let Some(status) = &progress.sampling {
        let mut status = status.lock().unwrap_or_else(|p| p.into_inner());
        status.waiting_traces = waiting;
        status.adaptive = adaptive;
    }
    Ok(())
}

/// Deletes dropped traces' spans from one partition, in one transaction; `true` with a trace:
/// this is the partition of its first span (its spans are from that span's epoch on).
fn delete_in_partition(
    index: &mut SpanIndex,
    partition: i64,
    traces: &[(&tail::Due, bool)],
) -> Result<u64, StoreError> {
    let mut opened;
    let conn = match index.current.as_mut() {
        Some(current) if current.start == partition => &mut current.conn,
        _ => {
            let path = index.partitions.path(partition);
            if !path.exists() {
                // Past the retention already: nothing left to delete.
                return Ok(0);
            }
            opened = Connection::open(path)?;
            opened.busy_timeout(Duration::from_secs(5))?;
            &mut opened
        }
    };
    let tx = conn.transaction()?;
    let last_epoch: i64 = tx
        .prepare_cached(LAST_EPOCH)?
        .query_row([super::EPOCH_BITS], |r| r.get(0))?;
    let mut deleted = 0;
    for (due, first) in traces {
        let from = if *first { due.first_epoch } else { 0 };
        deleted += tail::delete_trace(&tx, &due.trace_id, from..=last_epoch, due.first_start)?;
    }
    tx.commit()?;
    Ok(deleted)
}

/// Which databases a batch is written into.
#[derive(Debug, Clone, Copy)]
struct Targets {
    main: bool,
    part: bool,
}

fn insert_batch(
    tx: &Connection,
    part: &Connection,
    batch: &Batch,
    received: i64,
    into: Targets,
    tail: Option<TailCtx>,
) -> Result<(), StoreError> {
    let fates = match tail {
        Some(ctx) if !batch.spans.is_empty() || !batch.errors.is_empty() => {
            let epoch: i64 = part
                .prepare_cached(NEXT_EPOCH)?
                .query_row(params![super::EPOCH_BITS], |r| r.get(0))?;
            let place = Place {
                partition: ctx.partition,
                epoch,
            };
            ctx.index
                .observe(tx, batch, ctx.now, place, into.main, ctx.staged)?
        }
        _ => std::collections::HashMap::new(),
    };
    // A batch's spans nearly always share one resource: look it up once per run of equal ones.
    let mut last: Option<(&crate::model::Attributes, StoredResource)> = None;
    let mut journeys = Journeys::default();
    let mut searchable = TraceIndexRows::default();
    for span in &batch.spans {
        if fates.get(&span.trace_id) == Some(&Fate::Dropped) {
            if let Some(ctx) = tail {
                ctx.late.set(ctx.late.get() + u64::from(into.part));
            }
            continue;
        }
        let resource = match &last {
            Some((attributes, stored)) if *attributes == &span.resource => stored.clone(),
            _ => {
                let stored = store_resource(tx, &span.resource)?;
                last = Some((&span.resource, stored.clone()));
                stored
            }
        };
        // (`rum.sqlite` commits first, so a partition ahead of it is only a hand-edited
        // store: its spans are not counted into the sessions again.)
        if into.part && insert_span(part, span, &resource)? {
            journeys.span(part, span)?;
            searchable.add(&span.trace_id.to_string(), &SpanFacts::of(span));
        }
    }
    if !searchable.is_empty() {
        let epoch: i64 = part
            .prepare_cached(LAST_EPOCH)?
            .query_row(params![super::EPOCH_BITS], |r| r.get(0))?;
        searchable.write(part, epoch)?;
    }
    if !into.main {
        return Ok(());
    }
    for view in &batch.page_views {
        let new = insert_page_view(tx, view)?;
        journeys.view(view, new);
    }
    for vital in &batch.vitals {
        insert_vital(tx, vital, received)?;
    }
    for event in &batch.events {
        journeys.event(tx, event)?;
    }
    for error in &batch.errors {
        let added = super::errors::insert_error(tx, error, received)?;
        journeys.error(error, added.occurrences);
    }
    journeys.finish(tx, received)
}

// The store's row statements, public so a bulk loader (the benchmark's prefill) writes
// rows exactly as the writer does.
/// A span; ignored when already stored (a retried request re-sends spans).
pub const INSERT_SPAN: &str =
    "INSERT OR IGNORE INTO spans (trace_id, span_id, parent_span_id, name, kind,
            start_unix_nano, end_unix_nano, status_code, status_message, attributes, resource,
            resource_hash, source, epoch)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
/// The epoch of the last span stored (`?1`: [`super::EPOCH_BITS`]).
const LAST_EPOCH: &str = "SELECT coalesce(max(rowid), 0) >> ?1 FROM spans";
/// The epoch of the next span stored (`?1`: [`super::EPOCH_BITS`]).
pub const NEXT_EPOCH: &str = "SELECT (coalesce(max(rowid), 0) + 1) >> ?1 FROM spans";
/// Whether the trace (`?1`) has spans in epoch `?3` or the one before (0), and whether span
/// `?2` is one of them (1); -1 when neither. Two epochs: the pages a new span's entry goes to.
pub const SPAN_SEEN: &str = "SELECT coalesce(max(span_id = ?2), -1) FROM spans
    WHERE epoch IN (?3, ?3 - 1) AND trace_id = ?1";
/// A page view; every beacon of a view repeats it: the first one stored keeps its URL, start,
/// type and referrer, and the writer then merges the journey fields (`sessions::UPDATE_PAGE_VIEW`).
pub const INSERT_PAGE_VIEW: &str =
    "INSERT OR IGNORE INTO page_views (page_view_id, session_id, url, referrer, navigation_type,
            start_unix_nano, resource, attributes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
/// A vital; a later report of the same metric instance carries its newer value.
pub const UPSERT_VITAL: &str =
    "INSERT INTO vitals (page_view_id, metric_id, name, value, delta, rating, navigation_type,
            received_unix_nano, attribution) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (page_view_id, metric_id) DO UPDATE SET
            value = excluded.value, delta = excluded.delta, rating = excluded.rating,
            received_unix_nano = excluded.received_unix_nano, attribution = excluded.attribution";

/// Where a span's resource is kept: in `resources` under its hash, or inline in the span row.
#[derive(Debug, Clone)]
enum StoredResource {
    Shared(i64),
    Inline(String),
}

/// Puts the resource in `resources` (once per distinct JSON). Another resource already under
/// the same hash (a 64-bit collision) keeps its place, and this one goes inline.
fn store_resource(
    tx: &Connection,
    resource: &crate::model::Attributes,
) -> Result<StoredResource, StoreError> {
    let json = serde_json::to_string(resource)?;
    let hash = resource_hash(&json);
    tx.prepare_cached(
        "INSERT OR IGNORE INTO resources (resource_hash, attributes) VALUES (?1, ?2)",
    )?
    .execute(params![hash, json])?;
    let stored: String = tx
        .prepare_cached("SELECT attributes FROM resources WHERE resource_hash = ?1")?
        .query_row(params![hash], |r| r.get(0))?;
    Ok(if stored == json {
        StoredResource::Shared(hash)
    } else {
        StoredResource::Inline(json)
    })
}

/// The `resources` key of a resource's JSON: FNV-1a, 64 bits, stable across builds and Rust
/// versions (unlike std's hasher). Public for tools that load a store in bulk.
pub fn resource_hash(json: &str) -> i64 {
    let hash = json.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Stores a span; false when it was stored already.
fn insert_span(
    tx: &Connection,
    span: &Span,
    resource: &StoredResource,
) -> Result<bool, StoreError> {
    let (resource_hash, resource_inline) = match resource {
        StoredResource::Shared(hash) => (Some(*hash), ""),
        StoredResource::Inline(json) => (None, json.as_str()),
    };
    let trace_id = span.trace_id.to_string();
    let span_id = span.span_id.to_string();
    let epoch: i64 = tx
        .prepare_cached(NEXT_EPOCH)?
        .query_row(params![super::EPOCH_BITS], |r| r.get(0))?;
    // The leaves of spans_by_id the insert then writes: seeks in pages already cached.
    // A retried request re-sends spans already stored: ignore them, and count each span once
    // (a retry more than an epoch later is stored again; reads show it once).
    let seen: i64 = tx
        .prepare_cached(SPAN_SEEN)?
        .query_row(params![trace_id, span_id, epoch], |r| r.get(0))?;
    if seen == 1 {
        return Ok(false);
    }
    let inserted = tx.prepare_cached(INSERT_SPAN)?.execute(params![
        trace_id,
        span_id,
        span.parent_span_id.map(|id| id.to_string()),
        span.name,
        span.kind.as_str(),
        span.start_unix_nano,
        span.end_unix_nano,
        span.status.as_str(),
        span.status_message,
        serde_json::to_string(&span.attributes)?,
        resource_inline,
        resource_hash,
        span.source.as_str(),
        epoch,
    ])?;
    if inserted == 0 {
        return Ok(false);
    }
    if !span.events.is_empty() || !span.links.is_empty() {
        insert_extras(tx, span, &trace_id)?;
    }
    Ok(true)
}

/// A span's events and links, in `span_extras` (the API's JSON shape: nanoseconds as
/// decimal strings, ids as hex).
fn insert_extras(tx: &Connection, span: &Span, trace_id: &str) -> Result<(), StoreError> {
    let events: Vec<serde_json::Value> = span
        .events
        .iter()
        .map(|e| {
            serde_json::json!({
                "name": e.name,
                "time_unix_nano": e.time_unix_nano.to_string(),
                "attributes": e.attributes,
            })
        })
        .collect();
    let links: Vec<serde_json::Value> = span
        .links
        .iter()
        .map(|l| {
            serde_json::json!({
                "trace_id": l.trace_id.to_string(),
                "span_id": l.span_id.to_string(),
                "attributes": l.attributes,
            })
        })
        .collect();
    tx.prepare_cached(
        "INSERT OR IGNORE INTO span_extras (trace_id, span_id, events, links) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        trace_id,
        span.span_id.to_string(),
        serde_json::to_string(&events)?,
        serde_json::to_string(&links)?,
    ])?;
    Ok(())
}

/// Stores a view, or merges its journey fields into the stored one (every beacon of a view
/// repeats it); true when it is new.
fn insert_page_view(tx: &Connection, view: &PageView) -> Result<bool, StoreError> {
    let inserted = tx.prepare_cached(INSERT_PAGE_VIEW)?.execute(params![
        view.id,
        view.session_id,
        view.url,
        view.referrer,
        view.navigation_type,
        view.start_unix_nano,
        serde_json::to_string(&view.resource)?,
        serde_json::to_string(&view.attributes)?,
    ])?;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    tx.prepare_cached(UPDATE_PAGE_VIEW)?.execute(params![
        view.id,
        view.name,
        view.previous_id,
        view.end_unix_nano,
        view.visible_ms,
        count(view.dropped.actions),
        count(view.dropped.events),
        count(view.dropped.route_changes),
        serde_json::to_string(&view.attributes)?,
        count(view.dropped.errors),
    ])?;
    Ok(inserted > 0)
}

fn insert_vital(tx: &Connection, vital: &Vital, received: i64) -> Result<(), StoreError> {
    tx.prepare_cached(UPSERT_VITAL)?.execute(params![
        vital.page_view_id,
        vital.metric_id,
        vital.name,
        vital.value,
        vital.delta,
        vital.rating,
        vital.navigation_type,
        received,
        serde_json::to_string(&vital.attribution)?,
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{testing, SpanId, TraceId};

    fn batch(n: u8, name: &str) -> Batch {
        let span = Span {
            name: name.into(),
            ..testing::span(n, n)
        };
        Batch {
            spans: vec![span],
            ..Batch::default()
        }
    }

    fn group(batches: Vec<Batch>) -> Vec<Indexed> {
        (1..)
            .zip(batches)
            .map(|(seq, batch)| Indexed {
                seq,
                entry: Entry {
                    batch,
                    payloads: Vec::new(),
                    received_unix_nano: 0,
                },
                record_bytes: 0,
            })
            .collect()
    }

    /// `rum.sqlite` and one partition, as the indexer writes them.
    fn stores(dir: &Path) -> (Connection, Connection) {
        let main = open(dir).expect("open");
        let partitions = Partitions::open(dir, PartitionConfig::default()).expect("partitions");
        let part = partitions.open_for_write(0, 0).expect("partition");
        (main, part)
    }

    /// A read connection with the partition attached, as `StoreHandle::read` has it.
    fn reader(dir: &Path) -> Connection {
        let conn = open(dir).expect("open");
        let partitions = Partitions::open(dir, PartitionConfig::default()).expect("partitions");
        partitions.attach(&conn, &mut 0).expect("attach");
        conn
    }

    fn commit(
        (conn, part): &mut (Connection, Connection),
        group: &[Indexed],
    ) -> Vec<Result<(), WriteError>> {
        let last = group.last().map_or(0, |g| g.seq);
        let run: Vec<&Indexed> = group.iter().collect();
        let at = Positions {
            main_at: 0,
            part_at: 0,
        };
        match commit_group(conn, part, &run, last, at, None) {
            Ok(outcomes) => outcomes,
            Err(failed) => panic!("the transaction did not commit: {}", failed.error),
        }
    }

    fn stored_names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM spans ORDER BY trace_id")
            .expect("prepare");
        let rows = stmt.query_map([], |row| row.get(0)).expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    #[test]
    fn a_good_group_commits_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = stores(dir.path());
        let outcomes = commit(&mut conn, &group(vec![batch(1, "a"), batch(2, "b")]));
        assert_eq!(outcomes, vec![Ok(()), Ok(())]);
        assert_eq!(stored_names(&conn.1), ["a", "b"]);
    }

    #[test]
    fn a_bad_batch_fails_alone_and_the_rest_of_its_group_is_stored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = stores(dir.path());
        // A stand-in for a batch the database refuses (a full disk, a corrupt page, ...).
        conn.1
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON spans WHEN NEW.name = 'bad'
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )
            .expect("trigger");
        let requests = group(vec![batch(1, "a"), batch(2, "bad"), batch(3, "c")]);
        let outcomes = commit(&mut conn, &requests);
        assert_eq!(outcomes, vec![Ok(()), Err(WriteError::Failed), Ok(())]);
        assert_eq!(stored_names(&conn.1), ["a", "c"]);
    }

    fn with_resource(mut batch: Batch, service: &str) -> Batch {
        for span in &mut batch.spans {
            span.resource.insert("service.name".into(), service.into());
        }
        batch
    }

    fn read_resources(conn: &Connection, trace: u8) -> Vec<serde_json::Value> {
        let trace_id = TraceId([trace; 16]).to_string();
        let spans = super::super::trace_spans(conn, &trace_id).expect("read");
        spans.into_iter().map(|s| s.resource).collect()
    }

    /// Every trace, newest first, as `GET /api/traces` lists them without filters.
    fn search_all(read: &Connection, limit: u32) -> Vec<super::super::search::TraceHit> {
        let query = super::super::search::TraceQuery {
            to: i64::MAX,
            limit,
            ..Default::default()
        };
        super::super::search::search(read, &query)
            .expect("search")
            .0
    }

    #[test]
    fn recent_traces_are_summed_over_their_spans_newest_first_and_a_retry_counts_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = stores(dir.path());
        // Trace 1: a backend child span indexed before its browser root (a later request).
        let mut child = batch(1, "POST /api/cart");
        child.spans[0].span_id = SpanId([7; 8]);
        child.spans[0].parent_span_id = Some(SpanId([1; 8]));
        child.spans[0].start_unix_nano = 20;
        child.spans[0].end_unix_nano = 90;
        let child = with_resource(child, "shop-backend");
        let mut root = with_resource(batch(1, "HTTP POST"), "shop-web");
        root.spans[0].start_unix_nano = 10;
        root.spans[0].end_unix_nano = 50;
        let mut later = batch(2, "GET /later");
        later.spans[0].start_unix_nano = 100;
        later.spans[0].end_unix_nano = 110;
        let batches = vec![child, root, later];
        commit(&mut conn, &group(batches.clone()));
        // The same batches again (a retried request): nothing is counted twice.
        commit(&mut conn, &group(batches));
        let read = reader(dir.path());
        let traces = search_all(&read, 10);
        let summary: Vec<_> = traces
            .iter()
            .map(|t| {
                (
                    t.trace_id.clone(),
                    t.span_count,
                    t.root_name.clone(),
                    t.root_service.clone(),
                    t.start_time_unix_nano.clone(),
                    t.end_time_unix_nano.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    TraceId([2; 16]).to_string(),
                    1,
                    Some("GET /later".into()),
                    None,
                    "100".into(),
                    "110".into()
                ),
                (
                    TraceId([1; 16]).to_string(),
                    2,
                    Some("HTTP POST".into()),
                    Some("shop-web".into()),
                    "10".into(),
                    "90".into()
                ),
            ]
        );
        assert_eq!(search_all(&read, 1).len(), 1);
        // The root's service, and the child's: both sides of the trace.
        assert_eq!(
            traces[1].services,
            vec!["shop-web".to_string(), "shop-backend".to_string()]
        );
    }

    #[test]
    fn a_span_retried_epochs_later_is_stored_again_and_read_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = stores(dir.path());
        commit(&mut conn, &group(vec![batch(1, "first")]));
        // Jump three epochs ahead, as 393,216 other spans would.
        conn.1.execute(
            "INSERT INTO spans (rowid, trace_id, span_id, name, kind, start_unix_nano,
                end_unix_nano, status_code, status_message, attributes, resource, source, epoch)
             VALUES (?1, 'other', 'other', 'x', 'client', 0, 0, 'unset', '', '{}', '', 'browser', 2)",
            params![(3i64 << super::super::EPOCH_BITS) - 1],
        )
        .expect("filler");
        commit(&mut conn, &group(vec![batch(1, "first")]));
        let epochs: Vec<i64> = conn
            .1
            .prepare("SELECT epoch FROM spans WHERE name = 'first' ORDER BY rowid")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("epochs");
        assert_eq!(
            epochs,
            vec![0, 3],
            "stored again: the first copy is out of reach"
        );
        let trace_id = TraceId([1; 16]).to_string();
        let read = reader(dir.path());
        let spans = super::super::trace_spans(&read, &trace_id).expect("read");
        assert_eq!(spans.len(), 1);
        // Listed once; its span count counts the far copy too (the search index is appended
        // per stored span, docs/api.md).
        let traces = search_all(&read, 10);
        let listed: Vec<_> = traces
            .iter()
            .filter(|t| t.trace_id == trace_id)
            .map(|t| t.span_count)
            .collect();
        assert_eq!(listed.len(), 1);
        // Within reach (this epoch or the one before), a retry is not stored again.
        commit(&mut conn, &group(vec![batch(1, "first")]));
        let copies: i64 = conn
            .1
            .query_row("SELECT count(*) FROM spans WHERE name = 'first'", [], |r| {
                r.get(0)
            })
            .expect("count");
        assert_eq!(copies, 2);
    }

    #[test]
    fn a_resource_is_stored_once_and_read_back_with_each_span() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = stores(dir.path());
        let mut two = with_resource(batch(1, "a"), "shop-web");
        let mut second = two.spans[0].clone();
        second.span_id = SpanId([9; 8]);
        two.spans.push(second);
        let outcomes = commit(
            &mut conn,
            &group(vec![two, with_resource(batch(2, "b"), "shop-web")]),
        );
        assert_eq!(outcomes, vec![Ok(()), Ok(())]);
        let count: i64 = conn
            .0
            .query_row("SELECT count(*) FROM resources", [], |r| r.get(0))
            .expect("count");
        assert_eq!(count, 1, "three spans, one resource row");
        let inline: i64 = conn
            .1
            .query_row("SELECT count(*) FROM spans WHERE resource != ''", [], |r| {
                r.get(0)
            })
            .expect("count");
        assert_eq!(inline, 0);
        let want = serde_json::json!({ "service.name": "shop-web" });
        let read = reader(dir.path());
        assert_eq!(read_resources(&read, 1), vec![want.clone(), want.clone()]);
        assert_eq!(read_resources(&read, 2), vec![want]);
    }

    #[test]
    fn rows_with_an_inline_resource_still_read_and_a_hash_collision_goes_inline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = stores(dir.path());
        // A row as stores wrote them before the resources table existed (in `main`: before
        // partitions too).
        conn.0.execute(
            "INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_unix_nano,
                end_unix_nano, status_code, status_message, attributes, resource, source)
             VALUES (?1, ?2, NULL, 'old', 'client', 1, 2, 'unset', '', '{}', '{\"service.name\":\"old\"}', 'browser')",
            params![TraceId([3; 16]).to_string(), SpanId([3; 8]).to_string()],
        )
        .expect("old row");
        assert_eq!(
            read_resources(&reader(dir.path()), 3),
            vec![serde_json::json!({ "service.name": "old" })]
        );
        // Another resource already holds this one's hash.
        let json = serde_json::to_string(&with_resource(batch(4, "x"), "new").spans[0].resource)
            .expect("json");
        conn.0.execute(
            "INSERT INTO resources (resource_hash, attributes) VALUES (?1, '{\"service.name\":\"other\"}')",
            params![resource_hash(&json)],
        )
        .expect("colliding row");
        let outcomes = commit(&mut conn, &group(vec![with_resource(batch(4, "x"), "new")]));
        assert_eq!(outcomes, vec![Ok(())]);
        assert_eq!(
            read_resources(&reader(dir.path()), 4),
            vec![serde_json::json!({ "service.name": "new" })]
        );
    }

    /// The size of the span partitions' files whose names end with `suffix` (spans go there).
    fn partition_bytes(dir: &Path, suffix: &str) -> u64 {
        std::fs::read_dir(dir.join(super::super::partitions::DIR))
            .map(|files| {
                files
                    .filter_map(Result::ok)
                    .filter(|f| f.file_name().to_string_lossy().ends_with(suffix))
                    .filter_map(|f| f.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_steady_writes_the_wal_stays_near_its_limit() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let dir = tempfile::tempdir().expect("tempdir");
        let extras = Extras {
            wal_limit_bytes: 1 << 20,
            ..Extras::default()
        };
        let (store, writer) = start_with(dir.path(), 256, extras).expect("store");
        let template = batch(1, "steady").spans[0].clone();
        // 24 MiB of rows (unbounded, the WAL outgrows the rows, index pages too: 56 MB for
        // 21 MB here), however long a loaded machine takes (at most 30 s).
        const ROWS: u64 = 24 << 20;
        let written = Arc::new(AtomicU64::new(0));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let going = {
            let written = Arc::clone(&written);
            move || written.load(Ordering::Relaxed) < ROWS && std::time::Instant::now() < deadline
        };
        // Writers that keep the indexer busy the whole time, as sustained load does.
        let tasks: Vec<_> = (0..8u8)
            .map(|task| {
                let (store, template, going, written) = (
                    store.clone(),
                    template.clone(),
                    going.clone(),
                    Arc::clone(&written),
                );
                tokio::spawn(async move {
                    let mut n = 0u32;
                    while going() {
                        let spans = (0..20u8)
                            .map(|i| {
                                let mut span = template.clone();
                                let mut id = [task; 16];
                                id[..4].copy_from_slice(&n.to_be_bytes());
                                id[4] = i;
                                span.trace_id = TraceId(id);
                                span.attributes
                                    .insert("pad".into(), "x".repeat(1000).into());
                                span
                            })
                            .collect();
                        if store
                            .write(Batch {
                                spans,
                                ..Batch::default()
                            })
                            .await
                            .is_ok()
                        {
                            written.fetch_add(20 * 1100, Ordering::Relaxed);
                        }
                        n += 1;
                    }
                })
            })
            .collect();
        let mut largest = 0;
        while going() {
            largest = largest.max(partition_bytes(dir.path(), "-wal"));
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        for task in tasks {
            task.await.expect("task");
        }
        let written = written.load(Ordering::Relaxed);
        assert!(written >= ROWS, "only {written} B written in 30 s");
        // The limit plus one index group's pages (up to 256 requests of 22 KB of rows here).
        assert!(
            largest < 28 << 20,
            "the WAL reached {largest} B ({written} B of rows written)"
        );
        drop(store);
        writer.join();
    }

    #[tokio::test]
    async fn committed_pages_reach_the_database_file_without_the_writer_checkpointing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, writer) = start(dir.path(), 8).expect("store");
        let db_size = || partition_bytes(dir.path(), ".sqlite");
        let before = db_size();
        // About 400 KB of spans: far more than the empty store's pages.
        let mut big = batch(1, "big");
        let template = big.spans[0].clone();
        big.spans = (0..200u8)
            .map(|n| {
                let mut span = template.clone();
                span.trace_id = TraceId([n; 16]);
                span.attributes
                    .insert("pad".into(), "x".repeat(2000).into());
                span
            })
            .collect();
        store.write(big).await.expect("write");
        // The writer never checkpoints (wal_autocheckpoint = 0); the checkpointer does, within
        // a few of its periods.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while db_size() < before + 400_000 && std::time::Instant::now() < deadline {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
        }
        assert!(
            db_size() >= before + 400_000,
            "database file {} B, was {before} B",
            db_size()
        );
        drop(store);
        writer.join();
    }

    /// A click (an action span of session `s1`) in trace `n`.
    fn click(n: u8) -> Batch {
        let mut batch = batch(n, "click");
        batch.spans[0].attributes = testing::attributes(serde_json::json!({
            "session.id": "s1",
            "rum.action.type": "click",
        }));
        batch
    }

    async fn session_actions(store: &StoreHandle) -> i64 {
        store
            .read(|c| super::super::sessions::recent_sessions(c, 10))
            .await
            .expect("read")
            .iter()
            .map(|s| s.action_count)
            .sum()
    }

    #[tokio::test]
    async fn a_crash_between_the_two_commits_replays_the_partition_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, writer) = start(dir.path(), 8).expect("store");
        store.write(click(1)).await.expect("write");
        assert!(store.wait_indexed());
        // The partition as it was after the first record: what a crash after rum.sqlite's
        // commit of the next two, and before the partition's, leaves.
        let partitions =
            Partitions::open(dir.path(), PartitionConfig::default()).expect("partitions");
        let part = partitions.newest().expect("a partition");
        let snapshot = dir.path().join("snapshot.sqlite");
        Connection::open(partitions.path(part))
            .and_then(|c| c.execute("VACUUM INTO ?1", [snapshot.to_string_lossy()]))
            .expect("snapshot");
        store.write(click(2)).await.expect("write");
        store.write(click(3)).await.expect("write");
        assert_eq!(session_actions(&store).await, 3);
        drop(store);
        writer.join();
        for suffix in ["-wal", "-shm"] {
            let mut file = partitions.path(part).into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
        std::fs::rename(&snapshot, partitions.path(part)).expect("roll back");
        let behind = Partitions::open(dir.path(), PartitionConfig::default()).expect("again");
        assert_eq!(behind.position(part).expect("position"), Some(1));

        let (store, writer) = start(dir.path(), 8).expect("restart");
        for n in 1..=3u8 {
            let trace_id = TraceId([n; 16]).to_string();
            let spans = store
                .read(move |c| super::super::trace_spans(c, &trace_id))
                .await
                .expect("read");
            assert_eq!(spans.len(), 1, "trace {n}'s span is back, once");
        }
        // rum.sqlite had the two records: its counts are not added again.
        assert_eq!(session_actions(&store).await, 3);
        let session = store
            .read(|c| super::super::sessions::session(c, "s1"))
            .await
            .expect("read")
            .expect("the session");
        let timeline = session.to_string();
        assert_eq!(
            timeline.matches("\"type\":\"action\"").count(),
            3,
            "{timeline}"
        );
        assert_eq!(
            Partitions::open(dir.path(), PartitionConfig::default())
                .and_then(|p| p.position(part))
                .expect("position"),
            Some(3)
        );
        drop(store);
        writer.join();
    }

    #[tokio::test]
    async fn spans_past_the_retention_go_with_their_partition_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = PartitionConfig {
            width_secs: 1,
            retention_secs: 2,
        };
        let extras = Extras {
            partitions: config,
            ..Extras::default()
        };
        let (store, writer) = start_with(dir.path(), 8, extras).expect("store");
        store.write(click(1)).await.expect("write");
        let trace = |n: u8| {
            let store = store.clone();
            async move {
                let trace_id = TraceId([n; 16]).to_string();
                store
                    .read(move |c| super::super::trace_spans(c, &trace_id))
                    .await
                    .expect("read")
                    .len()
            }
        };
        assert_eq!(trace(1).await, 1);
        let partitions = Partitions::open(dir.path(), config).expect("partitions");
        let first = partitions.newest().expect("a partition");
        // Its window ends within a second; 2 s after that it is past the retention.
        let expired = std::time::Instant::now() + Duration::from_millis(3_100);
        let mut n = 2;
        while std::time::Instant::now() < expired || partitions.path(first).exists() {
            store.write(click(n)).await.expect("write");
            n = n.wrapping_add(1).max(2);
            tokio::time::sleep(Duration::from_millis(250)).await;
            assert!(
                std::time::Instant::now() < expired + Duration::from_secs(5),
                "the partition was not deleted"
            );
        }
        assert_eq!(trace(1).await, 0, "gone with its file");
        assert_eq!(trace(n.wrapping_sub(1).max(2)).await, 1, "the newest stays");
        let files = std::fs::read_dir(dir.path().join(super::super::partitions::DIR))
            .expect("dir")
            .count();
        assert!(files <= 3 * 4, "{files} files: at most 4 partitions' files");
        drop(store);
        writer.join();
    }

    #[test]
    fn a_partition_commit_that_fails_after_rum_sqlite_committed_is_retried_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut main = open(dir.path()).expect("open");
        let partitions =
            Arc::new(Partitions::open(dir.path(), PartitionConfig::default()).expect("parts"));
        // A deferred foreign key that fails the partition's COMMIT (as a full disk might),
        // once its statements all succeeded, and after rum.sqlite's commit.
        partitions
            .open_for_write(0, 0)
            .and_then(|c| {
                c.execute_batch(
                    "CREATE TABLE missing (id INTEGER PRIMARY KEY);
                     CREATE TABLE guard (id INTEGER REFERENCES missing (id)
                         DEFERRABLE INITIALLY DEFERRED);
                     CREATE TRIGGER fail_commit AFTER INSERT ON spans
                     BEGIN INSERT INTO guard VALUES (1); END;",
                )
                .map_err(StoreError::from)
            })
            .expect("guard");
        let mut index = SpanIndex::new(Arc::clone(&partitions), 0, WAL_LIMIT_BYTES);
        let extras = Extras::default();
        let failed = index_group_keeping(
            &mut main,
            &mut index,
            &mut None,
            group(vec![click(1)]),
            &extras,
        );
        let Err((again, _)) = failed else {
            panic!("the partition's commit should fail");
        };
        assert_eq!(index.main_at, 1, "rum.sqlite committed first");
        let part = index.current.as_ref().expect("open partition");
        part.conn
            .execute_batch("DROP TRIGGER fail_commit")
            .expect("no more failures");
        index_group_keeping(&mut main, &mut index, &mut None, again, &extras)
            .map_err(|(_, e)| e)
            .expect("the retry commits");
        let actions: i64 = main
            .query_row("SELECT action_count FROM sessions", [], |r| r.get(0))
            .expect("session");
        assert_eq!(actions, 1, "rum.sqlite's part is not applied twice");
        let part = index.current.as_ref().expect("open partition");
        let spans: i64 = part
            .conn
            .query_row("SELECT count(*) FROM spans", [], |r| r.get(0))
            .expect("spans");
        assert_eq!(spans, 1, "the partition's part came with the retry");
    }
}
