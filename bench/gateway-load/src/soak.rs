//! `rum-loadgen soak`: the gateway under a steady mixed load for a long time (issue 19):
//! 20-event beacons and 20-span OTLP requests on open-loop schedules at half of the gateway's
//! peak together (each at a quarter of its own peak, measured first), and admin reads, for
//! `--duration-secs` (10 minutes) in windows of `--window-secs`. Every `--sample-secs` it
//! samples the server's RSS and open file descriptors and the machine's load average; each
//! window gives its latency percentiles. At the end the gateway is stopped and its SQLite
//! file is counted: every event acknowledged with a 2xx must be there.
//!
//!   rum-loadgen soak [--duration-secs 600] [--beacon-peak R --otlp-peak R]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::bodies::{self, Payload};
use crate::http_client;
use crate::orchestrate::{absolute, start_gateway, Bench, Enrich};
use crate::process;
use crate::scenario::{self, Latency, RunResult, Spec, Target};

/// Options of `rum-loadgen soak`.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// The gateway binary (release build) [default: $CARGO_TARGET_DIR/release/rum-gateway,
    /// else target/release/rum-gateway].
    #[arg(long)]
    pub gateway_bin: Option<PathBuf>,
    /// Length of the soak, seconds.
    #[arg(long, default_value_t = 600)]
    pub duration_secs: u64,
    /// Latency is reported per window of this many seconds.
    #[arg(long, default_value_t = 60)]
    pub window_secs: u64,
    /// RSS, file descriptors and load average are sampled this often, seconds.
    #[arg(long, default_value_t = 5)]
    pub sample_secs: u64,
    /// Peak beacon-20 requests/s; measured (closed loop, 2 s + 8 s) when absent.
    #[arg(long)]
    pub beacon_peak: Option<f64>,
    /// Peak otlp-20 requests/s; measured when absent.
    #[arg(long)]
    pub otlp_peak: Option<f64>,
    /// Share of peak the soak runs at (beacons and OTLP each get half of it).
    #[arg(long, default_value_t = 0.5)]
    pub load: f64,
    /// Admin API reads per second (sessions, page views, traces, pages, a trace, /metrics).
    #[arg(long, default_value_t = 5.0)]
    pub admin_rate: f64,
    /// Keep-alive connections per ingest load.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Directory for soak.json and soak.md.
    #[arg(long, default_value = "bench/results")]
    pub out: PathBuf,
    #[arg(long, default_value = "../shared/testdata/mmdb/GeoIP2-City-Test.mmdb")]
    pub mmdb: PathBuf,
    #[arg(long, default_value = "gateway/assets/uap-core/regexes.yaml")]
    pub uap: PathBuf,
    /// Where the gateway's data directory and log go [default: the system temp dir].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Stop early when the store's WAL file passes this many MiB.
    #[arg(long, default_value_t = 4096)]
    pub max_wal_mib: u64,
    /// Stop early when the data directory's disk has less than this many GiB free.
    #[arg(long, default_value_t = 8)]
    pub min_free_gib: u64,
}

/// One sample of the server process and the machine.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub t_s: f64,
    pub rss_mb: f64,
    pub fds: usize,
    pub load1: f64,
    /// rum.sqlite and its -wal file, MiB.
    pub db_mib: f64,
    pub wal_mib: f64,
    pub free_disk_gib: f64,
}

/// One window of the soak.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub start_s: f64,
    pub beacon: WindowLoad,
    pub otlp: WindowLoad,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowLoad {
    pub rate: f64,
    pub achieved_req_per_s: f64,
    pub ok: u64,
    pub non_2xx: u64,
    pub io_errors: u64,
    pub backlog: u64,
    pub latency: Latency,
}

