//! `rum-loadgen run`: starts the floor and gateways as child processes, runs every
//! scenario against them, prints a summary as it goes and writes the report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde::Serialize;

use crate::bodies::{self, Kind, Payload};
use crate::http_client;
use crate::prefill::{self, Filled};
use crate::process::{self, Server};
use crate::report::{
    self, EnrichmentRuns, Meta, PeakScenario, Report, RetentionRun, SamplingRun, StoreRun,
};
use crate::scenario::{self, RunResult, Spec};

/// Options of `rum-loadgen run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The gateway binary (release build) [default: $CARGO_TARGET_DIR/release/rum-gateway,
    /// else target/release/rum-gateway].
    #[arg(long)]
    pub gateway_bin: Option<PathBuf>,
    /// Directory for gateway.json and gateway.md.
    #[arg(long, default_value = "bench/results")]
    pub out: PathBuf,
    /// Measured seconds of each run (after the warm-up).
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Unmeasured seconds before each run.
    #[arg(long, default_value_t = 2)]
    pub warmup_secs: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Store sizes (events) to measure 20-event beacons at, comma-separated; `none` skips.
    #[arg(long, default_value = "1000000,10000000")]
    pub store_sizes: String,
    /// MaxMind City database for geo enrichment (default relative to the repository root).
    #[arg(long, default_value = "../shared/testdata/mmdb/GeoIP2-City-Test.mmdb")]
    pub mmdb: PathBuf,
    /// uap-core regexes.yaml for user-agent enrichment.
    #[arg(long, default_value = "gateway/assets/uap-core/regexes.yaml")]
    pub uap: PathBuf,
    /// Where the gateways' data directories and logs go [default: the system temp dir].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Keep the data directories and logs (the 10M-event store is about 11 GiB).
    #[arg(long)]
    pub keep_data: bool,
    /// Run only these parts, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "peak,enrichment,store"
    )]
    pub only: Vec<Section>,
}

/// Which enrichment a gateway gets.
#[derive(Debug, Clone)]
pub(crate) enum Enrich {
    /// Geo (when the database exists) and user agents (when the regexes exist).
    On {
        mmdb: Option<PathBuf>,
        uap: Option<PathBuf>,
    },
    /// No geo database, `enrich.user_agent_parsing = false`.
    Off,
}

/// What a gateway reported about itself after a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Checks {
    /// Spans + vitals + OTLP spans the gateway counted as committed (`GET /metrics`).
    pub events_committed: u64,
    /// What the generator saw acknowledged (2xx × events per request).
    pub events_acknowledged: u64,
    /// Share of the latest page views carrying `geo.country.iso_code` / `user_agent.name`.
    pub geo_share: Option<f64>,
    pub user_agent_share: Option<f64>,
    /// rum.sqlite and the span partitions, with their WALs, after the gateway stopped.
    pub db_bytes: u64,
}

/// What every section needs.
pub(crate) struct Bench {
    pub(crate) bin: PathBuf,
    pub(crate) work: PathBuf,
    pub(crate) spec: Spec,
    pub(crate) enrich_on: Enrich,
}

