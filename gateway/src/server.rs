//! The two listeners (ingest and admin) and their graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::connections::{self, ServeLimits};
use crate::enrich::{EnrichError, Enricher};
use crate::errors::{Errors, SourceMaps};
use crate::export::otlp::Exporter;
use crate::ingest::{self, IngestState};
use crate::limit::RateLimits;
use crate::pipeline::Pipeline;
use crate::readiness::{self, Readiness};
use crate::store::outbox::Outbox;
use crate::store::{self, StoreHandle};
use crate::telemetry::{self, Listener, Telemetry};
use crate::{api, viewer};

/// The ingest listener's router. Builds the enrich stage from the config, which blocks for
/// about a second the first time the process compiles the user-agent regexes, and fails
/// when an enrichment that is on has no file. Its self-metrics go nowhere: tests and tools
/// that want them call [`ingest_router_with`].
pub fn ingest_router(config: &Config, store: StoreHandle) -> Result<Router, EnrichError> {
    let enricher = Arc::new(Enricher::from_config(config.enrich(), config.data_dir())?);
    Ok(ingest_router_with(
        config,
        store,
        enricher,
        Telemetry::new(),
    ))
}

/// The ingest listener's router with an enrich stage built beforehand.
pub fn ingest_router_with(
    config: &Config,
    store: StoreHandle,
    enricher: Arc<Enricher>,
    telemetry: Arc<Telemetry>,
) -> Router {
    ingest::router(ingest_state(config, store, enricher, telemetry))
}

fn ingest_state(
    config: &Config,
    store: StoreHandle,
    enricher: Arc<Enricher>,
    telemetry: Arc<Telemetry>,
) -> IngestState {
    let maps = Arc::new(SourceMaps::new(config.errors(), config.data_dir()));
    ingest_state_with(config, store, enricher, telemetry, maps)
}

fn ingest_state_with(
    config: &Config,
    store: StoreHandle,
    enricher: Arc<Enricher>,
    telemetry: Arc<Telemetry>,
    maps: Arc<SourceMaps>,
) -> IngestState {
    let pipeline = pipeline_with(config, enricher, telemetry, maps);
    IngestState {
        apps: config.apps().into(),
        limits: Arc::new(config.limits().clone()),
        clock_skew_threshold_nanos: config.enrich().clock_skew_threshold_nanos(),
        rate: Arc::new(RateLimits::new(config.limits(), config.apps())),
        pipeline: Arc::new(pipeline),
        store,
    }
}

/// The ingest stages without HTTP or a store: what a beacon becomes on its way to the store.
/// The public surface for tools (the benchmark's prefill writes the rows a real request
/// would, without the cost of a request).
pub struct OfflineIngest {
    pipeline: Pipeline,
    limits: crate::limit::Limits,
    clock_skew_threshold_nanos: i64,
}

impl OfflineIngest {
    /// Builds every stage from `config` (loads the GeoIP file and compiles the user-agent
    /// regexes: about a second).
    pub fn new(config: &Config) -> Result<OfflineIngest, EnrichError> {
        let enricher = Arc::new(Enricher::from_config(config.enrich(), config.data_dir())?);
        Ok(OfflineIngest {
            pipeline: pipeline(config, enricher, Telemetry::new()),
            limits: config.limits().clone(),
            clock_skew_threshold_nanos: config.enrich().clock_skew_threshold_nanos(),
        })
    }

    /// A beacon body from `peer` with these headers, received now → the batch the store
    /// would receive.
    pub fn beacon(
        &self,
        body: &[u8],
        peer: std::net::SocketAddr,
        headers: &axum::http::HeaderMap,
    ) -> Result<crate::model::Batch, crate::rejection::Rejection> {
        let checks = crate::validate::Checks {
            limits: &self.limits,
            received_unix_nano: crate::model::time::now_unix_nano(),
            clock_skew_threshold_nanos: self.clock_skew_threshold_nanos,
        };
        let beacon = crate::wire::beacon_v1::decode(body)?;
        let valid = crate::validate::beacon::beacon(beacon, &checks)?;
        let context = crate::enrich::RequestContext::new(Some(peer), headers);
        Ok(self.pipeline.process(valid, &context).batch)
    }
}

fn pipeline(config: &Config, enricher: Arc<Enricher>, telemetry: Arc<Telemetry>) -> Pipeline {
    let maps = Arc::new(SourceMaps::new(config.errors(), config.data_dir()));
    pipeline_with(config, enricher, telemetry, maps)
}

fn pipeline_with(
    config: &Config,
    enricher: Arc<Enricher>,
    telemetry: Arc<Telemetry>,
    maps: Arc<SourceMaps>,
) -> Pipeline {
    Pipeline::new(
        enricher,
        config.scrub(),
        Errors::new(config.errors(), maps),
        config.limits().max_string_chars,
        config.export().enabled().then(|| config.export().encoder()),
        telemetry,
    )
}

/// [`admin_router`] behind `server.admin_token`, as the admin listener serves it.
pub fn admin_router_protected(store: StoreHandle, token: Option<&str>) -> Router {
    crate::admin_auth::protect(admin_router(store), token)
}

/// The admin listener's router: API, health and viewer (without source map uploads, which
/// need the configuration: [`routers`]).
pub fn admin_router(store: StoreHandle) -> Router {
    api::router(store, None).merge(viewer::router())
}

/// The ingest and admin routers of `config` over `store`, sharing one set of source maps:
/// what an upload to the admin listener stores, the ingest side resolves frames with.
pub fn routers(config: &Config, store: StoreHandle) -> Result<(Router, Router), EnrichError> {
    let enricher = Arc::new(Enricher::from_config(config.enrich(), config.data_dir())?);
    let maps = Arc::new(SourceMaps::new(config.errors(), config.data_dir()));
    let ingest = ingest::router(ingest_state_with(
        config,
        store.clone(),
        enricher,
        Telemetry::new(),
        Arc::clone(&maps),
    ));
    let admin = crate::admin_auth::protect(
        api::router(store, Some(maps)).merge(viewer::router()),
        config.admin_token(),
    );
    Ok((ingest, admin))
}

