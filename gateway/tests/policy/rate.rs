//! Rate limits (in-process and on a real loopback socket) and load shedding.

use std::time::Instant;

use super::*;

#[tokio::test]
async fn an_ingest_key_over_its_rate_gets_429_with_retry_after() {
    let gw = gateway_with(
        "[limits]\nkey_rate = { per_second = 0.25, burst = 2 }\n",
        64,
    );
    let request = || post_otlp(&otlp(vec![otlp_span([1; 16], [1; 8], 1)]), None);
    let start = Instant::now();
    assert_eq!(send(&gw.ingest, request()).await.0, StatusCode::OK);
    assert_eq!(send(&gw.ingest, request()).await.0, StatusCode::OK);
    let (status, err, headers) = send(&gw.ingest, request()).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    assert_retry_after(
        headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        4,
        start.elapsed(),
    );
}

/// `Retry-After` for the next token of a bucket refilling one token per `refill_secs`,
/// emptied at most `elapsed` ago: `refill_secs` when the requests came within a second (as
/// they do), a little less when a loaded machine spread them out (the token is nearer).
fn assert_retry_after(got: Option<&str>, refill_secs: u64, elapsed: Duration) {
    let secs: u64 = got
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After {got:?}"));
    let earliest = (refill_secs as f64 - elapsed.as_secs_f64()).ceil().max(1.0) as u64;
    assert!(
        (earliest..=refill_secs).contains(&secs),
        "Retry-After {secs}, want {earliest}..={refill_secs} ({elapsed:?} after the first request)"
    );
}

#[tokio::test]
async fn an_apps_own_rate_limit_overrides_the_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
        [[apps]]
        name = "tight"
        key = "tight-key"
        rate_limit = { per_second = 1, burst = 1 }
        [[apps]]
        name = "loose"
        key = "loose-key"
    "#;
    let overrides = Overrides {
        data_dir: Some(dir.path().into()),
        ..Overrides::default()
    };
    let config = Config::from_toml(text, overrides).expect("config");
    let (store, _writer) = writer::start(dir.path(), 8).expect("store");
    let ingest = ingest_router(&config, store).expect("enrich stage");
    let request = |key: &str| {
        let mut r = post_otlp(&otlp(vec![otlp_span([1; 16], [1; 8], 1)]), None);
        r.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {key}").parse().expect("value"),
        );
        r
    };
    assert_eq!(send(&ingest, request("tight-key")).await.0, StatusCode::OK);
    assert_eq!(
        send(&ingest, request("tight-key")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    for _ in 0..5 {
        assert_eq!(send(&ingest, request("loose-key")).await.0, StatusCode::OK);
    }
}

/// A raw HTTP/1.1 request on a real socket; returns the status and the `Retry-After` value.
async fn raw_post(addr: SocketAddr) -> (u16, Option<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = "POST /v1/traces HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer dev\r\n\
                   Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let retry = response.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("retry-after: ")
            .map(|v| v.trim().to_string())
    });
    (status, retry)
}

#[tokio::test]
async fn a_client_ip_over_its_rate_gets_429_on_a_real_socket() {
    let gw = gateway_with("[limits]\nip_rate = { per_second = 0.25, burst = 2 }\n", 64);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = gw
        .ingest
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let start = Instant::now();
    assert_eq!(raw_post(addr).await.0, 200);
    assert_eq!(raw_post(addr).await.0, 200);
    let (status, retry) = raw_post(addr).await;
    assert_eq!(status, 429);
    assert_retry_after(retry.as_deref(), 4, start.elapsed());
    // In-process requests carry no peer address and are not limited per IP.
    let request = post_otlp(&otlp(vec![]), None);
    assert_eq!(send(&gw.ingest, request).await.0, StatusCode::OK);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_index_sheds_load_with_503_once_its_bound_is_reached_and_loses_nothing_acknowledged(
) {
    // Room for about two one-span requests' log records behind the index.
    let gw = Gateway::from_toml_with_unindexed_cap(APP, 64, 1200);
    // Hold SQLite's write lock so the indexer stalls on its first commit; the ingest log,
    // which acknowledges, goes on until the unindexed bound.
    let blocker = rusqlite::Connection::open(gw.dir.path().join("rum.sqlite")).expect("open");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let request = |n: u8| post_otlp(&otlp(vec![otlp_span([n; 16], [1; 8], 1)]), None);
    let (mut acknowledged, mut shed) = (Vec::new(), 0);
    for n in 1..=8u8 {
        let (status, err, headers) = send(&gw.ingest, request(n)).await;
        match status {
            StatusCode::OK => acknowledged.push(hex::encode([n; 16])),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(err["error"], "busy");
                assert_eq!(
                    headers
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok()),
                    Some("1")
                );
                shed += 1;
            }
            other => panic!("request {n}: {other}"),
        }
    }
    assert!(
        shed >= 4 && (1..=4).contains(&acknowledged.len()),
        "shed {shed}, acknowledged {acknowledged:?}"
    );
    blocker.execute_batch("ROLLBACK").expect("unlock");
    // Every acknowledged request is stored once the index runs again, and nothing of a shed one.
    let mut traces: Vec<String> = stored_spans(&gw).into_iter().map(|(t, _)| t).collect();
    traces.sort();
    assert_eq!(traces, acknowledged);
    // And the bound frees: writes are taken again.
    assert_eq!(send(&gw.ingest, request(9)).await.0, StatusCode::OK);
}
