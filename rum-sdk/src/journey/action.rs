//! A user action: a click, or Enter or Space on a focused control, and what it caused, as
//! an INTERNAL span whose children are the fetch and XHR calls its handlers started (the
//! wrapper in `js/src/fetch.js` gives them the action's trace). It ends when its requests
//! and the DOM settle ([`super::settle`]).
//!
//! Frustration signals, as Datadog defines them, within [`WINDOW_MS`] of the click:
//! * rage click: [`RAGE_CLICKS`] or more clicks on the same element, each within 1 s of
//!   the one before; they are one action, its `rum.action.click_count` the clicks;
//! * dead click: a click on an interactive element followed by no DOM change, request or
//!   route change;
//! * error click: an error.
//!
//! The record waits until its window has passed, so it is written once, complete.

use super::settle::Settle;
use crate::json::Json;
use crate::text::Text;
use crate::trace::ids::{SpanId, TraceId};
use crate::trace::span::{SpanHead, SpanKind};

pub const WINDOW_MS: f64 = 1000.0;
pub const RAGE_CLICKS: u32 = 3;
/// Longest action name (JS cuts the text at 100 characters).
pub const NAME_BYTES: usize = 400;
/// Longest target selector.
pub const TARGET_BYTES: usize = 256;

/// How the action was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionType {
    Click,
    Key,
}

pub struct Action {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub kind: ActionType,
    pub name: Text<NAME_BYTES>,
    pub target: Text<TARGET_BYTES>,
    /// A link, button or other control, which should visibly respond.
    pub interactive: bool,
    pub settle: Settle,
    /// The view it happened in (16 hex digits), set when it is recorded.
    pub view: [u8; 16],
    clicks: u32,
    last_click: f64,
    changed: bool,
    errored: bool,
}

impl Action {
    pub fn new(
        trace_id: TraceId,
        span_id: SpanId,
        kind: ActionType,
        now: f64,
        name: &[u8],
        target: &[u8],
        interactive: bool,
    ) -> Self {
        Action {
            trace_id,
            span_id,
            kind,
            name: Text::new(name),
            target: Text::new(target),
            interactive,
            settle: Settle::new(now),
            view: [0; 16],
            clicks: 1,
            last_click: now,
            changed: false,
            errored: false,
        }
    }

    /// Another click at `now`, on the same element (`same`): true when it is part of this
    /// action (counted), false when it starts a new one.
    pub fn click_again(&mut self, now: f64, same: bool) -> bool {
        let merged = same && now - self.last_click <= WINDOW_MS;
        if merged {
            self.clicks += 1;
            self.last_click = now;
        }
        merged
    }

    /// Whether `t` is within its frustration window.
    pub fn in_window(&self, t: f64) -> bool {
        t >= self.settle.start && t - self.last_click <= WINDOW_MS
    }

    /// The page visibly responded at `t`: a DOM change, a request or a route change.
    pub fn changed(&mut self, t: f64) {
        self.changed |= self.in_window(t);
    }

    /// An error at `t`.
    pub fn errored(&mut self, t: f64) {
        self.errored |= self.in_window(t);
    }

    /// Its end time, once it has settled and its frustration window has passed.
    pub fn end(&self, now: f64) -> Option<f64> {
        if !self.window_passed(now) {
            return None;
        }
        self.settle.end(now)
    }

    /// Whether its frustration window has passed at `now`.
    pub fn window_passed(&self, now: f64) -> bool {
        now - self.last_click >= WINDOW_MS
    }

    /// The frustration signals, as `rum.action.frustration.type` values. `complete`: its
    /// window has passed; an action cut short (the page hid or unloaded) is no dead click,
    /// since the page may yet have responded.
    pub fn frustration(&self, complete: bool) -> [Option<&'static str>; 3] {
        [
            (self.clicks >= RAGE_CLICKS).then_some("rage_click"),
            (complete && self.interactive && !self.changed).then_some("dead_click"),
            self.errored.then_some("error_click"),
        ]
    }

