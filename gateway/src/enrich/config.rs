//! The `[enrich]` section of the config file (documented in `docs/config.md`).

use std::path::PathBuf;

use serde::Deserialize;

use super::client_ip::{ForwardedHeader, TrustedProxies};
use crate::config::error::Invalid;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichConfig {
    /// Peers (CIDRs or addresses) whose forwarding header is believed. Defaults to none.
    pub trusted_proxies: Vec<String>,
    /// The header trusted proxies set: `x-forwarded-for` or `forwarded` (RFC 7239).
    /// Defaults to `x-forwarded-for`.
    pub client_ip_header: ForwardedHeader,
    /// MaxMind DB file (City or Country); when set, it must load at start. Defaults to
    /// none: no geo attributes.
    pub geoip_database: Option<PathBuf>,
    /// Whether to add `geo.location.lat`/`lon`. Defaults to false.
    pub geo_coordinates: bool,
    /// How often the GeoIP file is checked for a new version, in ms. Defaults to 5000.
    pub geoip_check_interval_ms: u64,
    /// Whether to parse the `User-Agent` (about 50 MB of compiled regexes). Defaults to true.
    pub user_agent_parsing: bool,
    /// uap-core's `regexes.yaml`; when set, it must load at start. Defaults to none: the copy
    /// built into the binary, else `regexes.yaml` beside it or in the data directory
    /// ([`super::user_agent_regexes`]).
    pub user_agent_regexes: Option<PathBuf>,
    /// Parsed user agents kept. Defaults to 1024.
    pub user_agent_cache_size: usize,
    /// Browser clock offsets above this (in ms) are corrected. Defaults to 1000.
    pub clock_skew_threshold_ms: u64,
}

impl Default for EnrichConfig {
    fn default() -> Self {
        EnrichConfig {
            trusted_proxies: Vec::new(),
            client_ip_header: ForwardedHeader::default(),
            geoip_database: None,
            geo_coordinates: false,
            geoip_check_interval_ms: 5000,
            user_agent_parsing: true,
            user_agent_regexes: None,
            user_agent_cache_size: 1024,
            clock_skew_threshold_ms: 1000,
        }
    }
}

impl EnrichConfig {
    /// The first invalid option.
    pub fn check(&self) -> Result<(), Invalid> {
        self.trusted_proxies()
            .map_err(|e| Invalid::new("enrich.trusted_proxies", e))?;
        if self.user_agent_cache_size == 0 {
            return Err(Invalid::new(
                "enrich.user_agent_cache_size",
                "must be greater than zero",
            ));
        }
        if self.geoip_check_interval_ms == 0 {
            return Err(Invalid::new(
                "enrich.geoip_check_interval_ms",
                "must be greater than zero",
            ));
        }
        Ok(())
    }

    /// `clock_skew_threshold_ms` in nanoseconds.
    pub fn clock_skew_threshold_nanos(&self) -> i64 {
        i64::try_from(self.clock_skew_threshold_ms)
            .unwrap_or(i64::MAX / 1_000_000)
            .saturating_mul(1_000_000)
    }

    pub fn trusted_proxies(&self) -> Result<TrustedProxies, String> {
        TrustedProxies::parse(&self.trusted_proxies, self.client_ip_header)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Overrides};

    fn load(enrich: &str) -> Result<Config, crate::config::ConfigError> {
        Config::from_toml(
            &format!("[[apps]]\nname = \"a\"\nkey = \"k\"\n[enrich]\n{enrich}\n"),
            Overrides::default(),
        )
    }

    #[test]
    fn defaults_and_a_full_section() {
        let config = load("").expect("config");
        let e = config.enrich();
        assert!(e.trusted_proxies.is_empty());
        assert_eq!(
            (
                e.user_agent_cache_size,
                e.clock_skew_threshold_ms,
                e.geo_coordinates
            ),
            (1024, 1000, false)
        );
        assert!(e.user_agent_regexes.is_none(), "the built-in copy");
        let config = load(
            "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nclient_ip_header = \"forwarded\"\n\
             geoip_database = \"/x.mmdb\"\ngeo_coordinates = true\nuser_agent_cache_size = 5\n\
             clock_skew_threshold_ms = 250\ngeoip_check_interval_ms = 100",
        )
        .expect("config");
        let e = config.enrich();
        assert_eq!(e.client_ip_header, super::ForwardedHeader::Forwarded);
        assert!(e
            .trusted_proxies()
            .expect("proxies")
            .is_trusted("10.2.3.4".parse().expect("ip")));
        assert_eq!(e.clock_skew_threshold_ms, 250);
    }

    #[test]
    fn mistakes_fail_at_start_naming_the_key() {
        for (text, key) in [
            (
                "trusted_proxies = [\"10.0.0.0/40\"]",
                "enrich.trusted_proxies",
            ),
            ("user_agent_cache_size = 0", "enrich.user_agent_cache_size"),
            (
                "geoip_check_interval_ms = 0",
                "enrich.geoip_check_interval_ms",
            ),
            ("client_ip_header = \"x-real-ip\"", "x-real-ip"),
            ("trusted_proxy = []", "trusted_proxy"),
        ] {
            let err = load(text).expect_err(text).to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }
}
