//! What the gateway's integration tests share: a gateway on real loopback sockets
//! ([`Loopback`]) and raw HTTP/1.1 exchanges with it.
#![allow(dead_code)] // each test crate uses a part

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gateway::config::{Config, Overrides};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct Loopback {
    pub ingest: SocketAddr,
    pub admin: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
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
        let overrides = Overrides {
            data_dir: Some(dir.path().into()),
            ..Overrides::default()
        };
        let config = Config::from_toml(&toml, overrides).expect("config");
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
        // The listeners are bound already; the enricher takes a moment to build.
        let deadline = Instant::now() + Duration::from_secs(10);
        while exchange(
            admin_addr,
            b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        )
        .await
        .0 != 200
        {
            assert!(Instant::now() < deadline, "gateway did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Loopback {
            ingest: ingest_addr,
            admin: admin_addr,
            stop,
            task,
            _dir: dir,
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
