//! Fills a store to a given number of events while the gateway is stopped, through the
//! gateway's own code: each template beacon goes once through decode, validation, enrichment,
//! scrubbing and sampling (so rows look exactly like ingested ones), then copies of the
//! resulting batches with fresh ids and older timestamps go through the gateway's store
//! writer (the same inserts and group commit as at run time).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use axum::http::{header, HeaderMap, HeaderValue};
use gateway::config::{Config, Overrides};
use gateway::enrich::{Enricher, RequestContext};
use gateway::ingest::beacon;
use gateway::model::{Batch, SpanId, TraceId};
use gateway::pipeline::Pipeline;
use gateway::store::writer;
use gateway::validate::{self, PAGE_VIEW_ID, SESSION_ID};
use serde_json::Value;

use crate::bodies::{Payload, RequestWriter};

/// Beacons (as the gateway would store them) to copy from.
pub struct Templates {
    batches: Vec<Batch>,
}

impl Templates {
    pub fn events_per_batch(&self) -> u64 {
        self.batches
            .first()
            .map_or(0, |b| (b.spans.len() + b.vitals.len()) as u64)
    }
}

/// Decodes and validates one request of `payload` with the gateway's code; returns the
/// (spans, vitals) it yields. A check that the generator's beacons are what they claim.
pub fn check_beacon(payload: Arc<Payload>) -> anyhow::Result<(usize, usize)> {
    let mut writer = RequestWriter::new(payload, 1);
    writer.next();
    let decoded = beacon::decode(writer.body())
        .map_err(|e| anyhow!("the gateway refuses the beacon: {e}"))?;
    let batch =
        validate::beacon(decoded).map_err(|e| anyhow!("the gateway refuses the beacon: {e}"))?;
    Ok((batch.spans.len(), batch.vitals.len()))
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
    let config = Config::from_toml(
        config_toml,
        Overrides {
            data_dir: Some(data_dir.into()),
            ..Overrides::default()
        },
    )
    .context("the benchmark's gateway config")?;
    let enricher = Enricher::from_config(config.enrich());
    let pipeline = Pipeline::new(&config);
    let peer: SocketAddr = "127.0.0.1:50000".parse().context("peer address")?;
    let mut writer = RequestWriter::new(payload, 2);
    let mut batches = Vec::with_capacity(variants);
    for _ in 0..variants {
        writer.next();
        let (ua, ip) = Payload::variant(writer.variant());
        let mut headers = HeaderMap::new();
        headers.insert(header::USER_AGENT, HeaderValue::from_static(ua));
        headers.insert("x-forwarded-for", HeaderValue::from_static(ip));
        let decoded =
            beacon::decode(writer.body()).map_err(|e| anyhow!("decoding a template: {e}"))?;
        let context = RequestContext::beacon(Some(peer), &headers, &decoded)
            .map_err(|e| anyhow!("template context: {e}"))?;
        let batch = validate::beacon(decoded).map_err(|e| anyhow!("validating a template: {e}"))?;
        let batch = pipeline
            .process(batch, |b| enricher.enrich(b, &context))
            .map_err(|e| anyhow!("template pipeline: {e}"))?;
        batches.push(batch);
    }
    Ok(Templates { batches })
}

/// What a fill did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Filled {
    pub events_added: u64,
    pub seconds: f64,
}

/// Writes copies of the templates into the store in `data_dir` until `add` more events are
/// in it, dated over the week before now, oldest first.
pub async fn fill(
    data_dir: &Path,
    templates: Arc<Templates>,
    add: u64,
    store_queue: usize,
) -> anyhow::Result<Filled> {
    let per_batch = templates.events_per_batch();
    anyhow::ensure!(per_batch > 0, "empty prefill template");
    let batches = add.div_ceil(per_batch);
    let started = Instant::now();
    let (store, store_writer) = writer::start(data_dir, store_queue)
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    // Enough requests in flight to fill the writer's groups of 256.
    for t in 0..512u64 {
        let (store, templates, next, done) = (
            store.clone(),
            Arc::clone(&templates),
            Arc::clone(&next),
            Arc::clone(&done),
        );
        tasks.spawn(async move {
            let mut rng = fastrand::Rng::with_seed(
                t.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ now_nanos() as u64,
            );
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= batches {
                    return Ok::<(), anyhow::Error>(());
                }
                let batch = copy(
                    &templates.batches[(i as usize) % templates.batches.len()],
                    &mut rng,
                    i,
                    batches,
                );
                store
                    .write(batch)
                    .await
                    .map_err(|e| anyhow!("prefill write: {e}"))?;
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    drop(store);
    let progress = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            tick.tick().await;
            loop {
                tick.tick().await;
                let events = done.load(Ordering::Relaxed) * per_batch;
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "    prefill: {events} of {} events, {:.0} events/s, {secs:.0} s",
                    batches * per_batch,
                    events as f64 / secs
                );
            }
        })
    };
    let mut outcome = Ok(());
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined.context("prefill task").and_then(|r| r) {
            outcome = Err(e);
            tasks.abort_all();
        }
    }
    progress.abort();
    // Every handle is gone: the writer finishes its queue and stops.
    tokio::task::spawn_blocking(move || store_writer.join())
        .await
        .context("joining the store writer")?;
    outcome?;
    Ok(Filled {
        events_added: batches * per_batch,
        seconds: started.elapsed().as_secs_f64(),
    })
}

const WEEK_NANOS: i64 = 7 * 24 * 3600 * 1_000_000_000;

/// A template batch with fresh trace, span, view and session ids, shifted back in time so
/// that batch `i` of `n` lands `(n - i) / n` weeks ago.
fn copy(template: &Batch, rng: &mut fastrand::Rng, i: u64, n: u64) -> Batch {
    let mut batch = template.clone();
    let shift = -WEEK_NANOS + (WEEK_NANOS as f64 * (i as f64 / n as f64)) as i64;
    let view = format!("{:016x}", rng.u64(..) | 1);
    let session = format!("{:032x}", rng.u128(..) | 1);
    for span in &mut batch.spans {
        span.trace_id = TraceId((rng.u128(..) | 1).to_be_bytes());
        span.span_id = SpanId((rng.u64(..) | 1).to_be_bytes());
        span.start_unix_nano += shift;
        span.end_unix_nano += shift;
        span.attributes
            .insert(PAGE_VIEW_ID.into(), Value::String(view.clone()));
        span.attributes
            .insert(SESSION_ID.into(), Value::String(session.clone()));
    }
    for page_view in &mut batch.page_views {
        page_view.id.clone_from(&view);
        page_view.session_id.clone_from(&session);
        page_view.start_unix_nano += shift;
    }
    for vital in &mut batch.vitals {
        vital.page_view_id.clone_from(&view);
        vital.metric_id = format!("v1-{view}-{}", vital.name);
    }
    batch
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
