//! The `errors` of beacon v1 (`docs/beacon-v1.md#errors`): each field checked against the
//! contract and refused with `400 invalid_field` naming it (`errors.type`, `errors.stack`, …).
//! The stack stays raw here; the errors stage parses, symbolicates and groups it.

use serde_json::{Map, Value};

use super::check_attributes;
use super::journey::Stamp;
use crate::limit::Limits;
use crate::model::attr::is_gateway_owned;
use crate::model::time::unix_ms_to_nanos;
use crate::model::{Attributes, BrowserError, SpanId, TraceId};
use crate::rejection::Rejection;
use crate::wire::beacon_v1::{
    MAX_ERROR_MESSAGE_BYTES, MAX_ERROR_SOURCE_BYTES, MAX_ERROR_STACK_BYTES, MAX_ERROR_TYPE_BYTES,
};

/// The kinds of error the SDK records.
pub const ERROR_KINDS: [&str; 5] = [
    "uncaught",
    "unhandledrejection",
    "handled",
    "console",
    "resource",
];

/// `null` counts as absent.
fn present(value: Option<Value>) -> Option<Value> {
    value.filter(|v| !v.is_null())
}

fn string(value: Option<Value>, field: &str, min: usize, max: usize) -> Result<String, Rejection> {
    match present(value) {
        Some(Value::String(s)) if s.len() >= min && s.len() <= max => Ok(s),
        _ => Err(Rejection::invalid(
            field,
            format!("must be a string of {min}–{max} bytes"),
        )),
    }
}

fn optional_string(
    value: Option<Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, Rejection> {
    match present(value) {
        None => Ok(None),
        Some(Value::String(s)) if s.len() <= max => Ok(Some(s)),
        Some(_) => Err(Rejection::invalid(
            field,
            format!("must be a string of at most {max} bytes"),
        )),
    }
}

fn position(value: Option<Value>, field: &str) -> Result<Option<u32>, Rejection> {
    match present(value) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| Rejection::invalid(field, "must be an integer ≥ 0")),
    }
}

fn optional_id<T>(
    value: Option<Value>,
    field: &str,
    parse: fn(&str) -> Option<T>,
    digits: u8,
) -> Result<Option<T>, Rejection> {
    match present(value) {
        None => Ok(None),
        Some(Value::String(s)) => parse(&s).map(Some).ok_or_else(|| {
            Rejection::invalid(field, format!("must be {digits} hex digits, not all zero"))
        }),
        Some(_) => Err(Rejection::invalid(
            field,
            format!("must be {digits} hex digits, not all zero"),
        )),
    }
}

/// `errors` → browser errors with the stamp applied (frames and fingerprint come later).
pub fn errors(
    value: Option<Value>,
    stamp: &Stamp,
    resource: &Attributes,
    limits: &Limits,
) -> Result<Vec<BrowserError>, Rejection> {
    let items = match present(value) {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Rejection::invalid("errors", "must be an array")),
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => error(map, stamp, resource, limits),
            _ => Err(Rejection::invalid("errors", "each error must be an object")),
        })
        .collect()
}