/// Parts of the run, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// Peak throughput vs the floor, and latency at half of peak.
    Peak,
    /// 20-event beacons with enrichment on and off.
    Enrichment,
    /// 20-event beacons after prefilling the store.
    Store,
    /// 20-event beacons and OTLP with tail sampling off and on.
    Sampling,
    /// Latency at half load with and without the retention pass busy.
    Retention,
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let bin = match &args.gateway_bin {
        Some(bin) => bin.clone(),
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| PathBuf::from("target"), PathBuf::from)
            .join("release/rum-gateway"),
    };
    if !bin.is_file() {
        bail!(
            "no gateway binary at {}: run `cargo build --release -p gateway -p gateway-load` first",
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
    let store_sizes = parse_sizes(&args.store_sizes)?;
    let spec = Spec {
        connections: args.connections.max(1),
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs.max(1)),
    };
    let work_parent = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&work_parent)
        .with_context(|| format!("creating {}", work_parent.display()))?;
    let work = tempfile::Builder::new()
        .prefix("rum-loadgen-")
        .tempdir_in(&work_parent)
        .with_context(|| format!("creating a work directory in {}", work_parent.display()))?;
    let bench = Bench {
        bin: bin.clone(),
        work: work.path().to_path_buf(),
        spec,
        enrich_on: Enrich::On {
            mmdb: mmdb.clone(),
            uap: uap.clone(),
        },
    };

    println!("rum-loadgen: gateway {}", bin.display());
    println!(
        "  {} connections, {} s warm-up + {} s measured per run, work dir {}",
        spec.connections,
        args.warmup_secs,
        spec.duration.as_secs(),
        bench.work.display()
    );
    match &mmdb {
        Some(path) => println!("  geo: {}", path.display()),
        None => println!("  geo not measured: no database at {}", args.mmdb.display()),
    }
    match &uap {
        Some(path) => println!("  user agents: {}", path.display()),
        None => println!(
            "  user agents not measured: no regexes at {}",
            args.uap.display()
        ),
    }

    let payloads: Vec<Arc<Payload>> = vec![
        Arc::new(bodies::beacon(1)),
        Arc::new(bodies::beacon(20)),
        Arc::new(bodies::beacon(100)),
        Arc::new(bodies::otlp(20)?),
    ];
    for payload in payloads.iter().filter(|p| p.kind == Kind::Beacon) {
        let (spans, vitals) = prefill::check_beacon(Arc::clone(payload))?;
        if (spans, vitals) != (payload.spans, payload.vitals) {
            bail!(
                "{}: the gateway reads {spans} spans + {vitals} vitals, not {} + {}",
                payload.name,
                payload.spans,
                payload.vitals
            );
        }
    }
    let beacon20 = Arc::new(bodies::beacon(20));

    let mut peak = Vec::new();
    if args.only.contains(&Section::Peak) {
        peak = peak_section(&bench, &payloads).await?;
    }
    let mut enrichment = None;
    if args.only.contains(&Section::Enrichment) {
        enrichment = Some(enrichment_section(&bench, &beacon20).await?);
    }
    let mut sampling = Vec::new();
    if args.only.contains(&Section::Sampling) {
        sampling = sampling_section(
            &bench,
            &[Arc::clone(&beacon20), Arc::new(bodies::otlp(20)?)],
        )
        .await?;
    }
    let mut retention = Vec::new();
    if args.only.contains(&Section::Retention) {
        retention = retention_section(&bench, &beacon20).await?;
    }
    let mut store = (Vec::new(), Vec::new());
    if args.only.contains(&Section::Store) && !store_sizes.is_empty() {
        store = store_section(&bench, &beacon20, &store_sizes).await?;
    }

    let total = started.elapsed().as_secs_f64();
    let report = Report {
        meta: Meta::collect(&bin, spec, mmdb.as_deref(), uap.as_deref())?,
        peak,
        enrichment,
        sampling,
        retention,
        store: store.0,
        store_skipped: store.1,
        total_runtime_s: total,
    };
    let (json, md) = report::write(&args.out, &report)?;
    println!("\n{}", report::markdown(&report));
    println!("wrote {} and {}", json.display(), md.display());
    if args.keep_data {
        let kept = work.keep();
        println!("kept data and logs in {}", kept.display());
    }
    println!("total runtime {:.0} s ({:.1} min)", total, total / 60.0);
    Ok(())
}

