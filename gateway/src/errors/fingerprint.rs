//! The group an error belongs to: a hash of its type, its message with the volatile parts
//! replaced, and the top in-app frames of its stack by original function and file (so a
//! rebuild that moves code, or a message that names another id or line, stays in its group).
//!
//! Volatile parts, in this order: URLs → `<url>`, UUIDs → `<uuid>`, hex ids (`0x…`, or 8+ hex
//! digits with a digit among them) → `<hex>`, numbers → `<n>`. Quoted strings are kept:
//! `(reading 'price')` and `(reading 'name')` are different bugs (Sentry keeps them apart
//! too). Line and column numbers are never part of it.

use std::sync::LazyLock;

use regex::Regex;

use crate::model::{BrowserError, Frame};

/// In-app frames the fingerprint reads.
pub const TOP_FRAMES: usize = 3;

static URL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\x22()<>]+").ok());
static UUID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").ok()
});
static HEX: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b0x[0-9a-f]+\b|\b[0-9a-f]*[0-9][0-9a-f]*\b").ok());
static NUMBER: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\d+(\.\d+)?").ok());

fn replace(re: &LazyLock<Option<Regex>>, text: String, with: &str) -> String {
    match re.as_ref() {
        Some(re) => re.replace_all(&text, with).into_owned(),
        None => text,
    }
}

/// The message with its volatile parts replaced.
pub fn normalize_message(message: &str) -> String {
    let text = replace(&URL, message.to_string(), "<url>");
    let text = replace(&UUID, text, "<uuid>");
    // Hex: only words of 8+ characters (or 0x…), so `a1` in a name stays; the rest of the
    // digits become `<n>` below.
    let text = match HEX.as_ref() {
        Some(re) => re
            .replace_all(&text, |c: &regex::Captures| {
                let m = &c[0];
                if m.starts_with("0x") || m.starts_with("0X") || m.len() >= 8 {
                    "<hex>".to_string()
                } else {
                    m.to_string()
                }
            })
            .into_owned(),
        None => text,
    };
    replace(&NUMBER, text, "<n>")
}

/// A file as the fingerprint reads it: the path without origin or query, with content
/// hashes (`app.3f2a1b9c.js`) replaced, so a CDN move or a rebuild keeps the group.
pub fn normalize_file(file: &str) -> String {
    let without_origin = match file.find("://") {
        Some(i) => {
            let rest = &file[i + 3..];
            rest.find('/').map_or("", |p| &rest[p..])
        }
        None => file,
    };
    let path = without_origin
        .split(['?', '#'])
        .next()
        .unwrap_or(without_origin);
    normalize_message(path)
}

/// `(function, file)` of a frame as the fingerprint reads it: original where resolved.
fn frame_key(frame: &Frame) -> String {
    match &frame.original {
        Some(o) => format!(
            "{}@{}",
            o.function
                .as_deref()
                .or(frame.function.as_deref())
                .unwrap_or("?"),
            normalize_file(&o.file)
        ),
        None => format!(
            "{}@{}",
            frame.function.as_deref().unwrap_or("?"),
            normalize_file(&frame.url)
        ),
    }
}

/// The error's fingerprint: 32 hex digits.
pub fn fingerprint(error: &BrowserError) -> String {
    let mut text = format!(
        "{}\n{}\n",
        error.error_type,
        normalize_message(&error.message)
    );
    let top: Vec<String> = error
        .frames
        .iter()
        .filter(|f| f.in_app)
        .take(TOP_FRAMES)
        .map(frame_key)
        .collect();
    if top.is_empty() {
        // No in-app frame (a resource error, a cross-origin "Script error."): where it was.
        if let Some(source) = &error.source {
            text.push_str(&normalize_file(source));
        }
    } else {
        text.push_str(&top.join("\n"));
    }
    hash_hex(&text)
}

/// FNV-1a, 128 bits: stable across builds and Rust versions (unlike std's hasher).
fn hash_hex(text: &str) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let hash = text
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u128::from(b)).wrapping_mul(PRIME));
    format!("{hash:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_parts_are_replaced() {
        assert_eq!(
            normalize_message("Failed to fetch https://api.example.com/cart/42?x=1 (id 3f2a1b9c0d, order 1234, req 550e8400-e29b-41d4-a716-446655440000) at line 17"),
            "Failed to fetch <url> (id <hex>, order <n>, req <uuid>) at line <n>"
        );
        assert_eq!(
            normalize_message("Cannot read properties of undefined (reading 'price')"),
            "Cannot read properties of undefined (reading 'price')"
        );
        assert_eq!(
            normalize_file("https://cdn.example/assets/app.3f2a1b9c.js?v=2"),
            "/assets/app.<hex>.js"
        );
    }
}
