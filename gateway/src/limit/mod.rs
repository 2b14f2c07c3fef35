//! Ingest limits beyond body size: rate limits per ingest key and client IP, the
//! `Content-Encoding` decoder with its decompressed-size cap, and count/length caps.
//! Every number lives in [`crate::config::Limits`].

pub mod caps;
pub mod decode;
pub mod rate;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::auth::App;
use crate::config::Limits;
use crate::error::Rejection;
use rate::{ip_key, retry_after_secs, KeyedLimiter, Rate};

/// The TCP peer's address, when the server was started with connect info (tests driving a
/// router in-process have none, and are then not limited per IP). Behind a reverse proxy
/// this is the proxy: set `limits.ip_rate.per_second = 0` there and limit at the proxy.
#[derive(Debug, Clone, Copy)]
pub struct PeerIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The rate limiters of one ingest listener.
#[derive(Debug)]
pub struct RateLimits {
    per_key: KeyedLimiter<String>,
    per_ip: KeyedLimiter<IpAddr>,
    key_rate: Rate,
    ip_rate: Rate,
}

impl RateLimits {
    pub fn new(limits: &Limits, apps: &[App]) -> RateLimits {
        RateLimits {
            // One bucket per app: the map cannot grow past the configured apps.
            per_key: KeyedLimiter::new(apps.len()),
            per_ip: KeyedLimiter::new(limits.max_tracked_ips),
            key_rate: limits.key_rate,
            ip_rate: limits.ip_rate,
        }
    }

    /// Takes a token from the client's bucket; checked before the key, so a flood of bad
    /// keys is limited too.
    pub fn admit_ip(&self, peer: PeerIp) -> Result<(), Rejection> {
        let Some(ip) = peer.0 else { return Ok(()) };
        self.per_ip
            .check(&ip_key(ip), self.ip_rate, Instant::now())
            .map_err(|wait| {
                tracing::debug!(client = %ip, "Rate limited a client address.");
                Rejection::RateLimited {
                    retry_after_secs: retry_after_secs(wait),
                }
            })
    }

    /// Takes a token from the app's bucket (its own `rate_limit` or `limits.key_rate`).
    pub fn admit_app(&self, app: &App) -> Result<(), Rejection> {
        let rate = app.rate_limit.unwrap_or(self.key_rate);
        self.per_key
            .check(&app.key, rate, Instant::now())
            .map_err(|wait| {
                tracing::debug!(app = %app.name, "Rate limited an ingest key.");
                Rejection::RateLimited {
                    retry_after_secs: retry_after_secs(wait),
                }
            })
    }
}
