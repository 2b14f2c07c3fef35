//! The gateway while it runs: a GeoIP file replaced, the real server over sockets, an older
//! store migrated.

use std::time::Instant;

use super::*;

#[tokio::test]
async fn a_replaced_geoip_file_is_picked_up_without_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("geo.mmdb");
    std::fs::copy(testdata("mmdb/GeoIP2-City-Test.mmdb"), &db).expect("copy");
    let gw = gateway(&format!(
        "trusted_proxies = [\"10.0.0.0/8\"]\ngeoip_check_interval_ms = 50\ngeoip_database = {:?}\n",
        db.display().to_string()
    ));
    // One span per beacon, each in a trace of its own; returns the span's attributes.
    let mut traces = 0u32;
    let mut span_attributes = || {
        traces += 1;
        let trace = format!("{traces:032x}");
        let ingest = gw.ingest.clone();
        let admin = gw.admin.clone();
        async move {
            let now = now_ms();
            let mut body = beacon(now, now - 1000.0);
            body["spans"][0]["traceId"] = json!(trace);
            let request = post(&body, PROXY, Some("81.2.69.142"));
            assert_eq!(send(&ingest, request).await.0, StatusCode::OK);
            let request = Request::get(format!("/api/traces/{trace}"))
                .body(Body::empty())
                .expect("request");
            send(&admin, request).await.1["spans"][0]["attributes"].clone()
        }
    };
    assert_eq!(span_attributes().await["geo.locality.name"], "London");

    // Replaced the safe way (write beside, rename over): a Country database has no cities.
    // The file is checked every 50 ms on a thread of its own: beacons are sent until one
    // shows the new database (for up to 10 s; a loaded machine may take a while).
    let next = dir.path().join("geo.mmdb.new");
    std::fs::copy(testdata("mmdb/GeoLite2-Country-Test.mmdb"), &next).expect("copy");
    std::fs::rename(&next, &db).expect("rename");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attrs = span_attributes().await;
        assert_eq!(attrs["geo.country.iso_code"], "GB", "{attrs}");
        if attrs.get("geo.locality.name").is_none() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still the City database: {attrs}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // And back, this time overwritten in place.
    std::fs::copy(testdata("mmdb/GeoLite2-City-Test.mmdb"), &db).expect("copy");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attrs = span_attributes().await;
        if attrs["geo.locality.name"] == "London" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still the Country database: {attrs}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
        "[scrub]\nclient_ip = \"keep\"\n\
         [server]\ningest_listen = \"127.0.0.1:{ingest}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
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
    // The store opens the older database and migrates it.
    let gw = Gateway::from_toml_in(
        dir,
        "[scrub]\nclient_ip = \"keep\"\n[[apps]]\nname = \"a\"\nkey = \"k1\"\nallowed_origins = [\"http://localhost:*\"]\n",
        8,
    );
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