/// Peak throughput per payload, the floor and a fresh gateway back to back; then, on the
/// same gateway, latency at half of its peak.
async fn peak_section(
    bench: &Bench,
    payloads: &[Arc<Payload>],
) -> anyhow::Result<Vec<PeakScenario>> {
    let exe = std::env::current_exe().context("locating rum-loadgen itself")?;
    let floor = process::spawn(
        "floor",
        &exe,
        &["floor", "--listen", "127.0.0.1:0"],
        &bench.work.join("floor.log"),
        "floor listening on ",
        None,
    )
    .await?;
    println!("  floor on {} (pid {})", floor.ingest, floor.pid);
    println!("\n== Peak throughput (closed loop) and latency at half of peak (open loop)");
    let spec = bench.spec;
    let mut peak = Vec::new();
    for payload in payloads {
        let floor_run = scenario::closed_loop(&floor.target(), Arc::clone(payload), spec).await?;
        print_run("floor", &floor_run);
        let dir = bench.work.join(format!("peak-{}", payload.name));
        let gateway = start_gateway(bench, &payload.name, &dir, &bench.enrich_on).await?;
        let closed = scenario::closed_loop(&gateway.target(), Arc::clone(payload), spec).await?;
        print_run("gateway", &closed);
        let half = if payload.kind == Kind::Beacon && closed.req_per_s > 0.0 {
            let rate = closed.req_per_s / 2.0;
            let open =
                scenario::open_loop(&gateway.target(), Arc::clone(payload), spec, rate).await?;
            print_run("gateway", &open);
            Some(open)
        } else {
            None
        };
        let mut runs = vec![&closed];
        runs.extend(half.as_ref());
        let checks = finish_gateway(gateway, &dir, &runs, payload.kind == Kind::Beacon).await?;
        print_checks(&checks);
        // The same gateway with its store replaced by a no-op sink: what durability costs.
        let sink_dir = bench.work.join(format!("sink-{}", payload.name));
        let sink = start_gateway_with(
            bench,
            &format!("sink-{}", payload.name),
            &sink_dir,
            &bench.enrich_on,
            &["--bench-discard-writes"],
        )
        .await?;
        let sink_run = scenario::closed_loop(&sink.target(), Arc::clone(payload), spec).await?;
        print_run("no-op sink", &sink_run);
        sink.stop().await?;
        peak.push(PeakScenario {
            floor: floor_run,
            gateway: closed,
            half_load: half,
            sink: Some(sink_run),
            checks,
        });
    }
    floor.stop().await?;
    Ok(peak)
}

/// 20-event beacons on a fresh gateway with enrichment on, then one with it off.
async fn enrichment_section(
    bench: &Bench,
    beacon20: &Arc<Payload>,
) -> anyhow::Result<EnrichmentRuns> {
    println!("\n== Enrichment on/off (20-event beacons)");
    let mut runs = Vec::new();
    for (label, enrich) in [("on", &bench.enrich_on), ("off", &Enrich::Off)] {
        let dir = bench.work.join(format!("enrich-{label}"));
        let gateway = start_gateway(bench, &format!("enrich-{label}"), &dir, enrich).await?;
        let run =
            scenario::closed_loop(&gateway.target(), Arc::clone(beacon20), bench.spec).await?;
        print_run(&format!("enrich {label}"), &run);
        let checks = finish_gateway(gateway, &dir, &[&run], true).await?;
        print_checks(&checks);
        runs.push((run, checks));
    }
    let (off, off_checks) = runs.pop().ok_or_else(|| anyhow!("no enrichment-off run"))?;
    let (on, on_checks) = runs.pop().ok_or_else(|| anyhow!("no enrichment-on run"))?;
    Ok(EnrichmentRuns {
        on,
        on_checks,
        off,
        off_checks,
    })
}

/// Tail sampling as the benchmark turns it on: a tenth of the traces kept by the ratio, the
/// default 10 s decision window (decisions run during the measured window after the warm-up).
const TAIL_SAMPLING_TOML: &str = "[sample]\n[[sample.rules]]\nratio = 0.1\n";

