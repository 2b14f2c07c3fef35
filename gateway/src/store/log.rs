//! The ingest log: every batch the gateway acknowledges, appended in order to segment files
//! and synced to disk before the acknowledgement, one sync for a whole group of requests.
//! The SQLite index is built from it afterwards ([`super::writer`]), and after a crash it is
//! rebuilt from the log's records past the last indexed sequence number. Sequential appends
//! and one `fdatasync` per group are what a durable acknowledgement costs here; the B-tree
//! work happens off the acknowledgement's path (docs/architecture.md, "The store").
//!
//! A segment, `log/{first sequence number:020}.log`, holds records back to back:
//!
//! ```text
//! length u32 LE | crc32 u32 LE (of the next two fields) | sequence u64 LE | payload (length bytes)
//! ```
//!
//! A record cut short or failing its checksum at the end of the last segment is a write the
//! crash interrupted (never acknowledged): it is cut off at start-up. Anywhere else it is
//! corruption, and the gateway refuses to start rather than serve or skip past it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The log's directory inside the data directory.
pub const LOG_DIR: &str = "log";
/// A segment is closed and a new one started once it has grown past this.
pub const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// A length above this is a corrupt header, not a record (a request body is capped far below).
const MAX_RECORD_BYTES: u32 = 256 * 1024 * 1024;
const HEADER_BYTES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("ingest log {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "the data directory is in use by another rum-gateway (lock on {0}); each gateway needs its own"
    )]
    Locked(PathBuf),
    #[error("ingest log {path} is corrupt at byte {offset} ({why}), before its end: move the file away to start without what follows")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        why: &'static str,
    },
    #[error("the ingest log failed earlier and takes no more writes until a restart")]
    Broken,
}

/// One record read back: its sequence number and payload.
pub type Record = (u64, Vec<u8>);

/// What [`Log::open`] found: the records still to be indexed, and the bytes of a torn tail
/// it cut off.
#[derive(Debug, Default)]
pub struct Recovery {
    pub unindexed: Vec<Record>,
    pub torn_bytes_cut: u64,
}

pub struct Log {
    dir: PathBuf,
    /// Segments by first sequence number; the last is the one appended to.
    segments: Vec<(u64, PathBuf)>,
    current: File,
    current_len: u64,
    next_seq: u64,
    /// After a failed write whose bytes could not be cut back, nothing more is appended.
    broken: bool,
    /// Held for the log's life: a second gateway on the same directory is refused.
    _lock: File,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}.log"))
}

/// Makes a created or removed file's directory entry durable.
/// The segments in `dir`, by first sequence number, oldest first.
fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, LogError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        let first = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(first) = first {
            segments.push((first, path));
        }
    }
    segments.sort();
    Ok(segments)
}

fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

