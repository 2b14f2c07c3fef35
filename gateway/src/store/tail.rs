//! Tail sampling's store side (the policies are `crate::sample`): the traces waiting for a
//! decision, the decision pass, and what export reads of the decisions.
//!
//! * `tail_traces` in `rum.sqlite` has a row per trace: while it waits, the facts the
//!   policies read (merged from every batch that brought spans of it, in the same transaction
//!   as those batches) and when its decision is due; once decided, the decision, until
//!   `remember_decisions_ms` later. The spans themselves are stored in their partition as they
//!   come, so they are durable and readable while they wait.
//! * The indexer runs [`TailIndex::decide_due`] between groups and at least every
//!   [`PASS_EVERY`]: each trace whose window has passed is decided; a dropped trace's spans
//!   are deleted from its partition (committed before its decision, so a crash between the
//!   two decides it again, with the same facts). Spans that arrive after the decision follow
//!   it; a dropped trace's late spans are not stored.
//! * Export waits for the decisions: the exporter reads a log record only once every trace in
//!   it is decided, and leaves out the spans of dropped traces ([`filter_trace_payload`]).

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::model::{Batch, Span, TraceId};
use crate::outcome::{EarlyDecision, SampleReason};
use crate::sample::adaptive::Adaptive;
use crate::sample::policy::{Decision, Policy, RatioSource, TraceFacts};
use crate::sample::SampleConfig;

pub(crate) const TAIL_TABLE: &str = r#"
-- Tail sampling (store/tail.rs): a trace waiting for its decision (decision NULL, due = when
-- it is decided), or decided (1 kept, 0 dropped; due = when the decision is forgotten).
CREATE TABLE IF NOT EXISTS tail_traces (
    trace_id        TEXT PRIMARY KEY,
    due_unix_nano   INTEGER NOT NULL,
    decision        INTEGER,
    reason          TEXT,
    -- What forced a decision before the window ended (EarlyDecision), if anything.
    early           TEXT,
    spans           INTEGER NOT NULL,
    -- The policies' facts (sample::policy::TraceFacts) as JSON.
    facts           TEXT NOT NULL,
    -- Where its first span went: the partition, its epoch there, and its start time (the
    -- trace_starts row to delete with it).
    partition       INTEGER NOT NULL,
    first_epoch     INTEGER NOT NULL,
    first_start     INTEGER NOT NULL
) WITHOUT ROWID;
-- Appended in time order: the waiting traces by when they are due, the decided ones by when
-- they are forgotten (each row is in one of the two).
CREATE INDEX IF NOT EXISTS tail_waiting_by_due ON tail_traces (due_unix_nano)
    WHERE decision IS NULL;
CREATE INDEX IF NOT EXISTS tail_decided_by_due ON tail_traces (due_unix_nano)
    WHERE decision IS NOT NULL;
"#;

/// How often, at most, the indexer runs a decision pass while traces wait.
pub const PASS_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Most traces decided in one transaction.
const PASS_BATCH: usize = 2_000;

const NANOS_PER_MS: i64 = 1_000_000;

/// What happens to a batch's spans of one trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Stored; the trace waits for its decision.
    Waiting,
    Kept,
    /// Not stored: the trace was dropped.
    Dropped,
}

/// Where the batch's spans are going: the partition, and the epoch of its next span.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    pub partition: i64,
    pub epoch: i64,
}

/// A trace to decide, as its row holds it.
#[derive(Debug)]
pub(crate) struct Due {
    pub trace_id: String,
    pub facts: TraceFacts,
    pub early: Option<EarlyDecision>,
    pub partition: i64,
    pub first_epoch: i64,
    pub first_start: i64,
}

/// The traces a pass decides.
#[derive(Debug)]
pub(crate) struct DueTraces {
    pub due: Vec<Due>,
    /// Whether these are all the traces due (false: more than a pass's worth; go on).
    pub complete: bool,
}

