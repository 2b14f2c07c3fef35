//! The scrub stage: removes personal data and secrets from a [`Batch`] before it is stored or
//! exported. Runs after enrichment (so geo can use the client address first) and before
//! sampling. Every rule is on by default and configured under `[scrub]` (`docs/config.md`).

mod exempt;
mod text;
mod url;

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::Value;

use crate::model::attr::{CLIENT_ADDRESS, URL_QUERY};
use crate::model::net::network;
use crate::model::{Attributes, Batch};
pub use exempt::{is_exempt_key, is_measure_key};
pub use text::{luhn_valid, TextMasks, CARD_MASK};
pub use url::{ParamDenyList, DEFAULT_DENY};

/// What happens to `client.address` once geo lookup has used it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientIpRule {
    /// Remove the attribute.
    #[default]
    Drop,
    /// Keep the network only: IPv4 /24, IPv6 /48.
    Truncate,
    /// Store it as it came.
    Keep,
}

/// The `[scrub]` config section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScrubConfig {
    /// Master switch. Defaults to true.
    pub enabled: bool,
    /// Query/fragment parameter names (case-insensitive substrings) whose values are
    /// redacted. Defaults to [`DEFAULT_DENY`].
    pub query_params: Vec<String>,
    /// Mask e-mail addresses. Defaults to true.
    pub emails: bool,
    /// Mask Luhn-valid card numbers. Defaults to true.
    pub card_numbers: bool,
    /// Mask `Bearer …` tokens. Defaults to true.
    pub bearer_tokens: bool,
    /// Defaults to `drop`.
    pub client_ip: ClientIpRule,
}

