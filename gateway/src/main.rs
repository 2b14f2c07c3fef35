//! `rum-gateway`: command-line entry point.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use gateway::config::{Config, Overrides};

/// jemalloc instead of the system's malloc: with glibc's, the gateway spent a large share of
/// its CPU in the allocator (the same build measured 17–64 % more events/s with jemalloc, for
/// 1–10 MB more peak RSS: docs/architecture.md, "The allocator").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: a background thread gives freed memory back to the
/// system after a second instead of ten (peak RSS 1–10 MB lower in the same benchmark, the
/// throughput within its run-to-run spread; `narenas:2` as well measured no better).
#[cfg(not(target_env = "msvc"))]
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8; 60] =
    b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// Receives RUM beacons and OTLP traces, stores them and serves the trace viewer.
#[derive(Parser, Debug)]
#[command(name = "rum-gateway", version)]
struct Cli {
    /// Without a command the gateway runs.
    #[command(subcommand)]
    command: Option<Command>,
    /// TOML config file (docs/config.md). Without one the gateway runs in development mode:
    /// loopback only, ingest key `dev`, origins http://localhost:* and http://127.0.0.1:*.
    #[arg(long, env = "RUM_GATEWAY_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the embedded store [default: ./data].
    #[arg(long, env = "RUM_GATEWAY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address of the ingest listener (beacons, OTLP) [default: 127.0.0.1:4318].
    #[arg(long, env = "RUM_GATEWAY_INGEST_LISTEN")]
    ingest_listen: Option<SocketAddr>,
    /// Address of the admin listener (viewer, API, health) [default: 127.0.0.1:4319].
    #[arg(long, env = "RUM_GATEWAY_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,
    /// Token for the admin listener (required when it is not on loopback).
    #[arg(long, env = "RUM_GATEWAY_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Benchmarks only: acknowledge every request once validated, enriched and encoded, and
    /// store nothing (the baseline that shows what durability costs). Never in production.
    #[arg(long)]
    bench_discard_writes: bool,
    /// Benchmarks only: run the store's clock this many seconds ahead of the system's, so
    /// stored data falls past its retention tiers and the retention pass runs under load.
    #[arg(long, hide = true, allow_hyphen_values = true)]
    bench_clock_offset_secs: Option<i64>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compares two releases of a service in the store (docs/api.md, "Releases"): prints each
    /// figure of both with the difference, the verdict, the test and its p-value.
    Compare(CompareArgs),
}

#[derive(clap::Args, Debug)]
struct CompareArgs {
    /// The `service.name` whose releases are compared.
    #[arg(long)]
    service: String,
    /// The `service.version` compared against.
    #[arg(long)]
    baseline: String,
    /// The `service.version` under test.
    #[arg(long)]
    candidate: String,
    /// Only this `deployment.environment.name` [default: every environment, pooled].
    #[arg(long)]
    environment: Option<String>,
    /// Exit with status 1 when a figure has this verdict.
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    /// Directory of the store [default: --config's data_dir, else ./data].
    #[arg(long, env = "RUM_GATEWAY_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum FailOn {
    Worse,
}

/// `rum-gateway compare`: 0 when nothing failed, 1 on a regression with `--fail-on worse`,
/// 2 when the comparison could not be made.
fn compare(args: CompareArgs, config: Option<&std::path::Path>) -> std::process::ExitCode {
    match run_compare(args, config) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rum-gateway compare: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run_compare(
    args: CompareArgs,
    config: Option<&std::path::Path>,
) -> anyhow::Result<std::process::ExitCode> {
    use gateway::store::releases::Filter;
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => Config::load(config, Overrides::default())
            .context("loading the configuration")?
            .data_dir()
            .to_path_buf(),
    };
    // open_read would create an empty store where there is none.
    if !data_dir.join(gateway::store::DB_FILE).is_file() {
        anyhow::bail!("no store in {}", data_dir.display());
    }
    let conn = gateway::store::open_read(&data_dir)
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let filter = Filter {
        service: args.service.clone(),
        environment: args.environment.clone(),
        versions: Some(vec![args.baseline.clone(), args.candidate.clone()]),
        from: None,
        to: None,
    };
    let releases = gateway::store::releases::read(&conn, &filter, false)?;
    let comparison = gateway::releases::comparison(
        &args.service,
        args.environment.as_deref(),
        &releases,
        &args.baseline,
        &args.candidate,
    )?;
    println!(
        "{} {} (baseline) vs {} (candidate){}: alpha {}, at least {} samples a side",
        comparison.service,
        args.baseline,
        args.candidate,
        args.environment
            .as_deref()
            .map_or(String::new(), |e| format!(" in {e}")),
        comparison.alpha,
        comparison.min_samples
    );
    print!("{}", gateway::releases::table(&comparison.figures));
    if args.fail_on == Some(FailOn::Worse) && !comparison.worse.is_empty() {
        eprintln!(
            "rum-gateway compare: {} is worse than {} on: {}",
            args.candidate,
            args.baseline,
            comparison.worse.join(", ")
        );
        return Ok(std::process::ExitCode::from(1));
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    if let Some(Command::Compare(args)) = cli.command {
        return Ok(compare(args, cli.config.as_deref()));
    }
    serve(cli)?;
    Ok(std::process::ExitCode::SUCCESS)
}

#[tokio::main]
async fn serve(cli: Cli) -> anyhow::Result<()> {
    // Colours only on a terminal: a pipe, a file, journald or `docker logs` get plain text.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUM_GATEWAY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let overrides = Overrides {
        data_dir: cli.data_dir,
        ingest_listen: cli.ingest_listen,
        admin_listen: cli.admin_listen,
        admin_token: cli.admin_token,
    };
    let mut config =
        Config::load(cli.config.as_deref(), overrides).context("loading the configuration")?;
    if let Some(offset) = cli.bench_clock_offset_secs {
        tracing::warn!(
            offset,
            "--bench-clock-offset-secs: the store's clock is shifted (a benchmark)."
        );
        config.set_clock_offset_secs(offset);
    }
    if cli.bench_discard_writes {
        tracing::warn!("--bench-discard-writes: every request is acknowledged and NOTHING is stored (a benchmark baseline).");
        config.set_discard_writes(true);
    }
    if config.dev_mode() {
        tracing::warn!(
            key = gateway::config::DEV_KEY,
            origins = ?gateway::config::DEV_ORIGINS,
            "Development mode (no --config): loopback only, accepting the ingest key `dev` from \
             localhost origins. Write a config file for anything else."
        );
    }
    tracing::info!(data_dir = %config.data_dir().display(), apps = config.apps().len(), "Starting.");
    gateway::server::run(config, shutdown_signal()).await
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("Shutting down: draining requests and the store queue.");
}