/// The facts' JSON, as `tail_traces.facts` keeps them.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct StoredFacts {
    e: bool,
    s: i64,
    n: i64,
    svc: Option<String>,
    env: Option<String>,
    r: Option<String>,
    rt: bool,
    k: bool,
    d: bool,
}

impl From<&TraceFacts> for StoredFacts {
    fn from(f: &TraceFacts) -> Self {
        StoredFacts {
            e: f.error,
            s: f.start_unix_nano,
            n: f.end_unix_nano,
            svc: f.service.clone(),
            env: f.environment.clone(),
            r: f.route.clone(),
            rt: f.route_is_template,
            k: f.keep_match,
            d: f.drop_match,
        }
    }
}

impl From<StoredFacts> for TraceFacts {
    fn from(f: StoredFacts) -> Self {
        TraceFacts {
            error: f.e,
            start_unix_nano: f.s,
            end_unix_nano: f.n,
            service: f.svc,
            environment: f.env,
            route: f.r,
            route_is_template: f.rt,
            keep_match: f.k,
            drop_match: f.d,
        }
    }
}

fn early_label(early: Option<EarlyDecision>) -> Option<&'static str> {
    early.map(EarlyDecision::as_str)
}

fn parse_early(text: Option<String>) -> Option<EarlyDecision> {
    EarlyDecision::ALL
        .into_iter()
        .find(|e| text.as_deref() == Some(e.as_str()))
}

/// The indexer's tail-sampling state: the policies, the adaptive ratios.
pub(crate) struct TailIndex {
    policy: Policy,
    adaptive: Adaptive,
    wait_nanos: i64,
    remember_nanos: i64,
    max_spans: i64,
    max_waiting: u64,
}

