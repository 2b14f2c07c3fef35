//! The user-journey fields of beacon v1 (`docs/beacon-v1.md#user-journeys`): the view's
//! name, previous view, end, visible time and drop counts; `user`; the global `attrs`; and
//! the custom and session `events`. They arrive as plain JSON, so that a wrong type is a
//! `400 invalid_field` naming its field rather than a decoding error.

use serde_json::{Map, Value};

use super::check_attributes;
use crate::limit::Limits;
use crate::model::attr::{is_gateway_owned, PAGE_VIEW_ID, SESSION_ID, USER_ID};
use crate::model::time::unix_ms_to_nanos;
use crate::model::{Attributes, BrowserEvent, ViewDropped};
use crate::rejection::Rejection;

/// Longest view name, user id and event name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// The journey fields of `view`, checked.
#[derive(Debug, Default, PartialEq)]
pub struct ViewExtras {
    pub name: String,
    pub previous_id: Option<String>,
    pub end_unix_nano: Option<i64>,
    pub visible_ms: Option<f64>,
    pub dropped: ViewDropped,
}

/// `null` counts as absent, as in `context`.
fn present(value: Option<Value>) -> Option<Value> {
    value.filter(|v| !v.is_null())
}

/// A string of 1..=[`MAX_NAME_BYTES`] bytes.
fn name(value: Value, field: &str) -> Result<String, Rejection> {
    match value {
        Value::String(s) if !s.is_empty() && s.len() <= MAX_NAME_BYTES => Ok(s),
        _ => Err(Rejection::invalid(
            field,
            format!("must be a string of 1–{MAX_NAME_BYTES} bytes"),
        )),
    }
}

fn unix_ms(value: &Value, field: &str) -> Result<i64, Rejection> {
    value
        .as_f64()
        .and_then(unix_ms_to_nanos)
        .ok_or_else(|| Rejection::invalid(field, "must be unix milliseconds"))
}

/// Checks the view's journey fields; `start` is the view's start (unix ns), which `end` may
/// not precede.
pub fn view_extras(
    name_value: Option<Value>,
    previous_id: Option<Value>,
    end: Option<Value>,
    visible: Option<Value>,
    dropped: Option<Value>,
    start: i64,
) -> Result<ViewExtras, Rejection> {
    let name = present(name_value)
        .map(|v| name(v, "view.name"))
        .transpose()?
        .unwrap_or_default();
    let previous_id = match present(previous_id) {
        None => None,
        Some(Value::String(s)) if is_view_id(&s) => Some(s),
        Some(_) => {
            return Err(Rejection::invalid(
                "view.previousId",
                "must be 1–64 characters of [A-Za-z0-9_-]",
            ))
        }
    };
    let end_unix_nano = present(end).map(|v| unix_ms(&v, "view.end")).transpose()?;
    if end_unix_nano.is_some_and(|end| end < start) {
        return Err(Rejection::invalid("view.end", "is before view.start"));
    }
    let visible_ms = match present(visible) {
        None => None,
        Some(v) => match v.as_f64() {
            Some(ms) if ms.is_finite() && ms >= 0.0 => Some(ms),
            _ => {
                return Err(Rejection::invalid(
                    "view.visible",
                    "must be a number of milliseconds ≥ 0",
                ))
            }
        },
    };
    let dropped = match present(dropped) {
        None => ViewDropped::default(),
        Some(Value::Object(map)) => {
            let count = |key: &str| match map.get(key) {
                None | Some(Value::Null) => Ok(0),
                Some(v) => v.as_u64().ok_or_else(|| {
                    Rejection::invalid(format!("view.dropped.{key}"), "must be an integer ≥ 0")
                }),
            };
            ViewDropped {
                actions: count("actions")?,
                events: count("events")?,
                route_changes: count("routeChanges")?,
                errors: count("errors")?,
            }
        }
        Some(_) => return Err(Rejection::invalid("view.dropped", "must be an object")),
    };
    Ok(ViewExtras {
        name,
        previous_id,
        end_unix_nano,
        visible_ms,
        dropped,
    })
}

/// Same rule as the other ids of the beacon.
fn is_view_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `user`: `{"id": string}` → the user id, if any.
pub fn user(value: Option<Value>) -> Result<Option<String>, Rejection> {
    match present(value) {
        None => Ok(None),
        Some(Value::Object(mut map)) => present(map.remove("id"))
            .map(|v| name(v, "user.id"))
            .transpose(),
        Some(_) => Err(Rejection::invalid("user", "must be an object")),
    }
}

