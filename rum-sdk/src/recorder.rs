//! What one page records, between the browser's facts coming in ([`crate::bindings`]) and
//! beacons going out: spans, vitals and events are written as beacon items when they
//! happen and wait in the [`Batch`]. The envelope of each beacon is written when it
//! leaves: the page's resource and context (encoded once), the session, the current view's
//! latest state, and the user and global attributes.
//!
//! A change of session, view or user applies to what follows: JS sends what is queued
//! first ([`Recorder::leave`] before a route change), so each beacon's envelope is true of
//! all its items.

use crate::batch::{Batch, ItemKind};
use crate::beacon::{self, Envelope};
use crate::errors::{Errors, PageError};
use crate::journey::action::Action;
use crate::journey::route::RouteChange;
use crate::journey::view::{Counted, View};
use crate::journey::{event, Fact, Journey};
use crate::json::Json;
use crate::trace::document_load::{Navigation, PageLoad, Resource};
use crate::trace::http::HttpCall;
use crate::trace::ids::IdGenerator;
use crate::vitals::Report;

/// Room for the resource and context: names of at most 256 bytes, escaped.
pub const ENVELOPE_BYTES: usize = 4 * 1024;
/// Room for `"user":{"id":…},"attrs":{…}`.
pub const USER_BYTES: usize = 6 * 1024;

pub struct Recorder<'a> {
    /// [`Envelope::encode`]'s bytes.
    envelope: [u8; ENVELOPE_BYTES],
    envelope_len: usize,
    session_id: [u8; 32],
    /// False while the session is not sampled: nothing is recorded.
    recording: bool,
    user: [u8; USER_BYTES],
    user_len: usize,
    pub journey: Journey,
    /// The current view's errors, for de-duplication.
    errors: Errors,
    /// Whether the view has news for the gateway even with nothing queued.
    update: bool,
    time_origin: f64,
    batch: Batch<'a>,
    ids: IdGenerator,
    page_load: Option<PageLoad>,
    /// True once the page load was recorded: once per page.
    page_load_done: bool,
}

impl<'a> Recorder<'a> {
    /// `view`: the page load's; `seed`: random bits from `crypto.getRandomValues`, for the
    /// ids the wasm mints; `arena`: the batch's bytes ([`crate::batch::QUEUE_BYTES`] in the
    /// wasm).
    pub fn new(
        envelope: &Envelope,
        session_id: &[u8],
        view: View,
        time_origin: f64,
        seed: u64,
        arena: &'a mut [u8],
    ) -> Self {
        let mut r = Recorder {
            envelope: [0; ENVELOPE_BYTES],
            envelope_len: 0,
            session_id: [b'0'; 32],
            recording: true,
            user: [0; USER_BYTES],
            user_len: 0,
            journey: Journey::new(view),
            errors: Errors::default(),
            update: false,
            time_origin,
            batch: Batch::new(arena),
            ids: IdGenerator::new(seed),
            page_load: None,
            page_load_done: false,
        };
        r.envelope_len = envelope.encode(&mut r.envelope);
        r.session(session_id, true);
        r
    }

    /// Whether the envelope fit its buffer ([`ENVELOPE_BYTES`]) and the view its room
    /// ([`View::fits`]); without them, beacons would be refused.
    pub fn has_envelope(&self) -> bool {
        self.envelope_len > 0 && self.journey.view.fits()
    }

    /// The session from now on (32 hex digits), and whether it is sampled.
    pub fn session(&mut self, id: &[u8], sampled: bool) {
        for (slot, b) in self.session_id.iter_mut().zip(id) {
            *slot = *b;
        }
        self.recording = sampled;
    }

    /// `user.id` (empty: none) and the global attributes (a JSON object JS wrote, or empty)
    /// from now on. False if they do not fit (then there are none).
    pub fn user(&mut self, id: &[u8], attrs: &[u8]) -> bool {
        let mut j = Json::new(&mut self.user);
        if !id.is_empty() {
            j.key("user").open(b'{').key("id").text(id).close(b'}');
        }
        if attrs.first() == Some(&b'{') {
            j.key("attrs").raw(attrs);
        }
        let fits = !j.full;
        self.user_len = if fits { j.len() } else { 0 };
        fits
    }

    fn push(&mut self, kind: ItemKind, write: &mut dyn FnMut(&mut Json)) -> bool {
        self.recording && self.batch.push(kind, write)
    }

    /// A fetch or XHR call; true when a beacon is due.
    pub fn http(&mut self, call: &HttpCall) -> bool {
        let origin = self.time_origin;
        self.push(ItemKind::Span, &mut |j| call.write(origin, j))
    }

    /// A vital report with its attribution JSON; true when a beacon is due. It belongs to
    /// the current view (`nav`: its type).
    pub fn vital(&mut self, report: &Report, generation: u32, attribution: &[u8]) -> bool {
        let view = &self.journey.view;
        let (id, nav) = (view.id, view.kind);
        self.push(ItemKind::Vital, &mut |j| {
            beacon::vital(j, report, generation, &id, nav.get(), attribution)
        })
    }

