//! What a configuration check returns. Every section's `check()` answers [`Invalid`] with the
//! key it is about; [`ConfigError`] adds reading and parsing the file. A leaf module: the
//! sections beside their components import it, and it imports nothing of the gateway.

use std::path::PathBuf;

/// One option's value is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {key}: {problem}")]
pub struct Invalid {
    /// The option, as written in the file (`limits.max_body_bytes`).
    pub key: String,
    pub problem: String,
}

impl Invalid {
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Invalid {
        Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

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
    #[error(transparent)]
    Invalid(#[from] Invalid),
}
