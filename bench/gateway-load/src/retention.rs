//! What deleting a day of data costs: a store prefilled with a week of enriched 100-event
//! beacons (one span partition per day, `gateway/src/store/partitions.rs`), then the oldest
//! day deleted three ways, each timed with the bytes it wrote:
//!
//! * the gateway's way: its span partition's files deleted (`Partitions::drop_expired`);
//! * the same rows deleted by `DELETE` from a copy of that partition, as a store without
//!   partitions would have to (every row and index entry visited, every page written to the
//!   WAL and later to the file);
//! * the day's page views and vitals, which stay in `rum.sqlite`, deleted by `DELETE` over
//!   their time indexes (a copy of `rum.sqlite`): what is not partitioned yet.
//!
//! `rum-loadgen retention --events N`. A measurement, never a pass/fail.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use gateway::store::partitions::{PartitionConfig, Partitions};

use crate::orchestrate::{absolute, config_toml, Enrich};
use crate::{bodies, prefill};

#[derive(clap::Args, Debug)]
pub struct RetentionArgs {
    /// Events to prefill (spread over the week before now).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// MaxMind DB for geo enrichment of the prefilled rows.
    #[arg(long, default_value = "../shared/testdata/mmdb/GeoIP2-City-Test.mmdb")]
    mmdb: PathBuf,
    /// uap-core regexes.yaml for user-agent enrichment.
    #[arg(long, default_value = "gateway/assets/uap-core/regexes.yaml")]
    uap: PathBuf,
    /// Where the store goes [default: the system temp dir].
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the store afterwards (its path is printed), e.g. to time reads on it.
    #[arg(long)]
    keep: bool,
}

pub async fn retention(args: RetentionArgs) -> anyhow::Result<()> {
    let parent = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("rum-retention-")
        .tempdir_in(&parent)
        .with_context(|| format!("a work directory in {}", parent.display()))?;
    let data = work.path().join("data");
    std::fs::create_dir_all(&data)?;
    let existing = |p: &Path| p.is_file().then(|| absolute(p)).transpose();
    let enrich = Enrich::On {
        mmdb: existing(&args.mmdb)?,
        uap: existing(&args.uap)?,
    };
    let toml = config_toml(&data, &enrich)?;
    let (dir, events) = (data.clone(), args.events);
    let filled = tokio::task::spawn_blocking(move || -> anyhow::Result<prefill::Filled> {
        let templates = prefill::templates(&toml, &dir, Arc::new(bodies::beacon(100)), 42)?;
        prefill::fill(&dir, &templates, events)
    })
    .await
    .context("prefill thread")??;
    println!(
        "prefilled {} events over a week in {:.0} s",
        filled.events_added, filled.seconds
    );
    let path = work.path().to_path_buf();
    tokio::task::spawn_blocking(move || measure(&data, &path))
        .await
        .context("measure thread")??;
    if args.keep {
        println!("kept the store in {}", work.keep().join("data").display());
    }
    Ok(())
}

