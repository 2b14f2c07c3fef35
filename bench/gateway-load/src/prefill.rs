//! Fills a store to a given number of events while the gateway is stopped.
//!
//! Each template beacon goes once through the gateway's own decode, validation, enrichment,
//! scrubbing and sampling, so rows look exactly like ingested ones. Its rows are serialized
//! once; copies with fresh ids (patched into the JSON in place) and older timestamps are then
//! inserted with the gateway's schema and statements in large unsynced transactions. (The
//! gateway's own writer, a savepoint per request and an fsync per group, manages about
//! 10 000 events/s on this machine: too slow for millions.)
//!
//! Trace and page view ids are spread over the whole id space like random ids, but each fill
//! hands them out in ascending order, so it sweeps the B-trees once instead of touching a
//! random page per row (random order slows to a few thousand events/s once the store
//! outgrows the page cache).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use axum::http::{header, HeaderMap, HeaderValue};
use gateway::config::{Config, Overrides};
use gateway::model::attr::{PAGE_VIEW_ID, SESSION_ID};
use gateway::model::Batch;
use gateway::server::OfflineIngest;
use gateway::store::partitions::{PartitionConfig, Partitions};
use gateway::store::search::{SpanFacts, TraceIndexRows};
use gateway::wire::beacon_v1;
use rusqlite::params;
use serde_json::Value;

use crate::bodies::{Payload, RequestWriter};

/// Stand-ins for the ids each copy gets, found in the serialized JSON and overwritten.
const VIEW_MARK: &str = "vvvvvvvvvvvvvvvv";
const SESSION_MARK: &str = "ssssssssssssssssssssssssssssssss";

/// A span row as the gateway stores it, ready to copy.
struct SpanRow {
    name: String,
    kind: &'static str,
    start: i64,
    end: i64,
    status: &'static str,
    status_message: String,
    attributes: String,
    view_at: Vec<usize>,
    session_at: Vec<usize>,
    resource: String,
    resource_hash: i64,
    source: &'static str,
    /// The template's attributes and resource, for its trace search row.
    attribute_map: gateway::model::Attributes,
    resource_map: gateway::model::Attributes,
}

struct ViewRow {
    url: String,
    referrer: String,
    navigation_type: String,
    start: i64,
    resource: String,
    attributes: String,
}

struct VitalRow {
    name: String,
    value: f64,
    delta: f64,
    rating: String,
    navigation_type: String,
    attribution: String,
}

/// One enriched beacon's rows.
struct Rows {
    spans: Vec<SpanRow>,
    views: Vec<ViewRow>,
    vitals: Vec<VitalRow>,
}

/// Beacons (as the gateway would store them) to copy from.
pub struct Templates {
    rows: Vec<Rows>,
}

impl Templates {
    pub fn events_per_batch(&self) -> u64 {
        self.rows
            .first()
            .map_or(0, |r| (r.spans.len() + r.vitals.len()) as u64)
    }
}

/// Decodes and validates one request of `payload` with the gateway's code; returns the
/// (spans, vitals) it yields. A check that the generator's beacons are what they claim.
pub fn check_beacon(payload: Arc<Payload>) -> anyhow::Result<(usize, usize)> {
    let mut writer = RequestWriter::new(payload, 1);
    writer.next();
    let decoded = beacon_v1::decode(writer.body())
        .map_err(|e| anyhow!("the gateway refuses the beacon: {e}"))?;
    Ok((decoded.spans.len(), decoded.vitals.len()))
}

/// Runs the template beacons through the gateway's ingest stages under `config_toml`, once
/// per (user agent, client address) pair. Loads the GeoIP file and compiles the user-agent
/// regexes (about a second).
pub fn templates(
    config_toml: &str,
    data_dir: &Path,
    payload: Arc<Payload>,
    variants: usize,
) -> anyhow::Result<Templates> {
    let overrides = Overrides {
        data_dir: Some(data_dir.into()),
        ..Overrides::default()
    };
    let config =
        Config::from_toml(config_toml, overrides).context("the benchmark's gateway config")?;
    let ingest = OfflineIngest::new(&config).context("the benchmark's enrich stage")?;
    let peer: SocketAddr = "127.0.0.1:50000".parse().context("peer address")?;
    let mut writer = RequestWriter::new(payload, 2);
    let mut rows = Vec::with_capacity(variants);
    for _ in 0..variants {
        writer.next();
        let (ua, ip) = Payload::variant(writer.variant());
        let mut headers = HeaderMap::new();
        headers.insert(header::USER_AGENT, HeaderValue::from_static(ua));
        headers.insert("x-forwarded-for", HeaderValue::from_static(ip));
        let batch = ingest
            .beacon(writer.body(), peer, &headers)
            .map_err(|e| anyhow!("a template through the ingest stages: {e}"))?;
        rows.push(serialize(batch)?);
    }
    Ok(Templates { rows })
}

