//! The gateway's layering as an executable rule: every module of `gateway/src` has a layer and
//! a rank within it, and may import (with `crate::…` or `super::…`) only modules of a lower
//! layer, or of the same layer with a lower rank, or itself. No cycle can pass this test,
//! and a new module must be given a place below before it compiles into the rule.
//!
//! ```text
//! L5  config · server · main                       composition root
//! L4  ingest · api · viewer · admin_auth · readiness · connections   HTTP boundaries
//! L3  store → pipeline, export, releases            services and orchestration
//! L2  limit → validate → enrich → scrub → errors → sample → export::encode   stages, in flow order
//! L1  limit::config, wire → apps                    input vocabulary, plain-data limits
//! L0  config::error, outcome → model → rejection → telemetry → tls → stats   leaves
//! ```
//!
//! Code under `#[cfg(test)]` at the end of a file and comments are not read: tests may use
//! anything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Module path prefixes, longest match first wins: (prefix, layer, rank).
const PLACES: &[(&str, u8, u8)] = &[
    ("config::error", 0, 0),
    ("outcome", 0, 0),
    ("model", 0, 1),
    ("rejection", 0, 2),
    ("telemetry", 0, 3),
    ("tls", 0, 4),
    ("stats", 0, 5),
    ("limit::config", 1, 0),
    ("wire", 1, 0),
    ("apps", 1, 1),
    ("limit", 2, 0),
    ("validate", 2, 1),
    ("enrich", 2, 2),
    ("scrub", 2, 3),
    ("errors", 2, 4),
    ("sample", 2, 5),
    ("export::encode", 2, 6),
    ("store", 3, 0),
    ("pipeline", 3, 1),
    ("export", 3, 1),
    ("releases", 3, 1),
    ("ingest", 4, 0),
    ("api", 4, 0),
    ("viewer", 4, 0),
    ("admin_auth", 4, 0),
    ("connections", 4, 0),
    ("readiness", 4, 0),
    ("config", 5, 0),
    ("server", 5, 1),
    ("main", 5, 2),
    ("lib", 5, 3),
];

/// The module's place and the prefix that gave it.
fn place(module: &str) -> Option<(&'static str, u8, u8)> {
    PLACES
        .iter()
        .filter(|(prefix, _, _)| module == *prefix || module.starts_with(&format!("{prefix}::")))
        .max_by_key(|(prefix, _, _)| prefix.len())
        .copied()
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` → `a::b`; `src/a/mod.rs` → `a`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The code of a file without comments and without its trailing `#[cfg(test)]` part.
fn product_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    code.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module path a file names with `crate::` or `super::` (brace groups expanded one
/// level: `use crate::{a, b::c}`), resolved against `module`.
fn imports(module: &str, code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let words: Vec<char> = code.chars().collect();
    let text: String = words.iter().collect();
    for (start, _) in text
        .match_indices("crate::")
        .chain(text.match_indices("super::"))
    {
        // Only at the start of a path, not `gateway_crate::` or `foo::super::`.
        if start > 0 {
            let before = text[..start].chars().next_back().unwrap_or(' ');
            if before.is_alphanumeric() || before == '_' || before == ':' {
                continue;
            }
        }
        let rest = &text[start..];
        let path: String = rest
            .chars()
            .take_while(|c| {
                c.is_alphanumeric()
                    || *c == '_'
                    || *c == ':'
                    || *c == '{'
                    || *c == '}'
                    || *c == ','
                    || *c == ' '
                    || *c == '\n'
                    || *c == '*'
            })
            .collect();
        for full in expand(&path) {
            if let Some(resolved) = resolve(module, &full) {
                found.insert(resolved);
            }
        }
    }
    found
}

/// `crate::{a, b::c}` → `crate::a`, `crate::b::c`; a plain path stays as it is.
fn expand(path: &str) -> Vec<String> {
    let path: String = path.split_whitespace().collect::<Vec<_>>().join("");
    match path.find('{') {
        Some(open) => {
            let head = &path[..open];
            let close = path[open..].find('}').map_or(path.len(), |i| open + i);
            path[open + 1..close]
                .split(',')
                .filter(|item| !item.is_empty())
                .map(|item| format!("{head}{item}"))
                .collect()
        }
        None => vec![path.trim_end_matches([',', '}']).to_string()],
    }
}

/// A `crate::`/`super::` path → the module it names (its longest prefix that is a module
/// with a place; items such as types are cut off by that).
fn resolve(module: &str, path: &str) -> Option<String> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<&str> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").collect()
    };
    match segments.first() {
        Some(&"crate") => {
            base.clear();
            segments.remove(0);
        }
        Some(&"super") => {
            // `super` of `a::b` (a file `a/b.rs`) is `a`.
            while segments.first() == Some(&"super") {
                base.pop();
                segments.remove(0);
            }
        }
        _ => return None,
    }
    base.extend(segments);
    // Items (types, `self`, globs) are cut off; a trailing function name is harmless, since
    // places match by prefix.
    while base.last().is_some_and(|s| {
        s.chars().next().is_some_and(|c| c.is_uppercase()) || *s == "*" || *s == "self"
    }) {
        base.pop();
    }
    (!base.is_empty()).then(|| base.join("::"))
}

#[test]
fn no_module_imports_a_higher_layer_or_a_later_stage() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let mut unplaced = Vec::new();
    let mut back_edges = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some((from_prefix, from_layer, from_rank)) = place(&module) else {
            unplaced.push(module);
            continue;
        };
        let code = product_code(&std::fs::read_to_string(file).expect("read"));
        for target in imports(&module, &code) {
            let Some((to_prefix, to_layer, to_rank)) = place(&target) else {
                continue; // an external path such as `super::super::x` out of the crate
            };
            if to_prefix == from_prefix {
                continue;
            }
            if (to_layer, to_rank) >= (from_layer, from_rank) {
                back_edges.push(format!(
                    "{module} (L{from_layer}.{from_rank}) imports {target} (L{to_layer}.{to_rank})"
                ));
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules without a place in PLACES: {unplaced:?}"
    );
    assert!(
        back_edges.is_empty(),
        "imports against the layers:\n{}",
        back_edges.join("\n")
    );
}

#[test]
fn the_reader_finds_grouped_relative_and_plain_imports() {
    let code = "use crate::{model::attr::X, outcome::RejectReason};\nuse super::outbox::{self, Outbox};\nlet x = crate::store::writer::start();";
    let found = imports("store::writer", code);
    let places: BTreeSet<&str> = found.iter().filter_map(|m| place(m)).map(|p| p.0).collect();
    assert_eq!(places, BTreeSet::from(["model", "outcome", "store"]));
    assert!(found.contains("store::outbox"), "{found:?}");
    assert_eq!(
        place("export::encode::metrics").map(|p| p.0),
        Some("export::encode")
    );
    assert_eq!(place("export::otlp").map(|p| p.0), Some("export"));
    assert_eq!(place("config::error").map(|p| (p.1, p.2)), Some((0, 0)));
}