impl TailIndex {
    pub fn new(config: &SampleConfig) -> TailIndex {
        let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX / NANOS_PER_MS) * NANOS_PER_MS;
        TailIndex {
            policy: Policy::new(config),
            adaptive: Adaptive::new(&config.adaptive),
            wait_nanos: ms(config.decision_wait_ms),
            remember_nanos: ms(config.remember_decisions_ms),
            max_spans: i64::try_from(config.max_spans_per_trace).unwrap_or(i64::MAX),
            max_waiting: config.max_waiting_traces,
        }
    }

    pub fn wait_nanos(&self) -> i64 {
        self.wait_nanos
    }

    pub fn adaptive(&self) -> &Adaptive {
        &self.adaptive
    }

    /// Records the batch's spans (and the traces its browser errors name) into their traces'
    /// rows (`write`: false when `rum.sqlite` has this batch already, a replay), and says what
    /// happens to each trace's spans; `new` counts the traces that start waiting.
    pub fn observe(
        &self,
        tx: &Connection,
        batch: &Batch,
        now: i64,
        place: Place,
        write: bool,
        new: &std::cell::Cell<u64>,
    ) -> Result<HashMap<TraceId, Fate>, StoreError> {
        let mut by_trace: Vec<(TraceId, Vec<&Span>)> = Vec::new();
        let mut at: HashMap<TraceId, usize> = HashMap::new();
        for span in &batch.spans {
            let i = *at.entry(span.trace_id).or_insert_with(|| {
                by_trace.push((span.trace_id, Vec::new()));
                by_trace.len() - 1
            });
            by_trace[i].1.push(span);
        }
        let errors: Vec<TraceId> = batch.errors.iter().filter_map(|e| e.trace_id).collect();
        for trace in &errors {
            if !at.contains_key(trace) {
                at.insert(*trace, by_trace.len());
                by_trace.push((*trace, Vec::new()));
            }
        }
        let mut fates = HashMap::with_capacity(by_trace.len());
        for (trace, spans) in by_trace {
            let id = trace.to_string();
            // Most traces are new (a browser's fetch is a trace of its own): one insert, and
            // only when the row exists a read.
            if write && self.insert_new(tx, &id, &spans, errors.contains(&trace), now, place)? {
                new.set(new.get() + 1);
                fates.insert(trace, Fate::Waiting);
                continue;
            }
            let row: Option<(Option<i64>, i64, String, Option<String>)> = tx
                .prepare_cached(
                    "SELECT decision, spans, facts, early FROM tail_traces WHERE trace_id = ?1",
                )?
                .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()?;
            let fate = match &row {
                Some((Some(1), ..)) => Fate::Kept,
                Some((Some(_), ..)) => Fate::Dropped,
                _ => Fate::Waiting,
            };
            fates.insert(trace, fate);
            if !write || fate != Fate::Waiting {
                continue;
            }
            let browser_error = errors.contains(&trace);
            match row {
                // Inserted by an earlier batch of this run and gone since: cannot happen
                // within one transaction; nothing to merge.
                None => {}
                Some((_, count, facts, early)) => {
                    let mut facts: TraceFacts = serde_json::from_str::<StoredFacts>(&facts)?.into();
                    let had_spans = count > 0;
                    for (i, span) in spans.iter().enumerate() {
                        self.policy.observe(&mut facts, span, i == 0 && !had_spans);
                    }
                    facts.error |= browser_error;
                    let count = count + spans.len() as i64;
                    let capped = count >= self.max_spans && early.is_none();
                    tx.prepare_cached(
                        // A trace first named by a browser error has no first span yet:
                        // this batch's is.
                        "UPDATE tail_traces SET spans = ?2, facts = ?3,
                            due_unix_nano = CASE WHEN ?4 THEN ?5 ELSE due_unix_nano END,
                            early = CASE WHEN ?4 THEN ?6 ELSE early END,
                            partition = CASE WHEN spans = 0 THEN ?7 ELSE partition END,
                            first_epoch = CASE WHEN spans = 0 THEN ?8 ELSE first_epoch END,
                            first_start = CASE WHEN spans = 0 THEN ?9 ELSE first_start END
                         WHERE trace_id = ?1",
                    )?
                    .execute(params![
                        id,
                        count,
                        serde_json::to_string(&StoredFacts::from(&facts))?,
                        capped,
                        now,
                        EarlyDecision::SpanCap.as_str(),
                        place.partition,
                        place.epoch,
                        spans.first().map_or(0, |s| s.start_unix_nano),
                    ])?;
                }
            }
        }
        Ok(fates)
    }

    /// A new trace's row; false (nothing written) when the trace has one already.
    fn insert_new(
        &self,
        tx: &Connection,
        id: &str,
        spans: &[&Span],
        browser_error: bool,
        now: i64,
        place: Place,
    ) -> Result<bool, StoreError> {
        let mut facts = TraceFacts::default();
        for (i, span) in spans.iter().enumerate() {
            self.policy.observe(&mut facts, span, i == 0);
        }
        facts.error |= browser_error;
        let count = spans.len() as i64;
        let (due, early) = if count >= self.max_spans {
            (now, Some(EarlyDecision::SpanCap))
        } else {
            (now.saturating_add(self.wait_nanos), None)
        };
        let inserted = tx
            .prepare_cached(
                "INSERT INTO tail_traces (trace_id, due_unix_nano, spans, facts, early,
                    partition, first_epoch, first_start)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (trace_id) DO NOTHING",
            )?
            .execute(params![
                id,
                due,
                count,
                serde_json::to_string(&StoredFacts::from(&facts))?,
                early_label(early),
                place.partition,
                place.epoch,
                spans.first().map_or(0, |s| s.start_unix_nano),
            ])?;
        Ok(inserted == 1)
    }

    /// The traces whose decision is due at `now` (at most a pass's worth), and, past
    /// `max_waiting_traces` waiting, the oldest others (decided early). Decided rows whose
    /// memory has run out are deleted on the way.
    pub fn due(&self, conn: &Connection, now: i64, waiting: u64) -> Result<DueTraces, StoreError> {
        conn.prepare_cached(
            "DELETE FROM tail_traces WHERE due_unix_nano <= ?1 AND decision IS NOT NULL",
        )?
        .execute([now])?;
        let read = |r: &rusqlite::Row| -> rusqlite::Result<(String, String, Option<String>, i64, i64, i64)> {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        };
        let columns = "trace_id, facts, early, partition, first_epoch, first_start";
        let mut rows: Vec<_> = conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM tail_traces
                 WHERE due_unix_nano <= ?1 AND decision IS NULL
                 ORDER BY due_unix_nano LIMIT ?2"
            ))?
            .query_map(params![now, PASS_BATCH as i64], read)?
            .collect::<Result<_, _>>()?;
        let complete = rows.len() < PASS_BATCH;
        let mut capped = 0usize;
        if complete {
            let excess = waiting
                .saturating_sub(rows.len() as u64)
                .saturating_sub(self.max_waiting);
            if excess > 0 {
                let more: Vec<_> = conn
                    .prepare_cached(&format!(
                        "SELECT {columns} FROM tail_traces
                         WHERE due_unix_nano > ?1 AND decision IS NULL
                         ORDER BY due_unix_nano LIMIT ?2"
                    ))?
                    .query_map(params![now, excess.min(PASS_BATCH as u64) as i64], read)?
                    .collect::<Result<_, _>>()?;
                capped = more.len();
                rows.extend(more);
            }
        }
        let first_capped = rows.len() - capped;
        let mut due = Vec::with_capacity(rows.len());
        for (i, (trace_id, facts, early, partition, first_epoch, first_start)) in
            rows.into_iter().enumerate()
        {
            let early = if i >= first_capped {
                Some(EarlyDecision::WaitingCap)
            } else {
                parse_early(early)
            };
            due.push(Due {
                trace_id,
                facts: serde_json::from_str::<StoredFacts>(&facts)?.into(),
                early,
                partition,
                first_epoch,
                first_start,
            });
        }
        Ok(DueTraces { due, complete })
    }

    /// The decision for a due trace, at `now` (the adaptive ratio counts it).
    pub fn decide(&mut self, due: &Due, now: i64) -> Decision {
        let facts = &due.facts;
        let Some(trace) = TraceId::from_hex(&due.trace_id) else {
            // Not written by this gateway: keep it, there is nothing to decide by.
            return Decision {
                keep: true,
                reason: SampleReason::Ratio,
            };
        };
        let service = facts.service.as_deref();
        match self
            .policy
            .ratio_source(service, facts.environment.as_deref())
        {
            RatioSource::Fixed(ratio) => self.policy.decide(&trace, facts, ratio),
            RatioSource::Target(target) => {
                let name = service.unwrap_or("");
                let ratio = self.adaptive.ratio(name, target, now);
                let decision = self.policy.decide(&trace, facts, ratio);
                self.adaptive.observe(
                    name,
                    now,
                    facts.error,
                    decision.reason == SampleReason::Ratio,
                );
                decision
            }
        }
    }

    /// Records the pass's decisions (remembered until `now + remember_decisions_ms`).
    pub fn record(
        &self,
        tx: &Connection,
        decided: &[(&Due, Decision)],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut update = tx.prepare_cached(
            "UPDATE tail_traces SET decision = ?2, reason = ?3, early = ?4, due_unix_nano = ?5
             WHERE trace_id = ?1",
        )?;
        let forget_at = now.saturating_add(self.remember_nanos);
        for (due, decision) in decided {
            update.execute(params![
                due.trace_id,
                i64::from(decision.keep),
                decision.reason.as_str(),
                early_label(due.early),
                forget_at,
            ])?;
        }
        Ok(())
    }
}