/// Per payload, a gateway without tail sampling and one with it: throughput (closed loop), and
/// for beacons the latency at half of the first gateway's peak (the same rate for both).
async fn sampling_section(
    bench: &Bench,
    payloads: &[Arc<Payload>],
) -> anyhow::Result<Vec<SamplingRun>> {
    println!("\n== Tail sampling off / on (ratio 0.1, 10 s decision window)");
    let mut runs = Vec::new();
    for payload in payloads {
        let mut half_rate = None;
        for (mode, toml) in [("off", ""), ("tail", TAIL_SAMPLING_TOML)] {
            let label = format!("sampling-{mode}-{}", payload.name);
            let dir = bench.work.join(&label);
            let gateway =
                start_gateway_configured(bench, &label, &dir, &bench.enrich_on, &[], toml).await?;
            let closed =
                scenario::closed_loop(&gateway.target(), Arc::clone(payload), bench.spec).await?;
            print_run(&format!("sampling {mode}"), &closed);
            let rate = *half_rate.get_or_insert(closed.req_per_s / 2.0);
            let half = if payload.kind == Kind::Beacon && rate > 0.0 {
                let open =
                    scenario::open_loop(&gateway.target(), Arc::clone(payload), bench.spec, rate)
                        .await?;
                print_run(&format!("sampling {mode}"), &open);
                Some(open)
            } else {
                None
            };
            let mut measured = vec![&closed];
            measured.extend(half.as_ref());
            let checks =
                finish_gateway(gateway, &dir, &measured, payload.kind == Kind::Beacon).await?;
            print_checks(&checks);
            runs.push(SamplingRun {
                mode,
                closed,
                half_load: half,
                checks,
            });
        }
    }
    Ok(runs)
}

/// Events prefilled (over the week before now) for the retention comparison.
const RETENTION_PREFILL_EVENTS: u64 = 300_000;

/// The store clock 8 days ahead: every prefilled event is past the 7-day raw tier.
const RETENTION_CLOCK_OFFSET: &str = "691200";

/// A store prefilled with a week of events; then, on it, a gateway whose retention pass has
/// nothing to do and one whose clock runs 8 days ahead (so the pass archives and deletes the
/// whole week while the load runs), both at the same rate: half the first one's peak.
async fn retention_section(
    bench: &Bench,
    beacon20: &Arc<Payload>,
) -> anyhow::Result<Vec<RetentionRun>> {
    println!("\n== Retention pass idle / busy (20-event beacons at half load)");
    let dir = bench.work.join("retention");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let toml = config_toml(&dir, &bench.enrich_on)?;
    let fill_dir = dir.clone();
    let filled = tokio::task::spawn_blocking(move || -> anyhow::Result<prefill::Filled> {
        let templates = prefill::templates(&toml, &fill_dir, Arc::new(bodies::beacon(100)), 42)?;
        prefill::fill(&fill_dir, &templates, RETENTION_PREFILL_EVENTS)
    })
    .await
    .context("prefill thread")??;
    println!(
        "  prefill: {} events over the week before now in {:.0} s",
        filled.events_added, filled.seconds
    );
    let partitions = |dir: &Path| {
        std::fs::read_dir(dir.join(gateway::store::partitions::DIR))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".sqlite"))
                    .count()
            })
            .unwrap_or(0)
    };
    let mut runs = Vec::new();
    let mut rate = 0.0;
    for (mode, args) in [
        ("idle", vec![]),
        (
            "busy",
            vec!["--bench-clock-offset-secs", RETENTION_CLOCK_OFFSET],
        ),
    ] {
        let label = format!("retention-{mode}");
        let before = partitions(&dir);
        let gateway =
            start_gateway_configured(bench, &label, &dir, &bench.enrich_on, &args, "").await?;
        if mode == "idle" {
            let closed =
                scenario::closed_loop(&gateway.target(), Arc::clone(beacon20), bench.spec).await?;
            print_run("retention idle", &closed);
            rate = closed.req_per_s / 2.0;
        }
        let open =
            scenario::open_loop(&gateway.target(), Arc::clone(beacon20), bench.spec, rate).await?;
        print_run(&format!("retention {mode}"), &open);
        let checks = finish_gateway(gateway, &dir, &[&open], true).await?;
        let after = partitions(&dir);
        println!("    partitions: {before} before, {after} after");
        runs.push(RetentionRun {
            mode,
            half_load: open,
            partitions_before: before,
            partitions_after: after,
            checks,
        });
    }
    Ok(runs)
}

