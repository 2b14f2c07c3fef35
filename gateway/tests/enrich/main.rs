//! The enrich stage driven end to end through the ingest router, with the real MaxMind test
//! databases and uap-core's regexes from the shared test data.
//!
//! * `attributes`: what a beacon is stored with from a trusted proxy and from an untrusted
//!   peer, geo coordinates, the `context` object's checks, OTLP left alone;
//! * `clock_skew`: both sides of the threshold;
//! * `running`: a GeoIP file replaced while running, the real server over sockets, and an
//!   older store's migration.

mod attributes;
mod clock_skew;
mod running;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use gateway::config::{Config, Overrides};
use serde_json::{json, Value};

const ORIGIN: &str = "http://localhost:8080";
const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36";
const PROXY: &str = "10.0.0.7:41000";

#[path = "../common/mod.rs"]
mod common;
use common::{now_ms, testdata, InProcess as Gateway};

/// A gateway whose `[enrich]` section is `enrich` plus the shared uap-core regexes.
fn gateway(enrich: &str) -> Gateway {
    let text = format!(
        // These tests read `client.address` back, which scrubbing drops by default.
        "[scrub]\nclient_ip = \"keep\"\n\
         [[apps]]\nname = \"shop\"\nkey = \"k1\"\nallowed_origins = [\"http://localhost:*\"]\n\
         [enrich]\nuser_agent_regexes = {:?}\n{enrich}\n",
        testdata("uap-core/regexes.yaml").display().to_string()
    );
    Gateway::from_toml(&text, 64)
}

fn city_db() -> String {
    format!(
        "geoip_database = {:?}\n",
        testdata("mmdb/GeoIP2-City-Test.mmdb").display().to_string()
    )
}

fn beacon(sent_at: f64, span_start: f64) -> Value {
    json!({
        "v": 1, "sentAt": sent_at,
        "resource": {"service.name": "shop-web"},
        "session": {"id": "0123456789abcdef0123456789abcdef"},
        "view": {"id": "a1b2c3d4e5f60718", "url": "http://localhost:8080/", "type": "navigate", "start": span_start - 100.0},
        "spans": [{"traceId": TRACE_ID, "spanId": "b7ad6b7169203331", "name": "GET", "kind": "client",
                   "start": span_start, "end": span_start + 50.0,
                   // A page cannot set what the gateway owns.
                   "attrs": {"http.request.method": "GET", "geo.country.iso_code": "XX", "client.address": "1.1.1.1"}}],
        "context": {"screen": {"width": 1920, "height": 1080}, "viewport": {"width": 1280, "height": 720},
                    "connection": {"effectiveType": "4g"}, "language": "en-GB", "unknownKey": [1, 2]}
    })
}

fn post(body: &Value, peer: &str, forwarded_for: Option<&str>) -> Request<Body> {
    let mut builder = Request::post("/v1/rum?key=k1")
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", ORIGIN)
        .header("user-agent", CHROME)
        .extension(ConnectInfo(peer.parse::<SocketAddr>().expect("peer")));
    if let Some(xff) = forwarded_for {
        builder = builder.header("x-forwarded-for", xff);
    }
    builder.body(Body::from(body.to_string())).expect("request")
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let (status, body, _) = common::send(router, request).await;
    (status, body)
}

/// The stored span's attributes, its start time and the page view's attributes.
async fn stored(gw: &Gateway) -> (Value, i64, Value) {
    let request = Request::get(format!("/api/traces/{TRACE_ID}"))
        .body(Body::empty())
        .expect("request");
    let (status, trace) = send(&gw.admin, request).await;
    assert_eq!(status, StatusCode::OK, "{trace}");
    let span = &trace["spans"][0];
    let start = span["start_time_unix_nano"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("start");
    (
        span["attributes"].clone(),
        start,
        trace["page_view"]["attributes"].clone(),
    )
}

fn geo_keys(attrs: &Value) -> Vec<&String> {
    attrs
        .as_object()
        .expect("object")
        .keys()
        .filter(|k| k.starts_with("geo."))
        .collect()
}
