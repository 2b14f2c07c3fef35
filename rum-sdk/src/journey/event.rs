//! An event as a beacon item (`docs/beacon-v1.md`: `events`): a custom event from
//! `rum.event(name, attributes)`, or `session.start`/`session.end` (OpenTelemetry's session
//! events). Exported by the gateway as a log record with `event.name`.

use crate::json::Json;

/// Longest event name.
pub const NAME_BYTES: usize = 256;
/// Largest attributes object, as JSON; larger ones are left out (the event is kept).
pub const MAX_ATTRS_BYTES: usize = 4096;

/// `attrs`: a JSON object JS wrote (`JSON.stringify` of the page's values, checked there),
/// or empty. `time` is unix ms.
pub fn write(j: &mut Json, name: &[u8], time: f64, attrs: &[u8]) {
    j.open(b'{').key("name").text(name).key("time").ms(time);
    if attrs.first() == Some(&b'{') && attrs.len() <= MAX_ATTRS_BYTES {
        j.key("attrs").raw(attrs);
    }
    j.close(b'}');
}
