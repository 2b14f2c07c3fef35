//! The two listeners (ingest and admin) and their graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::ingest::{self, IngestState};
use crate::store::{self, StoreHandle};
use crate::{api, viewer};

/// The ingest listener's router.
pub fn ingest_router(config: Arc<Config>, store: StoreHandle) -> Router {
    let pipeline = Arc::new(crate::pipeline::Pipeline::new(&config));
    ingest::router(IngestState { config, store, pipeline })
}

/// The admin listener's router: API, health and viewer.
pub fn admin_router(store: StoreHandle) -> Router {
    api::router(store).merge(viewer::router())
}

/// Binds both listeners, serves until `shutdown` resolves, then drains in-flight requests
/// and the store's write queue.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let (store, writer) = store::writer::start(config.data_dir(), config.limits().store_queue)
        .with_context(|| format!("opening the store in {}", config.data_dir().display()))?;
    let ingest = TcpListener::bind(config.ingest_listen())
        .await
        .with_context(|| format!("binding the ingest listener to {}", config.ingest_listen()))?;
    let admin = TcpListener::bind(config.admin_listen())
        .await
        .with_context(|| format!("binding the admin listener to {}", config.admin_listen()))?;
    let ingest_addr = ingest.local_addr()?;
    let admin_addr = admin.local_addr()?;
    tracing::info!(%ingest_addr, "Ingest listener ready: POST /v1/rum?key=KEY and /v1/traces.");
    tracing::info!(%admin_addr, viewer = %format!("http://{admin_addr}/"), "Admin listener ready.");
    // Scripts and tests read these two lines to find ports chosen by the OS.
    println!("ingest listening on http://{ingest_addr}");
    println!("viewer listening on http://{admin_addr}/");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    // With the peer address, for the per-client rate limit.
    let ingest_app = ingest_router(Arc::clone(&config), store.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let ingest_server = axum::serve(ingest, ingest_app).with_graceful_shutdown(stopped(stop_rx.clone()));
    let admin_app = crate::admin_auth::protect(admin_router(store), config.admin_token());
    let admin_server = axum::serve(admin, admin_app).with_graceful_shutdown(stopped(stop_rx));
    let (ingest_result, admin_result) = tokio::join!(ingest_server, admin_server);
    ingest_result.context("ingest listener")?;
    admin_result.context("admin listener")?;
    // Both routers (and their store handles) are gone: the writer finishes its queue.
    tokio::task::spawn_blocking(move || writer.join()).await?;
    tracing::info!("Stopped.");
    Ok(())
}
