//! The errors stage (issue 14): each browser error's stack parsed into frames ([`stack`]),
//! resolved through the source maps of the beacon's service and version ([`sourcemap`]),
//! and given the fingerprint of its group ([`fingerprint`]). Runs after scrubbing (a
//! message's e-mail address is masked before it is grouped) and cannot fail: a frame that is
//! not resolved stays minified and says why.

pub mod fingerprint;
pub mod sourcemap;
pub mod stack;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::config::error::Invalid;
use crate::model::attr::{SERVICE_NAME, SERVICE_VERSION};
use crate::model::Batch;
pub use sourcemap::SourceMaps;

/// The `[errors]` config section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErrorsConfig {
    /// A directory of source maps laid out `{dir}/{service}/{version}/{path}.map`, where
    /// `path` is the minified file's URL path (`shop-web/1.4.2/assets/app.min.js.map`).
    /// Uploaded maps win over it. Defaults to none.
    pub sourcemap_dir: Option<PathBuf>,
    /// Memory the cache of parsed source maps may hold, in bytes (a map counts its file
    /// size plus 32 bytes per mapping); the least recently used go first. Defaults to 64 MiB
    /// (67108864).
    pub sourcemap_cache_bytes: u64,
    /// Largest source map accepted, in bytes: an upload above it gets 413, a file above it in
    /// the directory leaves frames unresolved. Defaults to 32 MiB (33554432).
    pub max_sourcemap_bytes: u64,
    /// Most frames kept of one stack (innermost first); the rest are counted. Defaults to 50.
    pub max_frames: usize,
    /// Source lines kept before and after a resolved frame's line, when the map carries
    /// `sourcesContent`. Defaults to 3.
    pub context_lines: usize,
}

impl Default for ErrorsConfig {
    fn default() -> Self {
        ErrorsConfig {
            sourcemap_dir: None,
            sourcemap_cache_bytes: 64 * 1024 * 1024,
            max_sourcemap_bytes: 32 * 1024 * 1024,
            max_frames: 50,
            context_lines: 3,
        }
    }
}

impl ErrorsConfig {
    pub fn check(&self) -> Result<(), Invalid> {
        if self.max_frames == 0 {
            return Err(Invalid::new(
                "errors.max_frames",
                "must be greater than zero",
            ));
        }
        if self.max_sourcemap_bytes == 0 {
            return Err(Invalid::new(
                "errors.max_sourcemap_bytes",
                "must be greater than zero",
            ));
        }
        if self.context_lines > 20 {
            return Err(Invalid::new("errors.context_lines", "must be at most 20"));
        }
        if let Some(dir) = &self.sourcemap_dir {
            if !dir.is_dir() {
                return Err(Invalid::new(
                    "errors.sourcemap_dir",
                    format!("{} is not a directory", dir.display()),
                ));
            }
        }
        Ok(())
    }
}

/// The stage: parse, symbolicate, fingerprint.
pub struct Errors {
    maps: Arc<SourceMaps>,
    max_frames: usize,
}

impl Errors {
    pub fn new(config: &ErrorsConfig, maps: Arc<SourceMaps>) -> Errors {
        Errors {
            maps,
            max_frames: config.max_frames,
        }
    }

    /// A stage with its own source maps from `config` in `data_dir`.
    pub fn from_config(config: &ErrorsConfig, data_dir: &Path) -> Errors {
        Errors::new(config, Arc::new(SourceMaps::new(config, data_dir)))
    }

    pub fn process(&self, batch: &mut Batch) {
        for error in &mut batch.errors {
            let (frames, omitted) = stack::parse(&error.stack, self.max_frames);
            error.frames = frames;
            error.frames_omitted = omitted;
            let text = |key: &str| error.resource.get(key).and_then(Value::as_str);
            let service = text(SERVICE_NAME).map(String::from);
            let version = text(SERVICE_VERSION).map(String::from);
            self.maps
                .symbolicate(service.as_deref(), version.as_deref(), &mut error.frames);
            error.fingerprint = fingerprint::fingerprint(error);
        }
    }
}
