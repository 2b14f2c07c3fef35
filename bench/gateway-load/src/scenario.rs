//! Load runs against one server: closed loop (each connection sends its next request as
//! soon as the previous answer is read: peak throughput) and open loop (requests on a fixed
//! schedule, latency counted from the scheduled time so a slow answer cannot hide the
//! requests it delayed: no coordinated omission).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::bodies::{Payload, RequestWriter};
use crate::http_client::Conn;
use crate::process::{self, StateSampler, StateShares};

/// Where the load goes, and the process to watch (if known).
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub addr: std::net::SocketAddr,
    pub pid: Option<u32>,
}

/// How a run is shaped.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn from_micros(mut us: Vec<u32>) -> Latency {
        if us.is_empty() {
            return Latency::default();
        }
        us.sort_unstable();
        let at = |p: f64| {
            let rank = ((p * us.len() as f64).ceil() as usize).clamp(1, us.len());
            f64::from(us[rank - 1]) / 1000.0
        };
        let sum: u64 = us.iter().map(|&u| u64::from(u)).sum();
        Latency {
            samples: us.len(),
            mean_ms: sum as f64 / us.len() as f64 / 1000.0,
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: at(1.0),
        }
    }
}

/// What the server process used during the measured window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    /// utime + stime over the window ÷ wall time: cores used.
    pub cpu_cores: f64,
    /// Cores used per thread name (`tokio-runtime-w`, `store-indexer`, …).
    pub thread_cores: BTreeMap<String, f64>,
    /// VmHWM at the end of the window: the peak over the process's life so far.
    pub peak_rss_mb: f64,
    /// VmRSS at the end of the window.
    pub rss_mb: f64,
    /// Bytes the server caused to be written to storage, per second.
    pub disk_write_mb_per_s: f64,
    /// Scheduler states of the store's index thread (sampled every 2 ms), gateway only.
    pub store_writer: Option<StateShares>,
    /// Cores the load generator itself used (it shares the machine).
    pub generator_cpu_cores: f64,
    /// Cores the whole machine was busy, and what of it was neither server nor generator
    /// (other processes: the noise in these numbers).
    pub machine_busy_cores: f64,
    pub other_processes_cores: f64,
    /// Server threads runnable but waiting for a CPU, on average (thread-equivalents).
    pub server_cpu_wait: f64,
}

/// One run's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub payload: String,
    pub events_per_request: usize,
    pub body_bytes: usize,
    /// `closed` or `open`.
    pub mode: &'static str,
    pub connections: usize,
    pub window_s: f64,
    /// 2xx answers completed in the window (closed) or scheduled in it (open).
    pub ok: u64,
    pub non_2xx: u64,
    pub io_errors: u64,
    pub statuses: BTreeMap<u16, u64>,
    /// First non-2xx body or I/O error seen, for the report.
    pub first_error: Option<String>,
    /// 2xx answers over the whole run, warm-up included (to check the server's counters).
    pub ok_total: u64,
    pub req_per_s: f64,
    pub events_per_s: f64,
    /// Closed loop: write of the request → last byte of the response. Open loop: from the
    /// scheduled send time.
    pub latency: Latency,
    /// Open loop only: from the actual write (what the server alone took).
    pub service_latency: Option<Latency>,
    pub target_rate: Option<f64>,
    /// Open loop only: scheduled requests never sent by the end (the server fell behind).
    pub backlog: Option<u64>,
    /// Open loop only: the schedule's worst lateness in the generator itself.
    pub pacer_max_late_ms: Option<f64>,
    pub usage: Usage,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    ok_total: u64,
    non_2xx: u64,
    io_errors: u64,
    statuses: BTreeMap<u16, u64>,
    first_error: Option<String>,
    latency_us: Vec<u32>,
    service_us: Vec<u32>,
}