/// Traces waiting for their decision.
pub(crate) fn waiting(conn: &Connection) -> Result<u64, StoreError> {
    let waiting: i64 = conn
        .prepare_cached("SELECT count(*) FROM tail_traces WHERE decision IS NULL")?
        .query_row([], |r| r.get(0))?;
    Ok(u64::try_from(waiting).unwrap_or(0))
}

/// Deletes a dropped trace's spans (with their events and links, and its trace start) from
/// one partition: the epochs given are those its spans can be in. Returns the spans deleted.
pub(crate) fn delete_trace(
    part: &Connection,
    trace_id: &str,
    epochs: std::ops::RangeInclusive<i64>,
    first_start: i64,
) -> Result<u64, StoreError> {
    let mut deleted = 0u64;
    let mut spans = part.prepare_cached("DELETE FROM spans WHERE epoch = ?1 AND trace_id = ?2")?;
    for epoch in epochs {
        deleted += spans.execute(params![epoch, trace_id])? as u64;
    }
    part.prepare_cached("DELETE FROM span_extras WHERE trace_id = ?1")?
        .execute([trace_id])?;
    part.prepare_cached("DELETE FROM trace_starts WHERE start_unix_nano = ?1 AND trace_id = ?2")?
        .execute(params![first_start, trace_id])?;
    Ok(deleted)
}

