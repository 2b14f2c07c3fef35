//! What the gateway's integration tests share: a gateway driven in process through its
//! routers ([`InProcess`], with [`send`] and [`get`]), a gateway on real loopback sockets
//! ([`Loopback`]) and raw HTTP/1.1 exchanges with it ([`exchange`]).
#![allow(dead_code)] // each test crate uses a part

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use gateway::config::{Config, Overrides};
use gateway::server::{admin_router, ingest_router};
use gateway::store::writer::{self, StoreHandle, Writer};
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// The ingest and admin routers over one store in a fresh directory; no sockets.
pub struct InProcess {
    pub ingest: Router,
    pub admin: Router,
    pub store: StoreHandle,
    pub dir: tempfile::TempDir,
    _writer: Writer,
}

impl InProcess {
    /// Development mode (key `dev`, localhost origins).
    pub fn dev() -> InProcess {
        InProcess::build(
            tempfile::tempdir().expect("tempdir"),
            Config::dev,
            64,
            writer::MAX_UNINDEXED_BYTES,
        )
    }

    /// A config file's text, with a store queue of `queue` requests.
    pub fn from_toml(text: &str, queue: usize) -> InProcess {
        InProcess::from_toml_in(tempfile::tempdir().expect("tempdir"), text, queue)
    }

    /// As [`InProcess::from_toml`], on a data directory that may hold a store already.
    pub fn from_toml_in(dir: tempfile::TempDir, text: &str, queue: usize) -> InProcess {
        InProcess::build(
            dir,
            |overrides| Config::from_toml(text, overrides),
            queue,
            writer::MAX_UNINDEXED_BYTES,
        )
    }

    /// As [`InProcess::from_toml`], refusing writes (`busy`) past `max_unindexed_bytes` of
    /// acknowledged batches the index has not taken yet.
    pub fn from_toml_with_unindexed_cap(
        text: &str,
        queue: usize,
        max_unindexed_bytes: u64,
    ) -> InProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        InProcess::build(
            dir,
            |overrides| Config::from_toml(text, overrides),
            queue,
            max_unindexed_bytes,
        )
    }

    /// As [`InProcess::from_toml`], with the store's clock (tail sampling's windows) injected.
    pub fn from_toml_with_clock(text: &str, queue: usize, clock: writer::Clock) -> InProcess {
        InProcess::build_with(
            tempfile::tempdir().expect("tempdir"),
            |overrides| Config::from_toml(text, overrides),
            queue,
            writer::MAX_UNINDEXED_BYTES,
            Some(clock),
        )
    }

    fn build(
        dir: tempfile::TempDir,
        config: impl FnOnce(Overrides) -> Result<Config, gateway::config::ConfigError>,
        queue: usize,
        max_unindexed_bytes: u64,
    ) -> InProcess {
        InProcess::build_with(dir, config, queue, max_unindexed_bytes, None)
    }

    fn build_with(
        dir: tempfile::TempDir,
        config: impl FnOnce(Overrides) -> Result<Config, gateway::config::ConfigError>,
        queue: usize,
        max_unindexed_bytes: u64,
        clock: Option<writer::Clock>,
    ) -> InProcess {
        let overrides = Overrides {
            data_dir: Some(dir.path().into()),
            ..Overrides::default()
        };
        let config = config(overrides).expect("config");
        let extras = writer::Extras {
            max_unindexed_bytes,
            // A test of the bound need not wait the production 5 s for each refusal.
            unindexed_wait: std::time::Duration::from_millis(300),
            sample: config.sample().clone(),
            partitions: config.partitions(),
            retention: config.retention(),
            ..writer::Extras::default()
        };
        let extras = match clock {
            Some(clock) => writer::Extras { clock, ..extras },
            None => extras,
        };
        let (store, writer) = writer::start_with(dir.path(), queue, extras).expect("store");
        InProcess {
            ingest: ingest_router(&config, store.clone()).expect("enrich stage"),
            admin: admin_router(store.clone()),
            store,
            dir,
            _writer: writer,
        }
    }
}

/// Runs `request` through `router`: status, JSON body (`Null` when not JSON), headers.
pub async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Value, HeaderMap) {
    let response = router.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json, headers)
}

/// `GET path`: status and JSON body.
pub async fn get(router: &Router, path: &str) -> (StatusCode, Value) {
    let (status, body, _) = send(
        router,
        Request::get(path).body(Body::empty()).expect("request"),
    )
    .await;
    (status, body)
}

/// The time now as a beacon writes it, unix milliseconds.
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
}

pub struct Loopback {
    pub ingest: SocketAddr,
    pub admin: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl Loopback {
    /// Runs `server::run_with_listeners` on OS-chosen loopback ports with a fresh data
    /// directory, the app `shop` with key `k1`, `sections` (TOML) and `[limits]` lines
    /// `limits`; returns once `/healthz` answers.
    pub async fn start(sections: &str, limits: &str) -> Loopback {
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = format!(
            "[[apps]]\nname = \"shop\"\nkey = \"k1\"\nallowed_origins = [\"http://localhost:*\"]\n\
             {sections}\n[limits]\n{limits}\n"
        );
        let mut gateway = Loopback::start_in(dir.path(), &toml).await;
        gateway._dir = Some(dir);
        gateway
    }

    /// The gateway of config file `toml` on `data_dir` (which the caller keeps, e.g. to
    /// start another gateway on the same store).
    pub async fn start_in(data_dir: &std::path::Path, toml: &str) -> Loopback {
        let gateway = Loopback::spawn_in(data_dir, toml).await;
        // The listeners are bound already; the enricher takes a moment to build.
        let deadline = Instant::now() + Duration::from_secs(10);
        while exchange(
            gateway.admin,
            b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        )
        .await
        .0 != 200
        {
            assert!(Instant::now() < deadline, "gateway did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        gateway
    }

    /// As [`Loopback::start_in`], without waiting for `/healthz` (a caller speaking TLS
    /// waits with its own client).
    pub async fn spawn_in(data_dir: &std::path::Path, toml: &str) -> Loopback {
        let overrides = Overrides {
            data_dir: Some(data_dir.into()),
            ..Overrides::default()
        };
        let config = Config::from_toml(toml, overrides).expect("config");
        let ingest = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (ingest_addr, admin_addr) = (
            ingest.local_addr().expect("addr"),
            admin.local_addr().expect("addr"),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(gateway::server::run_with_listeners(
            config,
            ingest,
            admin,
            async move {
                let _ = stopped.await;
            },
        ));
        Loopback {
            ingest: ingest_addr,
            admin: admin_addr,
            stop,
            task,
            _dir: None,
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("stops in time")
            .expect("join")
            .expect("clean stop");
    }

    /// The value of one `/metrics` series, `name{labels}` exactly as rendered; 0 when absent.
    pub async fn metric(&self, series: &str) -> u64 {
        let (_, _, body) = exchange(
            self.admin,
            b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        )
        .await;
        body.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
            .map_or(0, |v| v.trim().parse().expect("number"))
    }
}

/// Writes `request`, reads until the server closes (within 5 s): status, head, body.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, String, String) {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return (0, String::new(), String::new());
    };
    if stream.write_all(request).await.is_err() {
        return (0, String::new(), String::new());
    }
    read_response(&mut stream).await
}

pub async fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut bytes)).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

#[path = "../../src/model/testdata.rs"]
mod testdata_path;
#[allow(unused_imports)] // each test crate uses a part (as above)
pub use testdata_path::testdata;
