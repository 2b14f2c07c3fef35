//! User-agent parsing with uap-core's `regexes.yaml` (the `ua-parser` crate), behind a
//! bounded LRU cache: a site's visitors share a few hundred distinct user agents, and one
//! parse walks some thousand regexes. Where the regexes come from and their compilation:
//! [`super::user_agent_regexes`].

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::user_agent_regexes::{Extractor, Regexes, RegexesError};
use crate::model::Attributes;
use lru::LruCache;
use serde_json::Value;

/// Longest user agent parsed and kept, in bytes. Real ones stay far below; a longer header
/// is cut (at a character boundary) so the cache's memory stays bounded.
pub const MAX_USER_AGENT_BYTES: usize = 1024;

/// uap-core's family for "not recognised".
const OTHER: &str = "Other";

/// One parse's result, in uap-core's terms (`None` for an empty field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub family: String,
    pub major: Option<String>,
    pub minor: Option<String>,
    pub patch: Option<String>,
    pub os_family: String,
    pub os_major: Option<String>,
    pub os_minor: Option<String>,
    pub os_patch: Option<String>,
    pub os_patch_minor: Option<String>,
    pub device_family: String,
    pub device_brand: Option<String>,
    pub device_model: Option<String>,
}

impl Parsed {
    /// `user_agent.*`, `os.*` and `device.*` attributes; unrecognised parts are left out.
    pub fn write_attributes(&self, original: &str, attrs: &mut Attributes) {
        let mut put = |key: &str, value: Option<String>| {
            if let Some(v) = value.filter(|v| !v.is_empty() && v != OTHER) {
                attrs.insert(key.into(), Value::String(v));
            }
        };
        put("user_agent.original", Some(original.to_string()));
        put("user_agent.name", Some(self.family.clone()));
        put(
            "user_agent.version",
            version(&[&self.major, &self.minor, &self.patch]),
        );
        put("os.name", Some(self.os_family.clone()));
        put(
            "os.version",
            version(&[
                &self.os_major,
                &self.os_minor,
                &self.os_patch,
                &self.os_patch_minor,
            ]),
        );
        put("device.model.name", self.device_model.clone());
        put("device.manufacturer", self.device_brand.clone());
    }
}

/// `major.minor.patch`, as far as the parts go.
fn version(parts: &[&Option<String>]) -> Option<String> {
    let present: Vec<&str> = parts.iter().map_while(|p| p.as_deref()).collect();
    (!present.is_empty()).then(|| present.join("."))
}

/// The parser (shared process-wide) and this instance's cache.
pub struct UserAgents {
    parser: Arc<Extractor>,
    cache: Mutex<LruCache<String, Arc<Parsed>>>,
}

impl UserAgents {
    /// A parser of `regexes` with a cache of `cache_size` entries. The first compilation of
    /// a `regexes.yaml` in the process takes about a second of CPU: call it off the async
    /// runtime.
    pub fn new(regexes: &Regexes, cache_size: NonZeroUsize) -> Result<UserAgents, RegexesError> {
        Ok(UserAgents {
            parser: regexes.compile()?,
            cache: Mutex::new(LruCache::new(cache_size)),
        })
    }

    /// [`UserAgents::new`] with the file at `path`.
    pub fn load(path: &Path, cache_size: NonZeroUsize) -> Result<UserAgents, RegexesError> {
        UserAgents::new(&Regexes::configured(path)?, cache_size)
    }

