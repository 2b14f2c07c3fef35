//! A span written straight into its beacon v1 form (`docs/beacon-v1.md#span`): the records
//! are never built as Rust structures first, which keeps allocation and drop code out of the
//! download. The host tests read the JSON back.

use super::ids::{SpanId, TraceId};
use crate::json::Json;

/// OpenTelemetry's span kinds the browser produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Internal,
    Client,
}

/// What every span has. Times are unix milliseconds.
pub struct SpanHead<'a> {
    pub trace_id: &'a TraceId,
    pub span_id: &'a SpanId,
    pub parent: Option<&'a SpanId>,
    pub name: &'a [u8],
    pub kind: SpanKind,
    pub start: f64,
    pub end: f64,
    pub error: bool,
}

impl SpanHead<'_> {
    /// Opens the span and its attributes: write them with `key(..)` and values, close the
    /// attributes' object, add events or links, and close the span's.
    pub fn open(&self, j: &mut Json) {
        j.open(b'{');
        j.key("traceId").text(&self.trace_id.0);
        j.key("spanId").text(&self.span_id.0);
        if let Some(parent) = self.parent {
            j.key("parentSpanId").text(&parent.0);
        }
        j.key("name").text(self.name);
        j.key("kind").str(match self.kind {
            SpanKind::Internal => "internal",
            SpanKind::Client => "client",
        });
        j.key("start").ms(self.start);
        j.key("end").ms(self.end.max(self.start));
        if self.error {
            j.key("status").str("error");
        }
        j.key("attrs").open(b'{');
    }
}

/// One span link.
pub fn link(j: &mut Json, trace_id: &TraceId, span_id: &SpanId) {
    j.key("links").open(b'[').open(b'{');
    j.key("traceId")
        .text(&trace_id.0)
        .key("spanId")
        .text(&span_id.0);
    j.close(b'}').close(b']');
}
