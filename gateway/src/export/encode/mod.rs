//! The one mapping from the gateway's model to OTLP protobuf, for export: spans grouped by
//! resource into `ResourceSpans`, page views, web vitals and browser events as OpenTelemetry events (log
//! records with an `event_name`), vitals as histograms. The names are documented in
//! `docs/export.md`. [`Encoder`] runs on the request's task, before the store's writer, which
//! only appends the bytes to its outbox.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as trace;
use serde_json::Value;

use crate::model::attr::{
    is_gateway_owned, EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE, EXCEPTION_TYPE, PAGE_VIEW_ID,
    SESSION_ID,
};
use crate::model::{
    Attributes, Batch, BrowserError, BrowserEvent, ExportPayload, Frame, PageView, Span, SpanKind,
    StatusCode, Vital,
};
use crate::outcome::Signal;

mod metrics;
pub use metrics::metrics_request;

/// Encodes a batch into the export requests the outbox queues: its spans to `/v1/traces`
/// always, its page views, vitals and browser events to `/v1/logs` and its vitals to `/v1/metrics` when
/// `export.logs` and `export.metrics` say so.
#[derive(Debug, Clone, Copy)]
pub struct Encoder {
    pub logs: bool,
    pub metrics: bool,
}

impl Encoder {
    pub fn encode(&self, batch: &Batch, received_unix_nano: i64) -> Vec<ExportPayload> {
        let mut payloads = Vec::new();
        if !batch.spans.is_empty() {
            payloads.push(ExportPayload {
                signal: Signal::Traces,
                items: batch.spans.len(),
                bytes: prost::Message::encode_to_vec(&trace_request(&batch.spans)),
            });
        }
        let log_records =
            batch.page_views.len() + batch.vitals.len() + batch.events.len() + batch.errors.len();
        if self.logs && log_records > 0 {
            payloads.push(ExportPayload {
                signal: Signal::Logs,
                items: log_records,
                bytes: prost::Message::encode_to_vec(&logs_request(batch, received_unix_nano)),
            });
        }
        if self.metrics {
            if let Some(request) = metrics_request(batch, received_unix_nano) {
                payloads.push(ExportPayload {
                    signal: Signal::Metrics,
                    items: batch.vitals.len(),
                    bytes: prost::Message::encode_to_vec(&request),
                });
            }
        }
        payloads
    }
}

/// Event name of a page view's log record.
pub const PAGE_VIEW_EVENT: &str = "browser.page_view";
/// Event name of a web vital's log record.
pub const WEB_VITAL_EVENT: &str = "browser.web_vital";
/// Instrumentation scope of everything the gateway exports.
pub const SCOPE_NAME: &str = "rum-gateway";

pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: SCOPE_NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..InstrumentationScope::default()
    }
}

/// A JSON attribute value as an OTLP `AnyValue`: integers stay integers, objects become
/// key-value lists, `null` an empty value.
pub fn any_value(value: &Value) -> AnyValue {
    let value = match value {
        Value::Null => None,
        Value::Bool(b) => Some(any_value::Value::BoolValue(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(any_value::Value::IntValue(i)),
            None => Some(any_value::Value::DoubleValue(
                n.as_f64().unwrap_or(f64::NAN),
            )),
        },
        Value::String(s) => Some(any_value::Value::StringValue(s.clone())),
        Value::Array(items) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: items.iter().map(any_value).collect(),
        })),
        Value::Object(map) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: key_values(map),
        })),
    };
    AnyValue { value }
}

/// Attributes as OTLP key-values, in key order.
pub fn key_values(attributes: &Attributes) -> Vec<KeyValue> {
    attributes
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(any_value(v)),
            ..KeyValue::default()
        })
        .collect()
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

pub(crate) fn string(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.into()))
}

fn double(key: &str, value: f64) -> KeyValue {
    kv(key, any_value::Value::DoubleValue(value))
}

/// A resource from its attributes.
pub fn resource(attributes: &Attributes) -> Resource {
    Resource {
        attributes: key_values(attributes),
        ..Resource::default()
    }
}

