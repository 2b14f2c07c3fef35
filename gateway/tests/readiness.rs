//! `GET /readyz`: 503 with its reasons until everything configured is loaded, then 200;
//! open without the admin token, like `/healthz`.

use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{exchange, Loopback};

const READYZ: &[u8] = b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";

fn city_db() -> std::path::PathBuf {
    common::testdata("mmdb/GeoIP2-City-Test.mmdb")
}

#[tokio::test]
async fn ready_only_once_the_configured_geoip_database_is_loaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = dir.path().join("city.mmdb");
    let gw = Loopback::start(
        &format!(
            "[enrich]\nuser_agent_parsing = false\ngeoip_database = {:?}\ngeoip_check_interval_ms = 50\n",
            geo.display().to_string()
        ),
        "",
    )
    .await;
    let (status, _, body) = exchange(gw.admin, READYZ).await;
    assert_eq!(status, 503, "{body}");
    let json: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["status"], "not_ready");
    assert!(
        json["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("GeoIP")),
        "{body}"
    );
    // The database appears; the watcher loads it.
    std::fs::copy(city_db(), &geo).expect("copy");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, body) = exchange(gw.admin, READYZ).await;
        if status == 200 {
            assert_eq!(
                serde_json::from_str::<Value>(&body).expect("json")["status"],
                "ready"
            );
            break;
        }
        assert!(Instant::now() < deadline, "not ready after 5 s: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gw.stop().await;
}

#[tokio::test]
async fn missing_user_agent_regexes_are_a_reason_and_the_token_does_not_guard_readyz() {
    let gw = Loopback::start(
        "[server]\nadmin_token = \"a-long-enough-admin-token\"\n\
         [enrich]\nuser_agent_regexes = \"/nonexistent/regexes.yaml\"\n",
        "",
    )
    .await;
    let (status, _, body) = exchange(gw.admin, READYZ).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("user-agent regexes"), "{body}");
    // Everything else on the admin listener needs the token.
    let (status, _, _) = exchange(
        gw.admin,
        b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 401);
    gw.stop().await;
}
