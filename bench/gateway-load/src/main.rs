//! `rum-loadgen`: end-to-end load test of `rum-gateway` over loopback HTTP, against an HTTP
//! floor (a do-nothing server on the same stack).
//!
//!   rum-loadgen floor --listen 127.0.0.1:0
//!   rum-loadgen run [--gateway-bin PATH] [--out bench/results] [--duration-secs 10] …
//!   rum-loadgen load --addr 127.0.0.1:4318 [--pid PID] [--payload beacon-20] [--rate R]
//!   rum-loadgen soak [--duration-secs 600]
//!   rum-loadgen viewer [--events 1000000]
//!
//! Run from the repository root after `cargo build --release -p gateway -p gateway-load`.

mod bodies;
mod floor;
mod http_client;
mod orchestrate;
mod prefill;
mod process;
mod report;
mod retention;
mod scenario;
mod soak;
mod viewer;

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "rum-loadgen",
    about = "Load test of rum-gateway against an HTTP floor"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The HTTP floor: reads every request's body and answers 202, on any path.
    Floor {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
    /// Starts the floor and gateways, runs every scenario, writes gateway.json and gateway.md.
    Run(orchestrate::RunArgs),
    /// One run against a server that is already running (e.g. to profile it).
    Load(LoadArgs),
    /// A long mixed run at half of peak: RSS, file descriptors, latency per window, and
    /// acknowledged events counted in the store (bench/soak).
    Soak(soak::SoakArgs),
    /// What deleting a day costs: a week prefilled, the oldest day's span partition deleted
    /// as a file, against the same rows deleted by `DELETE`.
    Retention(retention::RetentionArgs),
    /// How fast the viewer's pages answer: a week of 1 million events prefilled, each page's
    /// admin API requests timed.
    Viewer(viewer::ViewerArgs),
}

#[derive(clap::Args, Debug)]
struct LoadArgs {
    /// The ingest listener.
    #[arg(long)]
    addr: SocketAddr,
    /// The server's pid, to report its CPU and memory.
    #[arg(long)]
    pid: Option<u32>,
    /// beacon-N (N events) or otlp-N (N spans).
    #[arg(long, default_value = "beacon-20")]
    payload: String,
    #[arg(long, default_value_t = 32)]
    connections: usize,
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Requests per second on a fixed schedule (open loop); without it, a closed loop.
    #[arg(long)]
    rate: Option<f64>,
}

async fn load(args: LoadArgs) -> anyhow::Result<()> {
    let payload = match args.payload.split_once('-') {
        Some(("beacon", n)) => bodies::beacon(n.parse().context("--payload beacon-N")?),
        Some(("otlp", n)) => bodies::otlp(n.parse().context("--payload otlp-N")?)?,
        _ => anyhow::bail!("--payload must be beacon-N or otlp-N"),
    };
    let target = scenario::Target {
        name: args.addr.to_string(),
        addr: args.addr,
        pid: args.pid,
    };
    let spec = scenario::Spec {
        connections: args.connections.max(1),
        warmup: std::time::Duration::from_secs(args.warmup_secs),
        duration: std::time::Duration::from_secs(args.duration_secs.max(1)),
    };
    let payload = std::sync::Arc::new(payload);
    let result = match args.rate {
        Some(rate) => scenario::open_loop(&target, payload, spec, rate).await?,
        None => scenario::closed_loop(&target, payload, spec).await?,
    };
    orchestrate::print_run("server", &result);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Floor { listen } => floor::serve(listen).await,
        Command::Run(args) => orchestrate::run(args).await,
        Command::Load(args) => load(args).await,
        Command::Soak(args) => soak::soak(args).await,
        Command::Retention(args) => retention::retention(args).await,
        Command::Viewer(args) => viewer::viewer(args).await,
    }
}
