//! HTTPS end to end, on 127.0.0.1 with a CA and a server certificate made by the test
//! (rcgen): beacons over HTTPS to the ingest listener, read back over the HTTPS admin
//! listener; the connection cap and the head timeout on TLS connections; export to an HTTPS
//! OTLP receiver (axum behind tokio-rustls, with that certificate) trusted through
//! `export.ca_file`; and a bad certificate or key file that stops the start, naming the
//! setting. The clients trust only the test CA (reqwest's own rustls), independently of the
//! gateway's TLS code.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use gateway::config::{Config, Overrides};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

mod common;

const ORIGIN: &str = "http://localhost:8080";

/// A CA, a server certificate for `127.0.0.1` and `localhost` signed by it, its key, and a
/// key that belongs to no certificate, as PEM files in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "rum-gateway test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
            .expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "rum-gateway test server");
        let cert = params.signed_by(&key, &ca).expect("server certificate");
        let other = KeyPair::generate().expect("other key");
        let ca_pem = ca.pem();
        for (name, text) in [
            ("ca.pem", ca_pem.clone()),
            ("cert.pem", cert.pem()),
            ("key.pem", key.serialize_pem()),
            ("other-key.pem", other.serialize_pem()),
        ] {
            std::fs::write(dir.path().join(name), text).expect("write PEM");
        }
        Pki { dir, ca_pem }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The `[server]` lines of HTTPS listeners with this certificate.
    fn server_section(&self) -> String {
        format!(
            "[server]\ntls_cert_file = {:?}\ntls_key_file = {:?}\n",
            self.path("cert.pem").display().to_string(),
            self.path("key.pem").display().to_string()
        )
    }

    /// A client that trusts only the test CA; one connection per request.
    fn client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA");
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client")
    }

    /// The server side of the test certificate, for the fake receiver.
    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_file_iter(self.path("cert.pem"))
            .expect("cert")
            .collect::<Result<Vec<_>, _>>()
            .expect("cert PEM");
        let key = PrivateKeyDer::from_pem_file(self.path("key.pem")).expect("key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

/// A gateway on HTTPS loopback listeners (app `shop`, key `k1`).
struct Gateway {
    ingest: SocketAddr,
    admin: SocketAddr,
    client: reqwest::Client,
    running: common::Loopback,
    _data: tempfile::TempDir,
}

impl Gateway {
    /// Starts with the test certificate, `sections` (TOML after `[server]`) and `[limits]`
    /// lines `limits`; returns once `/healthz` answers over HTTPS on the admin listener.
    async fn start(pki: &Pki, sections: &str, limits: &str) -> Gateway {
        let data = tempfile::tempdir().expect("tempdir");
        let toml = format!(
            "{}\n[[apps]]\nname = \"shop\"\nkey = \"k1\"\nallowed_origins = [\"http://localhost:*\"]\n\
             {sections}\n[limits]\n{limits}\n",
            pki.server_section()
        );
        let running = common::Loopback::spawn_in(data.path(), &toml).await;
        let (ingest_addr, admin_addr) = (running.ingest, running.admin);
        let client = pki.client();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let answer = client
                .get(format!("https://{admin_addr}/healthz"))
                .send()
                .await;
            if answer.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(Instant::now() < deadline, "gateway did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Gateway {
            ingest: ingest_addr,
            admin: admin_addr,
            client,
            running,
            _data: data,
        }
    }

    async fn stop(self) {
        self.running.stop().await;
    }

    async fn post_beacon(&self, trace_id: &str) -> (u16, String) {
        let response = self
            .client
            .post(format!("https://{}/v1/rum?key=k1", self.ingest))
            .header("origin", ORIGIN)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(beacon(trace_id).to_string())
            .send()
            .await
            .expect("beacon over HTTPS");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// `GET` on the admin listener over HTTPS: status and JSON body (`Null` when not JSON).
    async fn admin_get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("https://{}{path}", self.admin))
            .send()
            .await
            .expect("admin over HTTPS");
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// The value of one `/metrics` series, `name{labels}` exactly as rendered; 0 when absent.
    /// Asked again while the admin listener is at its connection cap (the previous request's
    /// connection may not be closed on its side yet).
    async fn metric(&self, series: &str) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(5);
        let text = loop {
            let response = self
                .client
                .get(format!("https://{}/metrics", self.admin))
                .send()
                .await
                .expect("metrics over HTTPS");
            if response.status() == 200 {
                break response.text().await.unwrap_or_default();
            }
            assert!(Instant::now() < deadline, "{}", response.status());
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
            .map_or(0, |v| v.trim().parse().expect("number"))
    }

    /// Waits up to 10 s for a series to reach `want` (counters are added just after the
    /// event a client sees); returns its value then.
    async fn metric_reaches(&self, series: &str, want: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.metric(series).await;
            if got >= want {
                return got;
            }
            assert!(Instant::now() < deadline, "{series} is {got}, not {want}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
}

fn beacon(trace_id: &str) -> Value {
    let now = now_ms();
    json!({
        "v": 1, "sentAt": now,
        "resource": {"service.name": "shop-web"},
        "session": {"id": "0123456789abcdef0123456789abcdef"},
        "view": {"id": "a1b2c3d4e5f60718", "url": "http://localhost:8080/", "type": "navigate", "start": now - 1100.0},
        "spans": [{"traceId": trace_id, "spanId": "00f067aa0ba902b7", "name": "GET", "kind": "client",
                   "start": now - 1000.0, "end": now - 950.0, "attrs": {"http.request.method": "GET"}}]
    })
}

#[tokio::test]
async fn a_beacon_sent_over_https_is_read_back_over_the_https_admin_listener() {
    let pki = Pki::new();
    let gw = Gateway::start(&pki, "", "").await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let (status, body) = gw.post_beacon(trace_id).await;
    assert_eq!(status, 200, "{body}");
    let (status, trace) = gw.admin_get(&format!("/api/traces/{trace_id}")).await;
    assert_eq!(status, 200, "{trace}");
    assert_eq!(trace["spans"][0]["name"], "GET", "{trace}");
    // Load balancers probe the ingest port over HTTPS too.
    let health = gw
        .client
        .get(format!("https://{}/healthz", gw.ingest))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    assert_eq!(
        serde_json::from_str::<Value>(&health.text().await.expect("body")).expect("json"),
        json!({"status": "ok"})
    );
    // Plain HTTP to an HTTPS listener gets no HTTP answer; the failed handshake is counted.
    let (status, _, _) = common::exchange(
        gw.ingest,
        b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 0);
    assert_eq!(
        gw.metric_reaches(
            "rum_gateway_tls_handshake_failures_total{listener=\"ingest\"}",
            1
        )
        .await,
        1
    );
    gw.stop().await;
}

/// `admin_tls = false`: the ingest listener serves HTTPS, the admin one plain HTTP.
#[tokio::test]
async fn the_admin_listener_can_stay_plain_http() {
    let pki = Pki::new();
    let data = tempfile::tempdir().expect("tempdir");
    let toml = format!(
        "{}admin_tls = false\n[[apps]]\nname = \"shop\"\nkey = \"k1\"\n",
        pki.server_section()
    );
    let gw = common::Loopback::start_in(data.path(), &toml).await;
    let health = pki
        .client()
        .get(format!("https://{}/healthz", gw.ingest))
        .send()
        .await
        .expect("healthz over HTTPS");
    assert_eq!(health.status(), 200);
    gw.stop().await;
}

/// The connection cap and the head timeout hold for TLS connections: one that never starts
/// its handshake holds a slot only for `header_read_timeout_ms`, and a connection over the
/// cap gets the documented 503 over TLS.
#[tokio::test]
async fn tls_connections_keep_the_cap_and_the_head_timeout() {
    let pki = Pki::new();
    let gw = Gateway::start(
        &pki,
        "",
        "max_connections = 1\nheader_read_timeout_ms = 400",
    )
    .await;
    let opened = Instant::now();
    let mut idle = TcpStream::connect(gw.ingest).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = gw
        .client
        .get(format!("https://{}/healthz", gw.ingest))
        .send()
        .await
        .expect("an answer over TLS");
    assert_eq!(refused.status(), 503);
    assert_eq!(
        refused.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    let body: Value = serde_json::from_str(&refused.text().await.expect("body")).expect("json");
    assert_eq!(body["error"], "too_many_connections", "{body}");
    // The silent connection is closed once its handshake time is up.
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(opened.elapsed() >= Duration::from_millis(350));
    let health = gw
        .client
        .get(format!("https://{}/healthz", gw.ingest))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    assert_eq!(
        gw.metric_reaches(
            "rum_gateway_header_read_timeouts_total{listener=\"ingest\"}",
            1
        )
        .await,
        1
    );
    assert_eq!(
        gw.metric_reaches(
            "rum_gateway_connections_refused_total{listener=\"ingest\"}",
            1
        )
        .await,
        1
    );
    gw.stop().await;
}

// ---- export over HTTPS ----------------------------------------------------------------------

/// A fake OTLP/HTTP receiver on HTTPS with the test certificate: the trace ids it got.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Vec<u8>>>>);

impl Receiver {
    async fn start(pki: &Pki) -> (Receiver, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let receiver = Receiver::default();
        let app = Router::new()
            .route("/v1/traces", post(traces))
            .route("/v1/logs", post(|| async { "" }))
            .route("/v1/metrics", post(|| async { "" }))
            .with_state(receiver.clone());
        let acceptor = pki.acceptor();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (receiver, addr)
    }

    fn trace_ids(&self) -> Vec<Vec<u8>> {
        self.0.lock().expect("inbox").clone()
    }
}

async fn traces(State(receiver): State<Receiver>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("OTLP traces");
    let mut inbox = receiver.0.lock().expect("inbox");
    for resource in request.resource_spans {
        for scope in resource.scope_spans {
            inbox.extend(scope.spans.into_iter().map(|s| s.trace_id));
        }
    }
    Vec::new()
}

fn export_section(endpoint: SocketAddr, ca_file: Option<&Path>) -> String {
    let ca = ca_file.map_or(String::new(), |p| {
        format!("ca_file = {:?}\n", p.display().to_string())
    });
    format!(
        "[export]\notlp_endpoint = \"https://{endpoint}\"\n{ca}batch_timeout_ms = 20\n\
         retry_initial_backoff_ms = 50\nretry_max_backoff_ms = 100\ntimeout_ms = 2000\n"
    )
}

#[tokio::test]
async fn export_reaches_an_https_receiver_whose_ca_is_the_configured_ca_file() {
    let pki = Pki::new();
    let (receiver, addr) = Receiver::start(&pki).await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let want = hex::decode(trace_id).expect("hex");

    // Without the CA file the receiver's certificate is not trusted: retried, never sent.
    let untrusting = Gateway::start(&pki, &export_section(addr, None), "").await;
    let (status, body) = untrusting.post_beacon(trace_id).await;
    assert_eq!(status, 200, "{body}");
    untrusting
        .metric_reaches("rum_gateway_export_retries_total{signal=\"traces\"}", 2)
        .await;
    assert!(receiver.trace_ids().is_empty());
    untrusting.stop().await;

    // With it, the spans arrive.
    let ca = pki.path("ca.pem");
    let gw = Gateway::start(&pki, &export_section(addr, Some(&ca)), "").await;
    let (status, body) = gw.post_beacon(trace_id).await;
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !receiver.trace_ids().contains(&want) {
        assert!(Instant::now() < deadline, "the span did not arrive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        gw.metric_reaches("rum_gateway_export_items_total{signal=\"traces\"}", 1)
            .await,
        1
    );
    gw.stop().await;
}

// ---- bad files stop the start -----------------------------------------------------------------

fn config_error(server: &str) -> String {
    let toml = format!("[server]\n{server}\n[[apps]]\nname = \"shop\"\nkey = \"k1\"\n");
    Config::from_toml(&toml, Overrides::default())
        .expect_err("the config is refused")
        .to_string()
}

#[test]
fn a_missing_unusable_or_mismatched_certificate_or_key_is_refused_naming_the_setting() {
    let pki = Pki::new();
    let p = |name: &str| pki.path(name).display().to_string();
    let cases = [
        (
            format!(
                "tls_cert_file = \"/nonexistent/cert.pem\"\ntls_key_file = {:?}",
                p("key.pem")
            ),
            vec!["server.tls_cert_file", "/nonexistent/cert.pem"],
        ),
        (
            format!(
                "tls_cert_file = {:?}\ntls_key_file = \"/nonexistent/key.pem\"",
                p("cert.pem")
            ),
            vec!["server.tls_key_file", "/nonexistent/key.pem"],
        ),
        (
            // A key where the certificate belongs: no CERTIFICATE block.
            format!(
                "tls_cert_file = {:?}\ntls_key_file = {:?}",
                p("key.pem"),
                p("key.pem")
            ),
            vec!["server.tls_cert_file", "no CERTIFICATE"],
        ),
        (
            format!(
                "tls_cert_file = {:?}\ntls_key_file = {:?}",
                p("cert.pem"),
                p("cert.pem")
            ),
            vec!["server.tls_key_file", "no usable private key"],
        ),
        (
            format!(
                "tls_cert_file = {:?}\ntls_key_file = {:?}",
                p("cert.pem"),
                p("other-key.pem")
            ),
            vec!["server.tls_key_file", "does not belong to the certificate"],
        ),
        (
            format!("tls_cert_file = {:?}", p("cert.pem")),
            vec!["server.tls_key_file"],
        ),
    ];
    for (server, needles) in cases {
        let err = config_error(&server);
        for needle in needles {
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }
}

/// The binary with a certificate path that does not exist exits at once, and its log names
/// the setting and the path.
#[test]
fn the_gateway_binary_does_not_start_with_a_missing_certificate() {
    let pki = Pki::new();
    let config = pki.path("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[server]\ningest_listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
             tls_cert_file = \"/nonexistent/cert.pem\"\ntls_key_file = {:?}\n\
             [[apps]]\nname = \"shop\"\nkey = \"k1\"\n",
            pki.path("data").display().to_string(),
            pki.path("key.pem").display().to_string()
        ),
    )
    .expect("config");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rum-gateway"))
        .arg("--config")
        .arg(&config)
        .env_remove("RUM_GATEWAY_CONFIG")
        .env_remove("RUM_GATEWAY_DATA_DIR")
        .env_remove("RUM_GATEWAY_INGEST_LISTEN")
        .env_remove("RUM_GATEWAY_ADMIN_LISTEN")
        .env_remove("RUM_GATEWAY_ADMIN_TOKEN")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn rum-gateway");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rum-gateway still runs after 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut log = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut stderr, &mut log);
    }
    assert!(!status.success(), "{status}: {log}");
    assert!(log.contains("server.tls_cert_file"), "{log}");
    assert!(log.contains("/nonexistent/cert.pem"), "{log}");
}