    /// The span, ended at `end`, named `{type} {name}`; times made absolute by
    /// `time_origin`; `complete` as for [`Action::frustration`]. Written after a route
    /// change (`current`: the view now), it names its own view (`rum.page_view.id`).
    pub fn write(
        &self,
        end: f64,
        complete: bool,
        current: &[u8; 16],
        time_origin: f64,
        j: &mut Json,
    ) {
        let kind = match self.kind {
            ActionType::Click => "click",
            ActionType::Key => "key",
        };
        let mut name = Text::<{ NAME_BYTES + 8 }>::new(kind.as_bytes());
        name.push(b" ");
        name.push(self.name.get());
        SpanHead {
            trace_id: &self.trace_id,
            span_id: &self.span_id,
            parent: None,
            name: name.get(),
            kind: SpanKind::Internal,
            start: time_origin + self.settle.start,
            end: time_origin + end,
            error: false,
        }
        .open(j);
        j.key("rum.action.type").str(kind);
        j.key("rum.action.name").text(self.name.get());
        j.key("rum.action.target").text(self.target.get());
        j.key("rum.action.click_count").uint(self.clicks.into());
        if self.view != *current {
            j.key("rum.page_view.id").text(&self.view);
        }
        let signals = self.frustration(complete);
        if signals.iter().any(Option::is_some) {
            j.key("rum.action.frustration.type").open(b'[');
            for signal in signals.into_iter().flatten() {
                j.str(signal);
            }
            j.close(b']');
        }
        j.close(b'}').close(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn click(now: f64, interactive: bool) -> Action {
        Action::new(
            TraceId(*b"0af7651916cd43dd8448eb211c80319c"),
            SpanId(*b"b7ad6b7169203331"),
            ActionType::Click,
            now,
            b"Add to cart",
            b"button#add",
            interactive,
        )
    }

    fn written(a: &Action, end: f64) -> Value {
        let mut buf = [0u8; 2048];
        let mut j = Json::new(&mut buf);
        a.write(end, true, &[0; 16], 1_700_000_000_000.0, &mut j);
        serde_json::from_slice(j.bytes()).expect("an action is JSON")
    }

    /// The signals of a click at 0 followed by `events` (time, what), looked at 2 s later.
    fn signals(interactive: bool, events: &[(f64, &str)]) -> Vec<&'static str> {
        let mut a = click(0.0, interactive);
        for &(t, what) in events {
            match what {
                "click" => assert!(a.click_again(t, true)),
                "mutation" => {
                    a.settle.touch(t);
                    a.changed(t);
                }
                "error" => a.errored(t),
                _ => unreachable!(),
            }
        }
        assert!(a.end(5000.0).is_some());
        a.frustration(true).into_iter().flatten().collect()
    }

    #[test]
    fn a_click_that_changes_the_page_is_not_frustrated() {
        assert!(signals(true, &[(120.0, "mutation")]).is_empty());
    }

    #[test]
    fn an_interactive_element_that_does_nothing_is_a_dead_click() {
        assert_eq!(signals(true, &[]), ["dead_click"]);
        assert_eq!(
            signals(true, &[(1500.0, "mutation")]),
            ["dead_click"],
            "a change after the 1 s window does not count"
        );
        assert!(
            signals(false, &[]).is_empty(),
            "plain text that does nothing is no dead click"
        );
    }

    #[test]
    fn three_clicks_on_one_element_within_a_second_each_are_a_rage_click() {
        assert!(signals(false, &[(300.0, "click")]).is_empty());
        assert_eq!(
            signals(false, &[(300.0, "click"), (900.0, "click")]),
            ["rage_click"]
        );
        let mut a = click(0.0, false);
        assert!(a.click_again(400.0, true));
        assert!(!a.click_again(1500.0, true), "over a second after the last");
        assert!(!a.click_again(1600.0, false), "another element");
    }

    #[test]
    fn an_error_within_a_second_is_an_error_click() {
        assert_eq!(
            signals(false, &[(200.0, "mutation"), (800.0, "error")]),
            ["error_click"]
        );
        assert!(signals(false, &[(200.0, "mutation"), (1200.0, "error")]).is_empty());
        assert_eq!(
            signals(
                true,
                &[(100.0, "click"), (200.0, "click"), (300.0, "error")]
            ),
            ["rage_click", "dead_click", "error_click"]
        );
    }

    #[test]
    fn cut_short_before_its_window_passed_it_is_no_dead_click() {
        let mut a = click(0.0, true);
        assert!(!a.window_passed(300.0));
        assert!(a.frustration(false).iter().all(Option::is_none));
        a.click_again(100.0, true);
        a.click_again(200.0, true);
        assert_eq!(a.frustration(false), [Some("rage_click"), None, None]);
    }

    #[test]
    fn waits_for_its_window_and_for_the_page_to_settle() {
        let mut a = click(0.0, true);
        a.settle.request_start(10.0);
        a.changed(10.0);
        assert_eq!(a.end(999.0), None, "within the frustration window");
        assert_eq!(a.end(1000.0), None, "the request is pending");
        a.settle.request_end(1200.0, 10.0);
        assert_eq!(a.end(1300.0), Some(1200.0));
    }

    #[test]
    fn the_span_names_the_action_and_lists_its_signals() {
        let mut a = click(100.0, true);
        a.click_again(200.0, true);
        a.click_again(300.0, true);
        let s = written(&a, 400.0);
        assert_eq!(s["name"], "click Add to cart");
        assert_eq!(s["kind"], "internal");
        assert_eq!(s["start"], 1_700_000_000_100.0);
        assert_eq!(s["end"], 1_700_000_000_400.0);
        assert_eq!(s["attrs"]["rum.action.type"], "click");
        assert_eq!(s["attrs"]["rum.action.name"], "Add to cart");
        assert_eq!(s["attrs"]["rum.action.target"], "button#add");
        assert_eq!(s["attrs"]["rum.action.click_count"], 3);
        assert_eq!(
            s["attrs"]["rum.action.frustration.type"],
            serde_json::json!(["rage_click", "dead_click"])
        );
        a.changed(350.0);
        let calm = written(&click(0.0, false), 50.0);
        assert!(calm["attrs"].get("rum.action.frustration.type").is_none());
    }
}