/// The decision export follows for a trace: false only for a trace remembered as dropped
/// (a trace whose decision was forgotten is exported).
pub fn exported(conn: &Connection, trace_id: &[u8]) -> Result<bool, StoreError> {
    let decision: Option<Option<i64>> = conn
        .prepare_cached("SELECT decision FROM tail_traces WHERE trace_id = ?1")?
        .query_row([hex::encode(trace_id)], |r| r.get(0))
        .optional()?;
    Ok(decision != Some(Some(0)))
}

/// An OTLP traces payload without the spans `keep` refuses (resource and scope entries left
/// empty are removed), and how many spans it still holds. The payload as it was when nothing
/// is removed.
pub fn filter_trace_payload(
    payload: Vec<u8>,
    mut keep: impl FnMut(&[u8]) -> bool,
) -> (Vec<u8>, u64) {
    let Ok(mut request) = ExportTraceServiceRequest::decode(payload.as_slice()) else {
        // Encoded by this gateway: undecodable only if corrupt, and then sent as it is.
        return (payload, 0);
    };
    let mut removed = false;
    let mut kept = 0u64;
    for resource in &mut request.resource_spans {
        for scope in &mut resource.scope_spans {
            let before = scope.spans.len();
            scope.spans.retain(|s| keep(&s.trace_id));
            removed |= scope.spans.len() != before;
            kept += scope.spans.len() as u64;
        }
        resource.scope_spans.retain(|s| !s.spans.is_empty());
    }
    request.resource_spans.retain(|r| !r.scope_spans.is_empty());
    if !removed {
        return (payload, kept);
    }
    (request.encode_to_vec(), kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan};

    #[test]
    fn a_payload_loses_exactly_the_dropped_traces_spans() {
        let span = |t: u8| OtlpSpan {
            trace_id: vec![t; 16],
            span_id: vec![1; 8],
            ..OtlpSpan::default()
        };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans: vec![span(1), span(2), span(1)],
                        ..ScopeSpans::default()
                    }],
                    ..ResourceSpans::default()
                },
                ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans: vec![span(2)],
                        ..ScopeSpans::default()
                    }],
                    ..ResourceSpans::default()
                },
            ],
        };
        let bytes = request.encode_to_vec();
        let (same, n) = filter_trace_payload(bytes.clone(), |_| true);
        assert_eq!((same == bytes, n), (true, 4));
        let (filtered, n) = filter_trace_payload(bytes, |t| t[0] == 1);
        assert_eq!(n, 2);
        let back = ExportTraceServiceRequest::decode(filtered.as_slice()).expect("decode");
        assert_eq!(back.resource_spans.len(), 1);
        assert_eq!(back.resource_spans[0].scope_spans[0].spans.len(), 2);
    }
}