/// Disk space a prefill leaves to everyone else at least.
const KEEP_FREE_BYTES: u64 = 10 << 30;
/// Store bytes per event assumed before any was measured (10,000,040 events took 10.98 GiB,
/// about 1.2 KB each; with room for the WAL and the ingest log).
const ASSUMED_BYTES_PER_EVENT: u64 = 1500;

/// 20-event beacons on a gateway whose store was prefilled to each size in turn. Sizes the
/// disk cannot hold (keeping 10 GiB free) are skipped, with the reason.
async fn store_section(
    bench: &Bench,
    beacon20: &Arc<Payload>,
    sizes: &[u64],
) -> anyhow::Result<(Vec<StoreRun>, Vec<String>)> {
    println!("\n== Store size (20-event beacons after prefilling the store)");
    let dir = bench.work.join("store");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let toml = config_toml(&dir, &bench.enrich_on)?;
    let template_dir = dir.clone();
    let templates = Arc::new(
        tokio::task::spawn_blocking(move || {
            prefill::templates(&toml, &template_dir, Arc::new(bodies::beacon(100)), 42)
        })
        .await
        .context("building prefill templates")??,
    );
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    let mut in_store = 0u64;
    for &size in sizes {
        let mut filled = Filled {
            events_added: 0,
            seconds: 0.0,
        };
        if size > in_store {
            let per_event = match db_bytes(&dir) {
                0 => ASSUMED_BYTES_PER_EVENT,
                bytes => bytes / in_store.max(1),
            };
            let needed = (size - in_store) * per_event;
            let free = process::free_disk_bytes(&dir)?;
            if free < needed + KEEP_FREE_BYTES {
                let why = format!(
                    "{} events skipped: needs about {} more on disk ({} per event), {} free, {} kept free",
                    size,
                    mb(needed),
                    per_event,
                    mb(free),
                    mb(KEEP_FREE_BYTES)
                );
                println!("  {why}");
                skipped.push(why);
                continue;
            }
            println!(
                "  prefill: {in_store} → {size} events (copies of enriched 100-event beacons)"
            );
            let (fill_dir, templates, add) = (dir.clone(), Arc::clone(&templates), size - in_store);
            filled = tokio::task::spawn_blocking(move || prefill::fill(&fill_dir, &templates, add))
                .await
                .context("prefill thread")??;
            in_store += filled.events_added;
            println!(
                "  prefill: added {} events in {:.0} s ({:.0} events/s); store now {} events, {}",
                filled.events_added,
                filled.seconds,
                filled.events_added as f64 / filled.seconds,
                in_store,
                mb(db_bytes(&dir))
            );
        }
        let events_before = in_store;
        let gateway =
            start_gateway(bench, &format!("store-{size}"), &dir, &bench.enrich_on).await?;
        let run =
            scenario::closed_loop(&gateway.target(), Arc::clone(beacon20), bench.spec).await?;
        print_run(&format!("{}M store", size as f64 / 1e6), &run);
        let checks = finish_gateway(gateway, &dir, &[&run], false).await?;
        in_store += run.ok_total * run.events_per_request as u64;
        println!(
            "    store after the run: {in_store} events, {}",
            mb(checks.db_bytes)
        );
        runs.push(StoreRun {
            target_events: size,
            events_before,
            prefill: filled,
            run,
            checks,
        });
    }
    Ok((runs, skipped))
}

fn parse_sizes(text: &str) -> anyhow::Result<Vec<u64>> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut sizes = text
        .split(',')
        .map(|s| {
            s.trim()
                .replace('_', "")
                .parse::<u64>()
                .with_context(|| format!("--store-sizes: {s:?} is not a number"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    sizes.sort_unstable();
    Ok(sizes)
}

pub(crate) fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))
}