impl WindowLoad {
    fn from(r: &RunResult, rate: f64) -> WindowLoad {
        WindowLoad {
            rate,
            achieved_req_per_s: r.req_per_s,
            ok: r.ok_total,
            non_2xx: r.non_2xx,
            io_errors: r.io_errors,
            backlog: r.backlog.unwrap_or(0),
            latency: r.latency.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AdminReads {
    pub ok: u64,
    pub non_2xx: u64,
    pub errors: u64,
    pub latency: Latency,
}

#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    pub duration_s: f64,
    pub beacon_peak: f64,
    pub otlp_peak: f64,
    pub load: f64,
    pub windows: Vec<Window>,
    pub samples: Vec<Sample>,
    pub admin: AdminReads,
    /// Why the soak stopped before its duration (a growing WAL, a filling disk), if it did.
    pub stopped_early: Option<String>,
    /// Spans + vitals acknowledged with 2xx (the peak runs included).
    pub events_acknowledged: u64,
    /// Spans + vitals in the store after the gateway stopped.
    pub events_stored: u64,
    pub events_lost: u64,
}

fn proc_sample(pid: u32, started: Instant, data_dir: &Path) -> Sample {
    let fds = std::fs::read_dir(process::proc_dir(Some(pid)).join("fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    let rss_mb = process::rss_bytes(Some(pid)).unwrap_or(0) as f64 / (1024.0 * 1024.0);
    let load1 = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    const MIB: f64 = 1024.0 * 1024.0;
    let size =
        |name: &str| std::fs::metadata(data_dir.join(name)).map_or(0.0, |m| m.len() as f64 / MIB);
    // The span partitions' files (`.sqlite` and `-wal`), with rum.sqlite's.
    let partitions = |suffix: &str| -> f64 {
        let dir = data_dir.join(gateway::store::partitions::DIR);
        crate::orchestrate::dir_bytes(&dir, |name| name.ends_with(suffix)) as f64 / MIB
    };
    Sample {
        t_s: started.elapsed().as_secs_f64(),
        rss_mb,
        fds,
        load1,
        db_mib: size(gateway::store::DB_FILE) + partitions(".sqlite"),
        wal_mib: size(&format!("{}-wal", gateway::store::DB_FILE)) + partitions("-wal"),
        free_disk_gib: process::free_disk_bytes(data_dir).unwrap_or(0) as f64 / MIB / 1024.0,
    }
}

/// Admin reads on a fixed schedule until `stop`; a trace id from the store's listing is read
/// back too.
async fn admin_reads(admin: std::net::SocketAddr, rate: f64, stop: Arc<AtomicBool>) -> AdminReads {
    let mut reads = AdminReads::default();
    let mut micros = Vec::new();
    let paths = [
        "/api/sessions?limit=20",
        "/api/page_views?limit=20",
        "/api/traces?limit=20",
        "/api/pages",
        "/metrics",
        "TRACE",
    ];
    let mut trace_path = String::from("/api/traces?limit=1");
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.01)));
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let path = match paths[i % paths.len()] {
            "TRACE" => trace_path.clone(),
            p => p.to_string(),
        };
        i += 1;
        let sent = Instant::now();
        match http_client::get(admin, &path).await {
            Ok((status, body)) => {
                micros.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                if (200..300).contains(&status) {
                    reads.ok += 1;
                } else {
                    reads.non_2xx += 1;
                }
                if path.starts_with("/api/traces?") {
                    let id = serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v["traces"][0]["trace_id"].as_str().map(String::from));
                    if let Some(id) = id {
                        trace_path = format!("/api/traces/{id}");
                    }
                }
            }
            Err(_) => reads.errors += 1,
        }
    }
    reads.latency = Latency::from_micros(micros);
    reads
}

