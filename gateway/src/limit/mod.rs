//! Ingest limits beyond body size: rate limits per ingest key and client IP, and the
//! string-length cap; the `[limits]` section itself (`config`).
//! Every number lives in [`Limits`].

pub mod caps;
pub mod config;
pub mod rate;

use std::net::IpAddr;
use std::time::Instant;

use crate::apps::App;

use crate::rejection::Rejection;
pub use config::{Limits, Rate};
use rate::{ip_key, retry_after_secs, KeyedLimiter};

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
    /// Admits a request from the TCP peer `peer` (`None` for in-process tests, which are then
    /// not limited per IP). Behind a reverse proxy the peer is the proxy: set
    /// `limits.ip_rate.per_second = 0` there and limit at the proxy.
    pub fn admit_ip(&self, peer: Option<IpAddr>) -> Result<(), Rejection> {
        let Some(ip) = peer else { return Ok(()) };
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
