//! A view: the page load, or an SPA route (`history.pushState`/`replaceState` to a new
//! URL, `popstate`, `hashchange`). Every beacon carries its view's latest state
//! (`docs/beacon-v1.md`: `view`), which the gateway keeps by id: its name once
//! `rum.setView` gave one, how long it has been visible, its end once it ended, and what
//! it dropped over its caps.

use crate::json::Json;
use crate::text::Text;

/// Longest URL the SDK records (the gateway cuts at 4096 too).
pub const URL_BYTES: usize = 4096;
/// Longest view name (`rum.setView`).
pub const NAME_BYTES: usize = 256;

/// Largest `view` object: two URLs of 4096 bytes, a name, with room for some escapes.
pub const MAX_JSON_BYTES: usize = 12 * 1024;

/// What a view counts against its caps, in `view.dropped` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Action,
    Event,
    RouteChange,
    Error,
}

/// Items of each [`Counted`] kind one view keeps; more are counted in `view.dropped`.
/// (Route changes are counted per page load; errors are distinct errors.)
pub const CAPS: [u32; 4] = [200, 200, 100, crate::errors::MAX_PER_VIEW as u32];

pub struct View {
    /// 16 hex digits.
    pub id: [u8; 16],
    pub url: Text<URL_BYTES>,
    pub referrer: Text<URL_BYTES>,
    /// The navigation type of the page load, `route-change` for an SPA view.
    pub kind: Text<32>,
    pub previous: Option<[u8; 16]>,
    /// Milliseconds since the navigation's start.
    pub start: f64,
    pub name: Text<NAME_BYTES>,
    visible: f64,
    visible_since: Option<f64>,
    pub end: Option<f64>,
    kept: [u32; 4],
    dropped: [u32; 4],
}

impl View {
    pub fn new(id: &[u8], url: &[u8], referrer: &[u8], kind: &[u8], start: f64) -> Self {
        let mut view_id = [b'0'; 16];
        for (slot, b) in view_id.iter_mut().zip(id) {
            *slot = *b;
        }
        View {
            id: view_id,
            url: Text::new(url),
            referrer: Text::new(referrer),
            kind: Text::new(kind),
            previous: None,
            start,
            name: Text::default(),
            visible: 0.0,
            visible_since: None,
            end: None,
            kept: [0; 4],
            dropped: [0; 4],
        }
    }

    /// The page became visible (`true`) or hidden at `now`.
    pub fn visibility(&mut self, now: f64, visible: bool) {
        self.visible = self.visible_ms(now);
        self.visible_since = visible.then_some(now);
    }

    /// Milliseconds visible until `now`.
    pub fn visible_ms(&self, now: f64) -> f64 {
        self.visible
            + self
                .visible_since
                .map_or(0.0, |since| (now - since).max(0.0))
    }

    /// Whether one more item of `kind` fits the view's cap; `allowed` false is the
    /// session's cap speaking. Counted as dropped when not.
    pub fn admit(&mut self, kind: Counted, allowed: bool) -> bool {
        let i = kind as usize;
        let (Some(kept), Some(dropped), Some(cap)) =
            (self.kept.get_mut(i), self.dropped.get_mut(i), CAPS.get(i))
        else {
            return false;
        };
        if allowed && *kept < *cap {
            *kept += 1;
            true
        } else {
            *dropped += 1;
            false
        }
    }

    /// Whether its `view` object takes at most [`MAX_JSON_BYTES`], leaving room in a beacon
    /// for the rest (only URLs full of characters JSON escapes could make it larger).
    pub fn fits(&self) -> bool {
        let mut buf = [0u8; MAX_JSON_BYTES];
        let mut j = Json::new(&mut buf);
        self.write(0.0, 0.0, &mut j);
        !j.full
    }

    /// The `view` object of a beacon sent at `now` (ms since the navigation's start).
    pub fn write(&self, now: f64, time_origin: f64, j: &mut Json) {
        j.key("view").open(b'{');
        j.key("id").text(&self.id).key("url").text(self.url.get());
        j.key("referrer")
            .text(self.referrer.get())
            .key("type")
            .text(self.kind.get());
        j.key("start").ms(time_origin + self.start);
        if let Some(previous) = &self.previous {
            j.key("previousId").text(previous);
        }
        if !self.name.get().is_empty() {
            j.key("name").text(self.name.get());
        }
        let end = self.end.unwrap_or(now);
        j.key("visible").ms(self.visible_ms(end));
        if let Some(end) = self.end {
            j.key("end").ms(time_origin + end);
        }
        if self.dropped.iter().any(|&n| n > 0) {
            j.key("dropped").open(b'{');
            for (key, n) in ["actions", "events", "routeChanges", "errors"]
                .iter()
                .zip(self.dropped)
            {
                j.key(key).uint(n.into());
            }
            j.close(b'}');
        }
        j.close(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn written(v: &View, now: f64) -> Value {
        let mut buf = [0u8; 2048];
        let mut j = Json::new(&mut buf);
        j.open(b'{');
        v.write(now, 1_700_000_000_000.0, &mut j);
        j.close(b'}');
        serde_json::from_slice(j.bytes()).expect("a view is JSON")
    }

    #[test]
    fn counts_visible_time_and_ends() {
        let mut v = View::new(
            b"a1b2c3d4e5f60718",
            b"https://shop.example/",
            b"",
            b"navigate",
            0.0,
        );
        v.visibility(0.0, true);
        v.visibility(1000.0, false);
        v.visibility(4000.0, true);
        let w = written(&v, 4500.0);
        assert_eq!(w["view"]["visible"], 1500.0);
        assert!(w["view"].get("end").is_none());
        assert!(w["view"].get("name").is_none());
        v.end = Some(5000.0);
        v.name = Text::new(b"/product/:sku");
        let w = written(&v, 9000.0);
        assert_eq!(w["view"]["visible"], 2000.0, "visible until its end only");
        assert_eq!(w["view"]["end"], 1_700_000_005_000.0);
        assert_eq!(w["view"]["name"], "/product/:sku");
        assert_eq!(w["view"]["type"], "navigate");
    }

    #[test]
    fn caps_count_what_they_drop() {
        let mut v = View::new(b"a1b2c3d4e5f60718", b"u", b"", b"navigate", 0.0);
        for _ in 0..CAPS[0] {
            assert!(v.admit(Counted::Action, true));
        }
        assert!(!v.admit(Counted::Action, true));
        assert!(!v.admit(Counted::Event, false), "over the session's cap");
        let w = written(&v, 0.0);
        assert_eq!(w["view"]["dropped"]["actions"], 1);
        assert_eq!(w["view"]["dropped"]["events"], 1);
        assert_eq!(w["view"]["dropped"]["routeChanges"], 0);
    }
}
