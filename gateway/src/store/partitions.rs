//! Time partitions of the span index: the spans, their events and links, the trace starts and
//! the sessions' span index, in one SQLite file per window of receive time
//! (`store.partition_hours`) under `{data_dir}/partitions/`. Deleting a time range is deleting
//! files ([`Partitions::drop_expired`]), whatever they hold; the rest of the store (page views,
//! vitals, sessions, errors, resources) stays in `rum.sqlite`.
//!
//! * **Writes.** The indexer writes a record's spans into the partition of its receive time,
//!   never into an older partition than the one it last wrote (so the files stay in time order
//!   and a crash's replay lands where the first attempt did). `rum.sqlite` commits first, then
//!   the partition; each keeps its own `ingest_log_position`, so after a crash between the two
//!   the replay writes the partition's part alone (`writer.rs`).
//! * **Reads.** The read connection attaches every partition (`p{start}`, the window's start in
//!   Unix seconds) and a read of spans is a `UNION ALL` over `main` (spans stored before
//!   partitions existed) and them ([`union_all`]), each arm using its own file's indexes.
//! * **Bounds.** SQLite attaches at most 10 files, so a retention spans at most
//!   [`MAX_PARTITIONS_PER_RETENTION`] partitions (checked at start).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rusqlite::{params, Connection};

use super::StoreError;

/// The directory of the partition files, inside the data directory.
pub const DIR: &str = "partitions";

/// Most partitions one retention period may span: with the one being written, and one that
/// ends just inside the period, the read connection attaches at most 10 (SQLite's limit).
pub const MAX_PARTITIONS_PER_RETENTION: u64 = 8;

/// The most files the read connection attaches (SQLite's default `SQLITE_MAX_ATTACHED`).
const MAX_ATTACHED: usize = 10;

/// How long a partition spans and how long spans are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionConfig {
    /// The width of one partition's window of receive time, seconds.
    pub width_secs: u64,
    /// Partitions whose window ended longer ago than this are deleted, seconds.
    pub retention_secs: u64,
}

impl Default for PartitionConfig {
    /// One day per partition, seven days kept.
    fn default() -> Self {
        PartitionConfig {
            width_secs: 24 * 3600,
            retention_secs: 7 * 24 * 3600,
        }
    }
}

impl PartitionConfig {
    /// Why this configuration cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.width_secs == 0 {
            return Err("the partition width must be greater than zero".into());
        }
        if self.retention_secs < self.width_secs {
            return Err("the retention must be at least one partition wide".into());
        }
        if self.retention_secs > self.width_secs * MAX_PARTITIONS_PER_RETENTION {
            return Err(format!(
                "the retention may span at most {MAX_PARTITIONS_PER_RETENTION} partitions \
                 (SQLite attaches at most 10 files): make partitions at least {} hours wide",
                self.retention_secs
                    .div_ceil(MAX_PARTITIONS_PER_RETENTION * 3600)
            ));
        }
        Ok(())
    }
}

/// The partition files of one data directory, shared by the indexer (which creates them),
/// the retention pass (which deletes them) and the read connection (which attaches them).
#[derive(Debug)]
pub struct Partitions {
    dir: PathBuf,
    config: PartitionConfig,
    /// The windows' starts, Unix seconds, oldest first.
    starts: Mutex<Vec<i64>>,
    /// Bumped on every change to `starts`, so a reader re-attaches only then.
    generation: AtomicU64,
}

/// The schema name a partition is attached under.
pub fn schema(start: i64) -> String {
    format!("p{start}")
}

/// Tables of one partition file (the same as `main`'s of the same names).
fn partition_schema() -> String {
    format!(
        "{}{}{}{}{}",
        super::SPANS_TABLE,
        super::SPAN_TABLES,
        super::search::TRACE_INDEX_TABLE,
        super::sessions::SESSION_SPANS_TABLE,
        super::POSITION_TABLE
    )
}