impl From<SpanKind> for trace::span::SpanKind {
    fn from(kind: SpanKind) -> Self {
        match kind {
            SpanKind::Internal => trace::span::SpanKind::Internal,
            SpanKind::Server => trace::span::SpanKind::Server,
            SpanKind::Client => trace::span::SpanKind::Client,
            SpanKind::Producer => trace::span::SpanKind::Producer,
            SpanKind::Consumer => trace::span::SpanKind::Consumer,
        }
    }
}

impl From<StatusCode> for trace::status::StatusCode {
    fn from(code: StatusCode) -> Self {
        match code {
            StatusCode::Unset => trace::status::StatusCode::Unset,
            StatusCode::Ok => trace::status::StatusCode::Ok,
            StatusCode::Error => trace::status::StatusCode::Error,
        }
    }
}

impl From<&Span> for trace::Span {
    fn from(span: &Span) -> Self {
        let status =
            (span.status != StatusCode::Unset || !span.status_message.is_empty()).then(|| {
                trace::Status {
                    message: span.status_message.clone(),
                    code: trace::status::StatusCode::from(span.status) as i32,
                }
            });
        trace::Span {
            trace_id: span.trace_id.0.to_vec(),
            span_id: span.span_id.0.to_vec(),
            parent_span_id: span
                .parent_span_id
                .map(|id| id.0.to_vec())
                .unwrap_or_default(),
            name: span.name.clone(),
            kind: trace::span::SpanKind::from(span.kind) as i32,
            start_time_unix_nano: u64::try_from(span.start_unix_nano).unwrap_or(0),
            end_time_unix_nano: u64::try_from(span.end_unix_nano).unwrap_or(0),
            attributes: key_values(&span.attributes),
            status,
            events: span
                .events
                .iter()
                .map(|e| trace::span::Event {
                    time_unix_nano: u64::try_from(e.time_unix_nano).unwrap_or(0),
                    name: e.name.clone(),
                    attributes: key_values(&e.attributes),
                    ..trace::span::Event::default()
                })
                .collect(),
            links: span
                .links
                .iter()
                .map(|l| trace::span::Link {
                    trace_id: l.trace_id.0.to_vec(),
                    span_id: l.span_id.0.to_vec(),
                    attributes: key_values(&l.attributes),
                    ..trace::span::Link::default()
                })
                .collect(),
            ..trace::Span::default()
        }
    }
}

/// Spans sharing one resource.
pub struct ResourceGroup<'a> {
    pub resource: &'a Attributes,
    pub spans: Vec<&'a Span>,
}

impl From<ResourceGroup<'_>> for trace::ResourceSpans {
    fn from(group: ResourceGroup<'_>) -> Self {
        trace::ResourceSpans {
            resource: Some(resource(group.resource)),
            scope_spans: vec![trace::ScopeSpans {
                scope: Some(scope()),
                spans: group.spans.into_iter().map(trace::Span::from).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }
    }
}

/// Groups spans by resource, keeping first-seen order (a request has few resources, so a
/// linear search beats hashing JSON maps).
pub fn group_by_resource(spans: &[Span]) -> Vec<ResourceGroup<'_>> {
    let mut groups: Vec<ResourceGroup<'_>> = Vec::new();
    for span in spans {
        match groups.iter_mut().find(|g| *g.resource == span.resource) {
            Some(group) => group.spans.push(span),
            None => groups.push(ResourceGroup {
                resource: &span.resource,
                spans: vec![span],
            }),
        }
    }
    groups
}

/// One OTLP trace export request for `spans`.
pub fn trace_request(spans: &[Span]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: group_by_resource(spans)
            .into_iter()
            .map(trace::ResourceSpans::from)
            .collect(),
    }
}

fn event(
    name: &str,
    time_unix_nano: u64,
    observed_unix_nano: u64,
    attributes: Vec<KeyValue>,
) -> LogRecord {
    LogRecord {
        time_unix_nano,
        observed_time_unix_nano: observed_unix_nano,
        severity_number: SeverityNumber::Info as i32,
        severity_text: "INFO".into(),
        event_name: name.into(),
        attributes,
        ..LogRecord::default()
    }
}

