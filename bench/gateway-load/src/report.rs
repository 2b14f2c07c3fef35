//! The report: raw results as JSON and a markdown section (`## Gateway`) with the tables
//! and the targets.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::orchestrate::Checks;
use crate::prefill::Filled;
use crate::scenario::{RunResult, Spec};

/// The targets the issue sets.
const TARGET_SHARE_OF_FLOOR: f64 = 0.5;
const TARGET_P99_MS: f64 = 10.0;
const TARGET_RSS_MB: f64 = 100.0;

#[derive(Debug, Serialize)]
pub struct Meta {
    pub unix_time: u64,
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub memory_gib: f64,
    pub gateway_bin: String,
    pub connections: usize,
    pub warmup_s: u64,
    pub duration_s: u64,
    pub geoip_database: Option<String>,
    pub user_agent_regexes: Option<String>,
}

impl Meta {
    pub fn collect(
        bin: &Path,
        spec: Spec,
        mmdb: Option<&Path>,
        uap: Option<&Path>,
    ) -> anyhow::Result<Meta> {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kb: f64 = meminfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("MemTotal:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0.0);
        Ok(Meta {
            unix_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| {
                    l.strip_prefix("model name")?
                        .split(':')
                        .nth(1)
                        .map(|s| s.trim().to_string())
                })
                .unwrap_or_else(|| "unknown".into()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            memory_gib: mem_kb / (1024.0 * 1024.0),
            gateway_bin: bin.display().to_string(),
            connections: spec.connections,
            warmup_s: spec.warmup.as_secs(),
            duration_s: spec.duration.as_secs(),
            geoip_database: mmdb.map(|p| p.display().to_string()),
            user_agent_regexes: uap.map(|p| p.display().to_string()),
        })
    }
}

/// One payload: the floor and the gateway at peak, and the gateway at half of its peak.
#[derive(Debug, Serialize)]
pub struct PeakScenario {
    pub floor: RunResult,
    pub gateway: RunResult,
    pub half_load: Option<RunResult>,
    /// The gateway with `--bench-discard-writes` (acknowledges, stores nothing).
    #[serde(default)]
    pub sink: Option<RunResult>,
    pub checks: Checks,
}

/// Bytes the server wrote to disk per acknowledged event over the measured window.
fn disk_bytes_per_event(r: &RunResult) -> String {
    if r.events_per_s > 0.0 {
        format!(
            "{:.1} KB",
            r.usage.disk_write_mb_per_s * 1024.0 * 1024.0 / r.events_per_s / 1000.0
        )
    } else {
        "–".into()
    }
}

impl PeakScenario {
    fn share_of_floor(&self) -> f64 {
        if self.floor.events_per_s > 0.0 {
            self.gateway.events_per_s / self.floor.events_per_s
        } else {
            0.0
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EnrichmentRuns {
    pub on: RunResult,
    pub on_checks: Checks,
    pub off: RunResult,
    pub off_checks: Checks,
}

/// One gateway of the tail-sampling comparison.
#[derive(Debug, Serialize)]
pub struct SamplingRun {
    /// `off` or `tail`.
    pub mode: &'static str,
    pub closed: RunResult,
    /// Beacons: an open loop at half of the `off` gateway's peak.
    pub half_load: Option<RunResult>,
    pub checks: Checks,
}

/// One gateway of the retention comparison.
#[derive(Debug, Serialize)]
pub struct RetentionRun {
    /// `idle` (nothing past a tier) or `busy` (the store clock 8 days ahead).
    pub mode: &'static str,
    pub half_load: RunResult,
    /// Span partition files before and after the run.
    pub partitions_before: usize,
    pub partitions_after: usize,
    pub checks: Checks,
}

#[derive(Debug, Serialize)]
pub struct StoreRun {
    pub target_events: u64,
    /// Events in the store when the run started.
    pub events_before: u64,
    pub prefill: Filled,
    pub run: RunResult,
    pub checks: Checks,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub meta: Meta,
    pub peak: Vec<PeakScenario>,
    pub enrichment: Option<EnrichmentRuns>,
    pub sampling: Vec<SamplingRun>,
    pub retention: Vec<RetentionRun>,
    pub store: Vec<StoreRun>,
    /// Store sizes not measured, and why.
    pub store_skipped: Vec<String>,
    pub total_runtime_s: f64,
}

/// Writes `gateway.json` and `gateway.md` into `out`.
pub fn write(out: &Path, report: &Report) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let json = out.join("gateway.json");
    let md = out.join("gateway.md");
    let text = serde_json::to_string_pretty(report).context("serializing the report")?;
    std::fs::write(&json, text + "\n").with_context(|| format!("writing {}", json.display()))?;
    std::fs::write(&md, markdown(report)).with_context(|| format!("writing {}", md.display()))?;
    Ok((json, md))
}

fn ms(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn count(x: f64) -> String {
    let n = x.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

fn bytes(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
    } else if b >= 1 << 20 {
        format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}

/// A share as a percentage, with a decimal below 10 %.
fn percent(share: f64) -> String {
    let pct = share * 100.0;
    if pct < 10.0 {
        format!("{pct:.1} %")
    } else {
        format!("{pct:.0} %")
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

/// µs of server CPU per event at this run's rate.
fn cpu_us_per_event(r: &RunResult) -> f64 {
    if r.events_per_s > 0.0 {
        r.usage.cpu_cores / r.events_per_s * 1e6
    } else {
        0.0
    }
}

fn errors(r: &RunResult) -> String {
    if r.non_2xx + r.io_errors == 0 {
        return "0".into();
    }
    // Statuses include the warm-up; the count is the measured window's.
    let mut parts: Vec<String> = r
        .statuses
        .iter()
        .map(|(status, n)| format!("{n}×{status}"))
        .collect();
    if r.io_errors > 0 {
        parts.push(format!("{} i/o errors", r.io_errors));
    }
    format!("**{}** ({})", r.non_2xx + r.io_errors, parts.join(", "))
}

fn threads(r: &RunResult) -> (f64, f64, f64) {
    let mut runtime = 0.0;
    let mut writer = 0.0;
    let mut other = 0.0;
    for (name, cores) in &r.usage.thread_cores {
        if name.starts_with("tokio") {
            runtime += cores;
        } else if name.starts_with("store-") {
            writer += cores;
        } else {
            other += cores;
        }
    }
    (runtime, writer, other)
}

pub fn markdown(report: &Report) -> String {
    let m = &report.meta;
    let mut s = String::new();
    let _ = writeln!(s, "## Gateway\n");
    let _ = writeln!(
        s,
        "**How measured.** `rum-loadgen run` starts the release `rum-gateway` as a child process \
         (fresh data directory per scenario, rate limits off, export off, enrichment on unless \
         stated: GeoIP City database and uap-core user-agent regexes) and an \"HTTP floor\" (an axum \
         server on the same runtime whose handler reads the whole body and answers 202). Both \
         listen on loopback. The generator is its own async HTTP/1.1 client over {} keep-alive \
         connections, sending pre-serialized requests whose ids and times are patched in place; \
         it **shares the machine's {} cores ({}) with the server**, so every figure is for server \
         and generator together. Peak throughput is a closed loop ({} s warm-up, {} s measured): \
         each connection sends the next request as soon as it has read the previous answer. The \
         gateway acknowledges (200) only after the batch is in its ingest log and synced \
         (`fdatasync` per group of requests; the SQLite index follows, see \
         docs/architecture.md), so latency is time to a durable acknowledgement: from writing \
         the request to reading the whole response. The *no-op sink* is the same gateway with \
         `--bench-discard-writes` (acknowledges, stores nothing): what durability costs. *Disk \
         bytes/event*: the server's bytes written to disk (its `write_bytes`) per acknowledged \
         event. Latency at half load is an open \
         loop on a fixed schedule at 50 % of the measured peak, timed from each request's \
         scheduled send time (no coordinated omission). An *event* is a span or a web vital \
         (what `limits.max_events_per_request` counts); each beacon also carries its page view, \
         not counted. Beacons of N events: N − min(5, N/6) fetch spans, each its own trace, plus \
         that many vitals (LCP, FCP, TTFB, CLS, INP), with real Chrome/Firefox/Safari/Edge user \
         agents and `X-Forwarded-For` addresses from the MaxMind test database (the loopback peer \
         is a trusted proxy). OTLP: protobuf `ExportTraceServiceRequest`s of 20 backend spans \
         (4 traces of 5). Floor events/s = floor req/s × events per request. CPU = utime + stime \
         of the server process over the measured window ÷ wall time (cores); RSS = VmHWM (peak \
         over the process's life). Kernel {}, {:.0} GiB RAM.\n",
        m.connections, m.cpus, m.cpu_model, m.warmup_s, m.duration_s, m.kernel, m.memory_gib
    );
    let others: Vec<f64> = all_runs(report)
        .map(|r| r.usage.other_processes_cores)
        .collect();
    if !others.is_empty() {
        let mean = others.iter().sum::<f64>() / others.len() as f64;
        let max = others.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            s,
            "Other processes on the machine (other jobs, kernel threads) used {mean:.2} cores on \
             average during the measured windows (at most {max:.2}): the noise in these numbers. \
             The CPU table below has it per run, with how long the server's threads waited for \
             a core.\n"
        );
    }
    if m.geoip_database.is_none() {
        let _ = writeln!(s, "Geo enrichment not measured: no GeoIP database found.\n");
    }
    if m.user_agent_regexes.is_none() {
        let _ = writeln!(
            s,
            "User-agent enrichment not measured: no uap-core regexes found.\n"
        );
    }

    let _ = writeln!(
        s,
        "### Peak throughput (closed loop, {} connections)\n",
        m.connections
    );
    let _ = writeln!(
        s,
        "| scenario | events/req | body | gateway req/s | gateway events/s | no-op sink events/s | durable ÷ sink | disk bytes/event | floor req/s | floor events/s | share of floor | gateway p50 / p99 / max ms | floor p50 / p99 ms | non-2xx |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in &report.peak {
        let (g, f) = (&p.gateway, &p.floor);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} | {} / {} | {} |",
            g.payload,
            g.events_per_request,
            bytes(g.body_bytes as u64),
            count(g.req_per_s),
            count(g.events_per_s),
            p.sink.as_ref().map_or("–".into(), |k| count(k.events_per_s)),
            p.sink
                .as_ref()
                .filter(|k| k.events_per_s > 0.0)
                .map_or("–".into(), |k| percent(g.events_per_s / k.events_per_s)),
            disk_bytes_per_event(g),
            count(f.req_per_s),
            count(f.events_per_s),
            percent(p.share_of_floor()),
            ms(g.latency.p50_ms),
            ms(g.latency.p99_ms),
            ms(g.latency.max_ms),
            ms(f.latency.p50_ms),
            ms(f.latency.p99_ms),
            errors(g),
        );
    }

    let _ = writeln!(s, "\n### Latency at half of peak (open loop)\n");
    let _ = writeln!(
        s,
        "| scenario | rate req/s | achieved req/s | p50 ms | p90 ms | p99 ms | max ms | service p50 / p99 ms | backlog | non-2xx |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for h in report.peak.iter().filter_map(|p| p.half_load.as_ref()) {
        let service = h.service_latency.clone().unwrap_or_default();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} |",
            h.payload,
            count(h.target_rate.unwrap_or(0.0)),
            count(h.req_per_s),
            ms(h.latency.p50_ms),
            ms(h.latency.p90_ms),
            ms(h.latency.p99_ms),
            ms(h.latency.max_ms),
            ms(service.p50_ms),
            ms(service.p99_ms),
            h.backlog.unwrap_or(0),
            errors(h),
        );
    }
    let _ = writeln!(
        s,
        "\nLatency counts from the scheduled send time; *service* from the actual write (the \
         difference is time a request waited for a free connection or for the generator)."
    );

    if let Some(e) = &report.enrichment {
        let _ = writeln!(
            s,
            "\n### Enrichment on/off (20-event beacons, closed loop)\n"
        );
        let _ = writeln!(
            s,
            "| enrichment | req/s | events/s | p50 / p99 ms | server CPU cores | CPU µs/event | peak RSS | page views with geo / UA attrs | non-2xx |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (label, r, c) in [
            ("on (geo + user agent)", &e.on, &e.on_checks),
            ("off", &e.off, &e.off_checks),
        ] {
            let pct = |x: Option<f64>| x.map_or("–".into(), |x| format!("{:.0} %", x * 100.0));
            let _ = writeln!(
                s,
                "| {label} | {} | {} | {} / {} | {:.2} | {:.1} | {:.0} MB | {} / {} | {} |",
                count(r.req_per_s),
                count(r.events_per_s),
                ms(r.latency.p50_ms),
                ms(r.latency.p99_ms),
                r.usage.cpu_cores,
                cpu_us_per_event(r),
                r.usage.peak_rss_mb,
                pct(c.geo_share),
                pct(c.user_agent_share),
                errors(r),
            );
        }
        if e.off.events_per_s > 0.0 {
            let _ = writeln!(
                s,
                "\nWith enrichment on the gateway reaches {:.0} % of its throughput without it. \
                 \"Off\" means no `geoip_database` and `user_agent_parsing = false`; the client \
                 address is still resolved. The user-agent cache (1024 entries) holds all 6 \
                 agents, so this measures cache hits, as a site with a few hundred distinct \
                 agents would see.",
                e.on.events_per_s / e.off.events_per_s * 100.0
            );
        }
    }

    if !report.sampling.is_empty() {
        let _ = writeln!(
            s,
            "\n### Tail sampling off / on (ratio 0.1, 10 s decision window)\n"
        );
        let _ = writeln!(
            s,
            "| payload | tail sampling | req/s | events/s | share of off | p99 ms at half of off's peak | server CPU cores | CPU µs/event | peak RSS | DB after | non-2xx |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut off_rate = 0.0;
        for run in &report.sampling {
            let r = &run.closed;
            if run.mode == "off" {
                off_rate = r.events_per_s;
            }
            let share = if off_rate > 0.0 {
                format!("{:.0} %", r.events_per_s / off_rate * 100.0)
            } else {
                "–".into()
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {share} | {} | {:.2} | {:.1} | {:.0} MB | {:.0} MB | {} |",
                r.payload,
                run.mode,
                count(r.req_per_s),
                count(r.events_per_s),
                run.half_load
                    .as_ref()
                    .map_or("–".into(), |h| ms(h.latency.p99_ms)),
                r.usage.cpu_cores,
                cpu_us_per_event(r),
                r.usage.peak_rss_mb,
                run.checks.db_bytes as f64 / 1e6,
                errors(r),
            );
        }
        let _ = writeln!(
            s,
            "\nWith tail sampling on, every span is stored as it arrives and waits 10 s; then \
             the decision pass deletes the nine tenths of traces the ratio drops. A beacon's \
             fetch spans are each their own trace (the worst case: one decision per span); an \
             OTLP request holds 4 traces of 5 spans. The p99 is the acknowledgement's, at the \
             same request rate for both gateways."
        );
    }

    if !report.retention.is_empty() {
        let _ = writeln!(
            s,
            "\n### Retention pass idle / busy (20-event beacons, open loop at the same rate)\n"
        );
        let _ = writeln!(
            s,
            "| retention pass | req/s | p50 / p99 / max ms | server CPU cores | partitions before → after | non-2xx |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
        for run in &report.retention {
            let r = &run.half_load;
            let _ = writeln!(
                s,
                "| {} | {} | {} / {} / {} | {:.2} | {} → {} | {} |",
                run.mode,
                count(r.req_per_s),
                ms(r.latency.p50_ms),
                ms(r.latency.p99_ms),
                ms(r.latency.max_ms),
                r.usage.cpu_cores,
                run.partitions_before,
                run.partitions_after,
                errors(r),
            );
        }
        let _ = writeln!(
            s,
            "\nThe store is prefilled with a week of 100-event beacons (one span partition per \
             day). *Idle*: a gateway on it whose retention pass finds nothing past a tier; \
             *busy*: the same store under a gateway whose store clock runs 8 days ahead \
             (`--bench-clock-offset-secs`), so the pass archives every partition (rolls up its \
             latencies, keeps its error traces), rolls up and deletes the week's vitals and \
             page views while the load runs. Both at half the idle gateway's peak."
        );
    }

    if !report.store.is_empty() || !report.store_skipped.is_empty() {
        let _ = writeln!(s, "\n### Store size (20-event beacons, closed loop)\n");
        let _ = writeln!(
            s,
            "| events in store | DB size after the run | prefill (events, time) | req/s | events/s | share of empty | p50 / p99 / max ms | server CPU cores | disk writes MB/s | disk bytes/event | index thread in fsync | peak RSS | non-2xx |"
        );
        let _ = writeln!(
            s,
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let empty = report
            .enrichment
            .as_ref()
            .map_or(0.0, |e| e.on.events_per_s);
        let of_empty = |r: &RunResult| {
            if empty > 0.0 {
                percent(r.events_per_s / empty)
            } else {
                "–".into()
            }
        };
        if let Some(e) = &report.enrichment {
            let r = &e.on;
            let _ = writeln!(
                s,
                "| empty (enrichment-on run above) | {} | – | {} | {} | 100 % | {} / {} / {} | {:.2} | {:.1} | {} | {} | {:.0} MB | {} |",
                bytes(e.on_checks.db_bytes),
                count(r.req_per_s),
                count(r.events_per_s),
                ms(r.latency.p50_ms),
                ms(r.latency.p99_ms),
                ms(r.latency.max_ms),
                r.usage.cpu_cores,
                r.usage.disk_write_mb_per_s,
                disk_bytes_per_event(r),
                fsync_share(r),
                r.usage.peak_rss_mb,
                errors(r),
            );
        }
        for st in &report.store {
            let r = &st.run;
            let _ = writeln!(
                s,
                "| {} | {} | +{} in {:.0} s | {} | {} | {} | {} / {} / {} | {:.2} | {:.1} | {} | {} | {:.0} MB | {} |",
                count(st.events_before as f64),
                bytes(st.checks.db_bytes),
                count(st.prefill.events_added as f64),
                st.prefill.seconds,
                count(r.req_per_s),
                count(r.events_per_s),
                of_empty(r),
                ms(r.latency.p50_ms),
                ms(r.latency.p99_ms),
                ms(r.latency.max_ms),
                r.usage.cpu_cores,
                r.usage.disk_write_mb_per_s,
                disk_bytes_per_event(r),
                fsync_share(r),
                r.usage.peak_rss_mb,
                errors(r),
            );
        }
        for why in &report.store_skipped {
            let _ = writeln!(s, "\nNot measured: {why}.");
        }
        let _ = writeln!(
            s,
            "\nThe prefill inserts copies of enriched 100-event beacons (run once through the \
             gateway's decode, validation, enrichment, scrubbing and sampling) with fresh ids, \
             dated over the week before the run, using the gateway's schema and insert \
             statements in large unsynced transactions while the gateway is stopped, then \
             fsyncs the file; the measured gateway starts on that store. Prefilled trace and \
             page view ids are spread over the whole id space like random ids but inserted in \
             ascending order (one sweep over the B-trees; random order would take most of an \
             hour for 10 M); the measured load uses random ids. The store section runs last; \
             what of the file fits in RAM is in the page cache."
        );
    }

    let _ = writeln!(s, "\n### CPU and memory of the server\n");
    let _ = writeln!(
        s,
        "| run | server CPU cores | runtime threads | store threads | index thread R / D / idle | CPU µs/request | CPU µs/event | disk writes MB/s | RSS peak / at end | generator CPU cores | other processes' CPU cores | server threads waiting for a CPU |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut rows: Vec<(String, &RunResult)> = Vec::new();
    for p in &report.peak {
        rows.push((format!("floor {}", p.floor.payload), &p.floor));
        rows.push((format!("gateway {} peak", p.gateway.payload), &p.gateway));
        if let Some(h) = &p.half_load {
            rows.push((format!("gateway {} half", h.payload), h));
        }
    }
    if let Some(e) = &report.enrichment {
        rows.push(("gateway beacon-20 enrichment off".into(), &e.off));
    }
    for st in &report.store {
        rows.push((
            format!(
                "gateway beacon-20, {} events stored",
                count(st.events_before as f64)
            ),
            &st.run,
        ));
    }
    for (label, r) in rows {
        let (runtime, writer, _) = threads(r);
        let state = r.usage.store_writer.map_or("–".to_string(), |w| {
            format!(
                "{:.0} / {:.0} / {:.0} %",
                w.running * 100.0,
                w.disk_wait * 100.0,
                w.idle * 100.0
            )
        });
        let per_req = if r.req_per_s > 0.0 {
            r.usage.cpu_cores / r.req_per_s * 1e6
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "| {label} | {:.2} | {:.2} | {} | {state} | {:.0} | {:.1} | {:.1} | {:.0} / {:.0} MB | {:.2} | {:.2} | {:.2} |",
            r.usage.cpu_cores,
            runtime,
            if r.usage.store_writer.is_some() { format!("{writer:.2}") } else { "–".into() },
            per_req,
            cpu_us_per_event(r),
            r.usage.disk_write_mb_per_s,
            r.usage.peak_rss_mb,
            r.usage.rss_mb,
            r.usage.generator_cpu_cores,
            r.usage.other_processes_cores,
            r.usage.server_cpu_wait,
        );
    }
    let _ = writeln!(
        s,
        "\n*Runtime threads*: tokio workers and blocking pool (HTTP, decoding, validation, \
         enrichment, scrubbing); *store threads*: the ingest log's appender (appends, one fsync per \
         group), the SQLite indexer (row encoding, inserts, commits) and the WAL checkpointer. \
         The index thread's state is sampled every 2 ms from `/proc`: R running or runnable, D \
         uninterruptible (waiting for the disk: fsync), idle waiting for work. \
         *Other processes*: the machine's busy time (`/proc/stat`) minus server and generator; \
         *waiting for a CPU*: the server threads' run-queue time (`schedstat`) ÷ wall time, \
         i.e. how many of its threads were ready to run but had no core, on average."
    );

    let _ = writeln!(s, "\n### Targets\n");
    let _ = writeln!(s, "| target | figure | |");
    let _ = writeln!(s, "|---|---|---|");
    for p in &report.peak {
        let share = p.share_of_floor();
        let _ = writeln!(
            s,
            "| events/s ≥ ½ of the HTTP floor's, enrichment and durable store on: {} | {} vs {} events/s = {} | {} |",
            p.gateway.payload,
            count(p.gateway.events_per_s),
            count(p.floor.events_per_s),
            percent(share),
            met(share >= TARGET_SHARE_OF_FLOOR && p.gateway.non_2xx + p.gateway.io_errors == 0),
        );
    }
    for h in report.peak.iter().filter_map(|p| p.half_load.as_ref()) {
        let _ = writeln!(
            s,
            "| p99 acknowledgement latency < {TARGET_P99_MS} ms at half of peak: {} | p99 {} ms at {} req/s | {} |",
            h.payload,
            ms(h.latency.p99_ms),
            count(h.req_per_s),
            met(h.latency.p99_ms < TARGET_P99_MS && h.non_2xx + h.io_errors == 0 && h.backlog == Some(0)),
        );
    }
    let all_gateway_runs = report
        .peak
        .iter()
        .flat_map(|p| std::iter::once(&p.gateway).chain(p.half_load.iter()))
        .chain(report.enrichment.iter().flat_map(|e| [&e.on, &e.off]))
        .chain(report.store.iter().map(|st| &st.run));
    if let Some(worst) =
        all_gateway_runs.max_by(|a, b| a.usage.peak_rss_mb.total_cmp(&b.usage.peak_rss_mb))
    {
        let where_ = report
            .store
            .iter()
            .find(|st| std::ptr::eq(&st.run, worst))
            .map_or(format!("{} {}", worst.payload, worst.mode), |st| {
                format!(
                    "beacon-20 with {} events stored",
                    count(st.events_before as f64)
                )
            });
        let off = report.enrichment.as_ref().map_or(String::new(), |e| {
            format!("; {:.0} MB with enrichment off", e.off.usage.peak_rss_mb)
        });
        let _ = writeln!(
            s,
            "| peak RSS < {TARGET_RSS_MB} MB | highest {:.0} MB ({where_}){off} | {} |",
            worst.usage.peak_rss_mb,
            met(worst.usage.peak_rss_mb < TARGET_RSS_MB)
        );
    }
    let _ = writeln!(
        s,
        "\nTotal runtime of `rum-loadgen run`: {:.1} min.",
        report.total_runtime_s / 60.0
    );
    s
}

/// Every run of the report, floor and gateway.
fn all_runs(report: &Report) -> impl Iterator<Item = &RunResult> {
    report
        .peak
        .iter()
        .flat_map(|p| {
            [Some(&p.floor), Some(&p.gateway), p.half_load.as_ref()]
                .into_iter()
                .flatten()
        })
        .chain(report.enrichment.iter().flat_map(|e| [&e.on, &e.off]))
        .chain(report.store.iter().map(|st| &st.run))
}

fn fsync_share(r: &RunResult) -> String {
    r.usage
        .store_writer
        .map_or("–".into(), |w| format!("{:.0} %", w.disk_wait * 100.0))
}
