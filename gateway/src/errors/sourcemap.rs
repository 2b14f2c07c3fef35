//! Source maps: where they are kept, a bounded cache of parsed ones, and resolving minified
//! frames through them (the `sourcemap` crate, which Sentry's own tooling uses).
//!
//! A map is found by the beacon's `service.name` and `service.version` and the path of the
//! minified script's URL (origin, query and fragment left out, so a CDN host or a cache-busting
//! query finds the same map):
//!
//! * uploaded (`POST /api/sourcemaps`): `{data_dir}/sourcemaps/{service}/{version}/{path}.map`,
//!   each of the three percent-encoded into one safe file name;
//! * else from `errors.sourcemap_dir`, laid out `{dir}/{service}/{version}/{path}.map` as the
//!   build wrote it (`shop-web/1.4.2/assets/app.min.js.map` for
//!   `https://shop.example.com/assets/app.min.js`).
//!
//! Parsed maps are kept in a cache bounded by `errors.sourcemap_cache_bytes` (a map's cost: its
//! size on disk plus 32 bytes per mapping), least recently used first out. An entry remembers
//! its file's size and modification time, so a replaced file is read again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use lru::LruCache;
use sourcemap::{DecodedMap, SourceMap};

use super::ErrorsConfig;
use crate::model::{Frame, OriginalFrame, SourceContext};

/// Directory of uploaded maps, inside the data directory.
pub const UPLOAD_DIR: &str = "sourcemaps";
/// Longest service name or version an upload may name, bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Characters of a source line kept in a frame's context.
const MAX_CONTEXT_LINE_CHARS: usize = 200;
/// Estimated bytes a parsed mapping costs in memory.
const BYTES_PER_TOKEN: u64 = 32;

