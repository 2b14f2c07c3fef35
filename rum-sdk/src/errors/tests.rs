use super::*;
use crate::beacon::Envelope;
use crate::journey::action::{Action, ActionType};
use crate::journey::view::View;
use crate::recorder::Recorder;
use alloc::vec;
use alloc::vec::Vec;
use serde_json::Value;

const ORIGIN: f64 = 1_700_000_000_000.0;

fn recorder(arena: &mut [u8]) -> Recorder<'_> {
    let view = View::new(
        b"a1b2c3d4e5f60718",
        b"https://shop.example/",
        b"",
        b"navigate",
        0.0,
    );
    Recorder::new(
        &Envelope::default(),
        b"0123456789abcdef0123456789abcdef",
        view,
        ORIGIN,
        9,
        arena,
    )
}

fn error<'a>(message: &'a [u8], stack: &'a [u8], time: f64) -> PageError<'a> {
    PageError {
        kind: "uncaught",
        error_type: b"TypeError",
        message,
        stack,
        source: b"https://shop.example/app.js",
        line: 10,
        col: 5,
        time,
        request: None,
        action: None,
        attrs: b"",
    }
}

fn beacons(r: &mut Recorder, at: f64) -> Vec<Value> {
    let mut out = vec![0u8; crate::batch::MAX_BYTES];
    let mut all = Vec::new();
    loop {
        let n = r.next_beacon(ORIGIN + at, &mut out);
        if n == 0 {
            return all;
        }
        all.push(serde_json::from_slice(&out[..n]).expect("a beacon is JSON"));
    }
}

fn errors(beacons: &[Value]) -> Vec<Value> {
    beacons
        .iter()
        .flat_map(|b| b["errors"].as_array().cloned().unwrap_or_default())
        .collect()
}

const STACK: &[u8] = b"TypeError: x is undefined\n    at add (https://shop.example/app.js:10:5)\n    at onclick (https://shop.example/app.js:20:1)";

#[test]
fn the_same_error_fifty_times_is_one_record_then_its_count() {
    let mut arena = vec![0u8; crate::batch::QUEUE_BYTES];
    let mut r = recorder(&mut arena);
    for i in 0..50 {
        r.error(&error(b"x is undefined", STACK, 100.0 + f64::from(i)), true);
    }
    let sent = errors(&beacons(&mut r, 1000.0));
    assert_eq!(sent.len(), 2, "the record and one count update: {sent:?}");
    assert_eq!(sent[0]["type"], "TypeError");
    assert_eq!(sent[0]["message"], "x is undefined");
    assert_eq!(sent[0]["kind"], "uncaught");
    assert_eq!(sent[0]["count"], 1);
    assert_eq!(sent[0]["line"], 10);
    assert_eq!(sent[0]["time"], ORIGIN + 100.0);
    assert_eq!(sent[1]["id"], sent[0]["id"], "the update names the record");
    assert_eq!(sent[1]["count"], 50);
    // Three more later: one more update, with the total.
    for _ in 0..3 {
        r.error(&error(b"x is undefined", STACK, 2000.0), true);
    }
    let later = errors(&beacons(&mut r, 3000.0));
    assert_eq!(later.len(), 1);
    assert_eq!(later[0]["count"], 53);
    assert!(
        errors(&beacons(&mut r, 4000.0)).is_empty(),
        "nothing new, nothing sent"
    );
}

#[test]
fn errors_differing_in_message_type_or_place_are_distinct() {
    let mut arena = vec![0u8; crate::batch::QUEUE_BYTES];
    let mut r = recorder(&mut arena);
    r.error(&error(b"x is undefined", STACK, 1.0), true);
    r.error(&error(b"y is undefined", STACK, 2.0), true);
    let mut other_type = error(b"x is undefined", STACK, 3.0);
    other_type.error_type = b"ReferenceError";
    r.error(&other_type, true);
    r.error(
        &error(
            b"x is undefined",
            b"TypeError: x is undefined\n    at other (https://shop.example/app.js:99:1)",
            4.0,
        ),
        true,
    );
    let sent = errors(&beacons(&mut r, 100.0));
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(sent.iter().all(|e| e["count"] == 1));
}

#[test]
fn distinct_errors_over_the_view_cap_are_counted_and_a_new_view_starts_afresh() {
    let mut arena = vec![0u8; crate::batch::QUEUE_BYTES];
    let mut r = recorder(&mut arena);
    for i in 0..(MAX_PER_VIEW + 3) {
        let message = alloc::format!("error {i}");
        r.error(&error(message.as_bytes(), b"", 1.0), true);
    }
    r.error(&error(b"error 0", b"", 2.0), true); // seen before: counted, not dropped
    let b = beacons(&mut r, 100.0);
    let sent = errors(&b);
    assert_eq!(
        sent.len(),
        MAX_PER_VIEW + 1,
        "50 records and one update: {}",
        b.last().expect("a beacon")["view"]
    );
    let last = &b.last().expect("a beacon")["view"];
    assert_eq!(last["dropped"]["errors"], 3, "{last}");
    // Over the session's cap: counted too.
    r.leave(200.0);
    let mut next = View::new(
        b"b1b2c3d4e5f60718",
        b"https://shop.example/cart",
        b"",
        b"route-change",
        300.0,
    );
    next.previous = Some(*b"a1b2c3d4e5f60718");
    r.enter(next, None);
    r.error(&error(b"error 0", b"", 400.0), true);
    r.error(&error(b"fresh", b"", 401.0), false);
    let b = beacons(&mut r, 500.0);
    let sent = errors(&b);
    assert_eq!(sent.len(), 1, "error 0 is new to this view: {sent:?}");
    assert_eq!(sent[0]["message"], "error 0");
    assert_eq!(b[0]["view"]["dropped"]["errors"], 1);
}

#[test]
fn an_error_within_a_click_window_names_the_action_which_becomes_an_error_click() {
    let mut arena = vec![0u8; crate::batch::QUEUE_BYTES];
    let mut r = recorder(&mut arena);
    let action = Action::new(
        crate::trace::ids::TraceId(*b"0af7651916cd43dd8448eb211c80319c"),
        SpanId(*b"b7ad6b7169203331"),
        ActionType::Click,
        100.0,
        b"Pay",
        b"button#pay",
        false,
    );
    r.action(action, false, true);
    let mut e = error(b"payment failed", STACK, 300.0);
    e.action = r.journey.action_at(300.0);
    e.request = Some((
        crate::trace::ids::TraceId(*b"1af7651916cd43dd8448eb211c80319c"),
        SpanId(*b"c7ad6b7169203331"),
    ));
    r.error(&e, true);
    assert_eq!(r.journey.action_at(1200.0), None, "past the window");
    r.tick(2000.0);
    let b = beacons(&mut r, 2000.0);
    let sent = errors(&b);
    assert_eq!(sent[0]["actionSpanId"], "b7ad6b7169203331");
    assert_eq!(sent[0]["traceId"], "1af7651916cd43dd8448eb211c80319c");
    assert_eq!(sent[0]["spanId"], "c7ad6b7169203331");
    let action = &b[0]["spans"][0];
    assert_eq!(
        action["attrs"]["rum.action.frustration.type"],
        serde_json::json!(["error_click"])
    );
}
