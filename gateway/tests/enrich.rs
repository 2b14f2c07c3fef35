//! The enrich stage driven end to end through the ingest router, with the real MaxMind test
//! databases and uap-core's regexes from the shared test data: what a beacon is stored with
//! from a trusted proxy and from an untrusted peer, geo coordinates, clock-skew correction,
//! the `context` object's checks, and a GeoIP file replaced while running.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use gateway::config::{Config, Overrides};
use gateway::server::{admin_router, ingest_router};
use gateway::store::writer::{self, Writer};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata");
const ORIGIN: &str = "http://localhost:8080";
const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36";
const PROXY: &str = "10.0.0.7:41000";

fn testdata(path: &str) -> PathBuf {
    PathBuf::from(TESTDATA).join(path)
}

struct Gateway {
    ingest: Router,
    admin: Router,
    _writer: Writer,
    _dir: tempfile::TempDir,
}

/// A gateway whose `[enrich]` section is `enrich` plus the shared uap-core regexes.
fn gateway(enrich: &str) -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "[[apps]]\nname = \"shop\"\nkey = \"k1\"\nallowed_origins = [\"http://localhost:*\"]\n\
         [enrich]\nuser_agent_regexes = {:?}\n{enrich}\n",
        testdata("uap-core/regexes.yaml").display().to_string()
    );
    let overrides = Overrides {
        data_dir: Some(dir.path().into()),
        ..Overrides::default()
    };
    let config = Config::from_toml(&text, overrides).expect("config");
    let (store, writer) = writer::start(dir.path(), 64).expect("store");
    Gateway {
        ingest: ingest_router(Arc::new(config), store.clone()),
        admin: admin_router(store),
        _writer: writer,
        _dir: dir,
    }
}