/// The batch's rows with the page view and session ids replaced by markers.
fn serialize(batch: Batch) -> anyhow::Result<Rows> {
    let mut spans = Vec::with_capacity(batch.spans.len());
    for mut span in batch.spans {
        // Copies get fresh trace ids; parent links would need remapping.
        anyhow::ensure!(
            span.parent_span_id.is_none(),
            "prefill templates must be root spans"
        );
        span.attributes
            .insert(PAGE_VIEW_ID.into(), Value::String(VIEW_MARK.into()));
        span.attributes
            .insert(SESSION_ID.into(), Value::String(SESSION_MARK.into()));
        let attributes = serde_json::to_string(&span.attributes)?;
        let view_at: Vec<usize> = attributes
            .match_indices(VIEW_MARK)
            .map(|(i, _)| i)
            .collect();
        let session_at: Vec<usize> = attributes
            .match_indices(SESSION_MARK)
            .map(|(i, _)| i)
            .collect();
        anyhow::ensure!(
            !view_at.is_empty() && !session_at.is_empty(),
            "template ids not found"
        );
        spans.push(SpanRow {
            attribute_map: span.attributes.clone(),
            resource_map: span.resource.clone(),
            resource_hash: gateway::store::writer::resource_hash(&serde_json::to_string(
                &span.resource,
            )?),
            resource: serde_json::to_string(&span.resource)?,
            name: span.name,
            kind: span.kind.as_str(),
            start: span.start_unix_nano,
            end: span.end_unix_nano,
            status: span.status.as_str(),
            status_message: span.status_message,
            attributes,
            view_at,
            session_at,
            source: span.source.as_str(),
        });
    }
    let views = batch
        .page_views
        .into_iter()
        .map(|v| {
            Ok(ViewRow {
                resource: serde_json::to_string(&v.resource)?,
                attributes: serde_json::to_string(&v.attributes)?,
                url: v.url,
                referrer: v.referrer,
                navigation_type: v.navigation_type,
                start: v.start_unix_nano,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let vitals = batch
        .vitals
        .into_iter()
        .map(|v| {
            Ok(VitalRow {
                attribution: serde_json::to_string(&v.attribution)?,
                name: v.name,
                value: v.value,
                delta: v.delta,
                rating: v.rating,
                navigation_type: v.navigation_type,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Rows {
        spans,
        views,
        vitals,
    })
}

/// What a fill did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Filled {
    pub events_added: u64,
    pub seconds: f64,
}

/// Beacons per transaction: 500 of 100 events.
const BATCHES_PER_TRANSACTION: u64 = 500;

/// Writes copies of the templates into the store in `data_dir` until `add` more events are
/// in it, dated over the week before now, oldest first. Blocking: call it off the runtime.
///
/// The rows are the gateway's (schema from `gateway::store::open`, statements from
/// `gateway::store::writer`; spans in the span partition of their date, as the gateway
/// partitions by receive time), written for speed rather than durability: large
/// transactions, no fsync, no rollback journal (the gateway is stopped; a crash here only
/// loses the benchmark's store). The journal mode goes back to WAL at the end.
pub fn fill(data_dir: &Path, templates: &Templates, add: u64) -> anyhow::Result<Filled> {
    let per_batch = templates.events_per_batch();
    anyhow::ensure!(per_batch > 0, "empty prefill template");
    let batches = add.div_ceil(per_batch);
    let started = Instant::now();
    let mut conn = gateway::store::open(data_dir)
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    conn.pragma_update(None, "journal_mode", "OFF")
        .context("journal_mode=OFF")?;
    conn.pragma_update(None, "synchronous", "OFF")
        .context("synchronous=OFF")?;
    conn.pragma_update(None, "cache_size", -262_144)
        .context("cache_size")?; // 256 MiB
    let mut ids = Ids::new();
    let mut last_report = Instant::now();
    let mut i = 0;
    let partitions = Partitions::open(data_dir, PartitionConfig::default())
        .context("opening the span partitions")?;
    let position: i64 = conn
        .query_row(
            "SELECT coalesce(max(indexed_seq), 0) FROM ingest_log_position",
            [],
            |r| r.get(0),
        )
        .context("position")?;
    let mut part = PartitionFill {
        partitions: &partitions,
        position: u64::try_from(position).unwrap_or(0),
        open: None,
    };
    // Each template's resource once, as the gateway keeps it (spans refer to it by hash).
    for span in templates.rows.iter().flat_map(|r| &r.spans) {
        conn.execute(
            "INSERT OR IGNORE INTO resources (resource_hash, attributes) VALUES (?1, ?2)",
            params![span.resource_hash, span.resource],
        )
        .context("resources")?;
    }
    while i < batches {
        let tx = conn.transaction().context("begin")?;
        let end = (i + BATCHES_PER_TRANSACTION).min(batches);
        for b in i..end {
            let rows = &templates.rows[(b as usize) % templates.rows.len()];
            // Batch b of n lands (n - b) / n weeks before now.
            let shift = -WEEK_NANOS + (WEEK_NANOS as f64 * (b as f64 / batches as f64)) as i64;
            let spans = part.at(now_nanos() + shift)?;
            insert(
                &tx,
                spans,
                rows,
                &mut ids,
                Slot { batch: b, batches },
                shift,
            )?;
        }
        part.commit()?;
        tx.commit().context("commit")?;
        i = end;
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "    prefill: {} of {} events, {:.0} events/s, {secs:.0} s",
                i * per_batch,
                batches * per_batch,
                (i * per_batch) as f64 / secs
            );
        }
    }
    part.close()?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .context("journal_mode=WAL")?;
    drop(conn);
    // Flush what the unsynced transactions left in the page cache now, or the gateway's
    // first checkpoint fsync would pay for gigabytes of it inside the measured run.
    let files = std::iter::once(data_dir.join(gateway::store::DB_FILE))
        .chain(partitions.starts().into_iter().map(|s| partitions.path(s)));
    for db in files {
        std::fs::File::open(&db)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("fsync {}", db.display()))?;
    }
    Ok(Filled {
        events_added: batches * per_batch,
        seconds: started.elapsed().as_secs_f64(),
    })
}

const WEEK_NANOS: i64 = 7 * 24 * 3600 * 1_000_000_000;

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The span partition the prefill writes into, switched as the dates move on (oldest first),
/// each in one open transaction per `fill` transaction.
struct PartitionFill<'a> {
    partitions: &'a Partitions,
    position: u64,
    open: Option<(i64, rusqlite::Connection)>,
}

impl PartitionFill<'_> {
    /// The partition of spans received at `unix_nano`, in a transaction.
    fn at(&mut self, unix_nano: i64) -> anyhow::Result<&rusqlite::Connection> {
        let start = self.partitions.start_of(unix_nano);
        if self.open.as_ref().map(|(s, _)| *s) != Some(start) {
            self.close()?;
            let conn = self
                .partitions
                .open_for_write(start, self.position)
                .context("a span partition")?;
            conn.pragma_update(None, "journal_mode", "OFF")?;
            conn.pragma_update(None, "synchronous", "OFF")?;
            conn.pragma_update(None, "cache_size", -262_144)?;
            conn.execute_batch("BEGIN")?;
            self.open = Some((start, conn));
        }
        let (_, conn) = self.open.as_ref().context("partition")?;
        Ok(conn)
    }

    fn commit(&mut self) -> anyhow::Result<()> {
        if let Some((_, conn)) = &self.open {
            conn.execute_batch("COMMIT; BEGIN")?;
        }
        Ok(())
    }

    fn close(&mut self) -> anyhow::Result<()> {
        if let Some((_, conn)) = self.open.take() {
            conn.execute_batch("COMMIT")?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        Ok(())
    }
}

/// Random lowercase-hex ids, never all zero.
struct Ids {
    rng: fastrand::Rng,
}

impl Ids {
    fn new() -> Ids {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Ids {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    fn hex32(&mut self) -> String {
        format!("{:032x}", self.rng.u128(..) | 1)
    }

    fn hex16(&mut self) -> String {
        format!("{:016x}", self.rng.u64(..) | 1)
    }

    /// The `k`-th of `n` ids rising evenly over the whole 128-bit space, each at a random
    /// point of its slot: together they are spread like random ids, but come in key order.
    fn spread32(&mut self, k: u64, n: u64) -> String {
        let slot = u128::MAX / u128::from(n.max(1));
        format!(
            "{:032x}",
            (u128::from(k) * slot + self.rng.u128(..slot)) | 1
        )
    }

    /// As [`Ids::spread32`] over 64 bits.
    fn spread16(&mut self, k: u64, n: u64) -> String {
        let slot = u64::MAX / n.max(1);
        format!("{:016x}", (k * slot + self.rng.u64(..slot)) | 1)
    }
}

fn patched(json: &str, at: &[usize], id: &str, out: &mut String) {
    out.clear();
    out.push_str(json);
    for &i in at {
        out.replace_range(i..i + id.len(), id);
    }
}

/// Which copy of how many: places its keys (see [`Ids::spread32`]).
#[derive(Clone, Copy)]
struct Slot {
    batch: u64,
    batches: u64,
}

/// Inserts one copy of a template beacon with the gateway's statements
/// (`gateway/src/store/writer.rs`), fresh ids, times shifted by `shift` ns.
fn insert(
    tx: &rusqlite::Connection,
    part: &rusqlite::Connection,
    rows: &Rows,
    ids: &mut Ids,
    slot: Slot,
    shift: i64,
) -> anyhow::Result<()> {
    let received = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let view = ids.spread16(slot.batch, slot.batches);
    let session = ids.hex32();
    let per_batch = rows.spans.len() as u64;
    let mut span_stmt = part.prepare_cached(gateway::store::writer::INSERT_SPAN)?;
    let mut timeline_stmt = part.prepare_cached(
        "INSERT OR IGNORE INTO session_spans (session_id, start_unix_nano, trace_id, span_id,
            category) VALUES (?1, ?2, ?3, ?4, 'fetch')",
    )?;
    let mut epoch_stmt = part.prepare_cached(gateway::store::writer::NEXT_EPOCH)?;
    let (mut with_view, mut attributes) = (String::new(), String::new());
    let mut searchable = TraceIndexRows::default();
    let mut epoch = 0;
    for (j, span) in rows.spans.iter().enumerate() {
        // The beacon's spans are fetch spans: each a root of its own trace.
        let trace_id = ids.spread32(slot.batch * per_batch + j as u64, slot.batches * per_batch);
        patched(&span.attributes, &span.view_at, &view, &mut with_view);
        patched(&with_view, &span.session_at, &session, &mut attributes);
        epoch =
            epoch_stmt.query_row(params![gateway::store::EPOCH_BITS], |r| r.get::<_, i64>(0))?;
        let mut facts = SpanFacts::from_parts(
            &span.name,
            span.kind,
            true,
            (span.start + shift, span.end + shift),
            span.status == "error",
            span.source == "browser",
            &span.attribute_map,
            &span.resource_map,
        );
        facts.page_view_id = Some(&view);
        facts.session_id = Some(&session);
        searchable.add(&trace_id, &facts);
        let span_id = ids.hex16();
        span_stmt.execute(params![
            trace_id,
            span_id,
            Option::<String>::None,
            span.name,
            span.kind,
            span.start + shift,
            span.end + shift,
            span.status,
            span.status_message,
            attributes,
            "",
            span.resource_hash,
            span.source,
            epoch,
        ])?;
        // The session's timeline index, as the gateway's journeys keep it for fetch spans.
        timeline_stmt.execute(params![session, span.start + shift, trace_id, span_id])?;
    }
    searchable.write(part, epoch)?;
    let mut view_stmt = tx.prepare_cached(gateway::store::writer::INSERT_PAGE_VIEW)?;
    for v in &rows.views {
        view_stmt.execute(params![
            view,
            session,
            v.url,
            v.referrer,
            v.navigation_type,
            v.start + shift,
            v.resource,
            v.attributes,
        ])?;
    }
    // Its session, as the gateway's journeys keep one (the retention pass goes by it).
    if let Some(first) = rows.views.first() {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO sessions (session_id, start_unix_nano, end_unix_nano,
                view_count, received_unix_nano) VALUES (?1, ?2, ?2, ?3, ?4)",
        )?
        .execute(params![
            session,
            first.start + shift,
            rows.views.len() as i64,
            received + shift
        ])?;
    }
    let mut vital_stmt = tx.prepare_cached(gateway::store::writer::UPSERT_VITAL)?;
    for v in &rows.vitals {
        vital_stmt.execute(params![
            view,
            format!("v1-{view}-{}", v.name),
            v.name,
            v.value,
            v.delta,
            v.rating,
            v.navigation_type,
            received + shift,
            v.attribution,
        ])?;
    }
    Ok(())
}