/// Attribute of a browser event's log record holding its name (besides the record's
/// `event_name` field), for receivers that read events by attribute.
pub const EVENT_NAME_ATTRIBUTE: &str = "event.name";

/// A page view as a `browser.page_view` event at the view's start, with its journey fields
/// (name, previous view, end, visible time, drop counts) when the beacon had them, and
/// `user.id` and the global attributes (not the gateway's enrichment).
pub fn page_view_event(view: &PageView, observed_unix_nano: u64) -> LogRecord {
    let mut attributes = vec![
        string(SESSION_ID, &view.session_id),
        string(PAGE_VIEW_ID, &view.id),
        string("url.full", &view.url),
        string("browser.page_view.referrer", &view.referrer),
        string("browser.page_view.navigation_type", &view.navigation_type),
    ];
    if !view.name.is_empty() {
        attributes.push(string("browser.page_view.name", &view.name));
    }
    if let Some(previous) = &view.previous_id {
        attributes.push(string("browser.page_view.previous_id", previous));
    }
    if let Some(end) = view.end_unix_nano {
        attributes.push(kv(
            "browser.page_view.end_time_unix_nano",
            any_value::Value::IntValue(end),
        ));
    }
    if let Some(visible) = view.visible_ms {
        attributes.push(double("browser.page_view.visible_ms", visible));
    }
    let dropped = view.dropped;
    for (key, count) in [
        ("browser.page_view.dropped.actions", dropped.actions),
        ("browser.page_view.dropped.events", dropped.events),
        (
            "browser.page_view.dropped.route_changes",
            dropped.route_changes,
        ),
        ("browser.page_view.dropped.errors", dropped.errors),
    ] {
        if count > 0 {
            let count = i64::try_from(count).unwrap_or(i64::MAX);
            attributes.push(kv(key, any_value::Value::IntValue(count)));
        }
    }
    attributes.extend(
        view.attributes
            .iter()
            .filter(|(k, _)| !is_gateway_owned(k))
            .map(|(k, v)| KeyValue {
                key: k.clone(),
                value: Some(any_value(v)),
                ..KeyValue::default()
            }),
    );
    let start = u64::try_from(view.start_unix_nano).unwrap_or(0);
    event(PAGE_VIEW_EVENT, start, observed_unix_nano, attributes)
}

/// A web vital as a `browser.web_vital` event at the time the gateway received it (the
/// beacon carries no report time per vital).
pub fn web_vital_event(
    vital: &Vital,
    session_id: Option<&str>,
    received_unix_nano: u64,
) -> LogRecord {
    let mut attributes = vec![
        string("web_vital.name", &vital.name),
        double("web_vital.value", vital.value),
        double("web_vital.delta", vital.delta),
        string("web_vital.rating", &vital.rating),
        string("web_vital.id", &vital.metric_id),
        string("web_vital.navigation_type", &vital.navigation_type),
        string(PAGE_VIEW_ID, &vital.page_view_id),
    ];
    if let Some(session_id) = session_id {
        attributes.push(string(SESSION_ID, session_id));
    }
    // web-vitals/attribution's fields, each under `web_vital.attribution.` (nested values,
    // such as long animation frames, as key-value lists).
    attributes.extend(vital.attribution.iter().map(|(k, v)| KeyValue {
        key: format!("web_vital.attribution.{k}"),
        value: Some(any_value(v)),
        ..KeyValue::default()
    }));
    event(
        WEB_VITAL_EVENT,
        received_unix_nano,
        received_unix_nano,
        attributes,
    )
}

/// A custom or session event (`session.start`, `session.end`) as an event of its name at its
/// time, with its attributes (`session.id`, `rum.page_view.id`, `user.id`, the global
/// attributes and its own) and `event.name`.
pub fn browser_event(event: &BrowserEvent, observed_unix_nano: u64) -> LogRecord {
    let mut attributes = key_values(&event.attributes);
    attributes.push(string(EVENT_NAME_ATTRIBUTE, &event.name));
    let time = u64::try_from(event.time_unix_nano).unwrap_or(0);
    self::event(&event.name, time, observed_unix_nano, attributes)
}