fn count_stored(data_dir: &Path) -> anyhow::Result<u64> {
    let conn = gateway::store::open_read(data_dir)
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let sources = gateway::store::partitions::sources(&conn)?;
    let count = |sql: &str| -> anyhow::Result<u64> {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM ({sql})"), [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    let spans = gateway::store::partitions::union_all(&sources, "SELECT 1 FROM {s}.spans");
    Ok(count(&spans)? + count("SELECT 1 FROM vitals")?)
}

async fn peak(
    target: &Target,
    payload: &Arc<Payload>,
    connections: usize,
) -> anyhow::Result<(f64, u64)> {
    let spec = Spec {
        connections,
        warmup: Duration::from_secs(2),
        duration: Duration::from_secs(8),
    };
    let r = scenario::closed_loop(target, Arc::clone(payload), spec).await?;
    println!(
        "  peak {}: {:.0} req/s, p99 {:.1} ms",
        payload.name, r.req_per_s, r.latency.p99_ms
    );
    Ok((r.req_per_s, r.ok_total * payload.events() as u64))
}

pub async fn soak(args: SoakArgs) -> anyhow::Result<()> {
    let bin = match &args.gateway_bin {
        Some(bin) => bin.clone(),
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| PathBuf::from("target"), PathBuf::from)
            .join("release/rum-gateway"),
    };
    if !bin.is_file() {
        bail!(
            "no gateway binary at {}: build it with `cargo build --release -p gateway`",
            bin.display()
        );
    }
    let bin = absolute(&bin)?;
    let mmdb = args
        .mmdb
        .is_file()
        .then(|| absolute(&args.mmdb))
        .transpose()?;
    let uap = args
        .uap
        .is_file()
        .then(|| absolute(&args.uap))
        .transpose()?;
    let work_parent = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("rum-soak-")
        .tempdir_in(&work_parent)
        .with_context(|| format!("creating a work directory in {}", work_parent.display()))?;
    let window = Duration::from_secs(args.window_secs.max(1));
    let bench = Bench {
        bin,
        work: work.path().to_path_buf(),
        spec: Spec {
            connections: args.connections.max(1),
            warmup: Duration::ZERO,
            duration: window,
        },
        enrich_on: Enrich::On { mmdb, uap },
    };
    let data_dir = bench.work.join("data");
    let server = start_gateway(&bench, "soak", &data_dir, &bench.enrich_on).await?;
    let admin = server.admin.context("the gateway has no admin address")?;
    let target = Target {
        name: "gateway".into(),
        addr: server.ingest,
        pid: Some(server.pid),
    };
    let beacon = Arc::new(bodies::beacon(20));
    let otlp = Arc::new(bodies::otlp(20)?);
    println!(
        "rum-loadgen soak: gateway pid {}, work dir {}",
        server.pid,
        bench.work.display()
    );

    let mut acknowledged = 0u64;
    let beacon_peak = match args.beacon_peak {
        Some(p) => p,
        None => {
            let (rate, events) = peak(&target, &beacon, 32).await?;
            acknowledged += events;
            rate
        }
    };
    let otlp_peak = match args.otlp_peak {
        Some(p) => p,
        None => {
            let (rate, events) = peak(&target, &otlp, 32).await?;
            acknowledged += events;
            rate
        }
    };
    // Each kind at its share of the half: together the gateway is half busy.
    let beacon_rate = beacon_peak * args.load / 2.0;
    let otlp_rate = otlp_peak * args.load / 2.0;
    println!(
        "  soak {} s at {:.0} % of peak: beacon-20 {beacon_rate:.0} req/s + otlp-20 {otlp_rate:.0} req/s + {} admin reads/s",
        args.duration_secs,
        args.load * 100.0,
        args.admin_rate
    );

    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let pid = server.pid;
    let sample_every = Duration::from_secs(args.sample_secs.max(1));
    // The sampler also guards the disk: a WAL past --max-wal-mib or a disk under
    // --min-free-gib stops the soak (`abort` says why).
    let abort: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let aborted = Arc::new(tokio::sync::Notify::new());
    let (max_wal, min_free) = (args.max_wal_mib as f64, args.min_free_gib as f64);
    let sampler = {
        let (stop, abort, aborted) = (Arc::clone(&stop), Arc::clone(&abort), Arc::clone(&aborted));
        let data_dir = data_dir.clone();
        tokio::spawn(async move {
            let mut samples = vec![proc_sample(pid, started, &data_dir)];
            let mut tick = tokio::time::interval(sample_every);
            tick.tick().await;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let sample = proc_sample(pid, started, &data_dir);
                let why = if sample.wal_mib > max_wal {
                    Some(format!(
                        "the WAL reached {:.0} MiB at {:.0} s",
                        sample.wal_mib, sample.t_s
                    ))
                } else if sample.free_disk_gib < min_free {
                    Some(format!(
                        "{:.1} GiB of disk left at {:.0} s",
                        sample.free_disk_gib, sample.t_s
                    ))
                } else {
                    None
                };
                samples.push(sample);
                if let Some(why) = why {
                    let mut slot = abort.lock().unwrap_or_else(|p| p.into_inner());
                    if slot.is_none() {
                        println!("  stopping early: {why}");
                        *slot = Some(why);
                        aborted.notify_one();
                    }
                }
            }
            samples
        })
    };
    let reader = tokio::spawn(admin_reads(admin, args.admin_rate, Arc::clone(&stop)));

    let windows_n = args.duration_secs.div_ceil(window.as_secs()).max(1);
    let mut windows = Vec::new();
    for w in 0..windows_n {
        let start_s = started.elapsed().as_secs_f64();
        let both = async {
            tokio::join!(
                scenario::open_loop(&target, Arc::clone(&beacon), bench.spec, beacon_rate),
                scenario::open_loop(&target, Arc::clone(&otlp), bench.spec, otlp_rate),
            )
        };
        // A window cut short is not counted: its 2xx answers are unknown, so the
        // acknowledged count below is a lower bound then (the report says it stopped early).
        let (b, o) = tokio::select! {
            results = both => results,
            () = aborted.notified() => break,
        };
        let (b, o) = (b?, o?);
        acknowledged += b.ok_total * beacon.events() as u64 + o.ok_total * otlp.events() as u64;
        let window = Window {
            start_s,
            beacon: WindowLoad::from(&b, beacon_rate),
            otlp: WindowLoad::from(&o, otlp_rate),
        };
        let last = proc_sample(pid, started, &data_dir);
        println!(
            "  window {:>2}/{windows_n}: beacon p50/p99 {:.1}/{:.1} ms, otlp p50/p99 {:.1}/{:.1} ms, non-2xx {}, RSS {:.0} MB, fds {}, WAL {:.0} MiB, load {:.2}",
            w + 1,
            window.beacon.latency.p50_ms,
            window.beacon.latency.p99_ms,
            window.otlp.latency.p50_ms,
            window.otlp.latency.p99_ms,
            window.beacon.non_2xx + window.otlp.non_2xx + window.beacon.io_errors + window.otlp.io_errors,
            last.rss_mb,
            last.fds,
            last.wal_mib,
            last.load1
        );
        windows.push(window);
    }
    stop.store(true, Ordering::Relaxed);
    let duration_s = started.elapsed().as_secs_f64();
    let samples = sampler.await.context("the sampler task")?;
    let admin_result = reader.await.context("the admin reader task")?;
    server.stop().await?;
    let stored = count_stored(&data_dir)?;
    let report = SoakReport {
        duration_s,
        beacon_peak,
        otlp_peak,
        load: args.load,
        stopped_early: abort.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        windows,
        samples,
        admin: admin_result,
        events_acknowledged: acknowledged,
        events_stored: stored,
        events_lost: acknowledged.saturating_sub(stored),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let json = args.out.join("soak.json");
    std::fs::write(&json, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", json.display()))?;
    let md = args.out.join("soak.md");
    std::fs::write(&md, markdown(&report)).with_context(|| format!("writing {}", md.display()))?;
    println!("\n{}", markdown(&report));
    println!("wrote {} and {}", json.display(), md.display());
    Ok(())
}

/// The head of the report's markdown (`docs/benchmarks.md` takes it through `bench/report.mjs`).
const HOW_MEASURED: &str = "## Soak\n\n**How measured.** `bench/soak` (`rum-loadgen soak`; not in CI) starts the release `rum-gateway` as in the gateway section (fresh store, enrichment on, rate limits and export off), measures the peak of 20-event beacons and of 20-span OTLP requests (closed loop, 32 connections, 2 s + 8 s each), then runs both on open-loop schedules at a quarter of their own peak each (together half of peak) with admin API reads (sessions, page views, traces, pages, one trace, `/metrics`) at 5 per second, in windows of a minute. The server's RSS (`VmRSS`) and open file descriptors (`/proc/PID/fd`) and the machine's 1-minute load average are sampled every 5 s. Then the gateway is stopped (SIGTERM: it drains its queue) and the spans and vitals in its SQLite file are counted against the events the generator saw acknowledged with 2xx (peak runs included). Generator and server share the machine's 2 cores.\n\n";

/// Least-squares slope of `y` over `x`, per minute.
fn slope_per_min(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let var: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if var == 0.0 {
        0.0
    } else {
        cov / var * 60.0
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

pub fn markdown(r: &SoakReport) -> String {
    let mut s = String::from(HOW_MEASURED);
    // After the first window (the store and caches warm up in it).
    let settled_from = r.windows.get(1).map_or(0.0, |w| w.start_s);
    let settled: Vec<&Sample> = r.samples.iter().filter(|x| x.t_s >= settled_from).collect();
    let (rss_lo, rss_hi) = min_max(settled.iter().map(|x| x.rss_mb));
    let (fd_lo, fd_hi) = min_max(settled.iter().map(|x| x.fds as f64));
    let (load_lo, load_hi) = min_max(r.samples.iter().map(|x| x.load1));
    let load_mean = r.samples.iter().map(|x| x.load1).sum::<f64>() / r.samples.len().max(1) as f64;
    let rss_slope = slope_per_min(
        &settled
            .iter()
            .map(|x| (x.t_s, x.rss_mb))
            .collect::<Vec<_>>(),
    );
    let fd_slope = slope_per_min(
        &settled
            .iter()
            .map(|x| (x.t_s, x.fds as f64))
            .collect::<Vec<_>>(),
    );
    s.push_str(&format!(
        "{:.0} s at {:.0} % of peak (beacon-20 peak {:.0} req/s, otlp-20 peak {:.0} req/s; each at {:.0} % of its own), {} admin reads ({:.1} / {:.1} ms p50 / p99, {} non-2xx, {} errors).\n\n",
        r.duration_s,
        r.load * 100.0,
        r.beacon_peak,
        r.otlp_peak,
        r.load * 50.0,
        r.admin.ok + r.admin.non_2xx,
        r.admin.latency.p50_ms,
        r.admin.latency.p99_ms,
        r.admin.non_2xx,
        r.admin.errors
    ));
    s.push_str("| window | beacon req/s | beacon p50 / p99 / max ms | otlp req/s | otlp p50 / p99 / max ms | non-2xx + I/O errors | backlog |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for (i, w) in r.windows.iter().enumerate() {
        s.push_str(&format!(
            "| {} ({:.0} s) | {:.0} | {:.1} / {:.1} / {:.1} | {:.0} | {:.1} / {:.1} / {:.1} | {} | {} |\n",
            i + 1,
            w.start_s,
            w.beacon.achieved_req_per_s,
            w.beacon.latency.p50_ms,
            w.beacon.latency.p99_ms,
            w.beacon.latency.max_ms,
            w.otlp.achieved_req_per_s,
            w.otlp.latency.p50_ms,
            w.otlp.latency.p99_ms,
            w.otlp.latency.max_ms,
            w.beacon.non_2xx + w.otlp.non_2xx + w.beacon.io_errors + w.otlp.io_errors,
            w.beacon.backlog + w.otlp.backlog
        ));
    }
    s.push_str(&format!(
        "\nAfter the first window: RSS {rss_lo:.0}–{rss_hi:.0} MB (slope {rss_slope:+.2} MB/min), open file descriptors {fd_lo:.0}–{fd_hi:.0} (slope {fd_slope:+.2}/min), over {} samples; machine load average (1 min) {load_lo:.2}–{load_hi:.2}, mean {load_mean:.2} on 2 cores.\n\n",
        settled.len()
    ));
    let (bp_lo, bp_hi) = min_max(r.windows.iter().map(|w| w.beacon.latency.p99_ms));
    let (op_lo, op_hi) = min_max(r.windows.iter().map(|w| w.otlp.latency.p99_ms));
    let (b_first, b_last) = (
        r.windows.first().map_or(0.0, |w| w.beacon.latency.p99_ms),
        r.windows.last().map_or(0.0, |w| w.beacon.latency.p99_ms),
    );
    s.push_str(&format!(
        "p99 per window: beacons {bp_lo:.1}–{bp_hi:.1} ms (first {b_first:.1}, last {b_last:.1}), OTLP {op_lo:.1}–{op_hi:.1} ms.\n\n"
    ));
    let (wal_lo, wal_hi) = min_max(r.samples.iter().map(|x| x.wal_mib));
    let (db_lo, db_hi) = min_max(r.samples.iter().map(|x| x.db_mib));
    s.push_str(&format!(
        "Store: rum.sqlite {db_lo:.0}–{db_hi:.0} MiB, its WAL {wal_lo:.0}–{wal_hi:.0} MiB.\n\n"
    ));
    if let Some(why) = &r.stopped_early {
        s.push_str(&format!(
            "**Stopped early**: {why}; the window it cut short is not in the table, and the events it acknowledged are not in the count below.\n\n"
        ));
    }
    s.push_str(&format!(
        "Acknowledged (2xx) events: {}; in the store after the gateway stopped: {}; lost: {}.\n",
        r.events_acknowledged, r.events_stored, r.events_lost
    ));
    s
}
