use super::*;
use crate::batch::Batch;
use crate::trace::ids::{SpanId, TraceId};
use serde_json::Value;

const ORIGIN: f64 = 1_700_000_000_000.0;

fn journey() -> Journey {
    Journey::new(View::new(
        b"a1b2c3d4e5f60718",
        b"https://shop.example/",
        b"",
        b"navigate",
        0.0,
    ))
}

fn click(now: f64, span: u8, interactive: bool) -> Action {
    let mut span_id = *b"b7ad6b716920333_";
    span_id[15] = span;
    Action::new(
        TraceId(*b"0af7651916cd43dd8448eb211c80319c"),
        SpanId(span_id),
        action::ActionType::Click,
        now,
        b"Add to cart",
        b"button#add",
        interactive,
    )
}

fn spans(batch: &Batch) -> Vec<Value> {
    batch
        .items()
        .map(|(_, bytes)| serde_json::from_slice(bytes).expect("an item is JSON"))
        .collect()
}

#[test]
fn an_action_ends_when_its_requests_and_the_dom_settle() {
    let mut arena = vec![0u8; 64 * 1024];
    let mut batch = Batch::new(&mut arena);
    let mut j = journey();
    j.action(click(100.0, b'1', true), false, true, ORIGIN, &mut batch);
    j.mark(Fact::RequestStart, 110.0, 0.0);
    j.mark(Fact::RequestStart, 120.0, 0.0);
    j.mark(Fact::RequestEnd, 400.0, 110.0);
    assert_eq!(
        j.tick(1200.0, ORIGIN, &mut batch),
        (false, true),
        "one request pending"
    );
    j.mark(Fact::RequestEnd, 1250.0, 120.0);
    j.mark(Fact::Mutation, 1260.0, 0.0);
    assert_eq!(
        j.tick(1300.0, ORIGIN, &mut batch),
        (false, true),
        "quiet for 40 ms"
    );
    assert_eq!(j.tick(1400.0, ORIGIN, &mut batch), (false, false));
    let s = spans(&batch);
    assert_eq!(s.len(), 1);
    assert!(
        s[0]["attrs"].get("rum.page_view.id").is_none(),
        "in its own view: stamped by the gateway"
    );
    assert_eq!(s[0]["start"], ORIGIN + 100.0);
    assert_eq!(s[0]["end"], ORIGIN + 1260.0);
    assert!(s[0]["attrs"].get("rum.action.frustration.type").is_none());
}

#[test]
fn rage_and_dead_clicks_from_a_recorded_sequence() {
    let mut arena = vec![0u8; 64 * 1024];
    let mut batch = Batch::new(&mut arena);
    let mut j = journey();
    // Three quick clicks on one button that does nothing: one action, rage and dead.
    assert_eq!(
        j.action(click(0.0, b'1', true), false, true, ORIGIN, &mut batch),
        (false, false)
    );
    assert_eq!(
        j.action(click(250.0, b'2', true), true, true, ORIGIN, &mut batch),
        (false, true)
    );
    assert_eq!(
        j.action(click(500.0, b'3', true), true, true, ORIGIN, &mut batch),
        (false, true)
    );
    // A click elsewhere 2 s later that changes the page: the first is cut and written.
    j.action(click(2500.0, b'4', true), false, true, ORIGIN, &mut batch);
    j.mark(Fact::Mutation, 2600.0, 0.0);
    j.tick(4000.0, ORIGIN, &mut batch);
    let s = spans(&batch);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0]["spanId"], "b7ad6b7169203331");
    assert_eq!(s[0]["attrs"]["rum.action.click_count"], 3);
    assert_eq!(
        s[0]["attrs"]["rum.action.frustration.type"],
        serde_json::json!(["rage_click", "dead_click"])
    );
    assert_eq!(s[1]["spanId"], "b7ad6b7169203334");
    assert!(s[1]["attrs"].get("rum.action.frustration.type").is_none());
}

#[test]
fn a_click_that_navigates_is_not_dead_and_parents_the_route_change() {
    let mut arena = vec![0u8; 64 * 1024];
    let mut batch = Batch::new(&mut arena);
    let mut j = journey();
    let a = click(100.0, b'1', true);
    let parent = a.span_id;
    j.action(a, false, true, ORIGIN, &mut batch);
    assert!(j.admit_route(true));
    j.leave(150.0, ORIGIN, &mut batch);
    let mut next = View::new(
        b"b1b2c3d4e5f60718",
        b"https://shop.example/cart",
        b"https://shop.example/",
        b"route-change",
        150.0,
    );
    next.previous = Some(j.view.id);
    j.enter(
        next,
        Some(RouteChange {
            trace_id: TraceId(*b"0af7651916cd43dd8448eb211c80319c"),
            span_id: SpanId(*b"c7ad6b7169203331"),
            parent: Some(parent),
            trigger: "pushState",
            settle: settle::Settle::new(150.0),
        }),
    );
    j.mark(Fact::RequestStart, 160.0, 0.0);
    j.mark(Fact::RequestEnd, 300.0, 160.0);
    assert_eq!(
        j.tick(450.0, ORIGIN, &mut batch),
        (false, true),
        "the action's window is open"
    );
    j.tick(1200.0, ORIGIN, &mut batch);
    let s = spans(&batch);
    assert_eq!(s.len(), 2, "{s:?}");
    let route = &s[0];
    assert_eq!(route["name"], "routeChange");
    assert_eq!(route["parentSpanId"], "b7ad6b7169203331");
    assert_eq!(route["end"], ORIGIN + 300.0);
    assert_eq!(route["attrs"]["url.full"], "https://shop.example/cart");
    assert_eq!(
        route["attrs"]["rum.route_change.previous_url"],
        "https://shop.example/"
    );
    assert_eq!(route["attrs"]["rum.route_change.trigger"], "pushState");
    assert!(
        s[1]["attrs"].get("rum.action.frustration.type").is_none(),
        "navigated: not dead"
    );
    assert_eq!(
        s[1]["attrs"]["rum.page_view.id"], "a1b2c3d4e5f60718",
        "written in the next view, it names the view it happened in"
    );
}

#[test]
fn route_changes_over_the_cap_are_counted_not_recorded() {
    let mut j = journey();
    let cap = view::CAPS[Counted::RouteChange as usize];
    for _ in 0..cap {
        assert!(j.admit_route(true));
    }
    assert!(!j.admit_route(true));
    assert!(!j.admit_route(false));
    let mut buf = [0u8; 1024];
    let mut w = crate::json::Json::new(&mut buf);
    w.open(b'{');
    j.view.write(0.0, ORIGIN, &mut w);
    w.close(b'}');
    let v: Value = serde_json::from_slice(w.bytes()).expect("JSON");
    assert_eq!(v["view"]["dropped"]["routeChanges"], 2);
}

#[test]
fn a_page_that_hides_writes_its_held_action_without_calling_it_dead() {
    let mut arena = vec![0u8; 64 * 1024];
    let mut batch = Batch::new(&mut arena);
    let mut j = journey();
    // A link to another page: it unloads 300 ms after the click, within the window.
    j.action(click(100.0, b'1', true), false, true, ORIGIN, &mut batch);
    j.cut(400.0, ORIGIN, &mut batch);
    let s = spans(&batch);
    assert_eq!(s.len(), 1, "written at once");
    assert_eq!(s[0]["end"], ORIGIN + 100.0);
    assert!(s[0]["attrs"].get("rum.action.frustration.type").is_none());
    assert_eq!(
        j.tick(5000.0, ORIGIN, &mut batch),
        (false, false),
        "nothing left open"
    );
}