impl Log {
    /// Opens the log in `data_dir` (creating it), cuts a torn tail, and returns the records
    /// after sequence number `indexed`, in order.
    pub fn open(data_dir: &Path, indexed: u64) -> Result<(Log, Recovery), LogError> {
        let dir = data_dir.join(LOG_DIR);
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let lock_path = dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        if lock.try_lock().is_err() {
            return Err(LogError::Locked(lock_path));
        }
        let mut segments = list_segments(&dir)?;
        let mut recovery = Recovery::default();
        let mut next_seq = indexed + 1;
        let last = segments.len().checked_sub(1);
        for (i, (first, path)) in segments.iter().enumerate() {
            // A segment wholly indexed is not read (its successor starts past `indexed`).
            if segments
                .get(i + 1)
                .is_some_and(|(next, _)| *next <= indexed + 1)
            {
                next_seq = next_seq.max(*first);
                continue;
            }
            let bytes = fs::read(path).map_err(io_error(path))?;
            let (records, valid_len, torn) = scan(&bytes);
            if let Some(why) = torn {
                if Some(i) != last {
                    return Err(LogError::Corrupt {
                        path: path.clone(),
                        offset: valid_len as u64,
                        why,
                    });
                }
                let cut = (bytes.len() - valid_len) as u64;
                tracing::warn!(path = %path.display(), offset = valid_len, bytes = cut, reason = why, "Cut the ingest log's torn tail (a write the crash interrupted; never acknowledged).");
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io_error(path))?;
                file.set_len(valid_len as u64).map_err(io_error(path))?;
                file.sync_all().map_err(io_error(path))?;
                recovery.torn_bytes_cut = cut;
            }
            next_seq = next_seq.max(*first);
            for (seq, payload) in records {
                next_seq = next_seq.max(seq + 1);
                if seq > indexed {
                    recovery.unindexed.push((seq, payload.to_vec()));
                }
            }
        }
        let current_path = match segments.last() {
            Some((_, path)) => path.clone(),
            None => {
                let path = segment_path(&dir, next_seq);
                segments.push((next_seq, path.clone()));
                path
            }
        };
        let current = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&current_path)
            .map_err(io_error(&current_path))?;
        let current_len = current.metadata().map_err(io_error(&current_path))?.len();
        sync_dir(&dir)?;
        Ok((
            Log {
                dir,
                segments,
                current,
                current_len,
                next_seq,
                broken: false,
                _lock: lock,
            },
            recovery,
        ))
    }

    /// Appends `payloads` as consecutive records and syncs them to disk; returns the first
    /// one's sequence number. On failure nothing of them stays in the log.
    pub fn append(&mut self, payloads: &[&[u8]]) -> Result<u64, LogError> {
        if self.broken {
            return Err(LogError::Broken);
        }
        if self.current_len >= SEGMENT_BYTES {
            self.roll()?;
        }
        let first = self.next_seq;
        let size: usize = payloads.iter().map(|p| p.len() + HEADER_BYTES).sum();
        let mut buf = Vec::with_capacity(size);
        for (i, payload) in payloads.iter().enumerate() {
            let seq = first + i as u64;
            let len = u32::try_from(payload.len())
                .ok()
                .filter(|&n| n <= MAX_RECORD_BYTES)
                .ok_or_else(|| LogError::Io {
                    path: self.current_path(),
                    source: io::Error::new(io::ErrorKind::InvalidInput, "record too large"),
                })?;
            buf.extend_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(&checksum(seq, payload).to_le_bytes());
            buf.extend_from_slice(&seq.to_le_bytes());
            buf.extend_from_slice(payload);
        }
        let written = self
            .current
            .write_all(&buf)
            .and_then(|()| self.current.sync_data());
        if let Err(source) = written {
            // A full disk or a failed sync: cut back to what was there, so the log holds no
            // record that was not acknowledged as written.
            let path = self.current_path();
            if let Err(error) = self
                .current
                .set_len(self.current_len)
                .and_then(|()| self.current.sync_data())
            {
                tracing::error!(path = %path.display(), %error, "Could not cut a failed write out of the ingest log; refusing writes until restarted.");
                self.broken = true;
            }
            return Err(LogError::Io { path, source });
        }
        self.current_len += buf.len() as u64;
        self.next_seq += payloads.len() as u64;
        Ok(first)
    }

    /// Deletes the closed segments whose every record is indexed (at or before `indexed`).
    pub fn trim(&mut self, indexed: u64) {
        let mut removed = false;
        while self.segments.len() > 1 && self.segments[1].0 <= indexed + 1 {
            let (_, path) = self.segments.remove(0);
            match fs::remove_file(&path) {
                Ok(()) => removed = true,
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "Could not delete an indexed ingest log segment.");
                    self.segments.insert(0, (0, path));
                    break;
                }
            }
        }
        if removed {
            if let Err(error) = sync_dir(&self.dir) {
                tracing::warn!(%error, "Could not sync the ingest log directory.");
            }
        }
    }

    /// The sequence number the next record gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn current_path(&self) -> PathBuf {
        self.segments
            .last()
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| self.dir.clone())
    }

    pub(crate) fn roll(&mut self) -> Result<(), LogError> {
        let path = segment_path(&self.dir, self.next_seq);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_error(&path))?;
        sync_dir(&self.dir)?;
        self.segments.push((self.next_seq, path));
        self.current = file;
        self.current_len = 0;
        Ok(())
    }
}

/// The valid records at the start of a segment's bytes, the length they cover, and why the
/// rest (if any) is not a record.
/// Where a record starts: its segment (by first sequence number) and its header's offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordAt {
    pub segment: u64,
    pub offset: u64,
}

