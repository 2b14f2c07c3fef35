//! Gateway configuration: a TOML file, overridden by command-line flags (or their
//! environment variables). Every option is documented in `docs/config.md`.
//!
//! With no config file the gateway runs in development mode: loopback only, one app with the
//! ingest key `dev` that accepts `http://localhost:*` and `http://127.0.0.1:*` origins.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::{App, OriginPattern};
use crate::enrich::EnrichConfig;
use crate::limit::rate::Rate;
use crate::sample::SampleConfig;
use crate::scrub::ScrubConfig;

/// Default address of the ingest listener (OTLP/HTTP's well-known port).
pub const DEFAULT_INGEST_LISTEN: &str = "127.0.0.1:4318";
/// Default address of the admin listener (viewer, API, health).
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:4319";
/// Default directory of the embedded store.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// The ingest key development mode accepts.
pub const DEV_KEY: &str = "dev";
/// The origins development mode accepts.
pub const DEV_ORIGINS: [&str; 2] = ["http://localhost:*", "http://127.0.0.1:*"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid {field}: {problem}")]
    Invalid { field: String, problem: String },
}

/// The config file's shape. Private: the rest of the gateway reads [`Config`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    apps: Vec<AppSection>,
    #[serde(default)]
    enrich: EnrichConfig,
    #[serde(default)]
    export: crate::export::ExportConfig,
    #[serde(default)]
    scrub: ScrubConfig,
    #[serde(default)]
    sample: SampleConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    ingest_listen: Option<SocketAddr>,
    admin_listen: Option<SocketAddr>,
    admin_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppSection {
    name: String,
    key: String,
    #[serde(default)]
    allowed_origins: Vec<String>,
    rate_limit: Option<Rate>,
}

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
    /// Most events (spans + vitals) in one request; more gets 413 `too_many_events`.
    /// Defaults to 1000.
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
            max_connections: 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
        }
    }
}

/// Command-line overrides; `None` keeps the file's value or the default.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub ingest_listen: Option<SocketAddr>,
    pub admin_listen: Option<SocketAddr>,
    pub admin_token: Option<String>,
}

/// The gateway's resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    data_dir: PathBuf,
    ingest_listen: SocketAddr,
    admin_listen: SocketAddr,
    limits: Limits,
    apps: Vec<App>,
    dev_mode: bool,
    enrich: EnrichConfig,
    export: crate::export::ExportConfig,
    scrub: ScrubConfig,
    sample: SampleConfig,
    admin_token: Option<String>,
}