impl Tally {
    fn record(&mut self, outcome: Outcome, latency: Duration, service: Duration, counted: bool) {
        match outcome {
            Outcome::Ok => {
                self.ok_total += 1;
                if counted {
                    self.ok += 1;
                    self.latency_us.push(micros(latency));
                    self.service_us.push(micros(service));
                }
            }
            Outcome::Status(status, body) => {
                *self.statuses.entry(status).or_insert(0) += 1;
                if counted {
                    self.non_2xx += 1;
                }
                self.first_error
                    .get_or_insert_with(|| format!("HTTP {status}: {body}"));
            }
            Outcome::Io(e) => {
                if counted {
                    self.io_errors += 1;
                }
                self.first_error.get_or_insert(e);
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.ok_total += other.ok_total;
        self.non_2xx += other.non_2xx;
        self.io_errors += other.io_errors;
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_insert(0) += n;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latency_us.extend(other.latency_us);
        self.service_us.extend(other.service_us);
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

enum Outcome {
    Ok,
    /// A non-2xx status and the start of its body.
    Status(u16, String),
    Io(String),
}

async fn send(conn: &mut Conn, request: &[u8]) -> Outcome {
    match conn.roundtrip(request).await {
        Ok(status) if (200..300).contains(&status) => Outcome::Ok,
        Ok(status) => Outcome::Status(
            status,
            String::from_utf8_lossy(conn.body())
                .chars()
                .take(300)
                .collect(),
        ),
        Err(e) => Outcome::Io(e.to_string()),
    }
}

/// CPU, memory and disk counters at the start of the window.
struct Probe {
    pid: Option<u32>,
    at: Instant,
    cpu: f64,
    threads: BTreeMap<String, f64>,
    written: u64,
    own_cpu: f64,
    machine: f64,
    waited: f64,
    writer: Option<StateSampler>,
}

impl Probe {
    fn start(pid: Option<u32>) -> anyhow::Result<Probe> {
        let writer = pid
            .and_then(|pid| process::find_thread(pid, "store-indexer"))
            .map(|stat| StateSampler::start(stat, Duration::from_millis(2)));
        Ok(Probe {
            pid,
            at: Instant::now(),
            cpu: pid
                .map(|pid| process::cpu_seconds(Some(pid)))
                .transpose()?
                .unwrap_or(0.0),
            threads: pid
                .map(process::thread_cpu_seconds)
                .transpose()?
                .unwrap_or_default(),
            written: pid
                .and_then(|pid| process::storage_write_bytes(pid).ok())
                .unwrap_or(0),
            own_cpu: process::cpu_seconds(None)?,
            machine: process::machine_busy_seconds()?,
            waited: pid
                .map(process::runqueue_wait_seconds)
                .transpose()?
                .unwrap_or(0.0),
            writer,
        })
    }

    fn finish(self) -> anyhow::Result<Usage> {
        let wall = self.at.elapsed().as_secs_f64();
        let generator_cpu_cores = (process::cpu_seconds(None)? - self.own_cpu) / wall;
        let machine_busy_cores = (process::machine_busy_seconds()? - self.machine) / wall;
        let Some(pid) = self.pid else {
            return Ok(Usage {
                generator_cpu_cores,
                machine_busy_cores,
                other_processes_cores: (machine_busy_cores - generator_cpu_cores).max(0.0),
                ..Usage::default()
            });
        };
        let cpu = process::cpu_seconds(Some(pid))? - self.cpu;
        let waited = (process::runqueue_wait_seconds(pid)? - self.waited).max(0.0);
        let threads = process::thread_cpu_seconds(pid)?
            .into_iter()
            .map(|(name, end)| {
                let start = self.threads.get(&name).copied().unwrap_or(0.0);
                (name, (end - start) / wall)
            })
            .filter(|(_, cores)| *cores > 0.0)
            .collect();
        let written = process::storage_write_bytes(pid)
            .unwrap_or(0)
            .saturating_sub(self.written);
        const MIB: f64 = 1024.0 * 1024.0;
        Ok(Usage {
            cpu_cores: cpu / wall,
            thread_cores: threads,
            peak_rss_mb: process::peak_rss_bytes(Some(pid))? as f64 / MIB,
            rss_mb: process::rss_bytes(Some(pid))? as f64 / MIB,
            disk_write_mb_per_s: written as f64 / wall / MIB,
            store_writer: self.writer.map(StateSampler::finish),
            generator_cpu_cores,
            machine_busy_cores,
            other_processes_cores: (machine_busy_cores - generator_cpu_cores - cpu / wall).max(0.0),
            server_cpu_wait: waited / wall,
        })
    }
}

fn seed(connection: usize) -> u64 {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    clock ^ (connection as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

async fn connect_all(server: &Target, n: usize) -> anyhow::Result<Vec<Conn>> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let mut conn = Conn::new(server.addr);
        conn.connect()
            .await
            .with_context(|| format!("connecting to {} at {}", server.name, server.addr))?;
        conns.push(conn);
    }
    Ok(conns)
}

/// Peak throughput: `spec.connections` connections each send back to back for warm-up +
/// duration; answers completed inside the duration count.
pub async fn closed_loop(
    server: &Target,
    payload: Arc<Payload>,
    spec: Spec,
) -> anyhow::Result<RunResult> {
    let conns = connect_all(server, spec.connections).await?;
    let from = Instant::now() + spec.warmup;
    let to = from + spec.duration;
    let mut tasks = JoinSet::new();
    for (c, mut conn) in conns.into_iter().enumerate() {
        let mut writer = RequestWriter::new(Arc::clone(&payload), seed(c));
        tasks.spawn(async move {
            let mut tally = Tally::default();
            loop {
                let request = writer.next();
                let sent = Instant::now();
                if sent >= to {
                    break;
                }
                let outcome = send(&mut conn, request).await;
                let done = Instant::now();
                let failed = matches!(outcome, Outcome::Io(_));
                tally.record(
                    outcome,
                    done - sent,
                    done - sent,
                    done >= from && done <= to,
                );
                if failed {
                    // Reconnects on the next request; do not spin on a dead server.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            tally
        });
    }
    tokio::time::sleep_until(from.into()).await;
    let probe = Probe::start(server.pid)?;
    tokio::time::sleep_until(to.into()).await;
    let usage = probe.finish()?;
    let tally = join(tasks).await?;
    Ok(result(&payload, "closed", spec, tally, usage, None))
}

/// Latency at a fixed request rate: a pacer thread releases request slots on schedule
/// (std sleep, finer than tokio's 1 ms timer); an idle connection takes the oldest slot.
pub async fn open_loop(
    server: &Target,
    payload: Arc<Payload>,
    spec: Spec,
    rate: f64,
) -> anyhow::Result<RunResult> {
    anyhow::ensure!(rate > 0.0, "open loop needs a positive rate");
    let conns = connect_all(server, spec.connections).await?;
    let start = Instant::now() + Duration::from_millis(20);
    let from = start + spec.warmup;
    let to = from + spec.duration;
    let due: Arc<Mutex<VecDeque<Instant>>> = Arc::new(Mutex::new(VecDeque::new()));
    let slots = Arc::new(Semaphore::new(0));
    let pacer = {
        let (due, slots) = (Arc::clone(&due), Arc::clone(&slots));
        std::thread::spawn(move || pace(start, to, rate, &due, &slots))
    };
    let mut tasks = JoinSet::new();
    for (c, mut conn) in conns.into_iter().enumerate() {
        let mut writer = RequestWriter::new(Arc::clone(&payload), seed(c));
        let (due, slots) = (Arc::clone(&due), Arc::clone(&slots));
        tasks.spawn(async move {
            let mut tally = Tally::default();
            while let Ok(permit) = slots.acquire().await {
                permit.forget();
                let Some(scheduled) = due.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
                else {
                    continue;
                };
                let request = writer.next();
                let sent = Instant::now();
                let outcome = send(&mut conn, request).await;
                let done = Instant::now();
                tally.record(
                    outcome,
                    done - scheduled,
                    done - sent,
                    scheduled >= from && scheduled < to,
                );
            }
            tally
        });
    }
    tokio::time::sleep_until(from.into()).await;
    let probe = Probe::start(server.pid)?;
    tokio::time::sleep_until(to.into()).await;
    let usage = probe.finish()?;
    let max_late = tokio::task::spawn_blocking(move || pacer.join())
        .await
        .context("pacer thread")?
        .map_err(|_| anyhow::anyhow!("the pacer thread panicked"))?;
    let tally = join(tasks).await?;
    let backlog = due.lock().unwrap_or_else(|p| p.into_inner()).len() as u64;
    let mut result = result(&payload, "open", spec, tally, usage, Some(rate));
    result.backlog = Some(backlog);
    result.pacer_max_late_ms = Some(max_late.as_secs_f64() * 1000.0);
    Ok(result)
}

/// Releases slot `i` at `start + i / rate` until `to`, then waits (up to 10 s) for the
/// connections to take the rest and closes. Returns its worst lateness.
fn pace(
    start: Instant,
    to: Instant,
    rate: f64,
    due: &Mutex<VecDeque<Instant>>,
    slots: &Semaphore,
) -> Duration {
    let mut i: u64 = 0;
    let mut max_late = Duration::ZERO;
    loop {
        let next = start + Duration::from_secs_f64(i as f64 / rate);
        if next >= to {
            break;
        }
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
            continue;
        }
        // Everything due by now, in one go.
        let mut released = 0;
        {
            let mut queue = due.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let at = start + Duration::from_secs_f64(i as f64 / rate);
                if at > now || at >= to {
                    break;
                }
                max_late = max_late.max(now - at);
                queue.push_back(at);
                released += 1;
                i += 1;
            }
        }
        slots.add_permits(released);
    }
    let drain_until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < drain_until && !due.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    slots.close();
    max_late
}

async fn join(mut tasks: JoinSet<Tally>) -> anyhow::Result<Tally> {
    let mut total = Tally::default();
    while let Some(tally) = tasks.join_next().await {
        total.merge(tally.context("a connection task failed")?);
    }
    Ok(total)
}

fn result(
    payload: &Payload,
    mode: &'static str,
    spec: Spec,
    tally: Tally,
    usage: Usage,
    rate: Option<f64>,
) -> RunResult {
    let window = spec.duration.as_secs_f64();
    let req_per_s = tally.ok as f64 / window;
    let open = mode == "open";
    RunResult {
        payload: payload.name.clone(),
        events_per_request: payload.events(),
        body_bytes: payload.body_bytes(),
        mode,
        connections: spec.connections,
        window_s: window,
        ok: tally.ok,
        non_2xx: tally.non_2xx,
        io_errors: tally.io_errors,
        statuses: tally.statuses,
        first_error: tally.first_error,
        ok_total: tally.ok_total,
        req_per_s,
        events_per_s: req_per_s * payload.events() as f64,
        latency: Latency::from_micros(tally.latency_us),
        service_latency: open.then(|| Latency::from_micros(tally.service_us)),
        target_rate: rate,
        backlog: None,
        pacer_max_late_ms: None,
        usage,
    }
}