/// Reads the log's records in order from its segment files, for a consumer that keeps its own
/// position (the exporter, `super::export_queue`). It reads only what the appender has
/// acknowledged (the caller passes that sequence number), so it never sees a write that may
/// still be cut back. It reads ahead of what its consumer has finished, which is what keeps
/// the segments it reads from being trimmed.
pub struct LogReader {
    dir: PathBuf,
    /// The next record to read.
    next_seq: u64,
    /// The open segment: its first sequence number, the file, the offset of the next header.
    at: Option<(u64, File, u64)>,
}

impl LogReader {
    /// A reader whose first record is `after + 1`.
    pub fn new(data_dir: &Path, after: u64) -> LogReader {
        LogReader {
            dir: data_dir.join(LOG_DIR),
            next_seq: after + 1,
            at: None,
        }
    }

    /// The next record it will read.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Up to `max` records in order, none past `last` (the last acknowledged). A record
    /// trimmed away before it was read is skipped: the first returned may then come after a
    /// gap, which the caller sees in the sequence numbers.
    pub fn read(
        &mut self,
        last: u64,
        max: usize,
    ) -> Result<Vec<(u64, RecordAt, Vec<u8>)>, LogError> {
        let mut out = Vec::new();
        while out.len() < max && self.next_seq <= last {
            if self.at.is_none() && !self.open_segment()? {
                break;
            }
            let Some((first, file, offset)) = self.at.as_mut() else {
                break;
            };
            let path = segment_path(&self.dir, *first);
            let mut header = [0u8; HEADER_BYTES];
            let got = read_full(file, *offset, &mut header).map_err(io_error(&path))?;
            if got < HEADER_BYTES {
                // The end of this segment: on to the next one if the appender rolled over.
                let next = segment_path(&self.dir, self.next_seq);
                if got == 0 && next.exists() {
                    self.at = None;
                    continue;
                }
                break;
            }
            let (len, crc, seq) = parse_header(&header);
            if seq > last {
                break;
            }
            let corrupt = |why| LogError::Corrupt {
                path: path.clone(),
                offset: *offset,
                why,
            };
            if len > MAX_RECORD_BYTES {
                return Err(corrupt("an impossible length"));
            }
            let record_at = RecordAt {
                segment: *first,
                offset: *offset,
            };
            if seq < self.next_seq {
                // Before the reader's start, in the segment it began in.
                *offset += HEADER_BYTES as u64 + u64::from(len);
                continue;
            }
            let mut payload = vec![0u8; len as usize];
            let body = read_full(file, *offset + HEADER_BYTES as u64, &mut payload)
                .map_err(io_error(&path))?;
            if body < payload.len() {
                return Err(corrupt("a record cut short before the acknowledged end"));
            }
            if checksum(seq, &payload) != crc {
                return Err(corrupt("a checksum mismatch"));
            }
            *offset += (HEADER_BYTES + payload.len()) as u64;
            self.next_seq = seq + 1;
            out.push((seq, record_at, payload));
        }
        Ok(out)
    }

    /// Opens the segment holding `next_seq` (or, when that was trimmed, the oldest one);
    /// false when the log has no segment to read yet.
    fn open_segment(&mut self) -> Result<bool, LogError> {
        let firsts: Vec<u64> = list_segments(&self.dir)?
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        let first = match firsts.iter().rev().find(|&&f| f <= self.next_seq) {
            Some(&f) => f,
            None => match firsts.first() {
                Some(&f) => {
                    self.next_seq = f;
                    f
                }
                None => return Ok(false),
            },
        };
        let path = segment_path(&self.dir, first);
        let file = File::open(&path).map_err(io_error(&path))?;
        self.at = Some((first, file, 0));
        Ok(true)
    }
}

/// The payload of the record at `at`, read again (a consumer keeps positions, not payloads).
pub fn read_at(data_dir: &Path, at: RecordAt) -> Result<Vec<u8>, LogError> {
    let path = segment_path(&data_dir.join(LOG_DIR), at.segment);
    let file = File::open(&path).map_err(io_error(&path))?;
    let mut header = [0u8; HEADER_BYTES];
    let got = read_full(&file, at.offset, &mut header).map_err(io_error(&path))?;
    let (len, crc, seq) = parse_header(&header);
    let corrupt = |why| LogError::Corrupt {
        path: path.clone(),
        offset: at.offset,
        why,
    };
    if got < HEADER_BYTES || len > MAX_RECORD_BYTES {
        return Err(corrupt("no record where one was read before"));
    }
    let mut payload = vec![0u8; len as usize];
    let body =
        read_full(&file, at.offset + HEADER_BYTES as u64, &mut payload).map_err(io_error(&path))?;
    if body < payload.len() || checksum(seq, &payload) != crc {
        return Err(corrupt("a record that no longer reads as it did"));
    }
    Ok(payload)
}

