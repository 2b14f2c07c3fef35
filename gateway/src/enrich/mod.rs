//! The enrich stage: adds what the gateway knows about a browser beacon's sender to its
//! spans and page view, between validation and the store.
//!
//! * [`client_ip`]: `client.address`, from the peer or (behind trusted proxies) the
//!   forwarding header;
//! * [`geo`]: `geo.*` from a MaxMind database;
//! * [`user_agent`]: `user_agent.*`, `os.*`, `device.*` from the `User-Agent` header;
//! * `browser.*` from the beacon's `context` object (checked by
//!   [`crate::validate::context`]);
//! * [`clock_skew`]: shifts browser timestamps by the offset validation measured, when the
//!   browser's clock is off.
//!
//! Building it fails when an enrichment that is on has no file to work from (the configured
//! GeoIP database, the user-agent regexes): the gateway does not start rather than drop
//! attributes unnoticed. Running it cannot fail: what it reads was checked by validation.
//!
//! The gateway owns these attribute names: the same keys sent by the browser are dropped,
//! so a page cannot claim another address or country. OTLP spans (from backends) pass
//! through unchanged.

pub mod client_ip;
pub mod clock_skew;
pub mod config;
pub mod geo;
pub mod user_agent;
pub mod user_agent_regexes;

/// uap-core's own test suites against the parser (a unit test: the parser is crate-private).
#[cfg(test)]
mod uap_suites;

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use serde_json::Value;

use crate::model::attr::{CLIENT_ADDRESS, ENRICHMENT_PREFIXES};
use crate::model::{Attributes, Batch, Source};
use crate::validate::ValidBatch;

pub use client_ip::TrustedProxies;
pub use config::EnrichConfig;
use geo::{Geo, GeoError};
use user_agent::UserAgents;
use user_agent_regexes::{Regexes, RegexesError};

/// Why the enrich stage cannot be built: the gateway does not start.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    #[error(transparent)]
    Geo(#[from] GeoError),
    #[error(transparent)]
    UserAgentRegexes(#[from] RegexesError),
}

/// What the enrich stage needs to know about one request: who sent it.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub peer: Option<SocketAddr>,
    /// Only the headers enrichment reads: forwarding headers and `User-Agent`.
    pub headers: HeaderMap,
}

impl RequestContext {
    /// A request from `peer` with these headers.
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
        }
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
}

impl Enricher {
    /// Loads the GeoIP database and compiles the user-agent regexes (about a second the
    /// first time in the process: call it off the async runtime). `data_dir` is one of the
    /// places the regexes are looked for when not configured and not built in. A part that
    /// is on without its file is an error.
    pub fn from_config(config: &EnrichConfig, data_dir: &Path) -> Result<Enricher, EnrichError> {
        let proxies = config.trusted_proxies().unwrap_or_else(|e| {
            // Config::resolve has checked the list; this is unreachable in practice.
            tracing::error!(error = %e, "Invalid enrich.trusted_proxies; trusting no proxy.");
            TrustedProxies::default()
        });
        let geo = match config.geoip_database.as_deref() {
            Some(path) => Some(Geo::open(
                path,
                config.geo_coordinates,
                Duration::from_millis(config.geoip_check_interval_ms),
            )?),
            None => {
                tracing::info!("No enrich.geoip_database configured: geo attributes are off.");
                None
            }
        };
        let cache = NonZeroUsize::new(config.user_agent_cache_size).unwrap_or(NonZeroUsize::MIN);
        let user_agents = if config.user_agent_parsing {
            let regexes = Regexes::locate(config.user_agent_regexes.as_deref(), data_dir)?;
            let started = Instant::now();
            let parser = UserAgents::new(&regexes, cache)?;
            tracing::info!(
                origin = %regexes.origin,
                elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "Loaded the user-agent regexes."
            );
            Some(parser)
        } else {
            tracing::info!("enrich.user_agent_parsing is false: user_agent.*, os.* and device.* attributes are off.");
            None
        };
        Ok(Enricher {
            proxies,
            geo,
            user_agents,
        })
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
    pub fn enrich(&self, valid: ValidBatch, ctx: &RequestContext) -> Batch {
        let ValidBatch {
            mut batch,
            clock_offset_nanos,
            browser,
        } = valid;
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
        browser.write_attributes(&mut common);

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

        if let Some(offset) = clock_offset_nanos {
            tracing::debug!(
                offset_ms = offset / 1_000_000,
                "Shifted a beacon's times for the browser's clock."
            );
            clock_skew::adjust(&mut batch, offset);
        }
        batch
    }
}

/// Attributes the gateway sets and the browser may not.
fn is_owned(key: &str) -> bool {
    key == CLIENT_ADDRESS
        || key.starts_with("rum.clock_skew.")
        || ENRICHMENT_PREFIXES.iter().any(|p| key.starts_with(p))
}
