//! `rum-gateway`: command-line entry point.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Colours only on a terminal: a pipe, a file, journald or `docker logs` get plain text.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUM_GATEWAY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let overrides = Overrides {
        data_dir: cli.data_dir,
        ingest_listen: cli.ingest_listen,
        admin_listen: cli.admin_listen,
        admin_token: cli.admin_token,
    };
    let mut config =
        Config::load(cli.config.as_deref(), overrides).context("loading the configuration")?;
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
