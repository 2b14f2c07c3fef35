//! The `[limits]` section: every size, count, rate and time limit of the ingest path, as
//! plain data that validation, the rate limiter and the listeners read. Each option is
//! documented in `docs/config.md`.

use serde::Deserialize;

use crate::config::error::Invalid;

/// Every size and count limit of the ingest path, in one place.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body the ingest listener reads, in bytes; larger gets 413.
    /// Defaults to 1 MiB (1048576).
    pub max_body_bytes: u64,
    /// Write requests waiting for the store before new ones get 503 with `Retry-After`.
    /// Defaults to 1024.
    pub store_queue: usize,
    /// Largest body after `Content-Encoding: gzip` is inflated, in bytes; larger gets 413.
    /// Defaults to 4 MiB (4194304).
    pub max_decompressed_bytes: u64,
    /// Most events (spans + vitals + a beacon's browser events) in one request; more gets
    /// 413 `too_many_events`. Defaults to 1000.
    pub max_events_per_request: usize,
    /// Most attributes on one span (and on its resource); more gets 400. Defaults to 128.
    pub max_attributes_per_span: usize,
    /// Longest string value (attributes, span names, status messages, page URLs) in
    /// characters; longer is cut and marked `…[truncated]`. Defaults to 4096.
    pub max_string_chars: usize,
    /// Requests per ingest key (app), unless the app sets `rate_limit`; over it gets 429.
    /// Defaults to 1000 per second, bursts of 2000.
    pub key_rate: Rate,
    /// Requests per client IP (IPv6: per /64); over it gets 429. Defaults to 50 per second,
    /// bursts of 100.
    pub ip_rate: Rate,
    /// Client IPs whose buckets are remembered; idle ones are forgotten first.
    /// Defaults to 65536.
    pub max_tracked_ips: usize,
    /// Most events on one span; more gets 400. Defaults to 128.
    pub max_events_per_span: usize,
    /// Most links on one span; more gets 400. Defaults to 128.
    pub max_links_per_span: usize,
    /// Latest time a span or page view may carry, in seconds after the gateway's clock (a
    /// beacon's after clock-skew correction); later, or before 2000-01-01, gets 400
    /// `invalid_field`. Defaults to 86400 (one day).
    pub max_future_secs: u64,
    /// Connections served at once, per listener; one more is answered 503
    /// `too_many_connections` and closed. Defaults to 1024.
    pub max_connections: usize,
    /// Time a connection has to send a complete request head (new, or idle between
    /// keep-alive requests) before it is closed, in milliseconds. Defaults to 10000.
    pub header_read_timeout_ms: u64,
    /// Time a request has to send its whole body once its head is in, in milliseconds;
    /// slower gets 408 `body_timeout`. Defaults to 30000.
    pub body_read_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            store_queue: 1024,
            max_decompressed_bytes: 4 * 1024 * 1024,
            max_events_per_request: 1000,
            max_attributes_per_span: 128,
            max_string_chars: 4096,
            key_rate: Rate {
                per_second: 1000.0,
                burst: 2000.0,
            },
            ip_rate: Rate {
                per_second: 50.0,
                burst: 100.0,
            },
            max_tracked_ips: 65536,
            max_future_secs: 86_400,
            max_events_per_span: 128,
            max_links_per_span: 128,
            max_connections: 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
        }
    }
}

/// One bucket's shape: refills `per_second` tokens a second up to `burst`; a request takes one.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    /// `per_second` 0 turns the limit off.
    pub fn is_unlimited(&self) -> bool {
        self.per_second <= 0.0
    }
}

impl Limits {
    /// Checks the section at start.
    pub fn check(&self) -> Result<(), Invalid> {
        let positive = [
            ("limits.max_body_bytes", self.max_body_bytes),
            ("limits.store_queue", self.store_queue as u64),
            ("limits.max_decompressed_bytes", self.max_decompressed_bytes),
            (
                "limits.max_events_per_request",
                self.max_events_per_request as u64,
            ),
            (
                "limits.max_attributes_per_span",
                self.max_attributes_per_span as u64,
            ),
            ("limits.max_string_chars", self.max_string_chars as u64),
            ("limits.max_tracked_ips", self.max_tracked_ips as u64),
            (
                "limits.max_events_per_span",
                self.max_events_per_span as u64,
            ),
            ("limits.max_links_per_span", self.max_links_per_span as u64),
            ("limits.max_connections", self.max_connections as u64),
            ("limits.header_read_timeout_ms", self.header_read_timeout_ms),
            ("limits.body_read_timeout_ms", self.body_read_timeout_ms),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(Invalid::new(key, "must be greater than zero"));
            }
        }
        for (key, rate) in [
            ("limits.key_rate", self.key_rate),
            ("limits.ip_rate", self.ip_rate),
        ] {
            rate.check(key)?;
        }
        Ok(())
    }
}

impl Rate {
    /// `per_second` must be 0 (unlimited) or more, and `burst` at least 1.
    pub fn check(&self, key: &str) -> Result<(), Invalid> {
        if !self.per_second.is_finite()
            || self.per_second < 0.0
            || !(self.is_unlimited() || self.burst >= 1.0)
        {
            return Err(Invalid::new(
                key,
                "per_second must be ≥ 0 (0 is unlimited) and burst ≥ 1",
            ));
        }
        Ok(())
    }
}
