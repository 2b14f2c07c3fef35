//! Gateway configuration: a TOML file, overridden by command-line flags (or their
//! environment variables). Every option is documented in `docs/config.md`.
//!
//! With no config file the gateway runs in development mode: loopback only, one app with the
//! ingest key `dev` that accepts `http://localhost:*` and `http://127.0.0.1:*` origins.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

pub mod error;

pub use error::{ConfigError, Invalid};

use crate::apps::{App, OriginPattern};
use crate::enrich::EnrichConfig;
use crate::errors::ErrorsConfig;
pub use crate::limit::config::{Limits, Rate};
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
    #[serde(default)]
    errors: ErrorsConfig,
    #[serde(default)]
    store: StoreSection,
}

/// `[store]`: the span partitions (`store/partitions.rs`) and the retention tiers
/// (`store/retention.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreSection {
    partition_hours: Option<u64>,
    retention_hours: Option<u64>,
    error_retention_hours: Option<u64>,
    rollup_retention_hours: Option<u64>,
    max_bytes: Option<u64>,
}

impl StoreSection {
    fn retention(
        &self,
        partitions: &crate::store::partitions::PartitionConfig,
    ) -> Result<crate::store::retention::RetentionConfig, ConfigError> {
        let default = crate::store::retention::RetentionConfig::default();
        let hours = |h: Option<u64>, default: u64| h.map_or(default, |h| h.saturating_mul(3600));
        let config = crate::store::retention::RetentionConfig {
            raw_secs: partitions.retention_secs,
            error_secs: hours(self.error_retention_hours, default.error_secs),
            rollup_secs: hours(self.rollup_retention_hours, default.rollup_secs),
            max_bytes: self.max_bytes.unwrap_or(0),
        };
        config
            .check()
            .map_err(|(key, problem)| invalid(key, problem))?;
        Ok(config)
    }

