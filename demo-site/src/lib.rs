//! The demo shop: a tiny web shop whose backend is traced with OpenTelemetry, so the RUM product
//! can show one trace from a click in the browser down to the backend's spans.
//!
//! `main.rs` only parses flags and calls [`run`]; everything else lives here so tests can build
//! the same router and tracer provider in-process.
//!
//! Routes: the single-page app's `GET /`, `/product/{sku}`, `/cart` and `/checkout` (all the same
//! page, which renders the route client-side from the JSON API), the JSON API under `/api/`
//! (products, cart, checkout: see [`shop::api_router`]), `/static/shop.css`, `/static/shop.js`
//! and `/static/logo.svg` (the page's own files), `/sdk/*` (the built SDK).
//!
//! The page routes and `/api/*` run in a SERVER span that continues an incoming `traceparent`,
//! and their responses name that span in
//! `Server-Timing: traceparent;desc="00-{32 hex trace id}-{16 hex span id}-{01 sampled|00}"`,
//! which is how the SDK's `documentLoad` span finds its parent: the `GET /` (or
//! `GET /product/{sku}`…) span that rendered the page. Every response carries
//! `Timing-Allow-Origin: *`, so a page on another origin that loads the SDK or these files still
//! gets their full timings (and `serverTiming`).

pub mod assets;
pub mod cart;
pub mod shop;
pub mod telemetry;
pub mod trace_layer;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use axum::{middleware, Router};
use opentelemetry_sdk::trace::SdkTracer;
use tower_http::services::ServeDir;

/// Command-line configuration; every flag can also come from the environment.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "demo-site",
    version,
    about = "Demo shop traced end to end by the RUM product"
)]
pub struct Config {
    /// Address the shop listens on.
    #[arg(long, env = "DEMO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Base URL of rum-gateway's ingest listener: the browser SDK sends beacons there and the
    /// backend exports OTLP/HTTP traces to `{gateway}/v1/traces`.
    #[arg(long, env = "DEMO_GATEWAY", default_value = "http://127.0.0.1:4318")]
    pub gateway: String,

    /// API key for the gateway: sent as `Authorization: Bearer KEY` on OTLP exports and handed
    /// to the browser SDK as `apiKey`.
    #[arg(long, env = "DEMO_API_KEY", default_value = "dev")]
    pub api_key: String,

    /// Directory with the built browser SDK (`index.js` and its `.wasm`), served under `/sdk/`.
    #[arg(long, env = "DEMO_SDK_DIR", default_value = "js/dist")]
    pub sdk_dir: PathBuf,
}

/// `Timing-Allow-Origin` (<https://www.w3.org/TR/resource-timing/#sec-timing-allow-origin>).
const TIMING_ALLOW_ORIGIN: HeaderName = HeaderName::from_static("timing-allow-origin");

/// Builds the whole app: the traced page and `/api` routes, the page's files and the SDK files.
///
/// `tracer` is passed in rather than taken from the global provider so tests can run their own
/// provider without touching process-wide state.
pub fn app(config: &Config, tracer: SdkTracer) -> Router {
    let page = shop::render_page(&config.gateway, &config.api_key);
    Router::new()
        .merge(shop::page_router(page, tracer.clone()))
        .merge(shop::api_router(tracer))
        .merge(assets::router())
        .nest_service("/sdk", ServeDir::new(&config.sdk_dir))
        .layer(middleware::map_response(allow_timing))
}

/// Adds `Timing-Allow-Origin: *`: without it, a page on another origin that loads these files
/// (the SDK, say) gets their timing details (DNS, connect, sizes, `serverTiming`) as zeros.
/// The demo's timings are no secret.
async fn allow_timing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(TIMING_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// Runs the demo until Ctrl-C or SIGTERM, then drains requests and flushes spans.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let provider = telemetry::init_tracer_provider(&config.gateway, &config.api_key)
        .context("setting up the OTLP trace exporter")?;
    let tracer = telemetry::tracer(&provider);

    if !config.sdk_dir.join("index.js").is_file() {
        // Not fatal: the shop works without the SDK, it just sends no browser telemetry.
        tracing::warn!(
            sdk_dir = %config.sdk_dir.display(),
            "browser SDK not found (no index.js); /sdk/ will answer 404"
        );
    }

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let local = listener.local_addr().context("reading the bound address")?;
    let url = page_url(local);
    tracing::info!(
        listen = %local,
        gateway = %config.gateway,
        traces_endpoint = %telemetry::traces_endpoint(&config.gateway),
        demo_url = %url,
        "demo shop listening"
    );
    // A plain stdout line (logs go to stderr) so scripts can wait for and read the URL.
    println!("demo page: {url}");

    let served = axum::serve(listener, app(&config, tracer))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP");

    // Flush even if serving failed, so the spans recorded so far still reach the gateway.
    // `shutdown` blocks on the batch thread, so keep it off the async workers.
    let flushed = tokio::task::spawn_blocking(move || provider.shutdown())
        .await
        .context("joining the tracer shutdown task")?;
    served?;
    // A gateway that is gone at shutdown is not the shop's failure: report it, still exit 0.
    if let Err(error) = flushed {
        tracing::warn!(%error, "could not flush all spans on shutdown");
    }
    tracing::info!("demo shop stopped");
    Ok(())
}

/// The URL a person can open: a wildcard listen address is not something a browser can visit.
pub fn page_url(local: SocketAddr) -> String {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/", SocketAddr::new(ip, local.port()))
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what `kill` and process managers send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested; draining requests");
}
