//! Apps, their ingest keys and the origins each accepts; the credential helpers both
//! listeners use (bearer parsing, constant-time comparison).

use axum::http::{header, HeaderMap};

/// One application that sends data: its key and the browser origins allowed to use it.
#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    pub key: String,
    pub allowed_origins: Vec<OriginPattern>,
    /// This app's own rate limit, instead of `limits.key_rate`.
    pub rate_limit: Option<crate::limit::config::Rate>,
}

impl App {
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|p| p.matches(origin))
    }
}

/// Finds the app an ingest key belongs to.
pub fn app_for_key<'a>(apps: &'a [App], key: &str) -> Option<&'a App> {
    apps.iter()
        .find(|app| constant_time_eq(app.key.as_bytes(), key.as_bytes()))
}

/// Compares secrets without an early exit, so response times do not leak a prefix.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of `Authorization: Bearer TOKEN` (any case of `Bearer`), trimmed; `None` when
/// absent or empty.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// An allowed origin: `*` (any), an exact origin `https://shop.example.com`, a wildcard port
/// `http://localhost:*`, or a wildcard subdomain `https://*.example.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPattern {
    Any,
    Pattern {
        scheme: String,
        host: HostPattern,
        port: PortPattern,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    /// `*.example.com`: any subdomain of the suffix (not the suffix itself).
    Subdomain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortPattern {
    /// No port written: the scheme's default port only.
    Default,
    Exact(u16),
    Any,
}

impl OriginPattern {
    pub fn parse(text: &str) -> Result<OriginPattern, String> {
        if text == "*" {
            return Ok(OriginPattern::Any);
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("origin pattern {text:?} has no scheme"))?;
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "origin pattern {text:?}: scheme must be http or https"
            ));
        }
        let (host, port) = split_host_port(rest)
            .ok_or_else(|| format!("origin pattern {text:?} is not scheme://host[:port]"))?;
        let port = match port {
            None => PortPattern::Default,
            Some("*") => PortPattern::Any,
            Some(p) => PortPattern::Exact(
                p.parse()
                    .ok()
                    .filter(|_| is_port(p))
                    .ok_or_else(|| format!("origin pattern {text:?} has a bad port"))?,
            ),
        };
        let host = match host.strip_prefix("*.") {
            Some(suffix) if !suffix.is_empty() => {
                HostPattern::Subdomain(suffix.to_ascii_lowercase())
            }
            _ if host.contains('*') || host.is_empty() => {
                return Err(format!(
                    "origin pattern {text:?}: '*' only as the first label"
                ))
            }
            _ => HostPattern::Exact(host.to_ascii_lowercase()),
        };
        Ok(OriginPattern::Pattern {
            scheme: scheme.into(),
            host,
            port,
        })
    }

    /// Whether a request's `Origin` header value matches.
    pub fn matches(&self, origin: &str) -> bool {
        let OriginPattern::Pattern { scheme, host, port } = self else {
            return true;
        };
        let Some((o_scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        let Some((o_host, o_port)) = split_host_port(rest) else {
            return false;
        };
        if !o_port.is_none_or(is_port) {
            return false;
        }
        if o_scheme != scheme {
            return false;
        }
        let o_host = o_host.to_ascii_lowercase();
        let host_ok = match host {
            HostPattern::Exact(h) => *h == o_host,
            HostPattern::Subdomain(suffix) => o_host
                .strip_suffix(suffix.as_str())
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        };
        let port_ok = match (port, o_port) {
            (PortPattern::Any, _) => true,
            (PortPattern::Default, None) => true,
            (PortPattern::Default, Some(_)) => false,
            (PortPattern::Exact(p), Some(o)) => o.parse::<u16>().is_ok_and(|o| o == *p),
            (PortPattern::Exact(_), None) => false,
        };
        host_ok && port_ok
    }
}

/// Splits `host[:port]` (an IPv6 host in brackets); `None` when a path or junk follows.
fn split_host_port(rest: &str) -> Option<(&str, Option<&str>)> {
    if rest.contains('/') {
        return None;
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    Some((host, port))
}

/// A port of an origin is 1 to 5 ASCII digits: `localhost:8080.evil.example` is no origin of
/// localhost, whatever the pattern's port.
fn is_port(text: &str) -> bool {
    (1..=5).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> OriginPattern {
        OriginPattern::parse(s).expect("pattern")
    }

    #[test]
    fn exact_origin_needs_the_same_scheme_host_and_port() {
        assert!(p("https://shop.example.com").matches("https://shop.example.com"));
        assert!(!p("https://shop.example.com").matches("http://shop.example.com"));
        assert!(!p("https://shop.example.com").matches("https://shop.example.com:8443"));
        assert!(p("http://localhost:8080").matches("http://localhost:8080"));
        assert!(!p("http://localhost:8080").matches("http://localhost:8081"));
    }

    #[test]
    fn wildcards() {
        assert!(p("http://localhost:*").matches("http://localhost:1"));
        assert!(p("http://localhost:*").matches("http://localhost"));
        assert!(p("https://*.example.com").matches("https://a.b.example.com"));
        assert!(!p("https://*.example.com").matches("https://example.com"));
        assert!(!p("https://*.example.com").matches("https://badexample.com"));
        assert!(p("*").matches("null"));
    }

    #[test]
    fn a_wildcard_port_is_digits_only() {
        let any_port = p("http://localhost:*");
        assert!(any_port.matches("http://localhost:8080"));
        assert!(!any_port.matches("http://localhost:8080.evil.example"));
        assert!(!any_port.matches("http://localhost:"));
        assert!(!any_port.matches("http://localhost:+80"));
        assert!(!any_port.matches("http://localhost:99999"));
        assert!(!any_port.matches("http://localhost:80:80"));
        assert!(!p("http://[::1]:*").matches("http://[::1]:80x"));
        assert!(!p("http://localhost:8080").matches("http://localhost:+8080"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "localhost",
            "ftp://x",
            "http://a*b.com",
            "http://x:port",
            "http://x/path",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_match_exactly() {
        let apps = vec![App {
            name: "a".into(),
            key: "secret".into(),
            allowed_origins: vec![],
            rate_limit: None,
        }];
        assert!(app_for_key(&apps, "secret").is_some());
        assert!(app_for_key(&apps, "secre").is_none());
        assert!(app_for_key(&apps, "secret2").is_none());
    }
}
