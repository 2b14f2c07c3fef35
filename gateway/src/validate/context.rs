//! The beacon's optional `context` object (screen, viewport, connection, language, mobile):
//! checked field by field and passed on as `browser.*` attributes. Unknown keys are ignored,
//! so the SDK may send more than this gateway reads.

use serde_json::{Map, Value};

use crate::model::Attributes;
use crate::rejection::Rejection;

/// Largest screen or viewport side accepted, in CSS pixels.
const MAX_PIXELS: u64 = 100_000;
/// Longest `language` (a BCP 47 tag) or `connection.effectiveType` accepted.
const MAX_TAG_LEN: usize = 35;

/// What the browser told about itself, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrowserContext {
    attributes: Attributes,
}

impl BrowserContext {
    /// Checks the beacon's `context` value; `null` or absent is an empty context.
    pub fn parse(context: Option<&Value>) -> Result<BrowserContext, Rejection> {
        let object = match context {
            None | Some(Value::Null) => return Ok(BrowserContext::default()),
            Some(Value::Object(object)) => object,
            Some(_) => return Err(Rejection::invalid("context", "must be an object")),
        };
        let mut attributes = Attributes::new();
        for side in ["screen", "viewport"] {
            let Some(value) = present(object, side) else {
                continue;
            };
            let Value::Object(size) = value else {
                return Err(Rejection::invalid(
                    format!("context.{side}"),
                    "must be an object",
                ));
            };
            for dim in ["width", "height"] {
                if let Some(v) = present(size, dim) {
                    let field = format!("context.{side}.{dim}");
                    let pixels = v.as_u64().filter(|p| *p <= MAX_PIXELS).ok_or_else(|| {
                        Rejection::invalid(&field, "must be an integer from 0 to 100000")
                    })?;
                    attributes.insert(format!("browser.{side}.{dim}"), Value::from(pixels));
                }
            }
        }
        if let Some(value) = present(object, "connection") {
            let Value::Object(connection) = value else {
                return Err(Rejection::invalid(
                    "context.connection",
                    "must be an object",
                ));
            };
            if let Some(v) = present(connection, "effectiveType") {
                let tag = tag(v, "context.connection.effectiveType")?;
                attributes.insert("browser.connection.effective_type".into(), Value::from(tag));
            }
        }
        if let Some(v) = present(object, "language") {
            attributes.insert(
                "browser.language".into(),
                Value::from(tag(v, "context.language")?),
            );
        }
        if let Some(v) = present(object, "mobile") {
            let mobile = v
                .as_bool()
                .ok_or_else(|| Rejection::invalid("context.mobile", "must be a boolean"))?;
            attributes.insert("browser.mobile".into(), Value::from(mobile));
        }
        Ok(BrowserContext { attributes })
    }

    /// Copies the `browser.*` attributes into `attrs`.
    pub fn write_attributes(&self, attrs: &mut Attributes) {
        for (key, value) in &self.attributes {
            attrs.insert(key.clone(), value.clone());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }
}

/// A key's value unless absent or `null`.
fn present<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}

/// A short token such as `en-US` or `4g`: letters, digits and `-`.
fn tag(value: &Value, field: &str) -> Result<String, Rejection> {
    match value.as_str() {
        Some(s)
            if !s.is_empty()
                && s.len() <= MAX_TAG_LEN
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Ok(s.to_string())
        }
        _ => Err(Rejection::invalid(
            field,
            "must be 1–35 characters of [A-Za-z0-9-]",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(context: Value) -> Result<Attributes, Rejection> {
        let parsed = BrowserContext::parse(Some(&context))?;
        let mut attrs = Attributes::new();
        parsed.write_attributes(&mut attrs);
        Ok(attrs)
    }

    #[test]
    fn known_fields_become_browser_attributes_and_unknown_ones_are_ignored() {
        let a = attrs(json!({
            "screen": {"width": 1920, "height": 1080, "depth": 24},
            "viewport": {"width": 1280, "height": 720},
            "connection": {"effectiveType": "4g", "rtt": 50},
            "language": "en-US",
            "mobile": false,
            "futureThing": {"x": 1}
        }))
        .expect("valid");
        assert_eq!(a["browser.screen.width"], 1920);
        assert_eq!(a["browser.screen.height"], 1080);
        assert_eq!(a["browser.viewport.width"], 1280);
        assert_eq!(a["browser.viewport.height"], 720);
        assert_eq!(a["browser.connection.effective_type"], "4g");
        assert_eq!(a["browser.language"], "en-US");
        assert_eq!(a["browser.mobile"], false);
        assert_eq!(a.len(), 7, "{a:?}");
    }

    #[test]
    fn absent_and_null_are_empty() {
        assert!(BrowserContext::parse(None).expect("ok").is_empty());
        assert!(BrowserContext::parse(Some(&Value::Null))
            .expect("ok")
            .is_empty());
        assert_eq!(
            attrs(json!({"screen": null, "language": null}))
                .expect("ok")
                .len(),
            0
        );
    }

    #[test]
    fn each_wrong_type_is_named() {
        let cases = [
            (json!([1]), "context"),
            (json!({"screen": 5}), "context.screen"),
            (json!({"screen": {"width": "1920"}}), "context.screen.width"),
            (
                json!({"viewport": {"height": -1}}),
                "context.viewport.height",
            ),
            (
                json!({"viewport": {"height": 1.5}}),
                "context.viewport.height",
            ),
            (
                json!({"screen": {"width": 1_000_000}}),
                "context.screen.width",
            ),
            (json!({"connection": "4g"}), "context.connection"),
            (
                json!({"connection": {"effectiveType": 4}}),
                "context.connection.effectiveType",
            ),
            (json!({"language": "en US<script>"}), "context.language"),
            (json!({"mobile": "yes"}), "context.mobile"),
        ];
        for (context, want) in cases {
            match attrs(context.clone()) {
                Err(Rejection::Invalid { field, .. }) => assert_eq!(field, want, "{context}"),
                other => panic!("{context}: {other:?}"),
            }
        }
    }
}