    fn resolve(&self) -> Result<crate::store::partitions::PartitionConfig, ConfigError> {
        let default = crate::store::partitions::PartitionConfig::default();
        let hours = |h: Option<u64>, default: u64| h.map_or(default, |h| h.saturating_mul(3600));
        let config = crate::store::partitions::PartitionConfig {
            width_secs: hours(self.partition_hours, default.width_secs),
            retention_secs: hours(self.retention_hours, default.retention_secs),
        };
        if config.width_secs == 0 {
            return Err(invalid(
                "store.partition_hours",
                "must be greater than zero",
            ));
        }
        config
            .check()
            .map_err(|problem| invalid("store.retention_hours", problem))?;
        Ok(config)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    ingest_listen: Option<SocketAddr>,
    admin_listen: Option<SocketAddr>,
    admin_token: Option<String>,
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    admin_tls: Option<bool>,
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
    /// Benchmarks only (`--bench-discard-writes`): acknowledge without storing.
    discard_writes: bool,
    /// Benchmarks only: the store clock's offset from the system clock, seconds.
    clock_offset_secs: i64,
    enrich: EnrichConfig,
    export: crate::export::ExportConfig,
    scrub: ScrubConfig,
    sample: SampleConfig,
    errors: ErrorsConfig,
    partitions: crate::store::partitions::PartitionConfig,
    retention: crate::store::retention::RetentionConfig,
    admin_token: Option<String>,
    /// HTTPS on the ingest listener; on the admin one (the same certificate) unless
    /// `server.admin_tls = false`.
    ingest_tls: Option<Arc<rustls::ServerConfig>>,
    admin_tls: Option<Arc<rustls::ServerConfig>>,
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
        let ingest_tls = server_tls(&file.server)?;
        let admin_tls = ingest_tls
            .clone()
            .filter(|_| file.server.admin_tls.unwrap_or(true));
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
                        &format!("server.{field}"),
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
        file.enrich.check()?;
        file.export.check()?;
        file.errors.check()?;
        let partitions = file.store.resolve()?;
        let retention = file.store.retention(&partitions)?;
        Ok(Config {
            data_dir,
            ingest_listen,
            admin_listen,
            limits: file.limits,
            apps,
            dev_mode,
            discard_writes: false,
            clock_offset_secs: 0,
            enrich: file.enrich,
            export: file.export,
            scrub: file.scrub,
            sample: file.sample,
            errors: file.errors,
            partitions,
            retention,
            admin_token: policy,
            ingest_tls,
            admin_tls,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    /// The span partitions' width and retention (`[store]`).
    pub fn partitions(&self) -> crate::store::partitions::PartitionConfig {
        self.partitions
    }
    /// The retention tiers (`[store]`).
    pub fn retention(&self) -> crate::store::retention::RetentionConfig {
        self.retention
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
    /// Benchmarks only: every write is acknowledged once encoded, and nothing is stored (the
    /// no-op sink that shows what durability costs; `rum-gateway --bench-discard-writes`).
    pub fn discard_writes(&self) -> bool {
        self.discard_writes
    }
    pub fn clock_offset_secs(&self) -> i64 {
        self.clock_offset_secs
    }
    pub fn set_clock_offset_secs(&mut self, secs: i64) {
        self.clock_offset_secs = secs;
    }
    pub fn set_discard_writes(&mut self, discard: bool) {
        self.discard_writes = discard;
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
    /// Browser errors: source maps, their cache, frames kept.
    pub fn errors(&self) -> &ErrorsConfig {
        &self.errors
    }
    /// The admin listener's token; always set when it listens beyond loopback.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }
    /// The ingest listener's TLS config when it serves HTTPS (`server.tls_cert_file`).
    pub fn ingest_tls(&self) -> Option<&Arc<rustls::ServerConfig>> {
        self.ingest_tls.as_ref()
    }
    /// The admin listener's TLS config when it serves HTTPS.
    pub fn admin_tls(&self) -> Option<&Arc<rustls::ServerConfig>> {
        self.admin_tls.as_ref()
    }
}

/// The listeners' TLS config from `server.tls_cert_file` and `server.tls_key_file` (both or
/// neither), read now: a missing, unreadable or mismatched file stops the start.
fn server_tls(server: &ServerSection) -> Result<Option<Arc<rustls::ServerConfig>>, ConfigError> {
    const CERT: &str = "server.tls_cert_file";
    const KEY: &str = "server.tls_key_file";
    match (&server.tls_cert_file, &server.tls_key_file) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(invalid(
            KEY,
            format!("{CERT} is set; set the key's file too"),
        )),
        (None, Some(_)) => Err(invalid(
            CERT,
            format!("{KEY} is set; set the certificate's file too"),
        )),
        (Some(cert), Some(key)) => Ok(Some(crate::tls::server_config(cert, key, (CERT, KEY))?)),
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
    l.check()?;
    for app in apps {
        if let Some(rate) = app.rate_limit {
            rate.check("apps.rate_limit")?;
        }
    }
    sample.check()?;
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

fn invalid(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(Invalid::new(key, problem))
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

    #[test]
    fn the_store_section_sets_partitions_and_refuses_a_retention_sqlite_cannot_attach() {
        let app = "[[apps]]\nname = \"a\"\nkey = \"k\"\n";
        let config = Config::from_toml(app, Overrides::default()).expect("defaults");
        assert_eq!(config.partitions().width_secs, 24 * 3600);
        assert_eq!(config.partitions().retention_secs, 7 * 24 * 3600);
        let text = format!("[store]\npartition_hours = 6\nretention_hours = 48\n{app}");
        let config = Config::from_toml(&text, Overrides::default()).expect("set");
        assert_eq!(config.partitions().width_secs, 6 * 3600);
        assert_eq!(config.partitions().retention_secs, 48 * 3600);
        let text = format!("[store]\nretention_hours = 2160\n{app}");
        let err = Config::from_toml(&text, Overrides::default()).expect_err("90 days of days");
        assert!(err.to_string().contains("store.retention_hours"), "{err}");
        assert!(err.to_string().contains("at least 270 hours"), "{err}");
        let text = format!("[store]\npartition_hours = 0\n{app}");
        let err = Config::from_toml(&text, Overrides::default()).expect_err("zero");
        assert!(err.to_string().contains("store.partition_hours"), "{err}");
    }
}