/// Global attributes: the span attribute rules; keys the gateway or the SDK own (enrichment's
/// namespaces, `rum.*`, the stamped ids and `user.id`) are dropped, so a global attribute
/// cannot turn every span into an action or claim another session.
pub fn global_attributes(value: Option<Value>, limits: &Limits) -> Result<Attributes, Rejection> {
    let mut map = match present(value) {
        None => return Ok(Attributes::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(Rejection::invalid("attrs", "must be an object")),
    };
    check_attributes(&map, "attrs", limits, false)?;
    map.retain(|key, _| {
        !(is_gateway_owned(key)
            || key.starts_with("rum.")
            || key == SESSION_ID
            || key == PAGE_VIEW_ID
            || key == USER_ID)
    });
    Ok(map)
}

/// What every item of a beacon gets: its session and view, the user, the global attributes.
pub struct Stamp<'a> {
    pub session_id: &'a str,
    pub view_id: &'a str,
    pub user_id: Option<&'a str>,
    pub globals: &'a Attributes,
}

impl Stamp<'_> {
    /// Adds the global attributes and `user.id` where the item has no value of its own, then
    /// the session and view. An item that names its own view (16 hex digits) keeps it: the
    /// SDK sends a user action after its 1 s frustration window, which can be after a route
    /// change, in the next view's beacon, naming the view it happened in.
    pub fn apply(&self, attrs: &mut Attributes) {
        self.user_and_globals(attrs);
        attrs.insert(SESSION_ID.into(), Value::String(self.session_id.into()));
        let own = attrs
            .get(PAGE_VIEW_ID)
            .and_then(Value::as_str)
            .is_some_and(|v| v.len() == 16 && v.bytes().all(|b| b.is_ascii_hexdigit()));
        if !own {
            attrs.insert(PAGE_VIEW_ID.into(), Value::String(self.view_id.into()));
        }
    }

    /// The global attributes and `user.id`, where the item has no value of its own.
    pub fn user_and_globals(&self, attrs: &mut Attributes) {
        for (key, value) in self.globals {
            if !attrs.contains_key(key) {
                attrs.insert(key.clone(), value.clone());
            }
        }
        if let Some(user) = self.user_id {
            if !attrs.contains_key(USER_ID) {
                attrs.insert(USER_ID.into(), Value::String(user.into()));
            }
        }
    }
}

