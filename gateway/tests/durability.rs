//! What an acknowledgement promises, tested on the built `rum-gateway` binary: an
//! acknowledged beacon survives `kill -9` at any moment under load (five times, restarting on
//! the same data directory) and is indexed exactly once; a torn or corrupt tail of the
//! ingest log is cut at start-up, never served; a full disk gets `503` with `Retry-After` and
//! leaves a sound store that takes writes again once there is room; an acknowledged beacon is
//! readable at once; and a data directory written before the ingest log existed still reads.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// A running `rum-gateway`, killed (SIGKILL) when dropped.
struct Gateway {
    child: Child,
    ingest: SocketAddr,
    admin: SocketAddr,
    log: PathBuf,
}

impl Gateway {
    /// Starts the binary on `data`, with its stderr appended to `data`'s sibling `gateway.log`.
    fn start(data: &Path) -> Gateway {
        Gateway::start_with(data, &[])
    }

    fn start_with(data: &Path, args: &[&str]) -> Gateway {
        Gateway::start_configured(data, args, "")
    }

    /// With `extra` appended to the config file.
    fn start_configured(data: &Path, args: &[&str], extra: &str) -> Gateway {
        let log = data.with_extension("log");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        // No rate limits: the load is the point.
        let config = data.with_extension("toml");
        std::fs::write(
            &config,
            "[limits]\nip_rate = { per_second = 0, burst = 0 }\nkey_rate = { per_second = 0, burst = 0 }\n\
             [[apps]]\nname = \"shop\"\nkey = \"dev\"\nallowed_origins = [\"http://localhost:8080\"]\n"
                .to_string()
                + extra,
        )
        .expect("config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_rum-gateway"))
            .args([
                "--ingest-listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
            ])
            .arg("--config")
            .arg(&config)
            .args(args)
            .arg("--data-dir")
            .arg(data)
            .env_remove("RUM_GATEWAY_CONFIG")
            .env_remove("RUM_GATEWAY_DATA_DIR")
            .env_remove("RUM_GATEWAY_ADMIN_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn rum-gateway");
        let stdout = child.stdout.take().expect("stdout");
        let (mut ingest, mut admin) = (None, None);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let addr = |prefix: &str| -> Option<SocketAddr> {
                line.strip_prefix(prefix)?
                    .trim_end_matches('/')
                    .parse()
                    .ok()
            };
            ingest = ingest.or_else(|| addr("ingest listening on http://"));
            admin = admin.or_else(|| addr("viewer listening on http://"));
            if ingest.is_some() && admin.is_some() {
                break;
            }
        }
        let (Some(ingest), Some(admin)) = (ingest, admin) else {
            let _ = child.kill();
            panic!(
                "rum-gateway did not start:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Gateway {
            child,
            ingest,
            admin,
            log,
        }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request: status, `Retry-After`, body; `None` when the connection failed.
fn http(addr: SocketAddr, head: &str, body: &str) -> Option<(u16, Option<String>, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "{head}\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let retry_after = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("retry-after: ")
            .map(String::from)
    });
    Some((status, retry_after, body.to_string()))
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
}

/// A beacon with one span (trace `trace`), one custom event, and `pad` bytes of attribute.
fn beacon(trace: u64, session: u64, pad: usize) -> String {
    beacon_in(&format!("{trace:032x}"), trace, session, pad)
}

/// As [`beacon`], with the trace id given in hex.
fn beacon_in(trace_id: &str, trace: u64, session: u64, pad: usize) -> String {
    let now = now_ms();
    json!({
        "v": 1, "sentAt": now,
        "resource": {"service.name": "durability"},
        "session": {"id": format!("{session:032x}")},
        "view": {"id": format!("{session:016x}"), "url": "http://localhost:8080/", "type": "navigate", "start": now - 5000.0},
        "spans": [{"traceId": trace_id, "spanId": "00f067aa0ba902b7", "name": "GET", "kind": "client",
                   "start": now - 1000.0, "end": now - 950.0, "attrs": {"http.request.method": "GET", "pad": "x".repeat(pad)}}],
        "events": [{"name": format!("e{trace}"), "time": now - 900.0}]
    })
    .to_string()
}

fn post_beacon(addr: SocketAddr, body: &str) -> Option<(u16, Option<String>, String)> {
    http(
        addr,
        "POST /v1/rum?key=dev HTTP/1.1\r\norigin: http://localhost:8080\r\ncontent-type: text/plain",
        body,
    )
}

