//! The OTLP/HTTP exporter: a task that reads the outbox (its position in the ingest log,
//! `store::outbox`) in order, batches entries (by item count and a short wait), POSTs them as
//! protobuf to `{endpoint}/v1/traces`, `/v1/logs` and `/v1/metrics`, and moves its position
//! past them only once the receiver answered 2xx.
//!
//! Transient failures (connection errors, timeouts, 429, 502, 503, 504) are retried without
//! limit, with capped exponential backoff and jitter, honouring `Retry-After`: the outbox,
//! not the retry count, bounds what waits. Other statuses are permanent for that request
//! (OTLP/HTTP says so): its entries are dropped and counted.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use rusqlite::Connection;
use tokio::sync::{watch, Notify};

use super::retry::{backoff, retry_after};
use super::ExportConfig;
use crate::outcome::{DropReason, Signal};
use crate::store::outbox::{Entry, ExportQueue, Legacy, Outbox, QueueError};
use crate::store::{self, StoreError};
use crate::telemetry::{Counter, Telemetry};

/// How often an idle exporter looks at the outbox even without a wake-up.
const IDLE_POLL: Duration = Duration::from_secs(1);
const PROTOBUF: &str = "application/x-protobuf";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no export.otlp_endpoint configured")]
    NotConfigured,
    #[error("opening the outbox: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Queue(#[from] QueueError),
    #[error("building the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("invalid export.headers entry {0:?}")]
    Header(String),
    #[error(transparent)]
    Tls(#[from] crate::config::error::Invalid),
}

/// What one POST came to.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// 2xx; the receiver may still report some items rejected.
    Delivered { rejected: u64 },
    /// Try again after this long (the receiver's `Retry-After`) or after the backoff.
    Retry(Option<Duration>),
    /// Never going to succeed.
    Drop(DropReason),
}

pub struct Exporter {
    endpoint: String,
    headers: HeaderMap,
    client: reqwest::Client,
    config: ExportConfig,
    /// The position in the log, and, for a store from before the log fed the exporter, its
    /// `outbox` table (drained first: everything in it is older).
    queue: Arc<Mutex<Queues>>,
    appended: Arc<Notify>,
    telemetry: Arc<Telemetry>,
}

struct Queues {
    log: ExportQueue,
    legacy: Option<Connection>,
}

impl Queues {
    /// Reads what was acknowledged since, applies the bound (counting what it dropped) and
    /// updates the queue gauge.
    fn read_log(&mut self, telemetry: &Telemetry) -> Result<(), QueueError> {
        self.log.refill()?.count(telemetry);
        telemetry.set_queue_bytes(self.queued_bytes()?);
        Ok(())
    }

    fn queued_bytes(&self) -> Result<u64, QueueError> {
        let legacy = match &self.legacy {
            Some(conn) => Legacy::queued_bytes(conn)?,
            None => 0,
        };
        Ok(legacy + self.log.queued_bytes())
    }
}

