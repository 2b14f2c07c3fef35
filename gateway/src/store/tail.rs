//! Tail sampling's store side (the policies are `crate::sample`): the traces waiting for a
//! decision, the decision pass, and what export reads of the decisions.
//!
//! * The waiting traces and the remembered decisions are kept in memory: a lookup per trace and
//!   batch costs no B-tree write. What makes them durable is appended, so every write lands on
//!   the last page of its table: `tail_observations` gets a row per batch and trace (the trace's
//!   merged facts so far), in the same transaction as those spans; `tail_decisions` a row per
//!   decision. At start both are read back: the decisions still remembered, and the latest
//!   observation of each trace not decided. Rows no longer needed are deleted by `id` range.
//!   (A first version kept one row per trace, inserted, updated with its decision and deleted:
//!   three random B-tree writes per trace that cost the gateway about half its throughput.)
//! * The spans themselves are stored in their partition as they come, so they are durable and
//!   readable while they wait.
//! * The indexer runs a decision pass between groups and at least every [`PASS_EVERY`]: each
//!   trace whose window has passed is decided; a dropped trace's spans are deleted from its
//!   partition (committed before its decision, so a crash between the two decides it again,
//!   with the same facts). Spans that arrive after the decision follow it; a dropped trace's
//!   late spans are not stored.
//! * Export waits for the decisions: the exporter reads a log record only once every trace in
//!   it is decided, and leaves out the spans of dropped traces ([`filter_trace_payload`],
//!   [`Decisions::exported`]).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use rusqlite::{params, Connection};

use super::StoreError;
use crate::model::{Batch, Span, TraceId};
use crate::outcome::{EarlyDecision, SampleReason};
use crate::sample::adaptive::Adaptive;
use crate::sample::policy::{Decision, Policy, RatioSource, TraceFacts};
use crate::sample::SampleConfig;

pub(crate) const TAIL_TABLE: &str = r#"
-- Tail sampling (store/tail.rs), append-only: each batch's merged facts of each waiting trace,
-- and each decision. Both are read back at start and deleted by id range once not needed.
DROP TABLE IF EXISTS tail_traces;
CREATE TABLE IF NOT EXISTS tail_observations (
    id              INTEGER PRIMARY KEY,
    trace_id        BLOB NOT NULL,
    due_unix_nano   INTEGER NOT NULL,
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
);
CREATE TABLE IF NOT EXISTS tail_decisions (
    id              INTEGER PRIMARY KEY,
    trace_id        BLOB NOT NULL,
    keep            INTEGER NOT NULL,
    forget_unix_nano INTEGER NOT NULL
);
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

/// A trace waiting for its decision.
#[derive(Debug, Clone)]
pub(crate) struct Waiting {
    pub facts: TraceFacts,
    pub spans: i64,
    pub due: i64,
    pub early: Option<EarlyDecision>,
    pub partition: i64,
    pub first_epoch: i64,
    pub first_start: i64,
    /// Its first observation row: every later row of it has a larger id.
    pub first_observation: i64,
}

/// A trace to decide.
#[derive(Debug)]
pub(crate) struct Due {
    pub trace: TraceId,
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

/// The observations of a run of batches, applied to the waiting traces once it commits (a
/// run that fails is retried batch by batch, and must not count twice).
pub(crate) type Staged = RefCell<HashMap<TraceId, Waiting>>;

/// The remembered decisions: what late spans and the exporter follow. Shared with the
/// exporter (`super::outbox`).
#[derive(Debug, Default)]
pub struct Decisions {
    /// Kept or not, and the row of the trace's latest decision.
    keep: HashMap<TraceId, (bool, i64)>,
    /// (forget at, trace, its tail_decisions row), oldest first.
    order: VecDeque<(i64, TraceId, i64)>,
}

impl Decisions {
    fn get(&self, trace: &TraceId) -> Option<bool> {
        self.keep.get(trace).map(|(keep, _)| *keep)
    }

