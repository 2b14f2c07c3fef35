//! `demo-site` binary: parses flags, sets up logging and runs the shop (see the library).

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr so stdout carries only the `demo page:` line that scripts read; in
    // colour only when stderr is a terminal (plain text into a pipe or a file).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    demo_site::run(demo_site::Config::parse()).await
}