/// Event name of a browser error's log record (OpenTelemetry's exception event).
pub const EXCEPTION_EVENT: &str = "exception";

/// One frame as V8 writes it (`    at fn (file:line:col)`), at its original position where a
/// source map resolved it.
fn frame_line(frame: &Frame) -> String {
    let function = frame.best_function();
    let place = match &frame.original {
        Some(o) => format!("{}:{}:{}", o.file, o.line, o.column),
        None => match (frame.line, frame.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", frame.url),
            (Some(l), None) => format!("{}:{l}", frame.url),
            _ => frame.url.clone(),
        },
    };
    match function {
        Some(f) => format!("    at {f} ({place})"),
        None => format!("    at {place}"),
    }
}

/// The stack as text: `Type: message`, then one line per frame, original where resolved;
/// the browser's raw stack when no frame was parsed from it.
pub fn stacktrace_text(error: &BrowserError) -> String {
    if error.frames.is_empty() {
        return error.stack.clone();
    }
    let mut text = format!("{}: {}", error.error_type, error.message);
    for frame in &error.frames {
        text.push('\n');
        text.push_str(&frame_line(frame));
    }
    if error.frames_omitted > 0 {
        text.push_str(&format!("\n    … {} more frames", error.frames_omitted));
    }
    text
}

/// A browser error as an `exception` event at its time: `exception.type`,
/// `exception.message`, `exception.stacktrace` (symbolicated, [`stacktrace_text`]), the raw
/// stack in `rum.error.stacktrace.raw` when it differs, the SDK's id, kind and count, the
/// group's fingerprint, the action it happened in, and its own attributes (`session.id`,
/// `rum.page_view.id`, `user.id`, the global ones); the failed request's trace and span ids
/// on the record.
pub fn exception_event(error: &BrowserError, observed_unix_nano: u64) -> LogRecord {
    let mut attributes = key_values(&error.attributes);
    let stacktrace = stacktrace_text(error);
    attributes.extend([
        string(EVENT_NAME_ATTRIBUTE, EXCEPTION_EVENT),
        string(EXCEPTION_TYPE, &error.error_type),
        string(EXCEPTION_MESSAGE, &error.message),
    ]);
    if !stacktrace.is_empty() {
        attributes.push(string(EXCEPTION_STACKTRACE, &stacktrace));
    }
    if !error.stack.is_empty() && error.stack != stacktrace {
        attributes.push(string("rum.error.stacktrace.raw", &error.stack));
    }
    attributes.extend([
        string("rum.error.id", &error.id),
        string("rum.error.kind", &error.kind),
        kv(
            "rum.error.count",
            any_value::Value::IntValue(i64::try_from(error.count).unwrap_or(i64::MAX)),
        ),
        string("rum.error.fingerprint", &error.fingerprint),
    ]);
    if let Some(action) = error.action_span_id {
        attributes.push(string("rum.action.span_id", &action.to_string()));
    }
    if let Some(source) = &error.source {
        attributes.push(string("code.file.path", source));
    }
    let time = u64::try_from(error.time_unix_nano).unwrap_or(0);
    LogRecord {
        time_unix_nano: time,
        observed_time_unix_nano: observed_unix_nano,
        severity_number: SeverityNumber::Error as i32,
        severity_text: "ERROR".into(),
        event_name: EXCEPTION_EVENT.into(),
        attributes,
        trace_id: error.trace_id.map(|t| t.0.to_vec()).unwrap_or_default(),
        span_id: error.span_id.map(|s| s.0.to_vec()).unwrap_or_default(),
        ..LogRecord::default()
    }
}

