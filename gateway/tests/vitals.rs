//! Web vitals through the gateway: attribution kept with each report, and the per-page
//! summary (p75 and rating shares) the viewer shows.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};

mod common;
use common::{now_ms, InProcess as Gateway};

fn gateway() -> Gateway {
    Gateway::dev()
}

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let (status, body, _) = common::send(router, request).await;
    (status, body)
}

/// A beacon of page view `view` at `url` with one LCP and one CLS report.
fn beacon(view: &str, url: &str, lcp: f64, cls: f64, attr: Value) -> Request<Body> {
    let rating = |v: f64, good: f64, poor: f64| {
        if v <= good {
            "good"
        } else if v <= poor {
            "needs-improvement"
        } else {
            "poor"
        }
    };
    let body = json!({
        "v": 1, "sentAt": now_ms(),
        "session": {"id": "0123456789abcdef0123456789abcdef"},
        "view": {"id": view, "url": url, "type": "navigate", "start": now_ms() - 5000.0},
        "vitals": [
            {"name": "LCP", "value": lcp, "delta": lcp, "id": format!("v1-{view}-LCP0"), "rating": rating(lcp, 2500.0, 4000.0), "nav": "navigate", "attr": attr},
            {"name": "CLS", "value": cls, "delta": cls, "id": format!("v1-{view}-CLS0"), "rating": rating(cls, 0.1, 0.25), "nav": "navigate"}
        ]
    });
    Request::post("/v1/rum?key=dev")
        .header("content-type", "text/plain")
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[tokio::test]
async fn attribution_is_stored_with_each_vital() {
    let gw = gateway();
    let attr = json!({"target": "html>body>img.hero", "url": "http://localhost/hero.png", "timeToFirstByte": 120.5,
                      "resourceLoadDelay": 30.0, "resourceLoadDuration": 400.0, "elementRenderDelay": 12.5});
    let (status, body) = call(
        &gw.ingest,
        beacon(
            "aaaaaaaaaaaaaaa1",
            "http://localhost:8080/",
            563.0,
            0.0,
            attr.clone(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, views) = call(
        &gw.admin,
        Request::get("/api/page_views")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    let vitals = &views["page_views"][0]["vitals"];
    assert_eq!(vitals["LCP"]["attribution"], attr);
    assert_eq!(vitals["CLS"]["attribution"], json!({}));
}

#[tokio::test]
async fn an_oversized_attribution_is_replaced_and_the_vital_kept() {
    let gw = gateway();
    let attr = json!({"target": "x".repeat(gateway::wire::beacon_v1::MAX_ATTRIBUTION_BYTES)});
    let (status, _) = call(
        &gw.ingest,
        beacon(
            "aaaaaaaaaaaaaaa2",
            "http://localhost:8080/",
            900.0,
            0.0,
            attr,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, views) = call(
        &gw.admin,
        Request::get("/api/page_views")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(views["page_views"][0]["vitals"]["LCP"]["value"], 900.0);
    assert_eq!(
        views["page_views"][0]["vitals"]["LCP"]["attribution"],
        json!({"truncated": true})
    );
}

#[tokio::test]
async fn pages_summarise_p75_and_rating_shares_per_path() {
    let gw = gateway();
    // Four views of `/` (query strings and fragments do not split a page), one of `/cart`.
    let home = [
        ("aaaaaaaaaaaaaaa3", 1000.0, 0.01),
        ("aaaaaaaaaaaaaaa4", 2000.0, 0.05),
        ("aaaaaaaaaaaaaaa5", 3000.0, 0.2),
        ("aaaaaaaaaaaaaaa6", 5000.0, 0.3),
    ];
    for (i, (view, lcp, cls)) in home.iter().enumerate() {
        let url = format!("http://localhost:8080/?utm={i}#top");
        let (status, _) = call(&gw.ingest, beacon(view, &url, *lcp, *cls, Value::Null)).await;
        assert_eq!(status, StatusCode::OK);
    }
    call(
        &gw.ingest,
        beacon(
            "aaaaaaaaaaaaaaa7",
            "http://localhost:8080/cart",
            800.0,
            0.0,
            Value::Null,
        ),
    )
    .await;

    let (status, body) = call(
        &gw.admin,
        Request::get("/api/pages").body(Body::empty()).expect("req"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let pages = body["pages"].as_array().expect("pages");
    assert_eq!(pages[0]["path"], "/");
    assert_eq!(pages[0]["page_views"], 4);
    let lcp = &pages[0]["vitals"]["LCP"];
    assert_eq!(lcp["p75"], 3000.0, "nearest rank: the 3rd of 4");
    assert_eq!(
        (
            lcp["good"].as_f64(),
            lcp["needs_improvement"].as_f64(),
            lcp["poor"].as_f64()
        ),
        (Some(0.5), Some(0.25), Some(0.25))
    );
    assert_eq!(pages[0]["vitals"]["CLS"]["p75"], 0.2);
    assert_eq!(pages[1]["path"], "/cart");
    assert_eq!(pages[1]["vitals"]["LCP"]["count"], 1);
}
