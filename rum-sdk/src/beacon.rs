//! Beacon wire format v1 (`docs/beacon-v1.md`, `docs/beacon-v1.schema.json`), written here
//! and nowhere else: what the page view says about itself (the [`Envelope`]), spans and vital
//! reports as items, and a beacon from an envelope and items. The gateway's tests read what
//! this writes (`tests/` at the workspace root), so a change that breaks either side fails
//! `cargo test`.

use alloc::string::String;
use alloc::vec::Vec;

use crate::json::Json;
use crate::vitals::{MetricName, Report};

/// The wire format's version.
pub const VERSION: u64 = 1;
/// Largest attribution of one vital, as JSON; larger is sent as `{"truncated":true}`, as the
/// gateway would store it.
pub const MAX_ATTRIBUTION_BYTES: usize = 16 * 1024;

/// OpenTelemetry resource attributes of the app.
#[derive(Debug, Clone, Default)]
pub struct Service {
    pub name: String,
    pub version: String,
    pub environment: String,
}

/// The page view a beacon belongs to.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// 16 hex digits.
    pub id: String,
    pub url: String,
    pub referrer: String,
    /// web-vitals' `navigationType`.
    pub navigation_type: String,
    /// `performance.timeOrigin`, unix ms.
    pub start: f64,
}

/// What the browser tells about itself (`docs/beacon-v1.md#context`); 0 and empty are absent.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub screen: (u32, u32),
    pub viewport: (u32, u32),
    pub effective_type: String,
    pub language: String,
    pub mobile: Option<bool>,
}

/// Everything but the items: the same for every beacon of a page view.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub service: Service,
    pub sdk_version: &'static str,
    /// 32 hex digits.
    pub session_id: String,
    pub view: View,
    pub context: Context,
}

impl Envelope {
    /// The beacon's opening, up to where the items start.
    fn open(&self, j: &mut Json, sent_at: f64) {
        j.open(b'{')
            .key("v")
            .uint(VERSION)
            .key("sentAt")
            .ms(sent_at);
        j.key("resource").open(b'{');
        let s = &self.service;
        j.key("service.name").str(if s.name.is_empty() {
            "unknown_service"
        } else {
            &s.name
        });
        if !s.version.is_empty() {
            j.key("service.version").str(&s.version);
        }
        if !s.environment.is_empty() {
            j.key("deployment.environment.name").str(&s.environment);
        }
        j.key("telemetry.sdk.name").str("rum-sdk");
        j.key("telemetry.sdk.language").str("webjs");
        j.key("telemetry.sdk.version").str(self.sdk_version);
        j.close(b'}');
        j.key("session")
            .open(b'{')
            .key("id")
            .str(&self.session_id)
            .close(b'}');
        let v = &self.view;
        j.key("view")
            .open(b'{')
            .key("id")
            .str(&v.id)
            .key("url")
            .str(&v.url);
        j.key("referrer")
            .str(&v.referrer)
            .key("type")
            .str(&v.navigation_type);
        j.key("start").ms(v.start).close(b'}');
        let c = &self.context;
        j.key("context").open(b'{');
        for (key, (w, h)) in [("screen", c.screen), ("viewport", c.viewport)] {
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
        if is_tag(&c.effective_type) {
            j.key("connection")
                .open(b'{')
                .key("effectiveType")
                .str(&c.effective_type)
                .close(b'}');
        }
        if is_tag(&c.language) {
            j.key("language").str(&c.language);
        }
        if let Some(mobile) = c.mobile {
            j.key("mobile").bool(mobile);
        }
        j.close(b'}');
    }
}

/// The context's strings are 1–35 of `[A-Za-z0-9-]` (a BCP 47 tag, an effective type).
fn is_tag(s: &str) -> bool {
    (1..=35).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A vital report as a beacon item: web-vitals' `Metric` fields. `generation` counts
/// back/forward-cache restores (0 for the page load); `attribution` is the JSON object
/// `js/src/attribution.js` made, or empty.
pub fn vital(report: &Report, generation: u32, view: &View, attribution: &[u8]) -> Vec<u8> {
    let mut j = Json::new();
    let name = report.name.as_str();
    // CLS is a unitless score (to 1e-9), the rest milliseconds.
    let places = if report.name == MetricName::Cls { 9 } else { 3 };
    j.open(b'{').key("name").str(name);
    j.key("value")
        .fixed(report.value, places)
        .key("delta")
        .fixed(report.delta, places);
    // `v1-{view}-{name}{generation}`: unique per metric instance, as web-vitals' ids are.
    let mut id = String::from("v1-");
    id.push_str(&view.id);
    id.push('-');
    id.push_str(name);
    id.push_str(&crate::json::decimal(generation.into()));
    j.key("id")
        .str(&id)
        .key("rating")
        .str(report.rating.as_str());
    j.key("nav").str(if generation > 0 {
        "back-forward-cache"
    } else {
        &view.navigation_type
    });
    if attribution.len() > MAX_ATTRIBUTION_BYTES {
        j.key("attr").raw(b"{\"truncated\":true}");
    } else if attribution.first() == Some(&b'{') {
        j.key("attr").raw(attribution);
    }
    j.close(b'}');
    j.bytes
}

/// Which array of the beacon an item goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Span,
    Vital,
}

/// Room the closing of a beacon takes: `,"spans":[` … `],"vitals":[` … `]}`.
const CLOSING: usize = 24;

/// Writes one beacon of `items` (taken from the front, in order) no larger than `max_bytes`,
/// and returns how many it holds; 0 when even the first item does not fit (the caller
/// drops it).
pub fn write(
    env: &Envelope,
    sent_at: f64,
    items: &[(ItemKind, Vec<u8>)],
    max_bytes: usize,
    out: &mut Vec<u8>,
) -> usize {
    let mut j = Json::new();
    env.open(&mut j, sent_at);
    let mut size = j.bytes.len() + CLOSING;
    let mut n = 0;
    for (_, item) in items {
        if size + item.len() + 1 > max_bytes {
            break;
        }
        size += item.len() + 1;
        n += 1;
    }
    if n == 0 {
        return 0;
    }
    for kind in [ItemKind::Span, ItemKind::Vital] {
        j.key(if kind == ItemKind::Span {
            "spans"
        } else {
            "vitals"
        })
        .open(b'[');
        for (_, item) in items.iter().take(n).filter(|(k, _)| *k == kind) {
            j.raw(item);
        }
        j.close(b']');
    }
    j.close(b'}');
    *out = j.bytes;
    n
}