impl Config {
    /// Loads `path` (or development mode when `None`) and applies the overrides.
    pub fn load(path: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let (file, dev_mode) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.into(),
                    source,
                })?;
                let file =
                    toml::from_str::<FileConfig>(&text).map_err(|source| ConfigError::Parse {
                        path: path.into(),
                        source: Box::new(source),
                    })?;
                (file, false)
            }
            None => (FileConfig::default(), true),
        };
        Config::resolve(file, dev_mode, overrides)
    }

    /// Parses config text, as [`Config::load`] does for a file.
    pub fn from_toml(text: &str, overrides: Overrides) -> Result<Config, ConfigError> {
        let file = toml::from_str::<FileConfig>(text).map_err(|source| ConfigError::Parse {
            path: PathBuf::from("<inline>"),
            source: Box::new(source),
        })?;
        Config::resolve(file, false, overrides)
    }

    /// Development mode's configuration with the overrides applied.
    pub fn dev(overrides: Overrides) -> Result<Config, ConfigError> {
        Config::resolve(FileConfig::default(), true, overrides)
    }

    fn resolve(file: FileConfig, dev_mode: bool, o: Overrides) -> Result<Config, ConfigError> {
        let default_addr = |s: &str| s.parse::<SocketAddr>().ok();
        let ingest_listen = o
            .ingest_listen
            .or(file.server.ingest_listen)
            .or_else(|| default_addr(DEFAULT_INGEST_LISTEN))
            .ok_or_else(|| invalid("server.ingest_listen", "no address"))?;
        let admin_listen = o
            .admin_listen
            .or(file.server.admin_listen)
            .or_else(|| default_addr(DEFAULT_ADMIN_LISTEN))
            .ok_or_else(|| invalid("server.admin_listen", "no address"))?;
        let data_dir = o
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let admin_token = o.admin_token.or_else(|| file.server.admin_token.clone());
        let policy = check_policy(
            &file.limits,
            &file.apps,
            &file.sample,
            admin_token,
            admin_listen,
        )?;

        let apps = if dev_mode {
            for (field, addr) in [
                ("ingest_listen", ingest_listen),
                ("admin_listen", admin_listen),
            ] {
                if !addr.ip().is_loopback() {
                    return Err(invalid(
                        field,
                        "development mode (no --config) binds to loopback only; \
                         write a config file to listen on other addresses",
                    ));
                }
            }
            let origins = DEV_ORIGINS
                .iter()
                .filter_map(|p| OriginPattern::parse(p).ok())
                .collect();
            vec![App {
                name: "dev".into(),
                key: DEV_KEY.into(),
                allowed_origins: origins,
                rate_limit: None,
            }]
        } else {
            file.apps
                .into_iter()
                .map(resolve_app)
                .collect::<Result<Vec<_>, _>>()?
        };
        if !dev_mode && apps.is_empty() {
            return Err(invalid(
                "apps",
                "at least one [[apps]] entry with a key is required",
            ));
        }
        let mut keys: Vec<&str> = apps.iter().map(|a| a.key.as_str()).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Err(invalid("apps.key", "two apps share one key"));
        }
        if file.limits.max_body_bytes == 0 || file.limits.store_queue == 0 {
            return Err(invalid("limits", "limits must be greater than zero"));
        }
        file.enrich
            .check()
            .map_err(|(field, problem)| invalid(field, problem))?;
        file.export
            .validate()
            .map_err(|(field, problem)| invalid(&field, problem))?;
        Ok(Config {
            data_dir,
            ingest_listen,
            admin_listen,
            limits: file.limits,
            apps,
            dev_mode,
            enrich: file.enrich,
            export: file.export,
            scrub: file.scrub,
            sample: file.sample,
            admin_token: policy,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    pub fn ingest_listen(&self) -> SocketAddr {
        self.ingest_listen
    }
    pub fn admin_listen(&self) -> SocketAddr {
        self.admin_listen
    }
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
    pub fn apps(&self) -> &[App] {
        &self.apps
    }
    pub fn dev_mode(&self) -> bool {
        self.dev_mode
    }
    pub fn enrich(&self) -> &EnrichConfig {
        &self.enrich
    }
    pub fn export(&self) -> &crate::export::ExportConfig {
        &self.export
    }
    pub fn scrub(&self) -> &ScrubConfig {
        &self.scrub
    }
    pub fn sample(&self) -> &SampleConfig {
        &self.sample
    }
    /// The admin listener's token; always set when it listens beyond loopback.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }
}

/// Checks the policy sections (limits, sampling, admin token); returns the admin token.
fn check_policy(
    l: &Limits,
    apps: &[AppSection],
    sample: &SampleConfig,
    admin_token: Option<String>,
    admin_listen: SocketAddr,
) -> Result<Option<String>, ConfigError> {
    if l.max_decompressed_bytes == 0
        || l.max_events_per_request == 0
        || l.max_attributes_per_span == 0
        || l.max_string_chars == 0
        || l.max_tracked_ips == 0
        || l.max_connections == 0
        || l.header_read_timeout_ms == 0
        || l.body_read_timeout_ms == 0
    {
        return Err(invalid("limits", "limits must be greater than zero"));
    }
    for rate in [Some(l.key_rate), Some(l.ip_rate)]
        .into_iter()
        .chain(apps.iter().map(|a| a.rate_limit))
        .flatten()
    {
        if !rate.per_second.is_finite()
            || rate.per_second < 0.0
            || !(rate.is_unlimited() || rate.burst >= 1.0)
        {
            return Err(invalid(
                "rate",
                "per_second must be ≥ 0 (0 is unlimited) and burst ≥ 1",
            ));
        }
    }
    sample.validate()?;
    let token = admin_token.filter(|t| !t.is_empty());
    // It travels in a cookie and a query string: keep to characters that need no escaping.
    let cookie_safe = |t: &str| {
        t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
    };
    if token
        .as_deref()
        .is_some_and(|t| t.len() < 16 || !cookie_safe(t))
    {
        return Err(invalid(
            "server.admin_token",
            "must be at least 16 of A-Z a-z 0-9 - . _ ~",
        ));
    }
    if token.is_none() && !admin_listen.ip().is_loopback() {
        return Err(invalid(
            "server.admin_token",
            "the admin listener is bound beyond loopback; set an admin_token to protect the viewer and API",
        ));
    }
    Ok(token)
}

fn resolve_app(app: AppSection) -> Result<App, ConfigError> {
    if app.key.trim().is_empty() {
        return Err(invalid(
            "apps.key",
            format!("app {:?} has an empty key", app.name),
        ));
    }
    let allowed_origins = app
        .allowed_origins
        .iter()
        .map(|p| OriginPattern::parse(p).map_err(|e| invalid("apps.allowed_origins", e)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(App {
        name: app.name,
        key: app.key,
        allowed_origins,
        rate_limit: app.rate_limit,
    })
}

fn invalid(field: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_mode_accepts_the_dev_key_from_localhost_only() {
        let config = Config::dev(Overrides::default()).expect("dev config");
        assert!(config.dev_mode());
        let app = &config.apps()[0];
        assert_eq!(app.key, DEV_KEY);
        assert!(app.allows_origin("http://localhost:5173"));
        assert!(app.allows_origin("http://127.0.0.1:8080"));
        assert!(!app.allows_origin("https://localhost:5173"));
        assert!(!app.allows_origin("http://evil.example:80"));
        assert_eq!(config.ingest_listen().port(), 4318);
        assert_eq!(config.admin_listen().port(), 4319);
    }

    #[test]
    fn dev_mode_refuses_a_public_address() {
        let overrides = Overrides {
            ingest_listen: Some("0.0.0.0:4318".parse().expect("addr")),
            ..Overrides::default()
        };
        let err = Config::dev(overrides).expect_err("must refuse");
        assert!(err.to_string().contains("loopback"), "{err}");
    }

    #[test]
    fn file_config_reads_apps_limits_and_flags_win() {
        let text = r#"
            data_dir = "/var/lib/rum"
            [server]
            ingest_listen = "0.0.0.0:4318"
            [limits]
            max_body_bytes = 2048
            [[apps]]
            name = "shop"
            key = "k1"
            allowed_origins = ["https://shop.example.com", "https://*.example.org"]
        "#;
        let overrides = Overrides {
            data_dir: Some("/tmp/x".into()),
            ..Overrides::default()
        };
        let config = Config::from_toml(text, overrides).expect("config");
        assert_eq!(config.data_dir(), Path::new("/tmp/x"));
        assert_eq!(config.ingest_listen().to_string(), "0.0.0.0:4318");
        assert_eq!(config.limits().max_body_bytes, 2048);
        assert!(config.apps()[0].allows_origin("https://shop.example.com"));
        assert!(config.apps()[0].allows_origin("https://a.example.org"));
        assert!(!config.apps()[0].allows_origin("https://example.org.evil.com"));
    }

    #[test]
    fn a_typo_fails_at_start() {
        let err = Config::from_toml("[limits]\nmax_body_byte = 1\n", Overrides::default())
            .expect_err("typo");
        assert!(err.to_string().contains("max_body_byte"), "{err}");
    }

    #[test]
    fn a_config_file_needs_an_app() {
        assert!(Config::from_toml("", Overrides::default()).is_err());
    }
}