/// The gateway's config for a benchmark: one app, rate limits off, loopback listeners on
/// ports the OS picks, the loopback peer trusted as a proxy so `X-Forwarded-For` is the
/// client address.
pub(crate) fn config_toml(data_dir: &Path, enrich: &Enrich) -> anyhow::Result<String> {
    let path = |p: &Path| toml::Value::String(p.to_string_lossy().into_owned());
    let mut enrich_table = toml::Table::new();
    enrich_table.insert(
        "trusted_proxies".into(),
        toml::Value::Array(vec!["127.0.0.1".into()]),
    );
    match enrich {
        Enrich::On { mmdb, uap } => {
            if let Some(mmdb) = mmdb {
                enrich_table.insert("geoip_database".into(), path(mmdb));
            }
            match uap {
                Some(uap) => enrich_table.insert("user_agent_regexes".into(), path(uap)),
                None => enrich_table.insert("user_agent_parsing".into(), false.into()),
            };
        }
        Enrich::Off => {
            enrich_table.insert("user_agent_parsing".into(), false.into());
        }
    }
    let off = || {
        let mut rate = toml::Table::new();
        rate.insert("per_second".into(), 0.into());
        rate.insert("burst".into(), 0.into());
        toml::Value::Table(rate)
    };
    let mut limits = toml::Table::new();
    limits.insert("max_body_bytes".into(), (8 * 1024 * 1024).into());
    limits.insert("max_decompressed_bytes".into(), (16 * 1024 * 1024).into());
    limits.insert("key_rate".into(), off());
    limits.insert("ip_rate".into(), off());
    let mut server = toml::Table::new();
    server.insert("ingest_listen".into(), "127.0.0.1:0".into());
    server.insert("admin_listen".into(), "127.0.0.1:0".into());
    let mut app = toml::Table::new();
    app.insert("name".into(), "bench".into());
    app.insert("key".into(), bodies::KEY.into());
    app.insert(
        "allowed_origins".into(),
        toml::Value::Array(vec![bodies::ORIGIN.into()]),
    );
    let mut root = toml::Table::new();
    root.insert("data_dir".into(), path(data_dir));
    root.insert("server".into(), toml::Value::Table(server));
    root.insert("limits".into(), toml::Value::Table(limits));
    root.insert("enrich".into(), toml::Value::Table(enrich_table));
    root.insert(
        "apps".into(),
        toml::Value::Array(vec![toml::Value::Table(app)]),
    );
    toml::to_string(&root).context("writing the gateway config")
}

pub(crate) async fn start_gateway(
    bench: &Bench,
    label: &str,
    data_dir: &Path,
    enrich: &Enrich,
) -> anyhow::Result<Server> {
    start_gateway_with(bench, label, data_dir, enrich, &[]).await
}

/// As [`start_gateway`], with more command-line arguments.
pub(crate) async fn start_gateway_with(
    bench: &Bench,
    label: &str,
    data_dir: &Path,
    enrich: &Enrich,
    extra: &[&str],
) -> anyhow::Result<Server> {
    start_gateway_configured(bench, label, data_dir, enrich, extra, "").await
}

/// As [`start_gateway_with`], with `extra_toml` appended to the config file.
pub(crate) async fn start_gateway_configured(
    bench: &Bench,
    label: &str,
    data_dir: &Path,
    enrich: &Enrich,
    extra: &[&str],
    extra_toml: &str,
) -> anyhow::Result<Server> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let config = bench.work.join(format!("{label}.toml"));
    std::fs::write(&config, config_toml(data_dir, enrich)? + extra_toml)
        .with_context(|| format!("writing {}", config.display()))?;
    let config_arg = config.to_string_lossy().into_owned();
    let mut args = vec!["--config", config_arg.as_str()];
    args.extend_from_slice(extra);
    let server = process::spawn(
        &format!("gateway ({label})"),
        &bench.bin,
        &args,
        &bench.work.join(format!("{label}.log")),
        "ingest listening on ",
        Some("viewer listening on "),
    )
    .await?;
    server.wait_healthy().await?;
    Ok(server)
}