/// `events`: `[{"name", "time", "attrs"?}]` → browser events with the stamp applied.
pub fn events(
    value: Option<Value>,
    stamp: &Stamp,
    resource: &Attributes,
    limits: &Limits,
) -> Result<Vec<BrowserEvent>, Rejection> {
    let items = match present(value) {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Rejection::invalid("events", "must be an array")),
    };
    items
        .into_iter()
        .map(|item| {
            let Value::Object(mut map) = item else {
                return Err(Rejection::invalid("events", "each event must be an object"));
            };
            let name = name(map.remove("name").unwrap_or(Value::Null), "events.name")?;
            let time = unix_ms(map.get("time").unwrap_or(&Value::Null), "events.time")?;
            let mut attributes = match present(map.remove("attrs")) {
                None => Map::new(),
                Some(Value::Object(attrs)) => {
                    check_attributes(&attrs, "events.attrs", limits, false)?;
                    attrs
                }
                Some(_) => return Err(Rejection::invalid("events.attrs", "must be an object")),
            };
            attributes.retain(|key, _| !is_gateway_owned(key));
            stamp.apply(&mut attributes);
            Ok(BrowserEvent {
                session_id: stamp.session_id.into(),
                page_view_id: stamp.view_id.into(),
                name,
                time_unix_nano: time,
                attributes,
                resource: resource.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(result: Result<impl std::fmt::Debug, Rejection>) -> String {
        match result {
            Err(Rejection::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn view_fields_are_checked_with_their_names() {
        let ok = view_extras(
            Some(json!("/product/:sku")),
            Some(json!("a1b2c3d4e5f60718")),
            Some(json!(2000.0)),
            Some(json!(1.5)),
            Some(json!({"actions": 1, "routeChanges": 2})),
            1_000_000_000,
        )
        .expect("valid");
        assert_eq!(ok.name, "/product/:sku");
        assert_eq!(ok.end_unix_nano, Some(2_000_000_000));
        assert_eq!(
            ok.dropped,
            ViewDropped {
                actions: 1,
                events: 0,
                route_changes: 2,
                errors: 0,
            }
        );
        let none = view_extras(None, None, None, None, None, 0).expect("valid");
        assert_eq!(none, ViewExtras::default());
        let bad = |name, prev, end, vis, dropped| {
            field_of(view_extras(
                name,
                prev,
                end,
                vis,
                dropped,
                1_000_000_000_000,
            ))
        };
        assert_eq!(bad(Some(json!("")), None, None, None, None), "view.name");
        assert_eq!(bad(Some(json!(5)), None, None, None, None), "view.name");
        let long = "x".repeat(257);
        assert_eq!(bad(Some(json!(long)), None, None, None, None), "view.name");
        assert_eq!(
            bad(None, Some(json!("a b")), None, None, None),
            "view.previousId"
        );
        assert_eq!(bad(None, None, Some(json!(1.0)), None, None), "view.end");
        assert_eq!(bad(None, None, Some(json!("x")), None, None), "view.end");
        assert_eq!(bad(None, None, None, Some(json!(-1)), None), "view.visible");
        assert_eq!(
            bad(None, None, None, None, Some(json!({"events": -1}))),
            "view.dropped.events"
        );
        assert_eq!(bad(None, None, None, None, Some(json!(3))), "view.dropped");
    }

    #[test]
    fn globals_drop_owned_keys_and_the_item_s_own_value_wins() {
        let limits = Limits::default();
        let globals = global_attributes(
            Some(
                json!({"plan": "pro", "geo.country.iso_code": "XX", "rum.action.type": "click",
                        "session.id": "other", "user.id": "u"}),
            ),
            &limits,
        )
        .expect("valid");
        assert_eq!(
            globals,
            *json!({"plan": "pro"}).as_object().expect("object")
        );
        let stamp = Stamp {
            session_id: "s",
            view_id: "v",
            user_id: Some("u-1"),
            globals: &globals,
        };
        let mut own = json!({"plan": "free"})
            .as_object()
            .cloned()
            .expect("object");
        stamp.apply(&mut own);
        assert_eq!(own["plan"], "free");
        assert_eq!(own["user.id"], "u-1");
        assert_eq!(own["session.id"], "s");
        assert_eq!(
            field_of(global_attributes(Some(json!([1])), &limits)),
            "attrs"
        );
        assert_eq!(
            field_of(global_attributes(Some(json!({"a": {"b": 1}})), &limits)),
            "attrs"
        );
    }

    #[test]
    fn an_item_naming_its_own_view_keeps_it_anything_else_is_stamped() {
        let globals = Attributes::new();
        let stamp = Stamp {
            session_id: "s",
            view_id: "b1b2c3d4e5f60718",
            user_id: None,
            globals: &globals,
        };
        let mut own = Attributes::new();
        own.insert(PAGE_VIEW_ID.into(), json!("a1b2c3d4e5f60718"));
        stamp.apply(&mut own);
        assert_eq!(own[PAGE_VIEW_ID], "a1b2c3d4e5f60718");
        for bad in [json!("not-a-view"), json!(7), json!("a1b2c3d4e5f6071")] {
            let mut attrs = Attributes::new();
            attrs.insert(PAGE_VIEW_ID.into(), bad);
            stamp.apply(&mut attrs);
            assert_eq!(attrs[PAGE_VIEW_ID], "b1b2c3d4e5f60718");
        }
    }

    #[test]
    fn user_and_events_are_checked_with_their_names() {
        assert_eq!(
            user(Some(json!({"id": "u-1"}))).expect("ok"),
            Some("u-1".into())
        );
        assert_eq!(user(Some(json!({}))).expect("ok"), None);
        assert_eq!(field_of(user(Some(json!({"id": ""})))), "user.id");
        assert_eq!(field_of(user(Some(json!({"id": 7})))), "user.id");
        assert_eq!(field_of(user(Some(json!("u")))), "user");
        let limits = Limits::default();
        let globals = Attributes::new();
        let stamp = Stamp {
            session_id: "s",
            view_id: "v",
            user_id: None,
            globals: &globals,
        };
        let run = |v: Value| events(Some(v), &stamp, &Attributes::new(), &limits);
        let ok = run(json!([{"name": "checkout", "time": 1732460008000.0, "attrs": {"items": 2}}]))
            .expect("valid");
        assert_eq!(ok[0].time_unix_nano, 1_732_460_008_000_000_000);
        assert_eq!(ok[0].attributes["items"], 2);
        assert_eq!(ok[0].attributes["rum.page_view.id"], "v");
        assert_eq!(field_of(run(json!({}))), "events");
        assert_eq!(field_of(run(json!([1]))), "events");
        assert_eq!(field_of(run(json!([{"time": 1.0e12}]))), "events.name");
        assert_eq!(field_of(run(json!([{"name": "a"}]))), "events.time");
        assert_eq!(
            field_of(run(json!([{"name": "a", "time": 1.0e12, "attrs": 3}]))),
            "events.attrs"
        );
        assert_eq!(
            field_of(run(
                json!([{"name": "a", "time": 1.0e12, "attrs": {"x": {"y": 1}}}])
            )),
            "events.attrs"
        );
    }
}