/// Span rows and the trace's start rows (one each), per trace id; and events stored vs counted.
fn stored(data: &Path) -> (std::collections::HashMap<String, (i64, i64)>, i64, i64) {
    let conn = gateway::store::open_read(data).expect("open");
    let sources = gateway::store::partitions::sources(&conn).expect("sources");
    for schema in &sources {
        let ok: String = conn
            .query_row(&format!("PRAGMA {schema}.integrity_check"), [], |r| {
                r.get(0)
            })
            .expect("integrity");
        assert_eq!(ok, "ok", "{schema}");
    }
    let union = |arm: &str| gateway::store::partitions::union_all(&sources, arm);
    let mut stmt = conn
        .prepare(&format!(
            "SELECT s.trace_id, count(*),
                    (SELECT count(*) FROM ({}) t WHERE t.trace_id = s.trace_id)
             FROM ({}) s GROUP BY s.trace_id",
            union("SELECT trace_id FROM {s}.trace_index"),
            union("SELECT trace_id FROM {s}.spans"),
        ))
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let events: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .expect("events");
    let counted: i64 = conn
        .query_row(
            "SELECT coalesce(sum(event_count), 0) FROM sessions",
            [],
            |r| r.get(0),
        )
        .expect("counted");
    (rows, events, counted)
}

#[test]
fn kill_9_under_load_five_times_loses_nothing_acknowledged_and_indexes_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let acked = Arc::new(Mutex::new(Vec::<u64>::new()));
    let mut sent = 0;
    for round in 0..5u64 {
        let gateway = Gateway::start(&data);
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..4u64)
            .map(|client| {
                let (acked, stop, ingest) = (Arc::clone(&acked), Arc::clone(&stop), gateway.ingest);
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let trace = (round + 1) << 40 | (client + 1) << 32 | n;
                        n += 1;
                        match post_beacon(ingest, &beacon(trace, round << 8 | client, 200)) {
                            Some((200, _, _)) => acked.lock().expect("acked").push(trace),
                            // Not acknowledged (503 busy): it may be stored or not.
                            Some(_) => {}
                            None => break,
                        }
                    }
                    n
                })
            })
            .collect();
        // Killed at a different moment of the load each round.
        std::thread::sleep(Duration::from_millis(300 + 170 * round));
        gateway.kill();
        stop.store(true, Ordering::Relaxed);
        sent += clients
            .into_iter()
            .map(|c| c.join().expect("client"))
            .sum::<u64>();
    }
    // The sixth start indexes what the fifth left in the log; a clean stop after it.
    let gateway = Gateway::start(&data);
    let (status, _, body) =
        http(gateway.admin, "GET /api/traces?limit=1 HTTP/1.1", "").expect("admin");
    assert_eq!(status, 200, "{body}");
    let log = gateway.log();
    gateway.kill();
    let acked = acked.lock().expect("acked").clone();
    assert!(
        acked.len() > 50,
        "load too light to mean much: {} acknowledged of {sent}",
        acked.len()
    );
    let (traces, events, counted) = stored(&data);
    let mut missing = Vec::new();
    for trace in &acked {
        match traces.get(&format!("{trace:032x}")) {
            Some(&(rows, count)) => {
                assert_eq!((rows, count), (1, 1), "trace {trace:x} stored once")
            }
            None => missing.push(trace),
        }
    }
    assert!(
        missing.is_empty(),
        "{} acknowledged beacons lost: {missing:x?}\n{log}",
        missing.len()
    );
    // Nothing indexed twice: each stored trace counted once, each event counted once.
    assert!(traces
        .values()
        .all(|&(rows, count)| rows == 1 && count == 1));
    assert_eq!(events, counted);
    assert!(events >= acked.len() as i64);
    let replays = log
        .matches("Indexing the ingest log's records past the index")
        .count();
    eprintln!(
        "{} of {sent} beacons acknowledged over 5 kills; all stored once; {replays} restarts indexed records the kill left unindexed",
        acked.len()
    );
}