/// Reads the gateway's counters (and for beacons, what enrichment added to the latest page
/// views), stops it and measures its store.
async fn finish_gateway(
    server: Server,
    data_dir: &Path,
    runs: &[&RunResult],
    beacons: bool,
) -> anyhow::Result<Checks> {
    let admin = server
        .admin
        .ok_or_else(|| anyhow!("the gateway has no admin address"))?;
    let mut checks = Checks {
        events_acknowledged: runs
            .iter()
            .map(|r| r.ok_total * r.events_per_request as u64)
            .sum(),
        ..Checks::default()
    };
    // A read waits until the index holds everything acknowledged (docs/architecture.md);
    // /metrics counts what the index committed, so it is read after one.
    http_client::get(admin, "/api/traces?limit=1")
        .await
        .context("GET /api/traces")?;
    let (status, metrics) = http_client::get(admin, "/metrics")
        .await
        .context("GET /metrics")?;
    if status == 200 {
        checks.events_committed = [
            "rum_gateway_spans_accepted_total",
            "rum_gateway_vitals_accepted_total",
            "rum_gateway_otlp_spans_accepted_total",
        ]
        .iter()
        .map(|name| counter(&metrics, name))
        .sum();
    }
    if beacons {
        let (status, body) = http_client::get(admin, "/api/page_views?limit=100")
            .await
            .context("GET /api/page_views")?;
        if status == 200 {
            let views: serde_json::Value =
                serde_json::from_str(&body).context("parsing /api/page_views")?;
            let views = views["page_views"].as_array().cloned().unwrap_or_default();
            let share = |key: &str| {
                let with = views
                    .iter()
                    .filter(|v| v["attributes"].get(key).is_some())
                    .count();
                (!views.is_empty()).then(|| with as f64 / views.len() as f64)
            };
            checks.geo_share = share("geo.country.iso_code");
            checks.user_agent_share = share("user_agent.name");
        }
    }
    server.stop().await?;
    checks.db_bytes = db_bytes(data_dir);
    Ok(checks)
}

/// A Prometheus counter's value (summed over its label sets).
pub(crate) fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .filter(|line| line.starts_with(name) && !line.starts_with('#'))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn db_bytes(data_dir: &Path) -> u64 {
    let partitions = data_dir.join(gateway::store::partitions::DIR);
    dir_bytes(data_dir, |name| name.starts_with(gateway::store::DB_FILE))
        + dir_bytes(&partitions, |name| name.starts_with('p'))
}

/// The size of the files in `dir` whose names `keep` accepts (0 when it cannot be read).
pub(crate) fn dir_bytes(dir: &Path, keep: impl Fn(&str) -> bool) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| keep(&e.file_name().to_string_lossy()))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn mb(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

pub fn print_run(who: &str, r: &RunResult) {
    let mut line = format!(
        "  {who:<12} {:<11} {:<6} {:>8.0} req/s {:>9.0} events/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  cpu {:.2} cores  rss {:.0} MB  gen {:.2} cores  others {:.2} cores",
        r.payload,
        r.mode,
        r.req_per_s,
        r.events_per_s,
        r.latency.p50_ms,
        r.latency.p99_ms,
        r.latency.max_ms,
        r.usage.cpu_cores,
        r.usage.peak_rss_mb,
        r.usage.generator_cpu_cores,
        r.usage.other_processes_cores,
    );
    if let Some(rate) = r.target_rate {
        line.push_str(&format!(
            "  (target {rate:.0} req/s, backlog {})",
            r.backlog.unwrap_or(0)
        ));
    }
    println!("{line}");
    if r.non_2xx + r.io_errors > 0 {
        println!(
            "    {} non-2xx, {} i/o errors; first: {}",
            r.non_2xx,
            r.io_errors,
            r.first_error.as_deref().unwrap_or("-")
        );
    }
}

fn print_checks(c: &Checks) {
    let mut line = format!(
        "    gateway counted {} events committed, generator saw {} acknowledged; store {}",
        c.events_committed,
        c.events_acknowledged,
        mb(c.db_bytes)
    );
    if let (Some(geo), Some(ua)) = (c.geo_share, c.user_agent_share) {
        line.push_str(&format!(
            "; page views with geo {:.0}%, user agent {:.0}%",
            geo * 100.0,
            ua * 100.0
        ));
    }
    println!("{line}");
}