impl Partitions {
    /// The partitions in `data_dir` (creating the directory).
    pub fn open(data_dir: &Path, config: PartitionConfig) -> Result<Partitions, StoreError> {
        let dir = data_dir.join(DIR);
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let mut starts: Vec<i64> = std::fs::read_dir(&dir)
            .map_err(|source| StoreError::CreateDir {
                path: dir.clone(),
                source,
            })?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_prefix('p')?
                    .strip_suffix(".sqlite")?
                    .parse::<i64>()
                    .ok()
            })
            .collect();
        starts.sort_unstable();
        Ok(Partitions {
            dir,
            config,
            starts: Mutex::new(starts),
            generation: AtomicU64::new(1),
        })
    }

    pub fn config(&self) -> PartitionConfig {
        self.config
    }

    /// The start (Unix seconds) of the window holding `unix_nano`.
    pub fn start_of(&self, unix_nano: i64) -> i64 {
        let width = i64::try_from(self.config.width_secs).unwrap_or(i64::MAX);
        unix_nano.div_euclid(1_000_000_000).div_euclid(width) * width
    }

    pub fn path(&self, start: i64) -> PathBuf {
        self.dir.join(format!("p{start}.sqlite"))
    }

    /// Partition `start`'s files: the database, its WAL and its shared-memory index.
    pub fn files(&self, start: i64) -> [PathBuf; 3] {
        let path = self.path(start);
        let with = |suffix: &str| {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            PathBuf::from(file)
        };
        let (wal, shm) = (with("-wal"), with("-shm"));
        [path, wal, shm]
    }

    /// The partitions on disk, oldest first.
    pub fn starts(&self) -> Vec<i64> {
        self.lock().clone()
    }

    pub fn newest(&self) -> Option<i64> {
        self.lock().last().copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<i64>> {
        self.starts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens partition `start` for writing, creating it with `position` as its ingest log
    /// position (the last record indexed before it) when it is new.
    pub fn open_for_write(&self, start: i64, position: u64) -> Result<Connection, StoreError> {
        let conn = Connection::open(self.path(start))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Schema and position in one transaction: a file has both or neither (a crash just
        // after it was created leaves it empty).
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {}", partition_schema()))?;
        conn.execute(
            "INSERT OR IGNORE INTO ingest_log_position (id, indexed_seq) VALUES (0, ?1)",
            params![i64::try_from(position).unwrap_or(i64::MAX)],
        )?;
        conn.execute_batch("COMMIT")?;
        let mut starts = self.lock();
        if let Err(at) = starts.binary_search(&start) {
            starts.insert(at, start);
            self.generation.fetch_add(1, Ordering::Release);
        }
        Ok(conn)
    }

    /// The ingest log position partition `start` has indexed; None when it does not exist or
    /// a crash left it empty (nothing was committed to it: it has no records past
    /// `rum.sqlite`'s position).
    pub fn position(&self, start: i64) -> Result<Option<u64>, StoreError> {
        if !self.path(start).exists() {
            return Ok(None);
        }
        let conn = Connection::open(self.path(start))?;
        match super::indexed_position(&conn) {
            // A file created and never given its schema (a crash at that moment).
            Err(rusqlite::Error::SqliteFailure(..)) => Ok(None),
            seq => Ok(seq?),
        }
    }

    /// The partitions whose window ended more than the retention before `now_unix_nano`
    /// (never `keep`, the one being written), oldest first.
    pub fn expiring(&self, now_unix_nano: i64, keep: Option<i64>) -> Vec<i64> {
        let width = i64::try_from(self.config.width_secs).unwrap_or(i64::MAX);
        let retention = i64::try_from(self.config.retention_secs).unwrap_or(i64::MAX);
        let cutoff = now_unix_nano.div_euclid(1_000_000_000) - retention;
        self.lock()
            .iter()
            .copied()
            .filter(|&s| s.saturating_add(width) <= cutoff && Some(s) != keep)
            .collect()
    }

    /// The directory of the partition files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Deletes the partitions whose window ended more than the retention before `now_unix_nano`
    /// (never `keep`, the one being written); returns their starts. A reader still attached to
    /// one detaches it before its next read; the space is freed then.
    pub fn drop_expired(&self, now_unix_nano: i64, keep: Option<i64>) -> Vec<i64> {
        let expired = self.expiring(now_unix_nano, keep);
        for &start in &expired {
            self.remove(start);
        }
        expired
    }

    /// Deletes partition `start`'s files.
    pub fn remove(&self, start: i64) {
        {
            let mut starts = self.lock();
            let before = starts.len();
            starts.retain(|&s| s != start);
            if starts.len() != before {
                self.generation.fetch_add(1, Ordering::Release);
            }
        }
        {
            for file in self.files(start) {
                match std::fs::remove_file(&file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => {
                        tracing::warn!(%error, file = %file.display(), "A partition file could not be deleted.")
                    }
                }
            }
            tracing::info!(partition = start, "Deleted a span partition.");
        }
    }

    /// Attaches the partitions to a read connection, and detaches the deleted ones, when they
    /// changed since `seen` (the generation it last attached).
    pub fn attach(&self, conn: &Connection, seen: &mut u64) -> Result<(), StoreError> {
        let generation = self.generation.load(Ordering::Acquire);
        if *seen == generation {
            return Ok(());
        }
        let starts = self.starts();
        // The newest, within SQLite's limit (the retention check keeps them within it).
        let wanted: Vec<String> = starts
            .iter()
            .rev()
            .take(MAX_ATTACHED)
            .map(|&s| schema(s))
            .collect();
        let present = attached(conn)?;
        for name in present.iter().filter(|name| !wanted.contains(name)) {
            conn.execute_batch(&format!("DETACH DATABASE \"{name}\""))?;
        }
        for (&start, name) in starts.iter().rev().zip(wanted) {
            if present.contains(&name) {
                continue;
            }
            // mode=rw: a file deleted meanwhile is an error here, not a new empty file.
            let uri = format!("file:{}?mode=rw", uri_path(&self.path(start)));
            if let Err(error) = conn.execute("ATTACH DATABASE ?1 AS ?2", params![uri, name]) {
                tracing::warn!(%error, partition = start, "A span partition could not be attached.");
            }
        }
        *seen = generation;
        Ok(())
    }
}

/// The partitions attached to `conn`, by schema name.
fn attached(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let names = conn
        .prepare("SELECT name FROM pragma_database_list WHERE name GLOB 'p[0-9]*'")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names)
}

/// The schemas that hold spans on `conn`: `main` (spans stored before partitions) and each
/// attached partition, oldest first.
pub fn sources(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut parts: Vec<(i64, String)> = attached(conn)?
        .into_iter()
        .filter_map(|name| Some((name[1..].parse().ok()?, name)))
        .collect();
    parts.sort_unstable();
    let mut sources = vec!["main".to_string()];
    sources.extend(parts.into_iter().map(|(_, name)| name));
    Ok(sources)
}

/// `arm` once per source, joined by `UNION ALL`: `{s}` in it becomes the schema, and
/// `{epochs}` the epochs of that schema's spans (the `IN` list of `spans_by_id`'s first column:
/// one index seek per epoch).
pub fn union_all(sources: &[String], arm: &str) -> String {
    sources
        .iter()
        .map(|s| arm.replace("{epochs}", &epochs(s)).replace("{s}", s))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// Every epoch `{schema}.spans` holds, for `epoch IN (…) AND trace_id = ?`.
fn epochs(schema: &str) -> String {
    format!(
        "(WITH RECURSIVE e(n) AS (
            SELECT min(epoch) FROM {schema}.spans
            UNION ALL SELECT n + 1 FROM e WHERE n < (SELECT max(epoch) FROM {schema}.spans))
         SELECT n FROM e WHERE n IS NOT NULL)"
    )
}