impl Default for ScrubConfig {
    fn default() -> Self {
        ScrubConfig {
            enabled: true,
            query_params: DEFAULT_DENY.iter().map(|s| s.to_string()).collect(),
            emails: true,
            card_numbers: true,
            bearer_tokens: true,
            client_ip: ClientIpRule::Drop,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Scrubber {
    enabled: bool,
    params: ParamDenyList,
    masks: TextMasks,
    client_ip: ClientIpRule,
}

impl Scrubber {
    pub fn new(config: &ScrubConfig) -> Scrubber {
        Scrubber {
            enabled: config.enabled,
            params: ParamDenyList::new(&config.query_params),
            masks: TextMasks::new(config.emails, config.card_numbers, config.bearer_tokens),
            client_ip: config.client_ip,
        }
    }

    pub fn scrub(&self, mut batch: Batch) -> Batch {
        if !self.enabled {
            return batch;
        }
        for span in &mut batch.spans {
            self.in_place(&mut span.name);
            self.in_place(&mut span.status_message);
            self.attributes(&mut span.attributes);
            self.attributes(&mut span.resource);
            self.client_address(&mut span.attributes);
            for event in &mut span.events {
                self.in_place(&mut event.name);
                self.attributes(&mut event.attributes);
            }
            for link in &mut span.links {
                self.attributes(&mut link.attributes);
            }
        }
        for view in &mut batch.page_views {
            self.in_place(&mut view.url);
            self.in_place(&mut view.referrer);
            self.in_place(&mut view.name);
            self.attributes(&mut view.resource);
            self.attributes(&mut view.attributes);
            self.client_address(&mut view.attributes);
        }
        for event in &mut batch.events {
            self.in_place(&mut event.name);
            self.attributes(&mut event.attributes);
            self.attributes(&mut event.resource);
        }
        // An error's message and stack hold page text and URLs; its frames are parsed from
        // the scrubbed stack.
        for error in &mut batch.errors {
            self.urls_in_text(&mut error.message);
            self.urls_in_text(&mut error.stack);
            self.in_place(&mut error.message);
            self.in_place(&mut error.stack);
            if let Some(source) = &mut error.source {
                self.in_place(source);
            }
            self.attributes(&mut error.attributes);
            self.attributes(&mut error.resource);
        }
        // Attribution holds URLs (the LCP resource, scripts of long animation frames) too.
        for vital in &mut batch.vitals {
            self.attributes(&mut vital.attribution);
        }
        batch
    }

    /// URL parameters first (so `?email=a@b.c` reads `[redacted]`, not `[email]`), then masks.
    fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.params.scrub_url(text) {
            Cow::Borrowed(t) => self.masks.mask(t),
            Cow::Owned(t) => Cow::Owned(self.masks.mask(&t).into_owned()),
        }
    }

    /// The query parameters of every URL inside a longer text (an error's message, a stack's
    /// frames), keeping a frame's `:line:col` after its URL, so the stack still parses.
    fn urls_in_text(&self, target: &mut String) {
        if !target.contains("://") {
            return;
        }
        let mut out = String::with_capacity(target.len());
        let mut changed = false;
        let mut rest = target.as_str();
        while let Some(start) = rest.find("://") {
            // Back to the scheme's start, forward to the URL's end.
            let scheme_start = rest[..start]
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || "+.-".contains(*c)))
                .map_or(0, |(i, c)| i + c.len_utf8());
            let end = rest[start..]
                .find(|c: char| c.is_whitespace() || "()<>'\"`,".contains(c))
                .map_or(rest.len(), |i| start + i);
            let url = &rest[scheme_start..end];
            // `:line:col` or `:line` at the end is the frame's position, not the query's.
            let mut cut = url.len();
            for _ in 0..2 {
                match url[..cut].rfind(':') {
                    Some(i)
                        if i + 1 < cut && url[i + 1..cut].bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        cut = i
                    }
                    _ => break,
                }
            }
            out.push_str(&rest[..scheme_start]);
            match self.params.scrub_url(&url[..cut]) {
                Cow::Owned(s) => {
                    changed = true;
                    out.push_str(&s);
                }
                Cow::Borrowed(s) => out.push_str(s),
            }
            out.push_str(&url[cut..]);
            rest = &rest[end..];
        }
        out.push_str(rest);
        if changed {
            *target = out;
        }
    }

    fn in_place(&self, target: &mut String) {
        let scrubbed = match self.text(target) {
            Cow::Owned(s) => Some(s),
            Cow::Borrowed(_) => None,
        };
        if let Some(s) = scrubbed {
            *target = s;
        }
    }

    /// Every attribute but the exempt ones ([`exempt`]): the gateway's own stamps, ids, and
    /// numbers that measure something.
    fn attributes(&self, attrs: &mut Attributes) {
        for (key, value) in attrs.iter_mut() {
            if is_exempt_key(key) {
                continue;
            }
            let query = key == URL_QUERY;
            self.value(value, query, is_measure_key(key));
        }
    }

    fn value(&self, value: &mut Value, query: bool, measure: bool) {
        match value {
            Value::String(s) => {
                let scrubbed = if query {
                    match self.params.scrub_query(s) {
                        Cow::Borrowed(t) => self.masks.mask(t).into_owned(),
                        Cow::Owned(t) => self.masks.mask(&t).into_owned(),
                    }
                } else {
                    self.text(s).into_owned()
                };
                *s = scrubbed;
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v, query, measure)),
            Value::Object(map) => map.iter_mut().for_each(|(k, v)| {
                if !is_exempt_key(k) {
                    self.value(v, false, is_measure_key(k))
                }
            }),
            // A card number sent as a JSON number is masked too (and becomes a string),
            // unless its key says it is a time, count, size or id.
            Value::Number(n)
                if !measure
                    && self.masks.masks_cards()
                    && n.as_u64().is_some_and(|n| luhn_valid(&n.to_string())) =>
            {
                *value = Value::String(CARD_MASK.into());
            }
            _ => {}
        }
    }

    fn client_address(&self, attrs: &mut Attributes) {
        match self.client_ip {
            ClientIpRule::Keep => {}
            ClientIpRule::Drop => {
                attrs.remove(CLIENT_ADDRESS);
            }
            ClientIpRule::Truncate => {
                let truncated = attrs
                    .get(CLIENT_ADDRESS)
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<IpAddr>().ok())
                    .map(truncate_ip);
                // An address that does not parse cannot be truncated: drop it rather than keep it.
                match truncated {
                    Some(ip) => {
                        attrs.insert(CLIENT_ADDRESS.into(), Value::String(ip.to_string()));
                    }
                    None => {
                        attrs.remove(CLIENT_ADDRESS);
                    }
                }
            }
        }
    }
}

/// The /24 network of an IPv4 address, the /48 of an IPv6 one (an IPv4-mapped IPv6 address
/// is truncated as IPv4).
pub fn truncate_ip(ip: IpAddr) -> IpAddr {
    network(ip, 24, 48)
}

#[cfg(test)]
mod tests;