fn error(
    mut map: Map<String, Value>,
    stamp: &Stamp,
    resource: &Attributes,
    limits: &Limits,
) -> Result<BrowserError, Rejection> {
    let error_type = string(map.remove("type"), "errors.type", 1, MAX_ERROR_TYPE_BYTES)?;
    let message = string(
        map.remove("message"),
        "errors.message",
        0,
        MAX_ERROR_MESSAGE_BYTES,
    )?;
    let stack = optional_string(map.remove("stack"), "errors.stack", MAX_ERROR_STACK_BYTES)?
        .unwrap_or_default();
    let source = optional_string(
        map.remove("source"),
        "errors.source",
        MAX_ERROR_SOURCE_BYTES,
    )?
    .filter(|s| !s.is_empty());
    let line = position(map.remove("line"), "errors.line")?;
    let column = position(map.remove("col"), "errors.col")?;
    let kind = string(map.remove("kind"), "errors.kind", 1, 32)?;
    if !ERROR_KINDS.contains(&kind.as_str()) {
        return Err(Rejection::invalid(
            "errors.kind",
            "must be uncaught, unhandledrejection, handled, console or resource",
        ));
    }
    let time = present(map.remove("time"))
        .and_then(|v| v.as_f64())
        .and_then(unix_ms_to_nanos)
        .ok_or_else(|| Rejection::invalid("errors.time", "must be unix milliseconds"))?;
    let count = match present(map.remove("count")) {
        None => 1,
        Some(v) => v
            .as_u64()
            .filter(|n| *n >= 1)
            .ok_or_else(|| Rejection::invalid("errors.count", "must be an integer ≥ 1"))?,
    };
    let id = match present(map.remove("id")) {
        Some(Value::String(s)) if s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            s.to_ascii_lowercase()
        }
        _ => return Err(Rejection::invalid("errors.id", "must be 16 hex digits")),
    };
    let action_span_id = optional_id(
        map.remove("actionSpanId"),
        "errors.actionSpanId",
        SpanId::from_hex,
        16,
    )?;
    let trace_id = optional_id(
        map.remove("traceId"),
        "errors.traceId",
        TraceId::from_hex,
        32,
    )?;
    let span_id = optional_id(map.remove("spanId"), "errors.spanId", SpanId::from_hex, 16)?;
    let mut attributes = match present(map.remove("attrs")) {
        None => Map::new(),
        Some(Value::Object(attrs)) => {
            check_attributes(&attrs, "errors.attrs", limits, false)?;
            attrs
        }
        Some(_) => return Err(Rejection::invalid("errors.attrs", "must be an object")),
    };
    attributes.retain(|key, _| !is_gateway_owned(key));
    stamp.apply(&mut attributes);
    Ok(BrowserError {
        session_id: stamp.session_id.into(),
        page_view_id: stamp.view_id.into(),
        id,
        kind,
        error_type,
        message,
        stack,
        source,
        line,
        column,
        time_unix_nano: time,
        count,
        action_span_id,
        trace_id,
        span_id,
        attributes,
        resource: resource.clone(),
        frames: Vec::new(),
        frames_omitted: 0,
        fingerprint: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(v: Value) -> Result<Vec<BrowserError>, Rejection> {
        let globals = Attributes::new();
        let stamp = Stamp {
            session_id: "s",
            view_id: "v",
            user_id: Some("u-1"),
            globals: &globals,
        };
        errors(Some(v), &stamp, &Attributes::new(), &Limits::default())
    }

    fn field_of(v: Value) -> String {
        match run(v) {
            Err(Rejection::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    fn ok() -> Value {
        json!({"type": "TypeError", "message": "x is undefined", "stack": "at f (a.js:1:2)",
               "kind": "uncaught", "time": 1732460000000.0, "id": "00112233445566AA",
               "actionSpanId": "b7ad6b7169203331", "traceId": "0af7651916cd43dd8448eb211c80319c",
               "spanId": "b7ad6b7169203332", "source": "http://x/a.js", "line": 1, "col": 2,
               "count": 3, "attrs": {"cart": 2}})
    }

    #[test]
    fn a_valid_error_is_read_with_its_stamp() {
        let e = run(json!([ok()])).expect("valid").remove(0);
        assert_eq!(e.id, "00112233445566aa");
        assert_eq!(e.count, 3);
        assert_eq!((e.line, e.column), (Some(1), Some(2)));
        assert_eq!(e.attributes["user.id"], "u-1");
        assert_eq!(e.attributes["rum.page_view.id"], "v");
        assert_eq!(e.attributes["cart"], 2);
        assert_eq!(
            e.trace_id.map(|t| t.to_string()).as_deref(),
            Some("0af7651916cd43dd8448eb211c80319c")
        );
        let minimal = json!([{"type": "Error", "message": "", "kind": "handled",
                               "time": 1732460000000.0, "id": "0011223344556677"}]);
        let e = run(minimal).expect("valid").remove(0);
        assert_eq!((e.count, e.stack.as_str(), e.source), (1, "", None));
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(&str, &str, Value)> = vec![
            ("errors.type", "type", json!("")),
            ("errors.type", "type", json!("x".repeat(257))),
            ("errors.message", "message", json!(null)),
            ("errors.message", "message", json!("m".repeat(4097))),
            ("errors.stack", "stack", json!("s".repeat(16385))),
            ("errors.stack", "stack", json!(5)),
            ("errors.source", "source", json!(["a"])),
            ("errors.line", "line", json!(-1)),
            ("errors.col", "col", json!(1.5)),
            ("errors.kind", "kind", json!("fatal")),
            ("errors.time", "time", json!("now")),
            ("errors.count", "count", json!(0)),
            ("errors.id", "id", json!("xyz")),
            (
                "errors.actionSpanId",
                "actionSpanId",
                json!("0000000000000000"),
            ),
            ("errors.traceId", "traceId", json!("abc")),
            ("errors.spanId", "spanId", json!(7)),
            ("errors.attrs", "attrs", json!({"a": {"b": 1}})),
        ];
        for (field, key, bad) in cases {
            let mut e = ok();
            e[key] = bad;
            assert_eq!(field_of(json!([e])), field, "{key}");
        }
        assert_eq!(field_of(json!({})), "errors");
        assert_eq!(field_of(json!([1])), "errors");
    }
}
