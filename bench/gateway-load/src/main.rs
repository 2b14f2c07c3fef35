//! `rum-loadgen`: end-to-end load test of `rum-gateway` over loopback HTTP, against an HTTP
//! floor (a do-nothing server on the same stack).
//!
//!   rum-loadgen floor --listen 127.0.0.1:0
//!   rum-loadgen run [--gateway-bin PATH] [--out bench/results] [--duration-secs 10] …
//!
//! Run from the repository root after `cargo build --release -p gateway -p gateway-load`.

mod bodies;
mod floor;
mod http_client;
mod orchestrate;
mod prefill;
mod process;
mod report;
mod scenario;

use std::net::SocketAddr;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Floor { listen } => floor::serve(listen).await,
        Command::Run(args) => orchestrate::run(args).await,
    }
}