fn measure(data: &Path, work: &Path) -> anyhow::Result<()> {
    let config = PartitionConfig::default();
    let partitions = Partitions::open(data, config)?;
    let starts = partitions.starts();
    let oldest = *starts.first().context("no partition")?;
    let size = |p: &Path| -> u64 {
        ["", "-wal"]
            .iter()
            .map(|s| {
                let mut f = p.as_os_str().to_owned();
                f.push(s);
                std::fs::metadata(f).map_or(0, |m| m.len())
            })
            .sum()
    };
    let main_bytes = size(&data.join(gateway::store::DB_FILE));
    let part_bytes: u64 = starts.iter().map(|&s| size(&partitions.path(s))).sum();
    println!(
        "store: {} partitions, {:.1} MiB in partitions, {:.1} MiB in rum.sqlite ({:.0} % of the bytes in partitions)",
        starts.len(),
        mib(part_bytes),
        mib(main_bytes),
        100.0 * part_bytes as f64 / (part_bytes + main_bytes).max(1) as f64
    );
    let oldest_path = partitions.path(oldest);
    let day_bytes = size(&oldest_path);
    let main_before = std::fs::metadata(data.join(gateway::store::DB_FILE)).map_or(0, |m| m.len());
    let spans: i64 = rusqlite::Connection::open(&oldest_path)?.query_row(
        "SELECT count(*) FROM spans",
        [],
        |r| r.get(0),
    )?;

    // The same rows deleted with DELETE, from a copy of the partition.
    let copy = work.join("delete-copy.sqlite");
    std::fs::copy(&oldest_path, &copy).context("copying the partition")?;
    let deleted = timed_delete(
        &copy,
        &[
            "DELETE FROM spans WHERE rowid > 0",
            "DELETE FROM span_extras WHERE trace_id > ''",
            "DELETE FROM trace_index WHERE start_unix_nano > 0",
            "DELETE FROM session_spans WHERE session_id > ''",
        ],
    )?;

    // The same day's page views and vitals, deleted from a copy of rum.sqlite.
    let main_copy = work.join("main-copy.sqlite");
    std::fs::copy(data.join(gateway::store::DB_FILE), &main_copy).context("copying rum.sqlite")?;
    let end_nanos = (oldest + config.width_secs as i64) * 1_000_000_000;
    let main_deleted = timed_delete(
        &main_copy,
        &[
            &format!("DELETE FROM page_views WHERE start_unix_nano < {end_nanos}"),
            &format!("DELETE FROM vitals WHERE received_unix_nano < {end_nanos}"),
        ],
    )?;

    // The gateway's way: the partition's files go.
    let now = (oldest + (config.width_secs + config.retention_secs) as i64) * 1_000_000_000;
    let started = Instant::now();
    let dropped = partitions.drop_expired(now, starts.last().copied());
    let drop_secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(dropped == [oldest], "dropped {dropped:?}, not {oldest}");

    println!("\n| deleting the oldest day | spans | rows | time | bytes written | file after |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| span partition's files deleted (the gateway) | {spans} | | {:.1} ms | 0 | gone: {:.1} MiB freed |",
        drop_secs * 1000.0,
        mib(day_bytes)
    );
    println!(
        "| the same rows by `DELETE` (a copy of the partition) | {spans} | {} | {:.2} s | {:.1} MiB WAL, then checkpointed | {:.1} MiB (was {:.1}) |",
        deleted.rows,
        deleted.secs,
        mib(deleted.wal_bytes),
        mib(deleted.file_bytes),
        mib(day_bytes)
    );
    println!(
        "| its page views and vitals by `DELETE` (rum.sqlite, not partitioned) | | {} | {:.2} s | {:.1} MiB WAL, then checkpointed | {:.1} MiB (was {:.1}) |",
        main_deleted.rows,
        main_deleted.secs,
        mib(main_deleted.wal_bytes),
        mib(main_deleted.file_bytes),
        mib(main_before)
    );
    Ok(())
}

struct Deleted {
    rows: usize,
    secs: f64,
    wal_bytes: u64,
    /// The database file's size after a checkpoint: SQLite keeps freed pages for reuse, so
    /// the disk is not given back without a VACUUM (which rewrites the whole file).
    file_bytes: u64,
}

/// Runs the statements in one transaction as the gateway commits (WAL, synchronous=FULL).
fn timed_delete(db: &Path, statements: &[&str]) -> anyhow::Result<Deleted> {
    let mut conn = rusqlite::Connection::open(db)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    let started = Instant::now();
    let tx = conn.transaction()?;
    let mut rows = 0;
    for statement in statements {
        rows += tx.execute(statement, [])?;
    }
    tx.commit()?;
    let secs = started.elapsed().as_secs_f64();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let wal_bytes = std::fs::metadata(wal).map_or(0, |m| m.len());
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let file_bytes = std::fs::metadata(db).map_or(0, |m| m.len());
    Ok(Deleted {
        rows,
        secs,
        wal_bytes,
        file_bytes,
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
