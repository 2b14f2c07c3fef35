//! The enrich stage: adds what the gateway knows about a browser beacon's sender to its
//! spans and page view, between validation and the store.
//!
//! * [`client_ip`]: `client.address`, from the peer or (behind trusted proxies) the
//!   forwarding header;
//! * [`geo`]: `geo.*` from a MaxMind database;
//! * [`user_agent`]: `user_agent.*`, `os.*`, `device.*` from the `User-Agent` header;
//! * [`browser`]: `browser.*` from the beacon's `context` object;
//! * [`clock_skew`]: shifts browser timestamps when the browser's clock is off.
//!
//! The gateway owns these attribute names: the same keys sent by the browser are dropped,
//! so a page cannot claim another address or country. OTLP spans (from backends) pass
//! through unchanged.

pub mod browser;
pub mod client_ip;
pub mod clock_skew;
pub mod config;
pub mod geo;
pub mod user_agent;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde_json::Value;

use crate::error::Rejection;
use crate::ingest::beacon::BeaconV1;
use crate::model::{unix_ms_to_nanos, Attributes, Batch, Source};

pub use browser::BrowserContext;
pub use client_ip::TrustedProxies;
pub use config::EnrichConfig;
use geo::Geo;
use user_agent::UserAgents;

/// Attribute-name prefixes the gateway sets and the browser may not.
const OWNED_PREFIXES: [&str; 6] = [
    "geo.",
    "user_agent.",
    "os.",
    "device.",
    "browser.",
    "rum.clock_skew.",
];
const CLIENT_ADDRESS: &str = "client.address";

/// The TCP peer of a request, when the server records it (`ConnectInfo`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let info = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await;
        Ok(Peer(info.ok().map(|ConnectInfo(addr)| addr)))
    }
}

/// What the enrich stage needs to know about one request.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub peer: Option<SocketAddr>,
    /// Only the headers enrichment reads: forwarding headers and `User-Agent`.
    pub headers: HeaderMap,
    pub received_unix_nano: i64,
    /// The beacon's `sentAt` (browser clock).
    pub sent_at_unix_nano: Option<i64>,
    pub browser: BrowserContext,
}

impl RequestContext {
    /// A request received now from `peer`.
    pub fn new(peer: Option<SocketAddr>, headers: &HeaderMap) -> RequestContext {
        let mut kept = HeaderMap::new();
        for name in [
            header::USER_AGENT,
            header::FORWARDED,
            header::HeaderName::from_static("x-forwarded-for"),
        ] {
            for value in headers.get_all(&name) {
                kept.append(name.clone(), value.clone());
            }
        }
        RequestContext {
            peer,
            headers: kept,
            received_unix_nano: now_unix_nano(),
            ..RequestContext::default()
        }
    }

    /// A beacon's request: also its `sentAt` and its checked `context` (400 when malformed).
    pub fn beacon(
        peer: Option<SocketAddr>,
        headers: &HeaderMap,
        beacon: &BeaconV1,
    ) -> Result<RequestContext, Rejection> {
        let mut ctx = RequestContext::new(peer, headers);
        ctx.sent_at_unix_nano = unix_ms_to_nanos(beacon.sent_at);
        ctx.browser = BrowserContext::parse(beacon.context.as_ref())?;
        Ok(ctx)
    }

    fn user_agent(&self) -> Option<&str> {
        self.headers
            .get(header::USER_AGENT)?
            .to_str()
            .ok()
            .filter(|ua| !ua.is_empty())
    }
}

/// The stage, built once from the configuration.
pub struct Enricher {
    proxies: TrustedProxies,
    geo: Option<Geo>,
    user_agents: Option<UserAgents>,
    clock_skew_threshold_nanos: i64,
}