/// Why an upload was refused: each names what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("missing query parameter {0}")]
    MissingParam(&'static str),
    #[error("{0}")]
    BadParam(String),
    #[error("the map is {size} bytes, over errors.max_sourcemap_bytes ({max})")]
    TooLarge { size: u64, max: u64 },
    #[error("not a source map: {0}")]
    InvalidMap(String),
    #[error("cannot store the map: {0}")]
    Io(#[from] std::io::Error),
}

/// What an upload stored.
#[derive(Debug, serde::Serialize)]
pub struct Uploaded {
    pub service: String,
    pub version: String,
    /// The path the map answers for.
    pub path: String,
    pub sources: u32,
    pub mappings: u32,
    pub bytes: usize,
    pub sources_content: bool,
}

/// How [`SourceMaps::symbolicate_by`] finds the map of a script path.
type FindMap<'a> = dyn FnMut(&str) -> Result<Option<Arc<Loaded>>, String> + 'a;

enum Loaded {
    Map(SourceMap),
    Broken(String),
}

struct Entry {
    stamp: (u64, Option<SystemTime>),
    loaded: Arc<Loaded>,
    cost: u64,
}

struct Cache {
    lru: LruCache<PathBuf, Entry>,
    bytes: u64,
}

/// The source maps of every service and version, and the cache of parsed ones.
pub struct SourceMaps {
    upload_dir: PathBuf,
    dir: Option<PathBuf>,
    max_map_bytes: u64,
    cache_bytes: u64,
    context_lines: usize,
    cache: Mutex<Cache>,
}

/// A URL's path without its origin, query, fragment and leading `/`; `None` for what is not
/// a web URL or an absolute path.
pub fn url_path(url: &str) -> Option<&str> {
    let rest = if let Some(i) = url.find("://") {
        let after = &url[i + 3..];
        &after[after.find('/')?..]
    } else if url.starts_with('/') {
        url
    } else {
        return None;
    };
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    let path = path.trim_start_matches('/');
    (!path.is_empty()).then_some(path)
}

/// Every byte outside `[A-Za-z0-9_.-]` (and a leading `.`) percent-encoded: one file name.
fn safe_name(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, b) in text.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A path segment the configured directory may be read under.
fn plain_segment(segment: &str) -> bool {
    !segment.is_empty() && segment != "." && segment != ".." && !segment.contains(['\\', '\0', ':'])
}

fn check_name(value: Option<&str>, param: &'static str) -> Result<String, UploadError> {
    match value {
        None | Some("") => Err(UploadError::MissingParam(param)),
        Some(v) if v.len() > MAX_NAME_BYTES => Err(UploadError::BadParam(format!(
            "{param} is longer than {MAX_NAME_BYTES} bytes"
        ))),
        Some(v) => Ok(v.to_string()),
    }
}

fn parse(bytes: &[u8]) -> Result<SourceMap, String> {
    match sourcemap::decode_slice(bytes).map_err(|e| e.to_string())? {
        DecodedMap::Regular(map) => Ok(map),
        DecodedMap::Index(index) => index.flatten().map_err(|e| e.to_string()),
        DecodedMap::Hermes(_) => Err("a Hermes (React Native) map is not supported".into()),
    }
}

/// The identifier that starts at `column` (0-based, in characters) of `line`.
fn identifier_at(line: &str, column: usize) -> Option<String> {
    let name: String = line
        .chars()
        .skip(column)
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
        .collect();
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

fn cut(line: &str) -> String {
    line.chars().take(MAX_CONTEXT_LINE_CHARS).collect()
}

/// A resolved position: the original frame, and the name its token (or the source text at
/// it) gives, which names the function the next-inner frame runs in.
struct Resolved {
    original: OriginalFrame,
    name_here: Option<String>,
}

impl SourceMaps {
    pub fn new(config: &ErrorsConfig, data_dir: &Path) -> SourceMaps {
        SourceMaps {
            upload_dir: data_dir.join(UPLOAD_DIR),
            dir: config.sourcemap_dir.clone(),
            max_map_bytes: config.max_sourcemap_bytes,
            cache_bytes: config.sourcemap_cache_bytes,
            context_lines: config.context_lines,
            cache: Mutex::new(Cache {
                lru: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    /// The largest map an upload may send.
    pub fn max_map_bytes(&self) -> u64 {
        self.max_map_bytes
    }

    fn upload_path(&self, service: &str, version: &str, path: &str) -> PathBuf {
        self.upload_dir
            .join(safe_name(service))
            .join(safe_name(version))
            .join(format!("{}.map", safe_name(path)))
    }

    fn dir_path(&self, service: &str, version: &str, path: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let segments = [service, version]
            .into_iter()
            .chain(path.split('/'))
            .collect::<Vec<_>>();
        if !segments.iter().all(|s| plain_segment(s)) {
            return None;
        }
        let mut file = dir.clone();
        for s in &segments {
            file.push(s);
        }
        let name = file.file_name()?.to_string_lossy().into_owned();
        file.set_file_name(format!("{name}.map"));
        Some(file)
    }

    /// Checks and stores an uploaded map for the minified file at `url`; a later upload for
    /// the same service, version and path replaces it. Blocking (file I/O).
    pub fn upload(
        &self,
        service: Option<&str>,
        version: Option<&str>,
        url: Option<&str>,
        body: &[u8],
    ) -> Result<Uploaded, UploadError> {
        let service = check_name(service, "service")?;
        let version = check_name(version, "version")?;
        let url = match url {
            None | Some("") => return Err(UploadError::MissingParam("url")),
            Some(u) => u,
        };
        let path = url_path(url)
            .ok_or_else(|| {
                UploadError::BadParam(
                    "url must be the minified file's URL (http(s)://host/path) or its path".into(),
                )
            })?
            .to_string();
        let size = body.len() as u64;
        if size > self.max_map_bytes {
            return Err(UploadError::TooLarge {
                size,
                max: self.max_map_bytes,
            });
        }
        if body.is_empty() {
            return Err(UploadError::InvalidMap("the body is empty".into()));
        }
        let map = parse(body).map_err(UploadError::InvalidMap)?;
        if map.get_source_count() == 0 {
            return Err(UploadError::InvalidMap("it names no sources".into()));
        }
        let file = self.upload_path(&service, &version, &path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Written aside, then renamed: a reader sees the old map or the new one.
        let temp = file.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&temp, body)?;
        std::fs::rename(&temp, &file)?;
        let sources_content = map.source_contents().any(|c| c.is_some());
        Ok(Uploaded {
            service,
            version,
            path,
            sources: map.get_source_count(),
            mappings: map.get_token_count(),
            bytes: body.len(),
            sources_content,
        })
    }

    /// The parsed map at `file` (from the cache while the file is unchanged); `None` when
    /// there is no such file.
    fn load(&self, file: &Path) -> Option<Arc<Loaded>> {
        let meta = std::fs::metadata(file).ok()?;
        if !meta.is_file() {
            return None;
        }
        let stamp = (meta.len(), meta.modified().ok());
        {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(entry) = cache.lru.get(file) {
                if entry.stamp == stamp {
                    return Some(Arc::clone(&entry.loaded));
                }
            }
        }
        let loaded = if meta.len() > self.max_map_bytes {
            Loaded::Broken(format!(
                "the map is {} bytes, over errors.max_sourcemap_bytes",
                meta.len()
            ))
        } else {
            match std::fs::read(file) {
                Ok(bytes) => match parse(&bytes) {
                    Ok(map) => Loaded::Map(map),
                    Err(e) => Loaded::Broken(e),
                },
                Err(e) => Loaded::Broken(e.to_string()),
            }
        };
        let cost = match &loaded {
            Loaded::Map(map) => {
                meta.len() + u64::from(map.get_token_count()).saturating_mul(BYTES_PER_TOKEN)
            }
            Loaded::Broken(reason) => reason.len() as u64 + 64,
        };
        let loaded = Arc::new(loaded);
        if cost <= self.cache_bytes {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(old) = cache.lru.pop(file) {
                cache.bytes = cache.bytes.saturating_sub(old.cost);
            }
            while cache.bytes + cost > self.cache_bytes {
                match cache.lru.pop_lru() {
                    Some((_, old)) => cache.bytes = cache.bytes.saturating_sub(old.cost),
                    None => break,
                }
            }
            cache.bytes += cost;
            cache.lru.put(
                file.to_path_buf(),
                Entry {
                    stamp,
                    loaded: Arc::clone(&loaded),
                    cost,
                },
            );
        }
        Some(loaded)
    }

    /// Bytes the cache holds now (its maps' estimated cost).
    pub fn cached_bytes(&self) -> u64 {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    /// The map for a script of this service and version: uploaded first, then the directory.
    fn find(&self, service: &str, version: &str, path: &str) -> Option<Arc<Loaded>> {
        self.load(&self.upload_path(service, version, path))
            .or_else(|| self.load(&self.dir_path(service, version, path)?))
    }

    /// Resolves `frames` (innermost first) through the maps of `service`/`version`: each
    /// resolved frame gets its `original`, each other one the reason in `unresolved`.
    pub fn symbolicate(&self, service: Option<&str>, version: Option<&str>, frames: &mut [Frame]) {
        let mut find = |path: &str| match (service, version) {
            (Some(service), Some(version)) => Ok(self.find(service, version, path)),
            _ => Err("no_service_version".to_string()),
        };
        self.symbolicate_by(frames, &mut find);
    }

    /// Resolves `frames` as [`SourceMaps::symbolicate`] does, with `map` (a source map's
    /// bytes, untrusted) as the map of every script: the map parser and the resolver without
    /// the file system, for the fuzz target and its corpus replay (`fuzz/`).
    pub fn symbolicate_with_map(&self, map: &[u8], frames: &mut [Frame]) {
        let loaded = Arc::new(match parse(map) {
            Ok(map) => Loaded::Map(map),
            Err(e) => Loaded::Broken(e),
        });
        let mut find = |_: &str| Ok(Some(Arc::clone(&loaded)));
        self.symbolicate_by(frames, &mut find);
    }

    /// `find`: the map of a script path (`None`: there is none), or why none is looked for.
    fn symbolicate_by(&self, frames: &mut [Frame], find: &mut FindMap<'_>) {
        let mut maps: HashMap<String, Option<Arc<Loaded>>> = HashMap::new();
        let mut resolved: Vec<Option<Resolved>> = Vec::with_capacity(frames.len());
        for frame in frames.iter_mut() {
            let outcome = self.resolve_one(frame, &mut maps, find);
            match outcome {
                Ok(r) => resolved.push(Some(r)),
                Err(reason) => {
                    frame.unresolved = Some(reason);
                    resolved.push(None);
                }
            }
        }
        // A frame's function is what its caller's call site names: the token (or source text)
        // at the next-outer frame's position.
        let names: Vec<Option<String>> = resolved
            .iter()
            .map(|r| r.as_ref().and_then(|r| r.name_here.clone()))
            .collect();
        for (i, (frame, r)) in frames.iter_mut().zip(resolved).enumerate() {
            if let Some(mut r) = r {
                r.original.function = names.get(i + 1).cloned().flatten();
                frame.original = Some(r.original);
                frame.in_app = frame.in_app
                    && frame
                        .original
                        .as_ref()
                        .is_none_or(|o| !o.file.contains("/node_modules/"));
            }
        }
    }

    fn resolve_one(
        &self,
        frame: &Frame,
        maps: &mut HashMap<String, Option<Arc<Loaded>>>,
        find: &mut FindMap<'_>,
    ) -> Result<Resolved, String> {
        let (Some(line), Some(column)) = (frame.line, frame.column) else {
            return Err("no_position".into());
        };
        let Some(path) = url_path(&frame.url) else {
            return Err("not_a_script_url".into());
        };
        let loaded = match maps.get(path) {
            Some(loaded) => loaded.clone(),
            None => {
                let loaded = find(path)?;
                maps.insert(path.to_string(), loaded.clone());
                loaded
            }
        };
        let Some(loaded) = loaded else {
            return Err("no_sourcemap".into());
        };
        let map = match &*loaded {
            Loaded::Map(map) => map,
            Loaded::Broken(reason) => return Err(format!("broken_sourcemap: {reason}")),
        };
        let (dst_line, dst_col) = (line.saturating_sub(1), column.saturating_sub(1));
        // As Mozilla's `source-map` (greatest lower bound on the same line): a position before
        // the line's first mapping, or a mapping without a source, is not resolved.
        let token = map
            .lookup_token(dst_line, dst_col)
            .filter(|t| t.get_dst_line() == dst_line && t.has_source())
            .ok_or_else(|| "no_mapping".to_string())?;
        let file = token.get_source().unwrap_or_default().to_string();
        let (src_line, src_col) = (token.get_src_line(), token.get_src_col());
        let contents = map.get_source_contents(token.get_src_id());
        let source_line = contents.and_then(|c| c.lines().nth(src_line as usize));
        let name_here = token
            .get_name()
            .map(String::from)
            .or_else(|| source_line.and_then(|l| identifier_at(l, src_col as usize)));
        let context = contents.map(|c| self.context(c, src_line as usize));
        Ok(Resolved {
            original: OriginalFrame {
                file,
                // A map's position can be u32::MAX (the `sourcemap` crate wraps a negative
                // one): found by fuzzing, an overflow here.
                line: src_line.saturating_add(1),
                column: src_col.saturating_add(1),
                function: None,
                context: context.flatten(),
            },
            name_here,
        })
    }

    /// `context_lines` lines before and after line `at` (0-based) of `contents`.
    fn context(&self, contents: &str, at: usize) -> Option<SourceContext> {
        let first = at.saturating_sub(self.context_lines);
        let lines: Vec<&str> = contents
            .lines()
            .skip(first)
            .take(at - first + 1 + self.context_lines)
            .collect();
        let line = cut(lines.get(at - first)?);
        Some(SourceContext {
            start_line: u32::try_from(first + 1).unwrap_or(u32::MAX),
            pre: lines[..at - first].iter().map(|l| cut(l)).collect(),
            line,
            post: lines[at - first + 1..].iter().map(|l| cut(l)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_names() {
        assert_eq!(
            url_path("https://cdn.example:8443/assets/app.min.js?v=3#x"),
            Some("assets/app.min.js")
        );
        assert_eq!(url_path("/assets/app.js"), Some("assets/app.js"));
        assert_eq!(url_path("<anonymous>"), None);
        assert_eq!(url_path("https://host"), None);
        assert_eq!(safe_name("../a/b c.js"), "%2E.%2Fa%2Fb%20c.js");
        assert!(!plain_segment(".."));
        assert_eq!(
            identifier_at("  levelTwo(x);", 2).as_deref(),
            Some("levelTwo")
        );
        assert_eq!(identifier_at("  (x);", 2), None);
    }

    const MAP: &str = r#"{"version":3,"sources":["src/a.js"],"sourcesContent":["function outer() {\n  inner();\n}\nfunction inner() {\n  throw new Error('x');\n}\nouter();\n"],"names":["outer","inner"],"mappings":"AAAA,SAASA,IACPC"}"#;

    #[test]
    fn the_cache_stays_within_its_bound_and_broken_maps_say_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = ErrorsConfig {
            sourcemap_cache_bytes: 300,
            ..ErrorsConfig::default()
        };
        let maps = SourceMaps::new(&config, dir.path());
        for (n, service) in ["a", "b", "c"].iter().enumerate() {
            maps.upload(
                Some(service),
                Some("1"),
                Some("http://h/x.js"),
                MAP.as_bytes(),
            )
            .expect("upload");
            let mut frames = vec![Frame {
                function: Some("f".into()),
                url: "http://h/x.js".into(),
                line: Some(1),
                column: Some(1),
                in_app: true,
                original: None,
                unresolved: None,
            }];
            maps.symbolicate(Some(service), Some("1"), &mut frames);
            assert!(
                frames[0].original.is_some(),
                "{n}: {:?}",
                frames[0].unresolved
            );
            assert!(maps.cached_bytes() <= 300, "{}", maps.cached_bytes());
        }
        let mut frames = vec![Frame {
            function: None,
            url: "http://h/other.js".into(),
            line: Some(1),
            column: Some(1),
            in_app: true,
            original: None,
            unresolved: None,
        }];
        maps.symbolicate(Some("a"), Some("1"), &mut frames);
        assert_eq!(frames[0].unresolved.as_deref(), Some("no_sourcemap"));
        let broken = maps.upload_path("a", "1", "other.js");
        std::fs::create_dir_all(broken.parent().expect("parent")).expect("dir");
        std::fs::write(&broken, b"{\"version\":3,").expect("write");
        frames[0].unresolved = None;
        maps.symbolicate(Some("a"), Some("1"), &mut frames);
        assert!(
            frames[0]
                .unresolved
                .as_deref()
                .is_some_and(|r| r.starts_with("broken_sourcemap")),
            "{:?}",
            frames[0].unresolved
        );
    }
}
