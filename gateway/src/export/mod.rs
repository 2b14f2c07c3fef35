//! Export to an OpenTelemetry collector: the `[export]` config section, the encoder
//! ([`encode`]: a batch → OTLP requests, before the store's writer), and the OTLP/HTTP
//! exporter ([`otlp`], with [`retry`]'s backoff) that drains the store's durable outbox
//! (`store::outbox`, filled in the same transaction as the batch). Names on the wire:
//! `docs/export.md`.

pub mod encode;
pub mod otlp;
pub mod retry;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use crate::config::error::Invalid;

/// The `[export]` section. Every option is documented in `docs/config.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportConfig {
    /// Base URL of an OTLP/HTTP receiver, `http://` or `https://`, e.g.
    /// `https://otlp.example.com`; the gateway POSTs to `{endpoint}/v1/traces` and
    /// `{endpoint}/v1/logs`. Defaults to none: no export.
    pub otlp_endpoint: Option<String>,
    /// PEM file of CA certificates that an `https://` endpoint's certificate may chain to, in
    /// addition to the system's store and Mozilla's roots (built in): a private CA's. Read at
    /// start. Defaults to none.
    pub ca_file: Option<PathBuf>,
    /// Extra headers on every export request (e.g. an API key). Defaults to none.
    pub headers: BTreeMap<String, String>,
    /// Bound of the outbox in payload bytes; when full, the oldest entries are dropped and
    /// counted. Defaults to 256 MiB (268435456).
    pub max_queue_bytes: u64,
    /// Most spans or log records in one export request. Defaults to 512.
    pub max_batch_items: u64,
    /// How long a partial batch waits for more before it is sent. Defaults to 1000 ms.
    pub batch_timeout_ms: u64,
    /// Timeout of one export request. Defaults to 10000 ms.
    pub timeout_ms: u64,
    /// First retry delay; each retry doubles it, with jitter. Defaults to 500 ms.
    pub retry_initial_backoff_ms: u64,
    /// Cap of the retry delay (a receiver's `Retry-After` is honoured up to 5 minutes).
    /// Defaults to 30000 ms.
    pub retry_max_backoff_ms: u64,
    /// Export page views and web vitals as OpenTelemetry events to `/v1/logs`.
    /// Defaults to true.
    pub logs: bool,
    /// Export web vitals as histograms to `/v1/metrics`. Defaults to true.
    pub metrics: bool,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            otlp_endpoint: None,
            ca_file: None,
            headers: BTreeMap::new(),
            max_queue_bytes: 256 * 1024 * 1024,
            max_batch_items: 512,
            batch_timeout_ms: 1000,
            timeout_ms: 10_000,
            retry_initial_backoff_ms: 500,
            retry_max_backoff_ms: 30_000,
            logs: true,
            metrics: true,
        }
    }
}

impl ExportConfig {
    /// Whether an exporter runs (and the writer fills the outbox).
    pub fn enabled(&self) -> bool {
        self.otlp_endpoint.is_some()
    }

    /// Checks the section at start, so a bad endpoint or header fails before any data
    /// is acknowledged.
    pub fn check(&self) -> Result<(), Invalid> {
        let bad = |key: &str, problem: String| Err(Invalid::new(format!("export.{key}"), problem));
        if let Some(endpoint) = &self.otlp_endpoint {
            match reqwest::Url::parse(endpoint) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
                Ok(_) => {
                    return bad(
                        "otlp_endpoint",
                        format!("{endpoint:?} is not an http:// or https:// URL"),
                    )
                }
                Err(e) => return bad("otlp_endpoint", format!("{endpoint:?}: {e}")),
            }
        }
        if let Some(path) = &self.ca_file {
            crate::tls::certificates("export.ca_file", path)?;
        }
        for (name, value) in &self.headers {
            if HeaderName::try_from(name.as_str()).is_err() {
                return bad("headers", format!("{name:?} is not a valid header name"));
            }
            if HeaderValue::try_from(value.as_str()).is_err() {
                return bad(
                    "headers",
                    format!("the value of {name:?} is not a valid header value"),
                );
            }
        }
        let positive = [
            ("max_queue_bytes", self.max_queue_bytes),
            ("max_batch_items", self.max_batch_items),
            ("timeout_ms", self.timeout_ms),
            ("retry_initial_backoff_ms", self.retry_initial_backoff_ms),
            ("retry_max_backoff_ms", self.retry_max_backoff_ms),
        ];
        for (key, value) in positive {
            if value == 0 {
                return bad(key, "must be greater than zero".into());
            }
        }
        if self.retry_max_backoff_ms < self.retry_initial_backoff_ms {
            return bad(
                "retry_max_backoff_ms",
                "must not be below retry_initial_backoff_ms".into(),
            );
        }
        Ok(())
    }

    /// The encoder of what this section exports.
    pub fn encoder(&self) -> encode::Encoder {
        encode::Encoder {
            logs: self.logs,
            metrics: self.metrics,
        }
    }

    /// Whether the endpoint is `https://` (the exporter then builds its TLS config).
    pub(crate) fn uses_tls(&self) -> bool {
        self.otlp_endpoint.as_deref().is_some_and(|e| {
            e.get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        })
    }

    pub(crate) fn batch_timeout(&self) -> Duration {
        Duration::from_millis(self.batch_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Overrides};

    fn config(export: &str) -> Result<Config, String> {
        let text = format!("[[apps]]\nname = \"a\"\nkey = \"k\"\n[export]\n{export}\n");
        Config::from_toml(&text, Overrides::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_a_full_section_parse() {
        let off = config("").expect("empty section");
        assert!(!off.export().enabled());
        assert_eq!(off.export().max_queue_bytes, 256 * 1024 * 1024);
        let on = config(
            "otlp_endpoint = \"http://collector:4318\"\nheaders = { \"x-api-key\" = \"s\" }\n\
             max_queue_bytes = 1000\nlogs = false",
        )
        .expect("config");
        assert!(on.export().enabled());
        assert_eq!(on.export().headers["x-api-key"], "s");
        assert_eq!(on.export().max_queue_bytes, 1000);
        assert!(!on.export().logs);
        let tls = config("otlp_endpoint = \"https://otlp.example.com\"").expect("https");
        assert!(tls.export().uses_tls());
        assert!(!on.export().uses_tls());
    }

    #[test]
    fn bad_export_settings_fail_at_start_naming_the_key() {
        for (text, key) in [
            (
                "otlp_endpoint = \"ftp://collector:4318\"",
                "export.otlp_endpoint",
            ),
            ("ca_file = \"/nonexistent/ca.pem\"", "export.ca_file"),
            ("otlp_endpoint = \"collector:4318\"", "export.otlp_endpoint"),
            ("otlp_endpoint = \"not a url\"", "export.otlp_endpoint"),
            ("headers = { \"bad header\" = \"x\" }", "export.headers"),
            (
                "headers = { \"x-key\" = \"line\\nbreak\" }",
                "export.headers",
            ),
            ("max_queue_bytes = 0", "export.max_queue_bytes"),
            (
                "retry_initial_backoff_ms = 100\nretry_max_backoff_ms = 10",
                "export.retry_max_backoff_ms",
            ),
            ("otlp_endpont = \"http://c:4318\"", "otlp_endpont"),
        ] {
            let err = config(text).expect_err(text);
            assert!(err.contains(key), "{text}: {err}");
        }
    }
}