impl Exporter {
    /// Reads the ingest log in `data_dir` from the position the store's writer loaded into
    /// `outbox` (start the store first).
    pub fn new(
        config: &ExportConfig,
        data_dir: &Path,
        outbox: &Outbox,
        telemetry: Arc<Telemetry>,
    ) -> Result<Exporter, ExportError> {
        let endpoint = config
            .otlp_endpoint
            .as_deref()
            .ok_or(ExportError::NotConfigured)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|_| ExportError::Header(name.clone()))?;
            let value = HeaderValue::try_from(value.as_str())
                .map_err(|_| ExportError::Header(name.to_string()))?;
            headers.insert(name, value);
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROTOBUF));
        let mut client =
            reqwest::Client::builder().timeout(Duration::from_millis(config.timeout_ms));
        if config.uses_tls() {
            let tls = crate::tls::client_config(config.ca_file.as_deref(), "export.ca_file")?;
            client = client.tls_backend_preconfigured(tls);
        }
        let client = client.build()?;
        let conn = store::open(data_dir)?;
        let legacy = Legacy::present(&conn)?.then_some(conn);
        let queues = Queues {
            log: ExportQueue::new(data_dir, outbox),
            legacy,
        };
        telemetry.set_queue_bytes(queues.queued_bytes()?);
        Ok(Exporter {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            headers,
            client,
            config: config.clone(),
            queue: Arc::new(Mutex::new(queues)),
            appended: outbox.appended(),
            telemetry,
        })
    }

    /// Exports until `stop` turns true. Whatever is not delivered by then stays queued for
    /// the next start.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(endpoint = %self.endpoint, "OTLP export started.");
        let mut attempt = 0u32;
        let mut waited = false;
        let max_items = self.config.max_batch_items;
        loop {
            if *stop.borrow() {
                break;
            }
            let telemetry = Arc::clone(&self.telemetry);
            let oldest = move |q: &mut Queues| {
                if let Some(conn) = &q.legacy {
                    let entries = Legacy::oldest(conn, max_items)?;
                    if !entries.is_empty() {
                        return Ok(entries);
                    }
                    q.legacy = None;
                }
                q.read_log(&telemetry)?;
                q.log.oldest(max_items)
            };
            let entries = match self.with_queue(oldest).await {
                Ok(entries) => entries,
                Err(error) => {
                    tracing::error!(%error, "Reading the export outbox failed; trying again.");
                    if sleep_or_stop(IDLE_POLL, &mut stop).await {
                        break;
                    }
                    continue;
                }
            };
            if entries.is_empty() {
                waited = false;
                tokio::select! {
                    _ = self.appended.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            let items: u64 = entries.iter().map(|e| e.items).sum();
            if items < self.config.max_batch_items && !waited {
                // A partial batch waits briefly for company: fewer, larger requests.
                waited = true;
                if sleep_or_stop(self.config.batch_timeout(), &mut stop).await {
                    break;
                }
                continue;
            }
            match self
                .export(entries, attempt.saturating_add(1), &mut stop)
                .await
            {
                Some(true) => {
                    attempt = 0;
                    waited = false;
                }
                Some(false) => {
                    attempt = attempt.saturating_add(1);
                    // Retries go out as soon as the delay ends; no extra batching wait.
                    waited = true;
                }
                None => break,
            }
        }
        tracing::info!("OTLP export stopped; undelivered data stays queued.");
    }

    /// Sends one batch, per signal in order. `Some(true)`: everything left the outbox;
    /// `Some(false)`: a retry is due (its delay, for the `retry`-th retry in a row, already
    /// slept); `None`: stopping.
    async fn export(
        &self,
        entries: Vec<Entry>,
        retry: u32,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<bool> {
        let (unreadable, entries): (Vec<_>, Vec<_>) =
            entries.into_iter().partition(|e| e.signal.is_none());
        if !unreadable.is_empty() {
            let items = unreadable.iter().map(|e| e.items).sum();
            tracing::warn!(
                entries = unreadable.len(),
                "Dropping outbox entries of an unknown signal."
            );
            self.remove(&unreadable).await;
            self.telemetry.add(
                Counter::ExportDropped(Signal::Traces, DropReason::Unreadable),
                items,
            );
        }
        // Entries whose every span tail sampling dropped: finished without a request.
        let (empty, entries): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .partition(|e| e.items == 0 && e.payload.is_empty());
        if !empty.is_empty() {
            self.remove(&empty).await;
        }
        for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
            let group: Vec<&Entry> = entries
                .iter()
                .filter(|e| e.signal == Some(signal))
                .collect();
            if group.is_empty() {
                continue;
            }
            let items: u64 = group.iter().map(|e| e.items).sum();
            // Concatenated protobuf messages of one type decode as one message whose repeated
            // fields are concatenated: the entries' resource_spans/resource_logs, in order.
            let payload: Vec<u8> = group
                .iter()
                .flat_map(|e| e.payload.iter().copied())
                .collect();
            let outcome = tokio::select! {
                outcome = self.send(signal, payload) => outcome,
                _ = stop.changed() => return None,
            };
            match outcome {
                Outcome::Delivered { rejected } => {
                    self.remove(&group).await;
                    let rejected = rejected.min(items);
                    self.telemetry.add(Counter::ExportRequests(signal), 1);
                    self.telemetry
                        .add(Counter::Exported(signal), items - rejected);
                    self.telemetry.add(
                        Counter::ExportDropped(signal, DropReason::PartialSuccess),
                        rejected,
                    );
                    tracing::debug!(
                        signal = signal.as_str(),
                        items,
                        rejected,
                        "Exported a batch."
                    );
                }
                Outcome::Drop(reason) => {
                    self.remove(&group).await;
                    self.telemetry
                        .add(Counter::ExportDropped(signal, reason), items);
                }
                Outcome::Retry(after) => {
                    self.telemetry.add(Counter::ExportRetries(signal), 1);
                    let (initial, max) = (
                        self.config.retry_initial_backoff_ms,
                        self.config.retry_max_backoff_ms,
                    );
                    // Never sooner than `Retry-After` says, nor than the first backoff step:
                    // a receiver answering `Retry-After: 0` must not get a tight loop.
                    let delay = match after {
                        Some(after) => after.max(backoff(initial, max, 1)),
                        None => backoff(initial, max, retry),
                    };
                    tracing::debug!(
                        signal = signal.as_str(),
                        delay_ms = delay.as_millis() as u64,
                        "Retrying an export."
                    );
                    return if self.wait_reading_on(delay, stop).await {
                        None
                    } else {
                        Some(false)
                    };
                }
            }
        }
        Some(true)
    }

    async fn send(&self, signal: Signal, payload: Vec<u8>) -> Outcome {
        let url = format!("{}{}", self.endpoint, signal.path());
        let response = match self
            .client
            .post(&url)
            .headers(self.headers.clone())
            .body(payload)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => {
                let error = chain(&error);
                tracing::warn!(%url, %error, "Export request failed; will retry.");
                return Outcome::Retry(None);
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after);
        let is_protobuf = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(PROTOBUF));
        let body = response.bytes().await.unwrap_or_default();
        let code = status.as_u16();
        if status.is_success() {
            let rejected = if is_protobuf {
                rejected_items(signal, &body)
            } else {
                0
            };
            if rejected > 0 {
                tracing::warn!(%url, rejected, "The receiver rejected part of an export.");
            }
            Outcome::Delivered { rejected }
        } else if matches!(code, 429 | 502 | 503 | 504) {
            tracing::warn!(%url, status = code, "The receiver is unavailable; will retry.");
            Outcome::Retry(retry_after)
        } else {
            let detail = String::from_utf8_lossy(&body[..body.len().min(256)]).into_owned();
            tracing::warn!(%url, status = code, %detail, "The receiver refused an export; dropping it.");
            Outcome::Drop(if status.is_client_error() {
                DropReason::ClientError
            } else {
                DropReason::ServerError
            })
        }
    }

    async fn remove(&self, entries: &[impl std::borrow::Borrow<Entry>]) {
        let (legacy, log): (Vec<&Entry>, Vec<&Entry>) =
            entries.iter().map(|e| e.borrow()).partition(|e| e.legacy);
        let legacy: Vec<i64> = legacy.iter().map(|e| e.id).collect();
        let log: Vec<i64> = log.iter().map(|e| e.id).collect();
        let result = self
            .with_queue(move |q| {
                if let Some(conn) = q.legacy.as_mut().filter(|_| !legacy.is_empty()) {
                    Legacy::remove(conn, &legacy)?;
                }
                if !log.is_empty() {
                    q.log.remove(&log)?;
                }
                q.queued_bytes()
            })
            .await;
        match result {
            Ok(bytes) => self.telemetry.set_queue_bytes(bytes),
            // They will be sent again: at least once, never lost.
            Err(error) => {
                tracing::error!(%error, "Removing exported entries from the outbox failed.")
            }
        }
    }

    /// Sleeps `delay` (true: stopping), reading what arrives meanwhile each [`IDLE_POLL`], so
    /// the outbox's bound holds while a receiver is down.
    async fn wait_reading_on(&self, delay: Duration, stop: &mut watch::Receiver<bool>) -> bool {
        let until = tokio::time::Instant::now() + delay;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            if sleep_or_stop(left.min(IDLE_POLL), stop).await {
                return true;
            }
            let telemetry = Arc::clone(&self.telemetry);
            if let Err(error) = self.with_queue(move |q| q.read_log(&telemetry)).await {
                tracing::error!(%error, "Reading the ingest log for export failed.");
            }
        }
    }

    /// Runs `f` on the queues off the runtime (it reads files and SQLite).
    async fn with_queue<T, F>(&self, f: F) -> Result<T, QueueError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Queues) -> Result<T, QueueError> + Send + 'static,
    {
        let queue = Arc::clone(&self.queue);
        tokio::task::spawn_blocking(move || {
            let mut queue = queue.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut queue)
        })
        .await
        .unwrap_or_else(|e| Err(QueueError::Task(e.to_string())))
    }
}
fn rejected_items(signal: Signal, body: &[u8]) -> u64 {
    let rejected = match signal {
        Signal::Traces => ExportTraceServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_spans),
        Signal::Logs => ExportLogsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_log_records),
        Signal::Metrics => ExportMetricsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_data_points),
    };
    u64::try_from(rejected.unwrap_or(0)).unwrap_or(0)
}
/// An error and its sources, so a log line says "connection refused", not just "error
/// sending request".
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Sleeps; true when `stop` turned true first.
async fn sleep_or_stop(delay: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    let stopped = tokio::select! {
        _ = tokio::time::sleep(delay) => false,
        _ = stop.wait_for(|s| *s) => true,
    };
    stopped || *stop.borrow()
}