    /// The decision export follows for a trace: false only for a trace remembered as
    /// dropped (a trace whose decision was forgotten is exported).
    pub fn exported(&self, trace_id: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 16]>::try_from(trace_id) else {
            return true;
        };
        self.get(&TraceId(bytes)) != Some(false)
    }

    fn insert(&mut self, trace: TraceId, keep: bool, forget_at: i64, row: i64) {
        self.keep.insert(trace, (keep, row));
        self.order.push_back((forget_at, trace, row));
    }

    /// Forgets the decisions due at `now`, and the oldest past `max` remembered; returns the
    /// last forgotten row, if any.
    fn expire(&mut self, now: i64, max: usize) -> Option<i64> {
        let mut last = None;
        while let Some(&(at, trace, row)) = self.order.front() {
            if at > now && self.order.len() <= max {
                break;
            }
            self.order.pop_front();
            // A trace decided again later keeps its newer decision.
            if self
                .keep
                .get(&trace)
                .is_some_and(|&(_, latest)| latest == row)
            {
                self.keep.remove(&trace);
            }
            last = Some(row);
        }
        last
    }
}

/// The facts' JSON, as `tail_observations.facts` keeps them.
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

/// The indexer's tail-sampling state: the policies, the adaptive ratios, the waiting traces
/// and the remembered decisions.
pub(crate) struct TailIndex {
    policy: Policy,
    adaptive: Adaptive,
    wait_nanos: i64,
    remember_nanos: i64,
    max_spans: i64,
    max_waiting: u64,
    max_remembered: usize,
    waiting: HashMap<TraceId, Waiting>,
    /// Waiting traces by due time, oldest first (stale entries skipped when met).
    queue: VecDeque<(i64, TraceId)>,
    /// Traces a cap made due at once.
    urgent: Vec<TraceId>,
    /// Waiting traces by their first observation row: the oldest row still needed is the first.
    by_observation: std::collections::BTreeMap<i64, TraceId>,
    decisions: Arc<Mutex<Decisions>>,
}