fn city_db() -> String {
    format!(
        "geoip_database = {:?}\n",
        testdata("mmdb/GeoIP2-City-Test.mmdb").display().to_string()
    )
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as f64
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
    let response = router.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
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

#[tokio::test]
async fn a_beacon_through_a_trusted_proxy_gets_the_forwarded_clients_geo_and_user_agent() {
    let gw = gateway(&format!(
        "trusted_proxies = [\"10.0.0.0/8\"]\n{}",
        city_db()
    ));
    let now = now_ms();
    // The client tried to spoof its address; the proxy appended the real one.
    let (status, body) = send(
        &gw.ingest,
        post(
            &beacon(now, now - 1000.0),
            PROXY,
            Some("203.0.113.66, 81.2.69.142"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (span, _, view) = stored(&gw).await;
    for attrs in [&span, &view] {
        assert_eq!(attrs["client.address"], "81.2.69.142", "{attrs}");
        assert_eq!(attrs["geo.country.iso_code"], "GB", "{attrs}");
        assert_eq!(attrs["geo.locality.name"], "London", "{attrs}");
        assert_eq!(attrs["geo.region.iso_code"], "ENG", "{attrs}");
        assert_eq!(attrs["geo.continent.code"], "EU", "{attrs}");
        assert!(
            attrs.get("geo.location.lat").is_none(),
            "coordinates are off by default: {attrs}"
        );
        assert_eq!(attrs["user_agent.original"], CHROME);
        assert_eq!(attrs["user_agent.name"], "Chrome");
        assert_eq!(attrs["user_agent.version"], "120.0.6099");
        assert_eq!(attrs["os.name"], "Windows");
        assert_eq!(attrs["os.version"], "10");
        assert_eq!(attrs["browser.screen.width"], 1920);
        assert_eq!(attrs["browser.viewport.height"], 720);
        assert_eq!(attrs["browser.connection.effective_type"], "4g");
        assert_eq!(attrs["browser.language"], "en-GB");
        assert!(
            attrs.get("rum.clock_skew.adjusted_ms").is_none(),
            "clock was right: {attrs}"
        );
    }
    assert_eq!(
        span["http.request.method"], "GET",
        "the page's own attributes stay"
    );
    assert_eq!(span["session.id"], "0123456789abcdef0123456789abcdef");
}

#[tokio::test]
async fn an_untrusted_peer_is_the_client_and_its_forwarding_header_is_ignored() {
    let gw = gateway(&format!(
        "trusted_proxies = [\"10.0.0.0/8\"]\n{}",
        city_db()
    ));
    let now = now_ms();
    let (status, body) = send(
        &gw.ingest,
        post(
            &beacon(now, now - 1000.0),
            "127.0.0.1:50000",
            Some("81.2.69.142"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (span, _, view) = stored(&gw).await;
    for attrs in [&span, &view] {
        assert_eq!(attrs["client.address"], "127.0.0.1", "{attrs}");
        assert!(
            geo_keys(attrs).is_empty(),
            "no geo for a loopback peer, nor the page's forged one: {attrs}"
        );
        assert_eq!(attrs["user_agent.name"], "Chrome");
    }
}

#[tokio::test]
async fn coordinates_are_added_only_when_enabled() {
    let gw = gateway(&format!(
        "trusted_proxies = [\"10.0.0.7\"]\ngeo_coordinates = true\n{}",
        city_db()
    ));
    let now = now_ms();
    let (status, _) = send(
        &gw.ingest,
        post(&beacon(now, now - 1000.0), PROXY, Some("216.160.83.56")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (span, _, _) = stored(&gw).await;
    assert_eq!(span["geo.locality.name"], "Milton");
    assert_eq!(span["geo.region.iso_code"], "WA");
    assert_eq!(span["geo.country.iso_code"], "US");
    assert_eq!(span["geo.postal_code"], "98354");
    assert!(
        (span["geo.location.lat"].as_f64().expect("lat") - 47.2513).abs() < 1e-9,
        "{span}"
    );
    assert!(
        (span["geo.location.lon"].as_f64().expect("lon") + 122.3149).abs() < 1e-9,
        "{span}"
    );
}

#[tokio::test]
async fn a_browser_clock_off_by_more_than_the_threshold_is_corrected() {
    let gw = gateway("clock_skew_threshold_ms = 1000");
    // The browser's clock is a minute behind: its times are a minute early.
    let now = now_ms();
    let skew = 60_000.0;
    let span_start = now - skew - 500.0;
    let (status, _) = send(
        &gw.ingest,
        post(&beacon(now - skew, span_start), "127.0.0.1:1", None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (span, start, view) = stored(&gw).await;
    let adjusted = span["rum.clock_skew.adjusted_ms"]
        .as_i64()
        .expect("adjusted");
    // The measured offset is the skew plus the (in-process, tiny) transit time.
    assert!((60_000..61_000).contains(&adjusted), "{adjusted}");
    assert_eq!(view["rum.clock_skew.adjusted_ms"], adjusted);
    let shift_ms = (start as f64 / 1e6) - span_start;
    assert!(
        (60_000.0..61_000.0).contains(&shift_ms),
        "span start moved by {shift_ms} ms"
    );
    // Corrected, the span ended before the gateway received the beacon, as it really did.
    assert!(start as f64 / 1e6 + 50.0 <= now_ms());
}

#[tokio::test]
async fn a_clock_within_the_threshold_is_left_alone() {
    let gw = gateway("clock_skew_threshold_ms = 1000");
    let now = now_ms();
    // 300 ms behind: within the threshold, so nothing moves.
    let span_start = now - 2000.0;
    let (status, _) = send(
        &gw.ingest,
        post(&beacon(now - 300.0, span_start), "127.0.0.1:1", None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (span, start, view) = stored(&gw).await;
    assert!(span.get("rum.clock_skew.adjusted_ms").is_none(), "{span}");
    assert!(view.get("rum.clock_skew.adjusted_ms").is_none(), "{view}");
    assert_eq!(start, (span_start as i64) * 1_000_000);
}

#[tokio::test]
async fn a_malformed_context_is_a_400_naming_the_field_and_nothing_is_stored() {
    let gw = gateway("");
    let now = now_ms();
    let mut body = beacon(now, now - 1000.0);
    body["context"]["screen"]["width"] = json!("wide");
    let (status, reply) = send(&gw.ingest, post(&body, "127.0.0.1:1", None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert_eq!(reply["error"], "invalid_field");
    assert!(
        reply["message"]
            .as_str()
            .expect("message")
            .contains("context.screen.width"),
        "{reply}"
    );
    let request = Request::get(format!("/api/traces/{TRACE_ID}"))
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&gw.admin, request).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn otlp_spans_from_backends_are_not_enriched() {
    let gw = gateway(&format!(
        "trusted_proxies = [\"10.0.0.0/8\"]\n{}",
        city_db()
    ));
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": TRACE_ID, "spanId": "00f067aa0ba902b7", "name": "GET /x", "kind": 2,
        "startTimeUnixNano": "1732460000110000000", "endTimeUnixNano": "1732460000140000000"
    }]}]}]});
    let request = Request::post("/v1/traces")
        .header("content-type", "application/json")
        .header("authorization", "Bearer k1")
        .header("user-agent", CHROME)
        .header("x-forwarded-for", "81.2.69.142")
        .extension(ConnectInfo(PROXY.parse::<SocketAddr>().expect("peer")))
        .body(Body::from(body.to_string()))
        .expect("request");
    assert_eq!(send(&gw.ingest, request).await.0, StatusCode::OK);
    let (span, start, _) = stored(&gw).await;
    assert_eq!(
        span,
        json!({}),
        "backend spans keep their own attributes only"
    );
    assert_eq!(start, 1_732_460_000_110_000_000);
}

#[tokio::test]
async fn a_replaced_geoip_file_is_picked_up_without_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("geo.mmdb");
    std::fs::copy(testdata("mmdb/GeoIP2-City-Test.mmdb"), &db).expect("copy");
    let gw = gateway(&format!(
        "trusted_proxies = [\"10.0.0.0/8\"]\ngeoip_check_interval_ms = 50\ngeoip_database = {:?}\n",
        db.display().to_string()
    ));
    let send_one = |trace: &'static str| {
        let now = now_ms();
        let mut body = beacon(now, now - 1000.0);
        body["spans"][0]["traceId"] = json!(trace);
        post(&body, PROXY, Some("81.2.69.142"))
    };
    let span_of = |gw: &Gateway, trace: &'static str| {
        let admin = gw.admin.clone();
        async move {
            let request = Request::get(format!("/api/traces/{trace}"))
                .body(Body::empty())
                .expect("request");
            send(&admin, request).await.1["spans"][0]["attributes"].clone()
        }
    };
    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccc";
    assert_eq!(send(&gw.ingest, send_one(A)).await.0, StatusCode::OK);
    assert_eq!(span_of(&gw, A).await["geo.locality.name"], "London");

    // Replaced the safe way (write beside, rename over): a Country database has no cities.
    let next = dir.path().join("geo.mmdb.new");
    std::fs::copy(testdata("mmdb/GeoLite2-Country-Test.mmdb"), &next).expect("copy");
    std::fs::rename(&next, &db).expect("rename");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(send(&gw.ingest, send_one(B)).await.0, StatusCode::OK);
    let attrs = span_of(&gw, B).await;
    assert_eq!(attrs["geo.country.iso_code"], "GB", "{attrs}");
    assert!(
        attrs.get("geo.locality.name").is_none(),
        "still the City database: {attrs}"
    );

    // And back, this time overwritten in place.
    std::fs::copy(testdata("mmdb/GeoLite2-City-Test.mmdb"), &db).expect("copy");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(send(&gw.ingest, send_one(C)).await.0, StatusCode::OK);
    assert_eq!(span_of(&gw, C).await["geo.locality.name"], "London");
}

/// One HTTP/1.1 exchange over a real socket (blocking, off the runtime); returns the body.
async fn http(addr: SocketAddr, request: String) -> String {
    use std::io::{Read, Write};
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.write_all(request.as_bytes()).expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default()
    })
    .await
    .expect("join")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test]
async fn the_real_server_sees_the_tcp_peer_and_believes_a_trusted_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ingest, admin) = (free_port(), free_port());
    let text = format!(
        "[server]\ningest_listen = \"127.0.0.1:{ingest}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
         [[apps]]\nname = \"shop\"\nkey = \"k1\"\n[enrich]\ntrusted_proxies = [\"127.0.0.1\"]\n\
         user_agent_regexes = {:?}\n{}",
        testdata("uap-core/regexes.yaml").display().to_string(),
        city_db()
    );
    let overrides = Overrides {
        data_dir: Some(dir.path().into()),
        ..Overrides::default()
    };
    let config = Config::from_toml(&text, overrides).expect("config");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gateway::server::run(config, async {
        let _ = stopped.await;
    }));
    let ingest_addr: SocketAddr = format!("127.0.0.1:{ingest}").parse().expect("addr");
    let admin_addr: SocketAddr = format!("127.0.0.1:{admin}").parse().expect("addr");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(admin_addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let post = |trace: &str, xff: Option<&str>| {
        let now = now_ms();
        let mut body = beacon(now, now - 1000.0);
        body["spans"][0]["traceId"] = json!(trace);
        let body = body.to_string();
        let xff = xff
            .map(|v| format!("X-Forwarded-For: {v}\r\n"))
            .unwrap_or_default();
        format!(
            "POST /v1/rum?key=k1 HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nUser-Agent: {CHROME}\r\n\
             {xff}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let span = |trace: &str| {
        let request =
            format!("GET /api/traces/{trace} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
        async move {
            let body = http(admin_addr, request).await;
            let trace: Value =
                serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
            trace["spans"][0]["attributes"].clone()
        }
    };
    const DIRECT: &str = "dddddddddddddddddddddddddddddddd";
    const PROXIED: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    assert!(http(ingest_addr, post(DIRECT, None))
        .await
        .contains("\"spans\":1"));
    assert!(http(ingest_addr, post(PROXIED, Some("81.2.69.142")))
        .await
        .contains("\"spans\":1"));
    let direct = span(DIRECT).await;
    assert_eq!(direct["client.address"], "127.0.0.1", "{direct}");
    assert_eq!(direct["user_agent.name"], "Chrome");
    let proxied = span(PROXIED).await;
    assert_eq!(proxied["client.address"], "81.2.69.142", "{proxied}");
    assert_eq!(proxied["geo.locality.name"], "London");

    let _ = stop.send(());
    server.await.expect("join").expect("clean shutdown");
}

#[tokio::test]
async fn a_store_made_before_enrichment_is_migrated_and_keeps_its_page_views() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        // The page_views table as it was before page views had attributes.
        let conn =
            rusqlite::Connection::open(dir.path().join(gateway::store::DB_FILE)).expect("open");
        conn.execute_batch(
            "CREATE TABLE page_views (page_view_id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
                url TEXT NOT NULL, referrer TEXT NOT NULL, navigation_type TEXT NOT NULL,
                start_unix_nano INTEGER NOT NULL, resource TEXT NOT NULL) WITHOUT ROWID;
             INSERT INTO page_views VALUES ('old', 's', 'http://x/', '', 'navigate', 1, '{}');",
        )
        .expect("old schema");
    }
    let (store, writer) = writer::start(dir.path(), 8).expect("store opens an old database");
    let config = Config::from_toml(
        "[[apps]]\nname = \"a\"\nkey = \"k1\"\nallowed_origins = [\"http://localhost:*\"]\n",
        Overrides {
            data_dir: Some(dir.path().into()),
            ..Overrides::default()
        },
    )
    .expect("config");
    let gw = Gateway {
        ingest: ingest_router(Arc::new(config), store.clone()),
        admin: admin_router(store),
        _writer: writer,
        _dir: dir,
    };
    let now = now_ms();
    assert_eq!(
        send(
            &gw.ingest,
            post(&beacon(now, now - 1000.0), "127.0.0.1:1", None)
        )
        .await
        .0,
        StatusCode::OK
    );
    let (_, views) = send(
        &gw.admin,
        Request::get("/api/page_views")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    let views = views["page_views"].as_array().expect("views");
    let old = views
        .iter()
        .find(|v| v["page_view_id"] == "old")
        .expect("old view");
    assert_eq!(old["attributes"], json!({}));
    let new = views
        .iter()
        .find(|v| v["page_view_id"] == "a1b2c3d4e5f60718")
        .expect("new view");
    assert_eq!(new["attributes"]["client.address"], "127.0.0.1");
}