/// splitmix64: the random half of a trace id, as a real SDK's would be.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Tail sampling under `kill -9`: beacons are acknowledged while their traces wait for the
/// decision (2 s), the gateway is killed inside that window twice (the second time soon after
/// the restart, while the first run's traces are being decided), and after the last start
/// every acknowledged trace is stored exactly when OpenTelemetry's `TraceIdRatioBased(0.5)`
/// keeps it: nothing the policy keeps is lost, nothing it drops survives.
#[test]
fn kill_9_during_the_decision_window_loses_nothing_the_policies_keep() {
    const RATIO: f64 = 0.5;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let extra = format!("[sample]\ndecision_wait_ms = 2000\n[[sample.rules]]\nratio = {RATIO}\n");
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    for (round, load_ms) in [(0u64, 700u64), (1, 300)] {
        let gateway = Gateway::start_configured(&data, &[], &extra);
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..3u64)
            .map(|client| {
                let (acked, stop, ingest) = (Arc::clone(&acked), Arc::clone(&stop), gateway.ingest);
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let trace = (round + 1) << 40 | (client + 1) << 32 | n;
                        let trace_id = format!("{trace:016x}{:016x}", mix(trace));
                        n += 1;
                        match post_beacon(
                            ingest,
                            &beacon_in(&trace_id, trace, round << 8 | client, 50),
                        ) {
                            Some((200, _, _)) => acked.lock().expect("acked").push(trace_id),
                            Some(_) => {}
                            None => break,
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(load_ms));
        gateway.kill();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().expect("client");
        }
    }
    let gateway = Gateway::start_configured(&data, &[], &extra);
    // Every trace waits at most 2 s from this start; then none waits.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) =
            http(gateway.admin, "GET /api/sampling HTTP/1.1", "").expect("admin");
        assert_eq!(status, 200, "{body}");
        let waiting = serde_json::from_str::<Value>(&body).expect("json")["status"]
            ["waiting_traces"]
            .as_u64()
            .expect("waiting_traces");
        if waiting == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{waiting} traces still wait"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    gateway.kill();
    let acked = acked.lock().expect("acked").clone();
    assert!(
        acked.len() > 50,
        "load too light: {} acknowledged",
        acked.len()
    );
    let (traces, _, _) = stored(&data);
    use opentelemetry::trace::{SpanKind, TraceId};
    use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};
    let reference = Sampler::TraceIdRatioBased(RATIO);
    let (mut kept, mut lost, mut survived) = (0, Vec::new(), Vec::new());
    for trace_id in &acked {
        let id = TraceId::from_hex(trace_id).expect("hex");
        let keeps = reference
            .should_sample(None, id, "x", &SpanKind::Client, &[], &[])
            .decision
            == SamplingDecision::RecordAndSample;
        match (keeps, traces.get(trace_id)) {
            (true, Some(&(rows, starts))) => {
                assert_eq!((rows, starts), (1, 1), "{trace_id} stored once");
                kept += 1;
            }
            (true, None) => lost.push(trace_id.clone()),
            (false, Some(_)) => survived.push(trace_id.clone()),
            (false, None) => {}
        }
    }
    assert!(lost.is_empty(), "kept by the policy but lost: {lost:?}");
    assert!(
        survived.is_empty(),
        "dropped by the policy but stored: {survived:?}"
    );
    // A request in flight at a kill may be stored without its acknowledgement: the policy
    // holds for it too.
    for trace_id in traces.keys() {
        let id = TraceId::from_hex(trace_id).expect("hex");
        let decision = reference
            .should_sample(None, id, "x", &SpanKind::Client, &[], &[])
            .decision;
        assert_eq!(
            decision,
            SamplingDecision::RecordAndSample,
            "{trace_id} stored"
        );
    }
    eprintln!("{} acknowledged over 2 kills in the decision window; {kept} kept, as TraceIdRatioBased({RATIO}) decides", acked.len());
}

/// An OTLP/HTTP receiver on loopback that answers 503 until `accept` is set, then 200,
/// recording the trace ids of the spans it accepted.
struct Receiver {
    addr: SocketAddr,
    accept: Arc<AtomicBool>,
    traces: Arc<Mutex<std::collections::HashSet<Vec<u8>>>>,
}