fn lock(decisions: &Mutex<Decisions>) -> std::sync::MutexGuard<'_, Decisions> {
    decisions.lock().unwrap_or_else(|p| p.into_inner())
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
            max_remembered: usize::try_from(config.max_remembered_decisions).unwrap_or(usize::MAX),
            waiting: HashMap::new(),
            queue: VecDeque::new(),
            urgent: Vec::new(),
            by_observation: std::collections::BTreeMap::new(),
            decisions: Arc::default(),
        }
    }

    pub fn wait_nanos(&self) -> i64 {
        self.wait_nanos
    }

    pub fn adaptive(&self) -> &Adaptive {
        &self.adaptive
    }

    /// The remembered decisions, for the exporter.
    pub fn decisions(&self) -> Arc<Mutex<Decisions>> {
        Arc::clone(&self.decisions)
    }

    /// Traces waiting for their decision.
    pub fn waiting(&self) -> u64 {
        self.waiting.len() as u64
    }

    /// Reads back what the last run left: the decisions still remembered at `now`, and each
    /// undecided trace's latest observation.
    pub fn load(&mut self, conn: &Connection, now: i64) -> Result<(), StoreError> {
        let mut decisions = lock(&self.decisions);
        let mut stmt = conn.prepare(
            "SELECT id, trace_id, keep, forget_unix_nano FROM tail_decisions
             WHERE forget_unix_nano > ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([now])?;
        while let Some(r) = rows.next()? {
            let Some(trace) = trace_of(&r.get::<_, Vec<u8>>(1)?) else {
                continue;
            };
            decisions.insert(trace, r.get::<_, i64>(2)? == 1, r.get(3)?, r.get(0)?);
        }
        let mut stmt = conn.prepare(
            "SELECT id, trace_id, due_unix_nano, early, spans, facts, partition, first_epoch,
                first_start FROM tail_observations ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let Some(trace) = trace_of(&r.get::<_, Vec<u8>>(1)?) else {
                continue;
            };
            if decisions.get(&trace).is_some() {
                continue;
            }
            let id: i64 = r.get(0)?;
            let facts: String = r.get(5)?;
            let first_observation = self.waiting.get(&trace).map_or(id, |w| w.first_observation);
            self.waiting.insert(
                trace,
                Waiting {
                    facts: serde_json::from_str::<StoredFacts>(&facts)?.into(),
                    spans: r.get(4)?,
                    due: r.get(2)?,
                    early: parse_early(r.get(3)?),
                    partition: r.get(6)?,
                    first_epoch: r.get(7)?,
                    first_start: r.get(8)?,
                    first_observation,
                },
            );
        }
        drop(decisions);
        self.by_observation = self
            .waiting
            .iter()
            .map(|(t, w)| (w.first_observation, *t))
            .collect();
        let mut queue: Vec<(i64, TraceId)> =
            self.waiting.iter().map(|(t, w)| (w.due, *t)).collect();
        queue.sort_unstable_by_key(|(due, t)| (*due, t.0));
        self.queue = queue.into();
        Ok(())
    }

    /// What the batch's spans of each trace do, and (`write`: false when `rum.sqlite` has this
    /// batch already, a replay) the waiting traces' observations, appended to
    /// `tail_observations` and staged in `staged` until the run commits.
    pub fn observe(
        &self,
        tx: &Connection,
        batch: &Batch,
        now: i64,
        place: Place,
        write: bool,
        staged: &Staged,
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
        let decisions = lock(&self.decisions);
        let mut staged = staged.borrow_mut();
        for (trace, spans) in by_trace {
            match decisions.get(&trace) {
                Some(true) => {
                    fates.insert(trace, Fate::Kept);
                    continue;
                }
                Some(false) => {
                    fates.insert(trace, Fate::Dropped);
                    continue;
                }
                None => {
                    fates.insert(trace, Fate::Waiting);
                }
            }
            if !write {
                continue;
            }
            let known = staged
                .get(&trace)
                .or_else(|| self.waiting.get(&trace))
                .cloned();
            let had_spans = known.as_ref().is_some_and(|w| w.spans > 0);
            let mut waiting = known.unwrap_or_else(|| Waiting {
                facts: TraceFacts::default(),
                spans: 0,
                due: now.saturating_add(self.wait_nanos),
                early: None,
                partition: place.partition,
                first_epoch: place.epoch,
                first_start: 0,
                first_observation: 0,
            });
            if !had_spans {
                // A trace first named by a browser error has no first span yet: this batch's is.
                if let Some(first) = spans.first() {
                    waiting.partition = place.partition;
                    waiting.first_epoch = place.epoch;
                    waiting.first_start = first.start_unix_nano;
                }
            }
            for (i, span) in spans.iter().enumerate() {
                self.policy
                    .observe(&mut waiting.facts, span, i == 0 && !had_spans);
            }
            waiting.facts.error |= errors.contains(&trace);
            waiting.spans += spans.len() as i64;
            if waiting.spans >= self.max_spans && waiting.early.is_none() {
                waiting.early = Some(EarlyDecision::SpanCap);
                waiting.due = now;
            }
            tx.prepare_cached(
                "INSERT INTO tail_observations (trace_id, due_unix_nano, early, spans, facts,
                    partition, first_epoch, first_start) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                &trace.0[..],
                waiting.due,
                early_label(waiting.early),
                waiting.spans,
                serde_json::to_string(&StoredFacts::from(&waiting.facts))?,
                waiting.partition,
                waiting.first_epoch,
                waiting.first_start,
            ])?;
            if waiting.first_observation == 0 {
                waiting.first_observation = tx.last_insert_rowid();
            }
            staged.insert(trace, waiting);
        }
        Ok(fates)
    }

    /// A committed run's observations become the waiting traces'.
    pub fn apply(&mut self, staged: HashMap<TraceId, Waiting>) {
        // Queued oldest first: by due time, then by first observation (the order the run saw
        // them), so a cap decides the oldest early whatever the map's order.
        let mut staged: Vec<(TraceId, Waiting)> = staged.into_iter().collect();
        staged.sort_by_key(|(_, w)| (w.due, w.first_observation));
        for (trace, waiting) in staged {
            let new = !self.waiting.contains_key(&trace);
            if new {
                self.by_observation.insert(waiting.first_observation, trace);
            }
            if waiting.early == Some(EarlyDecision::SpanCap) {
                self.urgent.push(trace);
            } else if new {
                self.queue.push_back((waiting.due, trace));
            }
            self.waiting.insert(trace, waiting);
        }
    }

    /// The traces whose decision is due at `now` (at most a pass's worth), and, past
    /// `max_waiting_traces` waiting, the oldest others (decided early). They stop waiting.
    pub fn due(&mut self, now: i64) -> DueTraces {
        let mut due = Vec::new();
        for trace in std::mem::take(&mut self.urgent) {
            if let Some(d) = self.stop_waiting(trace, None) {
                due.push(d);
            }
        }
        let mut complete = true;
        while let Some(&(at, trace)) = self.queue.front() {
            let over_cap = self.waiting.len() as u64 > self.max_waiting;
            if at > now && !over_cap {
                break;
            }
            if due.len() >= PASS_BATCH {
                complete = false;
                break;
            }
            self.queue.pop_front();
            // An entry of an earlier wait of the same trace (decided, forgotten, waiting again)
            // is stale.
            if self.waiting.get(&trace).is_none_or(|w| w.due != at) {
                continue;
            }
            let early = (at > now).then_some(EarlyDecision::WaitingCap);
            if let Some(d) = self.stop_waiting(trace, early) {
                due.push(d);
            }
        }
        DueTraces { due, complete }
    }

    fn stop_waiting(&mut self, trace: TraceId, early: Option<EarlyDecision>) -> Option<Due> {
        let w = self.waiting.remove(&trace)?;
        self.by_observation.remove(&w.first_observation);
        Some(Due {
            trace,
            trace_id: trace.to_string(),
            facts: w.facts,
            early: early.or(w.early),
            partition: w.partition,
            first_epoch: w.first_epoch,
            first_start: w.first_start,
        })
    }

    /// The first observation row any waiting trace still needs (every older row can go).
    pub fn oldest_observation(&self) -> Option<i64> {
        self.by_observation.keys().next().copied()
    }

    /// The decision for a due trace, at `now` (the adaptive ratio counts it).
    pub fn decide(&mut self, due: &Due, now: i64) -> Decision {
        let facts = &due.facts;
        let service = facts.service.as_deref();
        match self
            .policy
            .ratio_source(service, facts.environment.as_deref())
        {
            RatioSource::Fixed(ratio) => self.policy.decide(&due.trace, facts, ratio),
            RatioSource::Target(target) => {
                let name = service.unwrap_or("");
                let ratio = self.adaptive.ratio(name, target, now);
                let decision = self.policy.decide(&due.trace, facts, ratio);
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

    /// Appends the pass's decisions (remembered until `now + remember_decisions_ms`) and
    /// deletes the rows no longer needed; returns what to remember once `tx` commits.
    pub fn record(
        &mut self,
        tx: &Connection,
        decided: &[(&Due, Decision)],
        now: i64,
    ) -> Result<Vec<(TraceId, bool, i64, i64)>, StoreError> {
        let forget_at = now.saturating_add(self.remember_nanos);
        let mut remembered = Vec::with_capacity(decided.len());
        let mut insert = tx.prepare_cached(
            "INSERT INTO tail_decisions (trace_id, keep, forget_unix_nano) VALUES (?1, ?2, ?3)",
        )?;
        for (due, decision) in decided {
            insert.execute(params![
                &due.trace.0[..],
                i64::from(decision.keep),
                forget_at
            ])?;
            remembered.push((due.trace, decision.keep, forget_at, tx.last_insert_rowid()));
        }
        let oldest = self.oldest_observation().unwrap_or(i64::MAX);
        tx.prepare_cached("DELETE FROM tail_observations WHERE id < ?1")?
            .execute([oldest])?;
        let forgotten = lock(&self.decisions).expire(now, self.max_remembered);
        if let Some(row) = forgotten {
            tx.prepare_cached("DELETE FROM tail_decisions WHERE id <= ?1")?
                .execute([row])?;
        }
        Ok(remembered)
    }

    /// Remembers a committed pass's decisions.
    pub fn remember(&mut self, remembered: Vec<(TraceId, bool, i64, i64)>) {
        let mut decisions = lock(&self.decisions);
        for (trace, keep, forget_at, row) in remembered {
            decisions.insert(trace, keep, forget_at, row);
        }
    }
}

fn trace_of(bytes: &[u8]) -> Option<TraceId> {
    <[u8; 16]>::try_from(bytes).ok().map(TraceId)
}

/// Deletes a dropped trace's spans (with their events and links, and its trace start) from
/// one partition: the epochs given are those its spans can be in. Returns the spans deleted.
pub(crate) fn delete_trace(
    part: &Connection,
    trace_id: &str,
    epochs: std::ops::RangeInclusive<i64>,
    first_start: i64,
) -> Result<u64, StoreError> {
    let deleted = delete_spans(part, trace_id, epochs)?;
    part.prepare_cached("DELETE FROM trace_starts WHERE start_unix_nano = ?1 AND trace_id = ?2")?
        .execute(params![first_start, trace_id])?;
    Ok(deleted)
}

/// Deletes a trace's spans in the given epochs of `conn`'s `spans` (one index seek each), with
/// their events and links; returns the spans deleted.
pub(crate) fn delete_spans(
    conn: &Connection,
    trace_id: &str,
    epochs: std::ops::RangeInclusive<i64>,
) -> Result<u64, StoreError> {
    let mut deleted = 0u64;
    let epochs_again = epochs.clone();
    let mut spans = conn.prepare_cached("DELETE FROM spans WHERE epoch = ?1 AND trace_id = ?2")?;
    for epoch in epochs {
        deleted += spans.execute(params![epoch, trace_id])? as u64;
    }
    conn.prepare_cached("DELETE FROM span_extras WHERE trace_id = ?1")?
        .execute([trace_id])?;
    super::search::delete_trace_rows(conn, trace_id, epochs_again)?;
    Ok(deleted)
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

    /// Traces staged in one run share a due time: the waiting cap decides them in the order
    /// they were first observed, not in the staging map's order.
    #[test]
    fn the_cap_decides_the_oldest_observed_first_within_one_run() {
        let config = crate::sample::SampleConfig {
            max_waiting_traces: 2,
            ..crate::sample::SampleConfig::default()
        };
        let mut index = TailIndex::new(&config);
        let staged: HashMap<TraceId, Waiting> = (1..=40u8)
            .map(|t| {
                let waiting = Waiting {
                    facts: TraceFacts::default(),
                    spans: 1,
                    due: 1_000,
                    early: None,
                    partition: 0,
                    first_epoch: 0,
                    first_start: 0,
                    first_observation: i64::from(t),
                };
                (TraceId([t; 16]), waiting)
            })
            .collect();
        index.apply(staged);
        let decided: Vec<u8> = index.due(0).due.iter().map(|d| d.trace.0[0]).collect();
        assert_eq!(decided, (1..=38).collect::<Vec<u8>>());
        assert!(index.waiting.contains_key(&TraceId([39; 16])));
        assert!(index.waiting.contains_key(&TraceId([40; 16])));
    }

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
