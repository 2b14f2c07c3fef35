//! The listeners over real loopback sockets, driven with raw bytes: every refusal (the
//! router's 404 and 405, a repeated query parameter, and the HTTP parser's own 400, 414 and
//! 431) carries the documented JSON body; clients that send their head or body a byte at a
//! time are cut off by the read timeouts; connections over the cap are refused; and
//! `/metrics` counts each.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;
use common::{exchange, Loopback};

/// No user-agent parsing: these tests do not need it, and it takes a second to load.
const LIMITS_ONLY: &str = "[enrich]\nuser_agent_parsing = false\n";

/// The status and the `error` of a JSON refusal; fails when the body is not that JSON.
fn refusal((status, head, body): (u16, String, String)) -> (u16, String) {
    let json: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}):\n{head}\n\n{body:?}"));
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (
        status,
        json["error"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn every_refusal_has_the_json_body() {
    let gw = Loopback::start(LIMITS_ONLY, "").await;
    let long_url = format!(
        "POST /v1/rum?key={} HTTP/1.1\r\nhost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let many_headers = format!(
        "POST /v1/traces HTTP/1.1\r\nhost: x\r\n{}\r\n",
        (0..120)
            .map(|i| format!("x-h{i}: v\r\n"))
            .collect::<String>()
    );
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "unknown path",
            b"GET /nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".to_vec(),
            404,
            "not_found",
        ),
        (
            "wrong method",
            b"GET /v1/traces HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".to_vec(),
            405,
            "method_not_allowed",
        ),
        (
            "repeated key",
            b"POST /v1/rum?key=k1&key=k1 HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".to_vec(),
            400,
            "invalid_field",
        ),
        (
            "bad content-length",
            b"POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "two content-lengths",
            b"POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "malformed request line",
            b"GARBAGE\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "bad header",
            b"POST /v1/traces HTTP/1.1\r\nno colon here\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        ("over-long URL", long_url.into_bytes(), 414, "uri_too_long"),
        ("too many headers", many_headers.into_bytes(), 431, "headers_too_large"),
    ];
    for (what, request, want_status, want_reason) in cases {
        let got = refusal(exchange(gw.ingest, &request).await);
        assert_eq!(got, (want_status, want_reason.to_string()), "{what}");
    }
    assert_eq!(
        gw.metric("rum_gateway_http_parse_refusals_total{listener=\"ingest\",reason=\"malformed_request\"}")
            .await,
        4
    );
    assert_eq!(
        gw.metric("rum_gateway_rejected_total{reason=\"not_found\"}")
            .await,
        1
    );
    gw.stop().await;
}

/// Sends `at_once` in one write, then `trickled` one byte every `gap` (over and over, never
/// finishing); returns when the server closes the connection (or after 20 s), with how long
/// that took and what it answered.
async fn trickle(
    addr: SocketAddr,
    at_once: &'static [u8],
    trickled: &'static [u8],
    gap: Duration,
) -> (Duration, u16, String) {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.split();
    let write = async {
        if writer.write_all(at_once).await.is_ok() {
            for byte in trickled.iter().cycle() {
                if writer.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(gap).await;
            }
        }
        // Writing failed: the server has closed. What it answered is still the reader's to
        // read (ending the exchange here raced the reader, and lost the answer under load).
        std::future::pending::<Vec<u8>>().await
    };
    let read = async {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes).await;
        bytes
    };
    let bytes = tokio::select! {
        bytes = read => bytes,
        never = write => never,
        () = tokio::time::sleep(Duration::from_secs(20)) => Vec::new(),
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (start.elapsed(), status, text)
}

/// Polls the `/metrics` series every 10 ms until it reads `want` (for up to 10 s); returns
/// the last value read.
async fn metric_reaches(gw: &Loopback, series: &str, want: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = gw.metric(series).await;
        if got == want || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_connections_are_capped() {
    // The header timeout is the window in which the slow heads hold every slot and the
    // seventh connection must be refused: wide enough for a loaded machine, still far below
    // the 10 s default. The bound on how long a slow client is held is between the two.
    let gw = Loopback::start(
        LIMITS_ONLY,
        "max_connections = 6\nheader_read_timeout_ms = 1500\nbody_read_timeout_ms = 600",
    )
    .await;
    let held_at_most = Duration::from_secs(6);
    // Six connections sending their request head a byte at a time (never finishing it: the
    // head repeats) take every slot.
    let slow_heads: Vec<_> = (0..6)
        .map(|_| {
            tokio::spawn(trickle(
                gw.ingest,
                b"",
                b"POST /v1/traces HTTP/1.1\r\nx-slow: ",
                Duration::from_millis(50),
            ))
        })
        .collect();
    assert_eq!(
        metric_reaches(&gw, "rum_gateway_connections_open{listener=\"ingest\"}", 6).await,
        6
    );
    // The seventh is refused at once with a reason.
    let over = refusal(
        exchange(
            gw.ingest,
            b"GET /nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        )
        .await,
    );
    assert_eq!(over, (503, "too_many_connections".to_string()));
    for task in slow_heads {
        let (took, status, text) = task.await.expect("join");
        assert!(
            took < held_at_most,
            "a slow head held its connection for {took:?}"
        );
        assert_eq!(status, 0, "closed without a response: {text:?}");
    }
    // Their slots are free again.
    let freed = refusal(
        exchange(
            gw.ingest,
            b"GET /nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        )
        .await,
    );
    assert_eq!(freed.0, 404);

    // A complete head in one write (trickled, the head's own timeout could end it first),
    // then the body a byte at a time: 408 with a reason, then closed.
    let (took, status, text) = trickle(
        gw.ingest,
        b"POST /v1/traces HTTP/1.1\r\nhost: x\r\nauthorization: Bearer k1\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n",
        b"{\"resourceSpans\": [",
        Duration::from_millis(1),
    )
    .await;
    assert_eq!(status, 408, "after {took:?}: {text:?}");
    assert!(text.contains("\"error\":\"body_timeout\""), "{text}");
    assert!(took < held_at_most, "{took:?}");

    assert_eq!(
        gw.metric("rum_gateway_connections_refused_total{listener=\"ingest\"}")
            .await,
        1
    );
    assert_eq!(
        gw.metric("rum_gateway_header_read_timeouts_total{listener=\"ingest\"}")
            .await,
        6
    );
    assert_eq!(
        gw.metric("rum_gateway_rejected_total{reason=\"body_timeout\"}")
            .await,
        1
    );
    assert_eq!(
        metric_reaches(&gw, "rum_gateway_connections_open{listener=\"ingest\"}", 0).await,
        0
    );
    gw.stop().await;
}