/// A path as the path of a `file:` URI.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    fn config(width_secs: u64, retention_secs: u64) -> PartitionConfig {
        PartitionConfig {
            width_secs,
            retention_secs,
        }
    }

    #[test]
    fn a_retention_beyond_what_sqlite_can_attach_is_refused_with_the_width_it_needs() {
        assert!(PartitionConfig::default().check().is_ok());
        let error = config(24 * 3600, 90 * 24 * 3600)
            .check()
            .expect_err("refused");
        assert!(error.contains("at least 270 hours"), "{error}");
        assert!(config(0, 10).check().is_err());
        assert!(config(10, 5).check().is_err());
    }

    #[test]
    fn expired_partitions_are_deleted_as_files_and_readers_detach_them() {
        let dir = tempfile::tempdir().expect("dir");
        let parts = Partitions::open(dir.path(), config(10, 20)).expect("open");
        assert_eq!(parts.start_of(1_000_000 * SEC + 5), 1_000_000);
        assert_eq!(parts.start_of(1_000_009 * SEC), 1_000_000);
        for start in [1_000_000, 1_000_010, 1_000_020, 1_000_030] {
            parts.open_for_write(start, 7).expect("create");
        }
        let reader = Connection::open_in_memory().expect("reader");
        let mut seen = 0;
        parts.attach(&reader, &mut seen).expect("attach");
        assert_eq!(
            sources(&reader).expect("sources"),
            ["main", "p1000000", "p1000010", "p1000020", "p1000030"]
        );
        // At 1,000,041 s the windows ending at or before 1,000,021 s are past a 20 s retention.
        let dropped = parts.drop_expired(1_000_041 * SEC, Some(1_000_030));
        assert_eq!(dropped, [1_000_000, 1_000_010]);
        assert!(!parts.path(1_000_000).exists());
        assert!(!dir.path().join(DIR).join("p1000010.sqlite-wal").exists());
        assert!(parts.path(1_000_020).exists());
        parts.attach(&reader, &mut seen).expect("re-attach");
        assert_eq!(
            sources(&reader).expect("sources"),
            ["main", "p1000020", "p1000030"]
        );
        // The one being written is kept whatever its age; a new Partitions finds what is left.
        assert!(parts.drop_expired(1_000_100 * SEC, Some(1_000_030)) == [1_000_020]);
        let again = Partitions::open(dir.path(), config(10, 20)).expect("reopen");
        assert_eq!(again.starts(), [1_000_030]);
        assert_eq!(again.position(1_000_030).expect("position"), Some(7));
        assert_eq!(again.position(1_000_000).expect("gone"), None);
    }
}