/// Reads into `buf` from `offset` until it is full or the file ends; how many bytes came.
fn read_full(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A header's length, checksum and sequence number.
fn parse_header(header: &[u8; HEADER_BYTES]) -> (u32, u32, u64) {
    let mut word = [0u8; 4];
    word.copy_from_slice(&header[0..4]);
    let len = u32::from_le_bytes(word);
    word.copy_from_slice(&header[4..8]);
    let crc = u32::from_le_bytes(word);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&header[8..16]);
    (len, crc, u64::from_le_bytes(seq))
}

fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&seq.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

type Scan<'a> = (Vec<(u64, &'a [u8])>, usize, Option<&'static str>);

fn scan(bytes: &[u8]) -> Scan<'_> {
    let mut records = Vec::new();
    let mut at = 0;
    let mut prev: Option<u64> = None;
    while at < bytes.len() {
        let Some(header) = bytes.get(at..at + HEADER_BYTES) else {
            return (records, at, Some("a header cut short"));
        };
        let mut fixed = [0u8; HEADER_BYTES];
        fixed.copy_from_slice(header);
        let (len, crc, seq) = parse_header(&fixed);
        if len > MAX_RECORD_BYTES {
            return (records, at, Some("an impossible length"));
        }
        let start = at + HEADER_BYTES;
        let Some(payload) = bytes.get(start..start + len as usize) else {
            return (records, at, Some("a record cut short"));
        };
        if checksum(seq, payload) != crc {
            return (records, at, Some("a checksum mismatch"));
        }
        if prev.is_some_and(|p| seq != p + 1) {
            return (records, at, Some("a sequence number out of order"));
        }
        prev = Some(seq);
        records.push((seq, payload));
        at = start + len as usize;
    }
    (records, at, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(dir: &Path) -> PathBuf {
        let mut files: Vec<_> = fs::read_dir(dir.join(LOG_DIR))
            .expect("log dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        files.sort();
        files.pop().expect("a segment")
    }

    #[test]
    fn records_come_back_in_order_after_the_indexed_position() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (mut log, recovery) = Log::open(dir.path(), 0).expect("open");
            assert!(recovery.unindexed.is_empty());
            assert_eq!(log.append(&[b"a", b"bb"]).expect("append"), 1);
            assert_eq!(log.append(&[b"ccc"]).expect("append"), 3);
        }
        let (log, recovery) = Log::open(dir.path(), 1).expect("reopen");
        assert_eq!(
            recovery.unindexed,
            vec![(2, b"bb".to_vec()), (3, b"ccc".to_vec())]
        );
        assert_eq!(log.next_seq(), 4);
    }

    #[test]
    fn a_torn_tail_is_cut_and_appending_goes_on_after_the_last_good_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (mut log, _) = Log::open(dir.path(), 0).expect("open");
            log.append(&[b"one", b"two"]).expect("append");
        }
        let path = segment(dir.path());
        let good = fs::metadata(&path).expect("meta").len();
        // Half a record, as a crash in the middle of a write leaves it.
        let mut torn = Vec::new();
        torn.extend_from_slice(&100u32.to_le_bytes());
        torn.extend_from_slice(&[1, 2, 3, 4, 3, 0, 0, 0, 0, 0, 0, 0, b'x']);
        OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open")
            .write_all(&torn)
            .expect("write");
        let (mut log, recovery) = Log::open(dir.path(), 0).expect("reopen");
        assert_eq!(recovery.torn_bytes_cut, torn.len() as u64);
        assert_eq!(fs::metadata(&path).expect("meta").len(), good);
        assert_eq!(recovery.unindexed.len(), 2);
        assert_eq!(log.append(&[b"three"]).expect("append"), 3);
        drop(log);
        let (_, recovery) = Log::open(dir.path(), 0).expect("reopen");
        assert_eq!(recovery.unindexed[2], (3, b"three".to_vec()));
    }

    #[test]
    fn a_flipped_bit_in_the_tail_record_is_cut_not_served() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (mut log, _) = Log::open(dir.path(), 0).expect("open");
            log.append(&[b"first"]).expect("append");
            log.append(&[b"second"]).expect("append");
        }
        let path = segment(dir.path());
        let mut bytes = fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        fs::write(&path, &bytes).expect("write");
        let (_, recovery) = Log::open(dir.path(), 0).expect("reopen");
        assert_eq!(recovery.unindexed, vec![(1, b"first".to_vec())]);
        assert_eq!(recovery.torn_bytes_cut, (HEADER_BYTES + 6) as u64);
    }

    #[test]
    fn corruption_before_the_last_segment_refuses_to_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (mut log, _) = Log::open(dir.path(), 0).expect("open");
            log.append(&[b"old"]).expect("append");
            log.roll().expect("roll");
            log.append(&[b"new"]).expect("append");
        }
        let first = segment_path(&dir.path().join(LOG_DIR), 1);
        let mut bytes = fs::read(&first).expect("read");
        bytes[HEADER_BYTES] ^= 1;
        fs::write(&first, &bytes).expect("write");
        let error = Log::open(dir.path(), 0).err().expect("refused");
        assert!(matches!(error, LogError::Corrupt { .. }), "{error}");
    }

    #[test]
    fn indexed_closed_segments_are_deleted_and_the_current_one_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut log, _) = Log::open(dir.path(), 0).expect("open");
        log.append(&[b"a", b"b"]).expect("append");
        log.roll().expect("roll");
        log.append(&[b"c"]).expect("append");
        log.trim(1);
        assert_eq!(
            log.segments.len(),
            2,
            "record 2 of the first segment is not indexed"
        );
        log.trim(2);
        assert_eq!(log.segments.len(), 1);
        log.trim(3);
        assert_eq!(log.segments.len(), 1, "the current segment stays");
        drop(log);
        let (log, recovery) = Log::open(dir.path(), 2).expect("reopen");
        assert_eq!(recovery.unindexed, vec![(3, b"c".to_vec())]);
        assert_eq!(log.next_seq(), 4);
    }

    #[test]
    fn a_reader_reads_across_segments_never_past_the_acknowledged_and_skips_what_was_trimmed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut log, _) = Log::open(dir.path(), 0).expect("open");
        log.append(&[b"a", b"b"]).expect("append");
        log.roll().expect("roll");
        log.append(&[b"c", b"d"]).expect("append");
        let mut reader = LogReader::new(dir.path(), 1);
        let payloads = |records: Vec<(u64, RecordAt, Vec<u8>)>| -> Vec<(u64, Vec<u8>)> {
            records.into_iter().map(|(seq, _, p)| (seq, p)).collect()
        };
        // Records 2 and 3 acknowledged, 4 not yet: the reader stops at 3.
        let got = reader.read(3, 10).expect("read");
        let at = got[1].1;
        assert_eq!(payloads(got), vec![(2, b"b".to_vec()), (3, b"c".to_vec())]);
        assert_eq!(read_at(dir.path(), at).expect("again"), b"c".to_vec());
        assert_eq!(
            payloads(reader.read(4, 10).expect("read")),
            vec![(4, b"d".to_vec())]
        );
        assert!(reader.read(4, 10).expect("read").is_empty());
        log.append(&[b"e"]).expect("append");
        assert_eq!(
            payloads(reader.read(5, 10).expect("read")),
            vec![(5, b"e".to_vec())]
        );
        // A write in progress past the acknowledged end (part of a header): not read, no error.
        OpenOptions::new()
            .append(true)
            .open(segment(dir.path()))
            .expect("open")
            .write_all(&[9; 10])
            .expect("write");
        assert!(reader.read(5, 10).expect("read").is_empty());

        // A reader whose position was trimmed away starts at the oldest record left.
        log.trim(2);
        let mut late = LogReader::new(dir.path(), 0);
        assert_eq!(late.read(5, 1).expect("read")[0].0, 3);
        assert_eq!(late.next_seq(), 4);
    }

    #[test]
    fn a_second_log_on_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_log, _) = Log::open(dir.path(), 0).expect("open");
        let error = Log::open(dir.path(), 0).err().expect("refused");
        assert!(matches!(error, LogError::Locked(_)), "{error}");
    }
}
