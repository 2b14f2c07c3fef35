//! `GET /readyz`: 200 once the gateway runs with everything configured loaded (a configured
//! file that cannot be loaded stops the start instead); open without the admin token, like
//! `/healthz`. `/healthz` answers on the ingest listener too, for load balancers that probe
//! the port they send traffic to.

use std::time::Duration;

use gateway::config::{Config, Overrides};
use serde_json::Value;
use tokio::net::TcpListener;

mod common;
use common::{exchange, Loopback};

const READYZ: &[u8] = b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";

/// Both listeners answer `GET /healthz` with the same body, without an ingest key or the
/// admin token.
#[tokio::test]
async fn healthz_answers_on_the_ingest_listener_as_on_the_admin_one() {
    let gw = Loopback::start(
        "[server]\nadmin_token = \"a-long-enough-admin-token\"\n",
        "",
    )
    .await;
    let (admin_status, _, admin_body) = exchange(gw.admin, HEALTHZ).await;
    let (ingest_status, ingest_head, ingest_body) = exchange(gw.ingest, HEALTHZ).await;
    assert_eq!((admin_status, ingest_status), (200, 200), "{ingest_body}");
    let admin: Value = serde_json::from_str(&admin_body).expect("json");
    let ingest: Value = serde_json::from_str(&ingest_body).expect("json");
    assert_eq!(admin, serde_json::json!({ "status": "ok" }));
    assert_eq!(ingest, admin);
    assert!(
        ingest_head.contains("content-type: application/json"),
        "{ingest_head}"
    );
    // Other methods and paths of the ingest listener are refused as before.
    let (status, _, _) = exchange(
        gw.ingest,
        b"POST /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 405);
    gw.stop().await;
}

fn city_db() -> std::path::PathBuf {
    common::testdata("mmdb/GeoIP2-City-Test.mmdb")
}

/// With a GeoIP database and the built-in user-agent regexes the gateway is ready as soon
/// as it answers; the admin token does not guard `/readyz`.
#[tokio::test]
async fn ready_at_once_with_its_files_loaded_and_the_token_does_not_guard_readyz() {
    let gw = Loopback::start(
        &format!(
            "[server]\nadmin_token = \"a-long-enough-admin-token\"\n\
             [enrich]\ngeoip_database = {:?}\n",
            city_db().display().to_string()
        ),
        "",
    )
    .await;
    let (status, _, body) = exchange(gw.admin, READYZ).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json")["status"],
        "ready"
    );
    // Everything else on the admin listener needs the token.
    let (status, _, _) = exchange(
        gw.admin,
        b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 401);
    gw.stop().await;
}

/// What `server::run_with_listeners` returns for this `[enrich]` section, within 10 s.
async fn start_error(enrich: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let overrides = Overrides {
        data_dir: Some(dir.path().into()),
        ..Overrides::default()
    };
    let toml = format!("[[apps]]\nname = \"shop\"\nkey = \"k1\"\n[enrich]\n{enrich}\n");
    let config = Config::from_toml(&toml, overrides).expect("config");
    let ingest = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let run = gateway::server::run_with_listeners(config, ingest, admin, std::future::pending());
    let result = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("an error at start, not a running gateway");
    format!("{:#}", result.expect_err("the start fails"))
}

/// A configured file that is missing is no readiness reason of a running gateway: the
/// gateway does not start, and says which setting and path.
#[tokio::test]
async fn a_missing_configured_regexes_or_geoip_file_is_a_start_up_error() {
    let err = start_error("user_agent_regexes = \"/nonexistent/regexes.yaml\"").await;
    assert!(err.contains("enrich.user_agent_regexes"), "{err}");
    assert!(err.contains("/nonexistent/regexes.yaml"), "{err}");
    let err = start_error("geoip_database = \"/nonexistent/city.mmdb\"").await;
    assert!(err.contains("enrich.geoip_database"), "{err}");
    assert!(err.contains("/nonexistent/city.mmdb"), "{err}");
    // Turned off, the same missing regexes are no error.
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Loopback::start_in(
        dir.path(),
        "[[apps]]\nname = \"shop\"\nkey = \"k1\"\n[enrich]\nuser_agent_parsing = false\n\
         user_agent_regexes = \"/nonexistent/regexes.yaml\"\n",
    )
    .await;
    assert_eq!(exchange(gw.admin, READYZ).await.0, 200);
    gw.stop().await;
}