/// Binds both listeners, serves until `shutdown` resolves, then drains in-flight requests
/// and the store's write queue.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let ingest = TcpListener::bind(config.ingest_listen())
        .await
        .with_context(|| format!("binding the ingest listener to {}", config.ingest_listen()))?;
    let admin = TcpListener::bind(config.admin_listen())
        .await
        .with_context(|| format!("binding the admin listener to {}", config.admin_listen()))?;
    run_with_listeners(config, ingest, admin, shutdown).await
}

/// As [`run`], on listeners the caller bound (tests bind port 0 and keep the addresses).
pub async fn run_with_listeners(
    config: Config,
    ingest: TcpListener,
    admin: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let config = Arc::new(config);
    // Compiling the user-agent regexes takes about a second of CPU: not on the runtime. A
    // missing GeoIP database or regexes file stops the start here.
    let enrich_config = config.enrich().clone();
    let data_dir = config.data_dir().to_path_buf();
    let enricher = Arc::new(
        tokio::task::spawn_blocking(move || Enricher::from_config(&enrich_config, &data_dir))
            .await?
            .context("starting the enrich stage")?,
    );
    let telemetry = Telemetry::new();
    let outbox = config
        .export()
        .enabled()
        .then(|| Outbox::new(config.export().max_queue_bytes));
    let extras = store::writer::Extras {
        outbox: outbox.clone(),
        telemetry: Arc::clone(&telemetry),
        discard: config.discard_writes(),
        partitions: config.partitions(),
        sample: config.sample().clone(),
        retention: config.retention(),
        clock: match config.clock_offset_secs().saturating_mul(1_000_000_000) {
            0 => Arc::new(crate::model::time::now_unix_nano),
            offset => Arc::new(move || crate::model::time::now_unix_nano().saturating_add(offset)),
        },
        ..store::writer::Extras::default()
    };
    let (store, writer) =
        store::writer::start_with(config.data_dir(), config.limits().store_queue, extras)
            .with_context(|| format!("opening the store in {}", config.data_dir().display()))?;
    let exporter = match &outbox {
        Some(outbox) => Some(
            Exporter::new(
                config.export(),
                config.data_dir(),
                outbox,
                Arc::clone(&telemetry),
            )
            .context("starting the OTLP exporter")?,
        ),
        None => None,
    };
    let ingest_addr = ingest.local_addr()?;
    let admin_addr = admin.local_addr()?;
    let scheme = |tls: Option<_>| if tls.is_some() { "https" } else { "http" };
    let (ingest_scheme, admin_scheme) = (scheme(config.ingest_tls()), scheme(config.admin_tls()));
    tracing::info!(%ingest_addr, scheme = ingest_scheme, "Ingest listener ready: POST /v1/rum?key=KEY and /v1/traces.");
    tracing::info!(%admin_addr, viewer = %format!("{admin_scheme}://{admin_addr}/"), "Admin listener ready.");
    // Scripts and tests read these two lines to find ports chosen by the OS.
    println!("ingest listening on {ingest_scheme}://{ingest_addr}");
    println!("viewer listening on {admin_scheme}://{admin_addr}/");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let export_task = exporter.map(|exporter| tokio::spawn(exporter.run(stop_rx.clone())));
    // One set of source maps: uploads on the admin listener, resolution on the ingest one.
    let maps = Arc::new(SourceMaps::new(config.errors(), config.data_dir()));
    let ingest_app = telemetry::count_ingest(
        ingest::router(ingest_state_with(
            &config,
            store.clone(),
            Arc::clone(&enricher),
            Arc::clone(&telemetry),
            Arc::clone(&maps),
        )),
        Arc::clone(&telemetry),
    );
    let limits = ServeLimits {
        max_connections: config.limits().max_connections,
        header_read_timeout: Duration::from_millis(config.limits().header_read_timeout_ms),
    };
    // Each connection's peer address reaches the handlers as `ConnectInfo`: the client's (or
    // the trusted proxy's in front of it), for enrichment and the per-client rate limit.
    let ingest_server = connections::serve(
        ingest,
        ingest_app,
        limits,
        Listener::Ingest,
        Arc::clone(&telemetry),
        config.ingest_tls().cloned(),
        stopped(stop_rx.clone()),
    );
    let readiness = Readiness {
        store: store.clone(),
        enricher,
        wants_user_agents: config.enrich().user_agent_parsing,
        wants_geo: config.enrich().geoip_database.is_some(),
    };
    let admin_app = crate::admin_auth::protect(
        api::router(store, Some(maps))
            .merge(viewer::router())
            .merge(telemetry::router(Arc::clone(&telemetry)))
            .merge(readiness::router(readiness)),
        config.admin_token(),
    );
    let admin_server = connections::serve(
        admin,
        admin_app,
        limits,
        Listener::Admin,
        telemetry,
        config.admin_tls().cloned(),
        stopped(stop_rx),
    );
    let (ingest_result, admin_result) = tokio::join!(ingest_server, admin_server);
    ingest_result.context("ingest listener")?;
    admin_result.context("admin listener")?;
    // Both routers (and their store handles) are gone: the writer finishes its queue.
    tokio::task::spawn_blocking(move || writer.join()).await?;
    if let Some(task) = export_task {
        // It saw the same stop signal; what it did not deliver stays in the outbox.
        task.await?;
    }
    tracing::info!("Stopped.");
    Ok(())
}
