//! Beacon wire format v1 (`docs/beacon-v1.md`, `docs/beacon-v1.schema.json`), written here
//! and nowhere else: what the page view says about itself (the [`Envelope`]), spans and vital
//! reports as items, and a beacon from an envelope and items. The gateway's tests read what
//! this writes (`tests/` at the workspace root), so a change that breaks either side fails
//! `cargo test`.

use crate::batch::ItemKind;
use crate::json::Json;
use crate::vitals::{MetricName, Report};

/// The wire format's version.
pub const VERSION: u64 = 1;
/// Largest attribution of one vital, as JSON; larger is sent as `{"truncated":true}`, as the
/// gateway would store it.
pub const MAX_ATTRIBUTION_BYTES: usize = 16 * 1024;

/// What every beacon of the page says the same: its resource and context (the session,
/// view and user, which change, are the recorder's). Strings are the bytes JS wrote (or
/// Rust literals); empty and 0 mean absent.
#[derive(Default)]
pub struct Envelope<'a> {
    /// `service.name`, `service.version`, `deployment.environment.name`.
    pub service: [&'a [u8]; 3],
    pub sdk_version: &'a str,
    /// What the browser tells about itself (`docs/beacon-v1.md#context`): screen width and
    /// height, viewport width and height.
    pub screen: [u32; 4],
    pub effective_type: &'a [u8],
    pub language: &'a [u8],
    pub mobile: Option<bool>,
}

impl Envelope<'_> {
    /// `"resource":{…},"context":{…}`, written once per page into `buf`: each beacon is
    /// `{"v":1,"sentAt":…,` + these + session, view and user + its items. Their length; 0
    /// if `buf` is too small.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        let mut j = Json::new(buf);
        j.key("resource").open(b'{');
        let [name, version, environment] = self.service;
        j.key("service.name").text(if name.is_empty() {
            b"unknown_service"
        } else {
            name
        });
        for (key, value) in [
            ("service.version", version),
            ("deployment.environment.name", environment),
        ] {
            if !value.is_empty() {
                j.key(key).text(value);
            }
        }
        j.key("telemetry.sdk.name").str("rum-sdk");
        j.key("telemetry.sdk.language").str("webjs");
        j.key("telemetry.sdk.version").str(self.sdk_version);
        j.close(b'}');
        j.key("context").open(b'{');
        let [sw, sh, vw, vh] = self.screen;
        for (key, w, h) in [("screen", sw, sh), ("viewport", vw, vh)] {
            if w > 0 || h > 0 {
                j.key(key)
                    .open(b'{')
                    .key("width")
                    .uint(w.into())
                    .key("height")
                    .uint(h.into())
                    .close(b'}');
            }
        }
        if is_tag(self.effective_type) {
            j.key("connection")
                .open(b'{')
                .key("effectiveType")
                .text(self.effective_type)
                .close(b'}');
        }
        if is_tag(self.language) {
            j.key("language").text(self.language);
        }
        if let Some(mobile) = self.mobile {
            j.key("mobile").bool(mobile);
        }
        j.close(b'}');
        if j.full {
            0
        } else {
            j.len()
        }
    }
}

/// The context's strings are 1–35 of `[A-Za-z0-9-]` (a BCP 47 tag, an effective type).
fn is_tag(s: &[u8]) -> bool {
    (1..=35).contains(&s.len()) && s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

/// A vital report as a beacon item: web-vitals' `Metric` fields. `generation` counts
/// back/forward-cache restores (0 for the page load); `attribution` is the JSON object
/// `js/src/attribution.js` made, or empty.
pub fn vital(
    j: &mut Json,
    report: &Report,
    generation: u32,
    view_id: &[u8],
    navigation_type: &[u8],
    attribution: &[u8],
) {
    let name = report.name.as_str();
    // CLS is a unitless score (to 1e-9), the rest milliseconds.
    let places = if report.name == MetricName::Cls { 9 } else { 3 };
    j.open(b'{').key("name").str(name);
    j.key("value")
        .fixed(report.value, places)
        .key("delta")
        .fixed(report.delta, places);
    // `v1-{view}-{name}{generation}`: unique per metric instance, as web-vitals' ids are.
    j.key("id")
        .text_number(&[b"v1-", view_id, b"-", name.as_bytes()], generation.into());
    j.key("rating").str(report.rating.as_str());
    j.key("nav").text(if generation > 0 {
        b"back-forward-cache"
    } else {
        navigation_type
    });
    if attribution.len() > MAX_ATTRIBUTION_BYTES {
        j.key("attr").raw(b"{\"truncated\":true}");
    } else if attribution.first() == Some(&b'{') {
        j.key("attr").raw(attribution);
    }
    j.close(b'}');
}

/// Room the closing of a beacon takes: `,"spans":[` … `],"vitals":[` … `],"events":[],"errors":[]}`.
const CLOSING: usize = 48;

/// Writes into `out` one beacon of the items (from the front, in order) that fit in it,
/// and returns how many it holds and its length; 0 items when even the first does not fit
/// (the caller drops it); with no items at all, a beacon of the envelope alone (a view's
/// update). `envelope` writes the envelope's fields; `items` the kind and length of each
/// item, which lie back to back in `arena`.
pub fn write(
    envelope: &mut dyn FnMut(&mut Json),
    sent_at: f64,
    items: &[(ItemKind, usize)],
    arena: &[u8],
    out: &mut [u8],
) -> (usize, usize) {
    let mut j = Json::new(out);
    j.open(b'{')
        .key("v")
        .uint(VERSION)
        .key("sentAt")
        .ms(sent_at);
    envelope(&mut j);
    let mut size = j.len() + CLOSING;
    let mut n = 0;
    for (_, len) in items {
        if size + len + 1 > crate::batch::MAX_BYTES {
            break;
        }
        size += len + 1;
        n += 1;
    }
    if n == 0 && !items.is_empty() {
        return (0, 0);
    }
    for (kind, key) in [
        (ItemKind::Span, "spans"),
        (ItemKind::Vital, "vitals"),
        (ItemKind::Event, "events"),
        (ItemKind::Error, "errors"),
    ] {
        // Only the arrays that have items: an empty one is bytes for nothing.
        if !items.iter().take(n).any(|&(k, _)| k == kind) {
            continue;
        }
        j.key(key).open(b'[');
        let mut at = 0;
        for &(k, len) in items.iter().take(n) {
            if k == kind {
                j.raw(arena.get(at..at + len).unwrap_or_default());
            }
            at += len;
        }
        j.close(b']');
    }
    j.close(b'}');
    if j.full {
        return (0, 0);
    }
    (n, j.len())
}
