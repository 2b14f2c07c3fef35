//! The built `rum-gateway` binary at start-up: it runs from any working directory with its
//! built-in user-agent regexes, and a configured enrichment file that is missing stops it
//! with a message naming the setting and the path.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// `rum-gateway` with `args`, from `/`, on loopback ports the OS picks, with its log in
/// `dir/stderr.log`.
fn spawn(dir: &Path, args: &[&str]) -> Child {
    let log = std::fs::File::create(dir.join("stderr.log")).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_rum-gateway"))
        .current_dir("/")
        .args([
            "--ingest-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .env_remove("RUM_GATEWAY_CONFIG")
        .env_remove("RUM_GATEWAY_DATA_DIR")
        .env_remove("RUM_GATEWAY_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn rum-gateway")
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
}

/// Kills the gateway when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The exit status of a gateway that must stop by itself within 10 s.
fn exit_status(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rum-gateway still runs after 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One HTTP/1.1 request with `connection: close`: status and body.
fn http(addr: SocketAddr, head: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "{head}\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

#[test]
fn started_from_the_root_directory_with_default_settings_it_parses_user_agents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("utf-8 path");
    // No config file: development mode, key `dev`, localhost origins, defaults everywhere.
    let mut gateway = Running(spawn(dir.path(), &["--data-dir", data_arg]));
    let stdout = gateway.0.stdout.take().expect("stdout");
    let (mut ingest, mut admin) = (None, None);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("stdout line");
        let addr = |prefix: &str| -> Option<SocketAddr> {
            let rest = line.strip_prefix(prefix)?;
            rest.trim_end_matches('/').parse().ok()
        };
        ingest = ingest.or_else(|| addr("ingest listening on http://"));
        admin = admin.or_else(|| addr("viewer listening on http://"));
        if ingest.is_some() && admin.is_some() {
            break;
        }
    }
    let (Some(ingest), Some(admin)) = (ingest, admin) else {
        panic!("rum-gateway did not start:\n{}", log(dir.path()));
    };

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64);
    let beacon = json!({
        "v": 1, "sentAt": now,
        "resource": {"service.name": "shop-web"},
        "session": {"id": "0123456789abcdef0123456789abcdef"},
        "view": {"id": "a1b2c3d4e5f60718", "url": "http://localhost:8080/", "type": "navigate", "start": now - 1100.0},
        "spans": [{"traceId": TRACE_ID, "spanId": "00f067aa0ba902b7", "name": "GET", "kind": "client",
                   "start": now - 1000.0, "end": now - 950.0, "attrs": {"http.request.method": "GET"}}]
    });
    let (status, body) = http(
        ingest,
        &format!(
            "POST /v1/rum?key=dev HTTP/1.1\r\norigin: http://localhost:8080\r\n\
             content-type: text/plain;charset=UTF-8\r\nuser-agent: {CHROME}"
        ),
        &beacon.to_string(),
    );
    assert_eq!(status, 200, "{body}\n{}", log(dir.path()));

    let (status, body) = http(admin, &format!("GET /api/traces/{TRACE_ID} HTTP/1.1"), "");
    assert_eq!(status, 200, "{body}");
    let trace: Value = serde_json::from_str(&body).expect("json");
    let attrs = &trace["spans"][0]["attributes"];
    assert_eq!(attrs["user_agent.name"], "Chrome", "{attrs}");
    assert_eq!(attrs["user_agent.version"], "120.0.6099", "{attrs}");
    assert_eq!(attrs["os.name"], "Windows", "{attrs}");
    assert!(
        log(dir.path()).contains("the copy built in"),
        "{}",
        log(dir.path())
    );
}

/// Starts the gateway from `/` with `enrich` as its `[enrich]` section; it must fail, and
/// its log must name each of `needles`.
fn fails_naming(enrich: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[[apps]]\nname = \"shop\"\nkey = \"k1\"\n[enrich]\n{enrich}\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .expect("config");
    let mut child = spawn(dir.path(), &["--config", config.to_str().expect("utf-8")]);
    let status = exit_status(&mut child);
    let log = log(dir.path());
    assert!(!status.success(), "{status}: {log}");
    for needle in needles {
        assert!(log.contains(needle), "{needle}: {log}");
    }
}

#[test]
fn a_configured_regexes_file_that_is_missing_stops_the_start() {
    fails_naming(
        "user_agent_regexes = \"/nonexistent/uap-core/regexes.yaml\"",
        &[
            "enrich.user_agent_regexes",
            "/nonexistent/uap-core/regexes.yaml",
            "enrich.user_agent_parsing = false",
        ],
    );
}

#[test]
fn a_configured_geoip_database_that_is_missing_stops_the_start() {
    fails_naming(
        "geoip_database = \"/nonexistent/GeoLite2-City.mmdb\"",
        &["enrich.geoip_database", "/nonexistent/GeoLite2-City.mmdb"],
    );
}