/// One OTLP logs export request for the batch's page views, vitals, browser events and errors, grouped by resource;
/// a vital takes its page view's resource and session when the batch holds that view.
pub fn logs_request(batch: &Batch, received_unix_nano: i64) -> ExportLogsServiceRequest {
    let received = u64::try_from(received_unix_nano).unwrap_or(0);
    let empty = Attributes::new();
    let mut groups: Vec<(&Attributes, Vec<LogRecord>)> = Vec::new();
    let mut push = |resource, record| match groups.iter_mut().find(|(r, _)| *r == resource) {
        Some((_, records)) => records.push(record),
        None => groups.push((resource, vec![record])),
    };
    for view in &batch.page_views {
        push(&view.resource, page_view_event(view, received));
    }
    for vital in &batch.vitals {
        let view = batch.page_views.iter().find(|v| v.id == vital.page_view_id);
        let record = web_vital_event(vital, view.map(|v| v.session_id.as_str()), received);
        push(view.map_or(&empty, |v| &v.resource), record);
    }
    for event in &batch.events {
        push(&event.resource, browser_event(event, received));
    }
    for error in &batch.errors {
        push(&error.resource, exception_event(error, received));
    }
    ExportLogsServiceRequest {
        resource_logs: groups
            .into_iter()
            .map(|(attributes, log_records)| ResourceLogs {
                resource: Some(resource(attributes)),
                scope_logs: vec![ScopeLogs {
                    scope: Some(scope()),
                    log_records,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{self, attributes};
    use crate::model::SpanId;
    use serde_json::json;

    fn span(n: u8, service: &str) -> Span {
        Span {
            parent_span_id: (n > 1).then_some(SpanId([1; 8])),
            name: format!("span {n}"),
            start_unix_nano: 10,
            end_unix_nano: 20,
            status: StatusCode::Error,
            status_message: "boom".into(),
            attributes: attributes(json!({ "n": n, "ratio": 0.5, "tags": ["a", "b"], "ok": true })),
            resource: attributes(json!({ "service.name": service })),
            ..testing::span(1, n)
        }
    }

    #[test]
    fn spans_are_grouped_by_resource_in_first_seen_order() {
        let spans = [span(1, "web"), span(2, "api"), span(3, "web")];
        let request = trace_request(&spans);
        assert_eq!(request.resource_spans.len(), 2);
        let web = &request.resource_spans[0];
        let ids: Vec<_> = web.scope_spans[0]
            .spans
            .iter()
            .map(|s| s.span_id[0])
            .collect();
        assert_eq!(ids, [1, 3]);
        let service = &web.resource.as_ref().expect("resource").attributes[0];
        assert_eq!(service.key, "service.name");
        assert_eq!(
            web.scope_spans[0].scope.as_ref().expect("scope").name,
            SCOPE_NAME
        );
    }

    #[test]
    fn span_fields_and_attribute_types_map_to_otlp() {
        let otlp = trace::Span::from(&span(2, "web"));
        assert_eq!(otlp.parent_span_id, vec![1; 8]);
        assert_eq!(otlp.kind, trace::span::SpanKind::Client as i32);
        let status = otlp.status.expect("status");
        assert_eq!(
            (status.code, status.message.as_str()),
            (trace::status::StatusCode::Error as i32, "boom")
        );
        let value = |key: &str| {
            otlp.attributes
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.clone())
                .and_then(|v| v.value)
        };
        assert_eq!(value("n"), Some(any_value::Value::IntValue(2)));
        assert_eq!(value("ratio"), Some(any_value::Value::DoubleValue(0.5)));
        assert_eq!(value("ok"), Some(any_value::Value::BoolValue(true)));
        assert!(
            matches!(value("tags"), Some(any_value::Value::ArrayValue(a)) if a.values.len() == 2)
        );
        let root = trace::Span::from(&span(1, "web"));
        assert!(root.parent_span_id.is_empty());
    }
}

#[cfg(test)]
mod vital_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_vital_event_carries_its_attribution() {
        let mut attribution = Attributes::new();
        attribution.insert("target".into(), json!("html>body>img"));
        attribution.insert("elementRenderDelay".into(), json!(12.5));
        let vital = Vital {
            page_view_id: "a1b2c3d4e5f60718".into(),
            metric_id: "v1-a1b2c3d4e5f60718-LCP0".into(),
            name: "LCP".into(),
            value: 812.5,
            delta: 812.5,
            rating: "good".into(),
            navigation_type: "navigate".into(),
            attribution,
        };
        let record = web_vital_event(&vital, Some("s"), 7);
        let get = |key: &str| {
            record
                .attributes
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.clone())
        };
        assert_eq!(
            get("web_vital.attribution.target"),
            Some(any_value(&json!("html>body>img")))
        );
        assert_eq!(
            get("web_vital.attribution.elementRenderDelay"),
            Some(any_value(&json!(12.5)))
        );
        assert_eq!(get("web_vital.value"), Some(any_value(&json!(812.5))));
    }
}

#[cfg(test)]
mod exception_tests {
    use serde_json::json;

    use super::*;
    use crate::model::testing::attributes;
    use crate::model::{OriginalFrame, SpanId, TraceId};

    #[test]
    fn an_error_is_an_exception_event_with_its_symbolicated_stack() {
        let frame = |function: &str, original: Option<(&str, u32)>| Frame {
            function: Some(function.into()),
            url: "http://h/app.min.js".into(),
            line: Some(1),
            column: Some(55),
            in_app: true,
            original: original.map(|(f, line)| OriginalFrame {
                file: "src/app.js".into(),
                line,
                column: 11,
                function: Some(f.into()),
                context: None,
            }),
            unresolved: None,
        };
        let error = BrowserError {
            session_id: "s".into(),
            page_view_id: "v".into(),
            id: "00000000000000a1".into(),
            kind: "uncaught".into(),
            error_type: "TypeError".into(),
            message: "boom".into(),
            stack: "TypeError: boom\n    at n (http://h/app.min.js:1:55)".into(),
            source: Some("http://h/app.min.js".into()),
            line: Some(1),
            column: Some(55),
            time_unix_nano: 5,
            count: 3,
            action_span_id: Some(SpanId([1; 8])),
            trace_id: Some(TraceId([2; 16])),
            span_id: Some(SpanId([3; 8])),
            attributes: attributes(
                json!({"session.id": "s", "rum.page_view.id": "v", "user.id": "u-1"}),
            ),
            resource: attributes(json!({"service.name": "shop-web"})),
            frames: vec![
                frame("levelThree", Some(("levelThree", 6))),
                frame("x", None),
            ],
            frames_omitted: 0,
            fingerprint: "f".repeat(32),
        };
        let record = exception_event(&error, 9);
        let get = |key: &str| {
            record
                .attributes
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.clone())
        };
        assert_eq!(record.event_name, "exception");
        assert_eq!(record.severity_number, SeverityNumber::Error as i32);
        assert_eq!(record.time_unix_nano, 5);
        assert_eq!(record.trace_id, vec![2; 16]);
        assert_eq!(get("event.name"), Some(any_value(&json!("exception"))));
        assert_eq!(get("exception.type"), Some(any_value(&json!("TypeError"))));
        assert_eq!(get("exception.message"), Some(any_value(&json!("boom"))));
        assert_eq!(
            get("exception.stacktrace"),
            Some(any_value(&json!(
                "TypeError: boom\n    at levelThree (src/app.js:6:11)\n    at x (http://h/app.min.js:1:55)"
            )))
        );
        assert_eq!(
            get("rum.error.stacktrace.raw"),
            Some(any_value(&json!(error.stack)))
        );
        assert_eq!(get("user.id"), Some(any_value(&json!("u-1"))));
        assert_eq!(get("rum.error.count"), Some(any_value(&json!(3))));
        let request = logs_request(
            &Batch {
                errors: vec![error],
                ..Batch::default()
            },
            9,
        );
        assert_eq!(request.resource_logs.len(), 1);
        let resource = request.resource_logs[0]
            .resource
            .as_ref()
            .expect("resource");
        assert_eq!(resource.attributes[0].key, "service.name");
    }
}
