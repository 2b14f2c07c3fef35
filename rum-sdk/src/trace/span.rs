//! A span as the SDK records it, and its beacon v1 encoding (`docs/beacon-v1.md#span`).

use alloc::string::String;
use alloc::vec::Vec;

use super::ids::{SpanId, TraceId};
use crate::json::Json;

/// OpenTelemetry's span kinds the browser produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Internal,
    Client,
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(u64),
}

/// A point in a span's life: times are unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: &'static str,
    pub time: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent: Option<SpanId>,
    pub name: String,
    pub kind: SpanKind,
    /// Unix milliseconds.
    pub start: f64,
    pub end: f64,
    pub error: bool,
    pub attrs: Vec<(&'static str, Value)>,
    /// In time order.
    pub events: Vec<Event>,
    /// Spans this one is linked to (a resource's server span).
    pub links: Vec<(TraceId, SpanId)>,
}

impl Span {
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn encode(&self, j: &mut Json) {
        j.open(b'{');
        j.key("traceId").hex(&self.trace_id.0);
        j.key("spanId").hex(&self.span_id.0);
        if let Some(parent) = &self.parent {
            j.key("parentSpanId").hex(&parent.0);
        }
        j.key("name").str(&self.name);
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
        for (key, value) in &self.attrs {
            j.key(key);
            match value {
                Value::Str(s) => j.str(s),
                Value::Int(n) => j.uint(*n),
            };
        }
        j.close(b'}');
        if !self.events.is_empty() {
            j.key("events").open(b'[');
            for e in &self.events {
                j.open(b'{')
                    .key("name")
                    .str(e.name)
                    .key("time")
                    .ms(e.time)
                    .close(b'}');
            }
            j.close(b']');
        }
        if !self.links.is_empty() {
            j.key("links").open(b'[');
            for (trace, span) in &self.links {
                j.open(b'{')
                    .key("traceId")
                    .hex(&trace.0)
                    .key("spanId")
                    .hex(&span.0)
                    .close(b'}');
            }
            j.close(b']');
        }
        j.close(b'}');
    }
}
