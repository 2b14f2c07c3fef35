//! Redacts the values of URL query (and fragment) parameters whose names look secret.

use std::borrow::Cow;

/// What replaces a denied parameter's value.
pub const REDACTED: &str = "[redacted]";

/// Parameter names redacted by default: a case-insensitive substring match, so `Token`,
/// `access_token` and `X-Api-Key` are all caught.
pub const DEFAULT_DENY: [&str; 16] = [
    "token",
    "password",
    "passwd",
    "pwd",
    "secret",
    "auth",
    "email",
    "session",
    "key",
    "sig",
    "code",
    "credential",
    "jwt",
    "ssn",
    "card",
    "phone",
];

#[derive(Debug, Clone)]
pub struct ParamDenyList {
    /// Lowercase words.
    words: Vec<String>,
}

impl ParamDenyList {
    pub fn new<S: AsRef<str>>(words: &[S]) -> ParamDenyList {
        let words = words
            .iter()
            .map(|w| w.as_ref().trim().to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        ParamDenyList { words }
    }

    pub fn denies(&self, name: &str) -> bool {
        let name = percent_decode_lossy(name).to_lowercase();
        self.words.iter().any(|w| name.contains(w.as_str()))
    }

    /// Scrubs the query and fragment of text that looks like a URL (absolute, or a path or
    /// query starting with `/` or `?`); other text is returned unchanged.
    pub fn scrub_url<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.words.is_empty() || !looks_like_url(text) {
            return Cow::Borrowed(text);
        }
        let (before_fragment, fragment) = match text.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (text, None),
        };
        let (base, query) = match before_fragment.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (before_fragment, None),
        };
        let new_query = query.map(|q| self.scrub_query(q));
        // SPAs put routes and OAuth's implicit flow puts tokens in the fragment:
        // `#/path?x=1` or `#access_token=…`.
        let new_fragment = fragment.map(|f| match f.split_once('?') {
            Some((route, q)) => Cow::Owned(format!("{route}?{}", self.scrub_query(q))),
            None if f.contains('=') => self.scrub_query(f),
            None => Cow::Borrowed(f),
        });
        let changed =
            matches!(new_query, Some(Cow::Owned(_))) || matches!(new_fragment, Some(Cow::Owned(_)));
        if !changed {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        out.push_str(base);
        if let Some(q) = new_query {
            out.push('?');
            out.push_str(&q);
        }
        if let Some(f) = new_fragment {
            out.push('#');
            out.push_str(&f);
        }
        Cow::Owned(out)
    }

    /// Scrubs `a=1&b=2` (no leading `?`).
    pub fn scrub_query<'a>(&self, query: &'a str) -> Cow<'a, str> {
        let mut changed = false;
        let parts: Vec<Cow<'a, str>> = query
            .split('&')
            .map(|part| match part.split_once('=') {
                Some((name, value)) if value != REDACTED && self.denies(name) => {
                    changed = true;
                    Cow::Owned(format!("{name}={REDACTED}"))
                }
                _ => Cow::Borrowed(part),
            })
            .collect();
        if changed {
            Cow::Owned(parts.join("&"))
        } else {
            Cow::Borrowed(query)
        }
    }
}

fn looks_like_url(text: &str) -> bool {
    if text.starts_with('/') || text.starts_with('?') {
        return true;
    }
    // `scheme://…` with an RFC 3986 scheme.
    text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Decodes `%XX` and `+` well enough to compare a parameter name; bad escapes stay as they are.
fn percent_decode_lossy(text: &str) -> Cow<'_, str> {
    if !text.contains(['%', '+']) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deny() -> ParamDenyList {
        ParamDenyList::new(&DEFAULT_DENY)
    }

    #[test]
    fn denied_params_are_redacted_case_insensitively() {
        let d = deny();
        assert_eq!(
            d.scrub_url("https://shop.example.com/reset?Token=abc123&lang=en&user_EMAIL=x"),
            "https://shop.example.com/reset?Token=[redacted]&lang=en&user_EMAIL=[redacted]"
        );
        assert_eq!(
            d.scrub_url("/cart?access%5Ftoken=zz&id=7"),
            "/cart?access%5Ftoken=[redacted]&id=7"
        );
        assert_eq!(
            d.scrub_url("https://x.example/?q=shoes"),
            "https://x.example/?q=shoes"
        );
        assert!(matches!(
            d.scrub_url("https://x.example/?q=shoes"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn fragments_are_scrubbed_too() {
        let d = deny();
        assert_eq!(
            d.scrub_url("https://app.example/cb#access_token=abc&state=1"),
            "https://app.example/cb#access_token=[redacted]&state=1"
        );
        assert_eq!(
            d.scrub_url("https://app.example/#/login?password=pw"),
            "https://app.example/#/login?password=[redacted]"
        );
        assert_eq!(
            d.scrub_url("https://app.example/#section-2"),
            "https://app.example/#section-2"
        );
    }

    #[test]
    fn text_that_is_not_a_url_is_left_alone() {
        let d = deny();
        assert_eq!(d.scrub_url("token=abc"), "token=abc");
        assert_eq!(d.scrub_url("a ? token=b"), "a ? token=b");
        assert_eq!(d.scrub_query("token=abc&x=1"), "token=[redacted]&x=1");
    }

    #[test]
    fn the_list_is_configurable() {
        let d = ParamDenyList::new(&["orderid"]);
        assert_eq!(
            d.scrub_url("/o?OrderId=5&token=t"),
            "/o?OrderId=[redacted]&token=t"
        );
        assert_eq!(
            ParamDenyList::new::<&str>(&[]).scrub_url("/o?token=t"),
            "/o?token=t"
        );
    }
}
