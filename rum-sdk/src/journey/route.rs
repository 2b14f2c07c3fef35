//! A route change as an INTERNAL span named `routeChange`, like Elastic's route-change
//! transaction and Sentry's navigation span: from the history call to the moment the new
//! route's requests and DOM settle. It belongs to the view it starts, and is the child of
//! the action whose click caused it.

use super::settle::Settle;
use super::view::View;
use crate::json::Json;
use crate::trace::ids::{SpanId, TraceId};
use crate::trace::span::{SpanHead, SpanKind};

/// What changed the route, in `rum.route_change.trigger` values; JS sends the index.
pub const TRIGGERS: [&str; 4] = ["pushState", "replaceState", "popstate", "hashchange"];

pub struct RouteChange {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent: Option<SpanId>,
    pub trigger: &'static str,
    pub settle: Settle,
}

impl RouteChange {
    /// The span, ended at `end`, with the URLs of `view`, the view it started.
    pub fn write(&self, view: &View, end: f64, time_origin: f64, j: &mut Json) {
        SpanHead {
            trace_id: &self.trace_id,
            span_id: &self.span_id,
            parent: self.parent.as_ref(),
            name: b"routeChange",
            kind: SpanKind::Internal,
            start: time_origin + self.settle.start,
            end: time_origin + end,
            error: false,
        }
        .open(j);
        j.key("url.full").text(view.url.get());
        j.key("rum.route_change.previous_url")
            .text(view.referrer.get());
        j.key("rum.route_change.trigger").str(self.trigger);
        j.close(b'}').close(b'}');
    }
}