    /// An event at `now` (ms since the navigation's start); `allowed` false when the
    /// session's cap is reached. True when a beacon is due.
    pub fn event(&mut self, now: f64, name: &[u8], attrs: &[u8], allowed: bool) -> bool {
        if !self.recording || !self.journey.view.admit(Counted::Event, allowed) {
            return false;
        }
        let time = self.time_origin + now;
        self.push(ItemKind::Event, &mut |j| event::write(j, name, time, attrs))
    }

    /// An error (see [`crate::errors`]); `allowed` false when the session's cap is reached.
    /// True when a beacon is due.
    pub fn error(&mut self, e: &PageError, allowed: bool) -> bool {
        if !self.recording {
            return false;
        }
        self.journey.mark(Fact::Error, e.time, 0.0);
        if self.errors.seen_again(e) || !self.journey.view.admit(Counted::Error, allowed) {
            return false;
        }
        let origin = self.time_origin;
        self.errors
            .record(e, &mut self.ids, origin, &mut self.batch)
    }

    /// A click or key press (see [`Journey::action`]).
    pub fn action(&mut self, action: Action, same: bool, allowed: bool) -> (bool, bool) {
        if !self.recording {
            return (false, false);
        }
        let origin = self.time_origin;
        self.journey
            .action(action, same, allowed, origin, &mut self.batch)
    }

    /// A DOM mutation, request or error at `now`.
    pub fn mark(&mut self, fact: Fact, now: f64, started: f64) {
        self.journey.mark(fact, now, started);
    }

    /// Writes what is over at `now`: (beacon due, something still open).
    pub fn tick(&mut self, now: f64) -> (bool, bool) {
        if !self.recording {
            return (false, false);
        }
        let origin = self.time_origin;
        self.journey.tick(now, origin, &mut self.batch)
    }

    /// The current view ends at `now`: its last beacons carry its end. True (a beacon is
    /// due) always: JS sends them before the next view begins.
    pub fn leave(&mut self, now: f64) -> bool {
        let origin = self.time_origin;
        self.journey.leave(now, origin, &mut self.batch);
        self.update = true;
        true
    }

    /// The page became visible or hidden at `now`: the view's visible time. A hidden page
    /// writes its open action and route change as they are, and sends the view's update.
    pub fn visibility(&mut self, now: f64, visible: bool) {
        self.journey.view.visibility(now, visible);
        if !visible && self.recording {
            let origin = self.time_origin;
            self.journey.cut(now, origin, &mut self.batch);
            self.update = true;
        }
    }

    /// Whether one more route change may be recorded ([`Journey::admit_route`]).
    pub fn admit_route(&mut self, allowed: bool) -> bool {
        self.journey.admit_route(allowed)
    }

    /// A new view begins, with the route change into it; its errors are counted afresh.
    pub fn enter(&mut self, view: View, route: Option<RouteChange>) {
        self.journey.enter(view, route);
        self.errors = Errors::default();
        self.batch.new_view();
    }

    /// The navigation entry, complete (`last` false), before its resources; then again
    /// (`last` true) after them, which records `documentLoad` and `documentFetch`. Once per
    /// page. True when a beacon is due.
    pub fn navigation(&mut self, nav: &Navigation, last: bool) -> bool {
        if self.page_load_done || !self.recording {
            return false;
        }
        if !last {
            self.page_load = Some(PageLoad::start(nav, &mut self.ids));
            return false;
        }
        self.page_load_done = true;
        match self.page_load.take() {
            Some(load) => load.finish(nav, self.time_origin, &mut self.ids, &mut self.batch),
            None => false,
        }
    }

    /// A resource timing entry, between the two [`Recorder::navigation`] calls. True when
    /// a beacon is due.
    pub fn resource(&mut self, resource: &Resource) -> bool {
        match &mut self.page_load {
            Some(load) => load.resource(resource, self.time_origin, &mut self.ids, &mut self.batch),
            None => false,
        }
    }

    /// Writes the next beacon into `out` ([`crate::batch::MAX_BYTES`]); its length, 0 when
    /// nothing is queued and the view has no news. `sent_at` is unix ms.
    pub fn next_beacon(&mut self, sent_at: f64, out: &mut [u8]) -> usize {
        if !self.recording {
            return 0;
        }
        self.errors.updates(self.time_origin, &mut self.batch);
        let envelope = self.envelope.get(..self.envelope_len).unwrap_or_default();
        let user = self.user.get(..self.user_len).unwrap_or_default();
        let (session, view, origin) = (&self.session_id, &self.journey.view, self.time_origin);
        let now = sent_at - origin;
        let update = core::mem::take(&mut self.update);
        self.batch.next_beacon(
            &mut |j| {
                j.raw(envelope);
                j.key("session")
                    .open(b'{')
                    .key("id")
                    .text(session)
                    .close(b'}');
                view.write(now, origin, j);
                if !user.is_empty() {
                    j.raw(user);
                }
            },
            sent_at,
            out,
            update,
        )
    }

    /// Items dropped: over the span cap, or no room.
    pub fn dropped(&self) -> u32 {
        self.batch.dropped
    }
}