impl Receiver {
    fn start() -> Receiver {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use prost::Message;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        let accept = Arc::new(AtomicBool::new(false));
        let traces = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let (accepting, received) = (Arc::clone(&accept), Arc::clone(&traces));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let (mut path, mut length) = (String::new(), 0usize);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    let l = line.trim_end().to_ascii_lowercase();
                    if l.is_empty() {
                        break;
                    }
                    if let Some(p) = l.strip_prefix("post ") {
                        path = p.split(' ').next().unwrap_or_default().to_string();
                    }
                    if let Some(n) = l.strip_prefix("content-length: ") {
                        length = n.parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0u8; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let ok = accepting.load(Ordering::Relaxed);
                if ok && path == "/v1/traces" {
                    if let Ok(request) = ExportTraceServiceRequest::decode(body.as_slice()) {
                        let mut got = received.lock().expect("traces");
                        for rs in request.resource_spans {
                            for ss in rs.scope_spans {
                                got.extend(ss.spans.into_iter().map(|s| s.trace_id));
                            }
                        }
                    }
                }
                let status = if ok {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Receiver {
            addr,
            accept,
            traces,
        }
    }
}

#[test]
fn kill_9_with_export_on_loses_nothing_the_exporter_had_not_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let receiver = Receiver::start();
    let export = format!(
        "[export]\notlp_endpoint = \"http://{}\"\nlogs = false\nmetrics = false\nbatch_timeout_ms = 20\n\
         retry_initial_backoff_ms = 50\nretry_max_backoff_ms = 200\n",
        receiver.addr
    );
    let mut acked = Vec::new();
    // The receiver refuses (503) while two gateways are killed mid-load: everything
    // acknowledged waits in the log, at the exporter's position.
    for round in 0..2u64 {
        let gateway = Gateway::start_configured(&data, &[], &export);
        let until = std::time::Instant::now() + Duration::from_millis(400 + 300 * round);
        let mut n = 0;
        while std::time::Instant::now() < until {
            let trace = (round + 1) << 40 | n;
            n += 1;
            if let Some((200, _, _)) = post_beacon(gateway.ingest, &beacon(trace, round, 50)) {
                acked.push(trace);
            }
        }
        gateway.kill();
    }
    assert!(acked.len() > 20, "too few acknowledged: {}", acked.len());
    receiver.accept.store(true, Ordering::Relaxed);
    let gateway = Gateway::start_configured(&data, &[], &export);
    let want: Vec<Vec<u8>> = acked
        .iter()
        .map(|t| {
            let mut id = vec![0u8; 8];
            id.extend_from_slice(&t.to_be_bytes());
            id
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let missing = loop {
        let got = receiver.traces.lock().expect("traces").clone();
        let missing: Vec<&Vec<u8>> = want.iter().filter(|t| !got.contains(*t)).collect();
        if missing.is_empty() || std::time::Instant::now() > deadline {
            break missing.len();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        missing,
        0,
        "{missing} of {} acknowledged traces never exported\n{}",
        acked.len(),
        gateway.log()
    );
    eprintln!(
        "{} beacons acknowledged over 2 kills with the receiver down, all exported after",
        acked.len()
    );
}

fn segments(data: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(data.join("log"))
        .expect("log dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}

#[test]
fn a_torn_or_corrupt_log_tail_is_cut_at_start_and_never_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let gateway = Gateway::start(&data);
    for trace in 1..=3 {
        let (status, _, body) = post_beacon(gateway.ingest, &beacon(trace, 7, 0)).expect("post");
        assert_eq!(status, 200, "{body}");
    }
    gateway.kill();
    // A fourth record as a crash leaves it: whole but with a checksum that does not match
    // (its trace id changed after the checksum was taken), then half of a fifth.
    let segment = segments(&data).pop().expect("a segment");
    let mut bytes = std::fs::read(&segment).expect("read");
    let len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
    let mut record = bytes[..16 + len].to_vec();
    let seq = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) + 3;
    record[8..16].copy_from_slice(&seq.to_le_bytes());
    let text = String::from_utf8_lossy(&record[16..])
        .replace(&format!("{:032x}", 1), &format!("{:032x}", 0xbad));
    record.truncate(16);
    record[0..4].copy_from_slice(&(text.len() as u32).to_le_bytes());
    record.extend_from_slice(text.as_bytes());
    let good = bytes.len() as u64;
    bytes.extend_from_slice(&record);
    bytes.extend_from_slice(&record[..record.len() / 2]);
    std::fs::write(&segment, &bytes).expect("write");
    // The index has not seen them: start as if it had only the first record (rum.sqlite and
    // the span partition each keep their position).
    let conn = gateway::store::open_read(&data).expect("open");
    for schema in gateway::store::partitions::sources(&conn).expect("sources") {
        let rewound = conn.execute(
            &format!("UPDATE {schema}.ingest_log_position SET indexed_seq = indexed_seq - 2"),
            [],
        );
        // A partition the kill left empty (created, nothing committed) has no position yet.
        assert!(rewound.is_ok() || schema != "main", "{rewound:?}");
    }
    drop(conn);

    let gateway = Gateway::start(&data);
    assert_eq!(
        std::fs::metadata(&segment).expect("meta").len(),
        good,
        "the tail was cut"
    );
    assert!(gateway.log().contains("torn tail"), "{}", gateway.log());
    let trace = |t: u64| {
        http(
            gateway.admin,
            &format!("GET /api/traces/{t:032x} HTTP/1.1"),
            "",
        )
        .expect("admin")
        .0
    };
    assert_eq!(trace(0xbad), 404, "the corrupt record is never served");
    for t in 1..=3 {
        assert_eq!(trace(t), 200, "trace {t}, acknowledged, is there");
    }
    // Appending goes on after the last good record.
    let (status, _, _) = post_beacon(gateway.ingest, &beacon(4, 7, 0)).expect("post");
    assert_eq!(status, 200);
    assert_eq!(trace(4), 200);
}

#[test]
fn an_acknowledged_beacon_is_readable_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = Gateway::start(&dir.path().join("data"));
    for trace in 1..=100u64 {
        let (status, _, body) = post_beacon(gateway.ingest, &beacon(trace, 9, 0)).expect("post");
        assert_eq!(status, 200, "{body}");
        let (status, _, body) = http(
            gateway.admin,
            &format!("GET /api/traces/{trace:032x} HTTP/1.1"),
            "",
        )
        .expect("admin");
        assert_eq!(
            status, 200,
            "trace {trace} right after its acknowledgement: {body}"
        );
    }
}

#[test]
fn a_store_written_before_the_ingest_log_existed_is_read_and_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    // Made by the release before the ingest log (commit 8d06487): the beacons and OTLP trace
    // of docs/beacon-v1.md's examples.
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-before-log/rum.sqlite");
    std::fs::copy(fixture, data.join("rum.sqlite")).expect("copy");
    let fixture_spans: i64 = rusqlite::Connection::open(data.join("rum.sqlite"))
        .and_then(|db| db.query_row("SELECT count(*) FROM spans", [], |r| r.get(0)))
        .expect("the fixture's spans");
    let gateway = Gateway::start(&data);
    let get = |path: &str| -> Value {
        let (status, _, body) =
            http(gateway.admin, &format!("GET {path} HTTP/1.1"), "").expect("admin");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).expect("json")
    };
    let trace = get("/api/traces/4bf92f3577b34da6a3ce929d0e0e4736");
    let names: Vec<&str> = trace["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names.contains(&"POST /api/cart"),
        "the backend span: {names:?}"
    );
    // Its spans are indexed for search once at start (store::search::backfill).
    let list = get("/api/traces");
    let listed = list["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .find(|t| t["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        .expect("the fixture's trace is listed");
    assert_eq!(listed["span_count"], 3, "{listed}");
    let views = get("/api/page_views");
    assert_eq!(views["page_views"].as_array().map(Vec::len), Some(2));
    let (status, _, _) = post_beacon(gateway.ingest, &beacon(5, 5, 0)).expect("post");
    assert_eq!(status, 200);
    gateway.kill();
    let gateway = Gateway::start(&data);
    let (status, _, _) = http(
        gateway.admin,
        &format!("GET /api/traces/{:032x} HTTP/1.1", 5),
        "",
    )
    .expect("admin");
    assert_eq!(status, 200);
    let (status, _, _) = http(
        gateway.admin,
        "GET /api/traces/0af7651916cd43dd8448eb211c80319c HTTP/1.1",
        "",
    )
    .expect("admin");
    assert_eq!(status, 200);
    // Its spans were rewritten into the rowid table (store::migrate_spans_to_rowid), once.
    let db = rusqlite::Connection::open(data.join("rum.sqlite")).expect("open");
    let (sql, spans): (String, i64) = db
        .query_row(
            "SELECT (SELECT sql FROM sqlite_schema WHERE name = 'spans'), (SELECT count(*) FROM spans)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("schema");
    assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
    // So were its page views (store::open_page_views_table), read above through the new table.
    let views_sql: String = db
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'page_views'",
            [],
            |r| r.get(0),
        )
        .expect("schema");
    assert!(!views_sql.contains("WITHOUT ROWID"), "{views_sql}");
    // The old rows stay in rum.sqlite; the new beacon's spans went to a span partition.
    assert_eq!(spans, fixture_spans);
    let all = gateway::store::open_read(&data).expect("open");
    let sources = gateway::store::partitions::sources(&all).expect("sources");
    assert!(sources.len() >= 2, "{sources:?}");
    let every: i64 = all
        .query_row(
            &format!(
                "SELECT count(*) FROM ({})",
                gateway::store::partitions::union_all(&sources, "SELECT 1 FROM {s}.spans")
            ),
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert!(
        every > fixture_spans,
        "the fixture's {fixture_spans} spans and the new beacon's: {every}"
    );
}

/// A small tmpfs mounted for the test, unmounted when dropped (needs root: CAP_SYS_ADMIN).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn a_full_disk_gets_503_with_retry_after_and_leaves_a_sound_store_that_writes_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mount = dir.path().join("small");
    let fs = match Tmpfs::mount(&mount, "6m") {
        Ok(fs) => fs,
        // Mounting needs root; where the tests run without it, say so loudly.
        Err(e) if !is_root() => {
            eprintln!("SKIPPED: a full disk needs a tmpfs, which needs root here: {e}");
            return;
        }
        Err(e) => panic!("mount a tmpfs: {e}"),
    };
    let data = fs.0.join("data");
    let gateway = Gateway::start(&data);
    // Leave a little room: the gateway fills the rest.
    let filler = fs.0.join("filler");
    let free = {
        let out = Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(&fs.0)
            .output()
            .expect("df");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse::<u64>().ok())
            .expect("avail")
    };
    std::fs::write(
        &filler,
        vec![0u8; (free.saturating_sub(1_000_000)) as usize],
    )
    .expect("filler");
    let (mut acked, mut refused) = (Vec::new(), None);
    for trace in 1..=400u64 {
        match post_beacon(gateway.ingest, &beacon(trace, 3, 3000)).expect("the gateway answers") {
            (200, _, _) => acked.push(trace),
            (status, retry, body) => {
                refused = Some((status, retry, body));
                break;
            }
        }
    }
    let (status, retry, body) = refused.expect("the disk filled up");
    eprintln!(
        "{} acknowledged, then {status} {body} (Retry-After {retry:?})",
        acked.len()
    );
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("store_failed") || body.contains("busy"),
        "{body}"
    );
    assert!(
        retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s >= 1)),
        "Retry-After"
    );
    assert!(!acked.is_empty());
    // Room again: writes are taken, and everything acknowledged is there, once.
    std::fs::remove_file(&filler).expect("free the disk");
    let mut again = None;
    for _ in 0..100 {
        if let Some((200, _, _)) = post_beacon(gateway.ingest, &beacon(9999, 3, 0)) {
            again = Some(());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        again.is_some(),
        "writes resume once there is room:\n{}",
        gateway.log()
    );
    for trace in &acked {
        let (status, _, _) = http(
            gateway.admin,
            &format!("GET /api/traces/{trace:032x} HTTP/1.1"),
            "",
        )
        .expect("admin");
        assert_eq!(status, 200, "acknowledged trace {trace}");
    }
    gateway.kill();
    let (traces, _, _) = stored(&data);
    assert!(acked
        .iter()
        .all(|t| traces.get(&format!("{t:032x}")) == Some(&(1, 1))));
}

#[test]
fn the_benchmark_baseline_acknowledges_and_stores_nothing() {
    // `--bench-discard-writes`: the no-op sink bench/run compares the durable store with.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let gateway = Gateway::start_with(&data, &["--bench-discard-writes"]);
    let (status, _, body) = post_beacon(gateway.ingest, &beacon(77, 1, 0)).expect("post");
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = http(
        gateway.admin,
        &format!("GET /api/traces/{:032x} HTTP/1.1", 77),
        "",
    )
    .expect("admin");
    assert_eq!(status, 404, "nothing stored");
    assert!(
        gateway.log().contains("NOTHING is stored"),
        "{}",
        gateway.log()
    );
}