    /// Parses `user_agent` (cut to [`MAX_USER_AGENT_BYTES`]), from the cache when seen.
    pub fn parse(&self, user_agent: &str) -> Arc<Parsed> {
        let user_agent = truncate(user_agent);
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user_agent)
        {
            return Arc::clone(hit);
        }
        // Parsed outside the lock: a miss costs far more than a hit, and two threads
        // parsing the same new string only duplicate work.
        let parsed = Arc::new(self.parse_uncached(user_agent));
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(user_agent.to_string(), Arc::clone(&parsed));
        parsed
    }

    /// Entries in the cache.
    pub fn cached(&self) -> usize {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn parse_uncached(&self, user_agent: &str) -> Parsed {
        let (client, os, device) = self.parser.extract(user_agent);
        // No parser matched: uap-core's "Other", as its other implementations answer.
        let other = || OTHER.to_string();
        let (os, device) = (os.map(|o| o.into_owned()), device.map(|d| d.into_owned()));
        let client = client.map(|c| c.into_owned());
        let (family, major, minor, patch) = match client {
            Some(c) => (c.family, c.major, c.minor, c.patch),
            None => (other(), None, None, None),
        };
        let (os_family, os_major, os_minor, os_patch, os_patch_minor) = match os {
            Some(o) => (o.os, o.major, o.minor, o.patch, o.patch_minor),
            None => (other(), None, None, None, None),
        };
        let (device_family, device_brand, device_model) = match device {
            Some(d) => (d.device, d.brand, d.model),
            None => (other(), None, None),
        };
        Parsed {
            family,
            major,
            minor,
            patch,
            os_family,
            os_major,
            os_minor,
            os_patch,
            os_patch_minor,
            device_family,
            device_brand,
            device_model,
        }
    }
}

/// Cuts `text` to at most [`MAX_USER_AGENT_BYTES`] at a character boundary.
pub fn truncate(text: &str) -> &str {
    if text.len() <= MAX_USER_AGENT_BYTES {
        return text;
    }
    let mut end = MAX_USER_AGENT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_stop_at_the_first_missing_part() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(version(&[&s("120"), &s("0"), &None]), Some("120.0".into()));
        assert_eq!(version(&[&None, &s("1")]), None);
    }

    #[test]
    fn other_and_empty_are_left_out() {
        let parsed = Parsed {
            family: "Other".into(),
            os_family: "Linux".into(),
            device_family: "Other".into(),
            device_brand: Some(String::new()),
            ..Parsed::default()
        };
        let mut attrs = Attributes::new();
        parsed.write_attributes("curl/8", &mut attrs);
        assert_eq!(
            attrs.get("user_agent.original"),
            Some(&Value::from("curl/8"))
        );
        assert_eq!(attrs.get("os.name"), Some(&Value::from("Linux")));
        assert!(attrs.get("user_agent.name").is_none());
        assert!(attrs.get("device.manufacturer").is_none());
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        let long = "é".repeat(MAX_USER_AGENT_BYTES);
        let cut = truncate(&long);
        assert!(cut.len() <= MAX_USER_AGENT_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(truncate("short"), "short");
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    fn parser(cache: usize) -> UserAgents {
        let regexes = crate::model::testing::testdata("uap-core/regexes.yaml");
        UserAgents::load(&regexes, NonZeroUsize::new(cache).expect("non-zero")).expect("regexes")
    }

    #[test]
    fn a_repeated_user_agent_comes_from_the_cache_and_the_cache_stays_bounded() {
        let p = parser(2);
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
        let first = p.parse(firefox);
        assert_eq!(first.family, "Firefox");
        assert_eq!(first.major.as_deref(), Some("121"));
        assert_eq!(first.os_family, "Linux");
        assert!(
            Arc::ptr_eq(&first, &p.parse(firefox)),
            "second parse is a cache hit"
        );
        p.parse("curl/8.5.0");
        p.parse("Wget/1.21");
        assert_eq!(p.cached(), 2);
        assert!(
            !Arc::ptr_eq(&first, &p.parse(firefox)),
            "evicted, parsed again"
        );
    }

    #[test]
    fn a_missing_file_is_an_error_not_a_panic() {
        let err = UserAgents::load(Path::new("/nonexistent/regexes.yaml"), NonZeroUsize::MIN);
        assert!(err.is_err());
    }
}