impl Enricher {
    /// Loads the GeoIP database and compiles the user-agent regexes (about a second: call
    /// it off the async runtime). A missing file turns its part off with a warning.
    pub fn from_config(config: &EnrichConfig) -> Enricher {
        let proxies = config.trusted_proxies().unwrap_or_else(|e| {
            // Config::resolve has checked the list; this is unreachable in practice.
            tracing::error!(error = %e, "Invalid enrich.trusted_proxies; trusting no proxy.");
            TrustedProxies::default()
        });
        let geo = config.geoip_database.as_deref().map(|path| {
            Geo::open(
                path,
                config.geo_coordinates,
                Duration::from_millis(config.geoip_check_interval_ms),
            )
        });
        if geo.is_none() {
            tracing::warn!("No enrich.geoip_database configured: geo attributes are off.");
        }
        let regexes = config.user_agent_regexes();
        let cache = NonZeroUsize::new(config.user_agent_cache_size).unwrap_or(NonZeroUsize::MIN);
        let user_agents = if config.user_agent_parsing {
            load_user_agents(&regexes, cache)
        } else {
            tracing::info!("enrich.user_agent_parsing is false: user_agent.*, os.* and device.* attributes are off.");
            None
        };
        Enricher {
            proxies,
            geo,
            user_agents,
            clock_skew_threshold_nanos: i64::try_from(config.clock_skew_threshold_ms)
                .unwrap_or(i64::MAX / 1_000_000)
                .saturating_mul(1_000_000),
        }
    }

    /// The GeoIP part, when configured.
    pub fn geo(&self) -> Option<&Geo> {
        self.geo.as_ref()
    }

    /// The user-agent parser, when loaded.
    pub fn user_agents(&self) -> Option<&UserAgents> {
        self.user_agents.as_ref()
    }

    /// Adds the sender's attributes to the batch's browser spans and page views and
    /// corrects their clock.
    pub fn enrich(&self, mut batch: Batch, ctx: &RequestContext) -> Batch {
        let mut common = Attributes::new();
        if let Some(peer) = ctx.peer {
            let ip = self.proxies.client_ip(peer, &ctx.headers);
            common.insert(CLIENT_ADDRESS.into(), Value::String(ip.to_string()));
            if let Some(geo) = &self.geo {
                geo.lookup_into(ip, &mut common);
            }
        }
        if let (Some(parser), Some(ua)) = (&self.user_agents, ctx.user_agent()) {
            parser
                .parse(ua)
                .write_attributes(user_agent::truncate(ua), &mut common);
        }
        ctx.browser.write_attributes(&mut common);

        let browser_spans = batch
            .spans
            .iter_mut()
            .filter(|s| s.source == Source::Browser);
        let targets = browser_spans
            .map(|s| &mut s.attributes)
            .chain(batch.page_views.iter_mut().map(|v| &mut v.attributes));
        for attrs in targets {
            attrs.retain(|key, _| !is_owned(key));
            attrs.extend(common.iter().map(|(k, v)| (k.clone(), v.clone())));
        }

        if let Some(sent_at) = ctx.sent_at_unix_nano {
            if let Some(offset) = clock_skew::offset(
                sent_at,
                ctx.received_unix_nano,
                self.clock_skew_threshold_nanos,
            ) {
                tracing::debug!(
                    offset_ms = offset / 1_000_000,
                    "Shifted a beacon's times for the browser's clock."
                );
                clock_skew::adjust(&mut batch, offset);
            }
        }
        batch
    }
}

fn load_user_agents(regexes: &Path, cache: NonZeroUsize) -> Option<UserAgents> {
    if !regexes.exists() {
        tracing::warn!(
            path = %regexes.display(),
            "User-agent regexes not found: user_agent.*, os.* and device.* attributes are off. \
             Run scripts/ensure-tools.sh or set enrich.user_agent_regexes."
        );
        return None;
    }
    let started = std::time::Instant::now();
    match UserAgents::load(regexes, cache) {
        Ok(parser) => {
            tracing::info!(
                path = %regexes.display(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "Loaded the user-agent regexes."
            );
            Some(parser)
        }
        Err(e) => {
            tracing::warn!(error = %e, "User-agent parsing is off.");
            None
        }
    }
}

fn is_owned(key: &str) -> bool {
    key == CLIENT_ADDRESS || OWNED_PREFIXES.iter().any(|p| key.starts_with(p))
}

fn now_unix_nano() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
