//! The user's journey through the page: its views ([`view`]: the page load and each SPA
//! route), the route changes between them ([`route`]), the user's actions with the
//! requests they caused ([`action`]) and events ([`event`]). JS hands over facts as they
//! happen (a click, a history call, a DOM mutation, a request starting or ending, an
//! error) and looks in every 100 ms while something is open ([`Journey::tick`]); spans are
//! written into the batch once they are over.

pub mod action;
pub mod event;
pub mod route;
pub mod settle;
pub mod view;

use crate::batch::{Batch, ItemKind};
use action::Action;
use route::RouteChange;
use view::{Counted, View};

/// What JS reports through [`Journey::mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    Mutation,
    RequestStart,
    RequestEnd,
    Error,
}

pub struct Journey {
    pub view: View,
    /// The last action, held until its window has passed and the page settled.
    action: Option<Action>,
    route: Option<RouteChange>,
    /// Route changes this page load; over [`view::CAPS`]' they are counted, not recorded.
    routes: u32,
}

impl Journey {
    pub fn new(view: View) -> Self {
        Journey {
            view,
            action: None,
            route: None,
            routes: 0,
        }
    }

    /// A click or key press at `action.settle.start`; `same`: on the element of the last
    /// one. Returns (beacon due, merged into the last action: JS keeps that one's trace).
    pub fn action(
        &mut self,
        action: Action,
        same: bool,
        allowed: bool,
        origin: f64,
        batch: &mut Batch,
    ) -> (bool, bool) {
        let now = action.settle.start;
        if let Some(held) = &mut self.action {
            if held.click_again(now, same) {
                return (false, true);
            }
        }
        let due = self.finish_action(now, true, origin, batch);
        if self.view.admit(Counted::Action, allowed) {
            let mut action = action;
            action.view = self.view.id;
            self.action = Some(action);
        }
        (due, false)
    }

    /// The action whose window `t` is in (an error then is its error click).
    pub fn action_at(&self, t: f64) -> Option<crate::trace::ids::SpanId> {
        self.action
            .as_ref()
            .filter(|a| a.in_window(t))
            .map(|a| a.span_id)
    }

    /// A fact at `now`; `started` is a finished request's start.
    pub fn mark(&mut self, fact: Fact, now: f64, started: f64) {
        if let Some(a) = &mut self.action {
            match fact {
                Fact::Error => a.errored(now),
                _ => a.changed(now),
            }
        }
        let settles = self
            .action
            .as_mut()
            .map(|a| &mut a.settle)
            .into_iter()
            .chain(self.route.as_mut().map(|r| &mut r.settle));
        for s in settles {
            match fact {
                Fact::Mutation => s.touch(now),
                Fact::RequestStart => s.request_start(now),
                Fact::RequestEnd => s.request_end(now, started),
                Fact::Error => {}
            }
        }
    }

    /// Writes what is over at `now`. Returns (beacon due, something still open).
    pub fn tick(&mut self, now: f64, origin: f64, batch: &mut Batch) -> (bool, bool) {
        let due = self.finish_action(now, false, origin, batch)
            | self.finish_route(now, false, origin, batch);
        (due, self.action.is_some() || self.route.is_some())
    }

    /// The held action, if it is over at `now` or (`cut`) cut short by a new one.
    fn finish_action(&mut self, now: f64, cut: bool, origin: f64, batch: &mut Batch) -> bool {
        let Some(a) = &self.action else { return false };
        let end = match a.end(now) {
            Some(end) => end,
            None if cut => a.settle.end_now(now),
            None => return false,
        };
        let complete = a.window_passed(now);
        let current = self.view.id;
        let due = batch.push(ItemKind::Span, &mut |j| {
            a.write(end, complete, &current, origin, j)
        });
        self.action = None;
        due
    }

    fn finish_route(&mut self, now: f64, cut: bool, origin: f64, batch: &mut Batch) -> bool {
        let Some(r) = &self.route else { return false };
        let end = match r.settle.end(now) {
            Some(end) => end,
            None if cut => r.settle.end_now(now),
            None => return false,
        };
        let view = &self.view;
        let due = batch.push(ItemKind::Span, &mut |j| r.write(view, end, origin, j));
        self.route = None;
        due
    }

    /// The view ends at `now` (a route change away, the page hidden for good): an open
    /// route change into it ends too, so it leaves with its view.
    pub fn leave(&mut self, now: f64, origin: f64, batch: &mut Batch) -> bool {
        self.view.end = Some(now);
        self.view.visibility(now, false);
        self.finish_route(now, true, origin, batch)
    }

    /// The page hid or unloads at `now`: what is open is written now, as it is (a hidden page
    /// may never run again).
    pub fn cut(&mut self, now: f64, origin: f64, batch: &mut Batch) -> bool {
        self.finish_action(now, true, origin, batch) | self.finish_route(now, true, origin, batch)
    }

    /// Whether one more route change may be recorded this page load (counted when not).
    pub fn admit_route(&mut self, allowed: bool) -> bool {
        let ok = allowed && self.routes < view::CAPS[Counted::RouteChange as usize];
        if ok {
            self.routes += 1;
        } else {
            self.view.admit(Counted::RouteChange, false);
        }
        ok
    }

    /// A new view begins: `route` is the route change into it (none for a session's
    /// renewal). A click's window sees the navigation as the page's response.
    pub fn enter(&mut self, view: View, route: Option<RouteChange>) {
        let now = view.start;
        self.view = view;
        if let Some(a) = &mut self.action {
            a.changed(now);
        }
        self.route = route;
    }
}

#[cfg(test)]
mod tests;
