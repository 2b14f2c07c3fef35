//! The requests the generator sends: a beacon v1 (`docs/beacon-v1.md`) or an OTLP/HTTP
//! protobuf trace export, serialized once as a template. Each request copies the template
//! and overwrites fixed-width placeholders in place (trace, span, view and session ids,
//! timestamps), so every request is unique while costing the generator a memcpy.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use prost::Message;

/// The ingest key of the app the benchmark config declares.
pub const KEY: &str = "bench-key-0123456789";
/// The beacons' `Origin`, allowed in the benchmark config.
pub const ORIGIN: &str = "https://shop.example.com";

/// Real browsers' user agents, rotated per request.
pub const USER_AGENTS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
];

/// Client addresses that MaxMind's GeoIP2-City-Test database knows (GB, US, SE, GB, JP),
/// sent as `X-Forwarded-For` from the trusted loopback peer. 7 is coprime with 6, so the
/// (user agent, address) pairs rotate through all 42 combinations.
pub const CLIENT_IPS: [&str; 7] = [
    "81.2.69.142",
    "216.160.83.56",
    "89.160.20.128",
    "2.125.160.216",
    "81.2.69.160",
    "89.160.20.112",
    "2001:218::1",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Beacon,
    Otlp,
}

/// What a placeholder becomes, from its group's random bytes (trace id: 16, span id: 8).
#[derive(Debug, Clone, Copy)]
enum Form {
    TraceHex,
    SpanHex,
    TraceRaw,
    SpanRaw,
    /// Now in unix milliseconds plus this offset, as 13 decimal digits.
    TimeMs(i64),
}

#[derive(Debug, Clone, Copy)]
struct Patch {
    offset: usize,
    group: usize,
    form: Form,
}

/// A request template: header blocks to rotate, one body, its placeholders.
#[derive(Debug)]
pub struct Payload {
    pub name: String,
    pub kind: Kind,
    pub spans: usize,
    pub vitals: usize,
    heads: Vec<Vec<u8>>,
    body: Vec<u8>,
    patches: Vec<Patch>,
    groups: usize,
    /// The group whose ids change only every few requests (the session), if any.
    session_group: Option<usize>,
}

impl Payload {
    /// Spans + vitals per request: what the gateway counts against `max_events_per_request`.
    pub fn events(&self) -> usize {
        self.spans + self.vitals
    }

    pub fn body_bytes(&self) -> usize {
        self.body.len()
    }

    /// The `(user agent, client address)` of header set `i`, for beacons.
    pub fn variant(i: usize) -> (&'static str, &'static str) {
        (
            USER_AGENTS[i % USER_AGENTS.len()],
            CLIENT_IPS[i % CLIENT_IPS.len()],
        )
    }
}

/// Builds each request of one connection into a reused buffer.
pub struct RequestWriter {
    payload: Arc<Payload>,
    rng: fastrand::Rng,
    ids: Vec<[u8; 24]>,
    buf: Vec<u8>,
    count: u64,
    head_len: usize,
}

impl RequestWriter {
    pub fn new(payload: Arc<Payload>, seed: u64) -> RequestWriter {
        let ids = vec![[0u8; 24]; payload.groups];
        RequestWriter {
            payload,
            rng: fastrand::Rng::with_seed(seed),
            ids,
            buf: Vec::new(),
            count: 0,
            head_len: 0,
        }
    }

    /// The next request, complete with headers.
    pub fn next(&mut self) -> &[u8] {
        let p = &self.payload;
        let head = &p.heads[(self.count as usize) % p.heads.len()];
        for (group, id) in self.ids.iter_mut().enumerate() {
            // A session lasts several page views (8 beacons here); everything else is new.
            if Some(group) == p.session_group && !self.count.is_multiple_of(8) {
                continue;
            }
            id[..16].copy_from_slice(&(self.rng.u128(..) | 1).to_be_bytes());
            id[16..].copy_from_slice(&(self.rng.u64(..) | 1).to_be_bytes());
        }
        self.buf.clear();
        self.buf.extend_from_slice(head);
        self.buf.extend_from_slice(&p.body);
        let base = head.len();
        self.head_len = base;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        for patch in &p.patches {
            let at = base + patch.offset;
            let id = &self.ids[patch.group];
            match patch.form {
                Form::TraceHex => write_hex(&mut self.buf[at..at + 32], &id[..16]),
                Form::SpanHex => write_hex(&mut self.buf[at..at + 16], &id[16..]),
                Form::TraceRaw => self.buf[at..at + 16].copy_from_slice(&id[..16]),
                Form::SpanRaw => self.buf[at..at + 8].copy_from_slice(&id[16..]),
                Form::TimeMs(offset) => write_decimal(&mut self.buf[at..at + 13], now_ms + offset),
            }
        }
        self.count += 1;
        &self.buf
    }

    /// The body of the last request.
    pub fn body(&self) -> &[u8] {
        &self.buf[self.head_len..]
    }

    /// Which header set the last request used (see [`Payload::variant`]).
    pub fn variant(&self) -> usize {
        (self.count.saturating_sub(1) as usize) % self.payload.heads.len()
    }
}

fn write_hex(out: &mut [u8], bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
}

fn write_decimal(out: &mut [u8], mut value: i64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// A JSON text under construction that remembers where its placeholders are.
struct Json {
    text: String,
    patches: Vec<Patch>,
}

impl Json {
    fn lit(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn placeholder(&mut self, group: usize, form: Form, width: usize) -> &mut Self {
        self.patches.push(Patch {
            offset: self.text.len(),
            group,
            form,
        });
        self.text.extend(std::iter::repeat_n('0', width));
        self
    }

    fn trace_hex(&mut self, group: usize) -> &mut Self {
        self.placeholder(group, Form::TraceHex, 32)
    }

    fn span_hex(&mut self, group: usize) -> &mut Self {
        self.placeholder(group, Form::SpanHex, 16)
    }

    /// A time `offset_ms` from the request's send time, with a sub-millisecond fraction.
    fn time(&mut self, offset_ms: i64, fraction: &str) -> &mut Self {
        self.placeholder(0, Form::TimeMs(offset_ms), 13)
            .lit(fraction)
    }
}

const API_PATHS: [&str; 8] = [
    "/api/cart",
    "/api/products?page=2&sort=price",
    "/api/products/8421",
    "/api/recommendations?user=guest",
    "/api/search?q=running+shoes",
    "/api/session?token=abc123",
    "/static/js/app.4f9c1b.js",
    "/api/checkout/quote",
];

/// A beacon of `events` events: up to 5 vitals (LCP, FCP, TTFB, CLS, INP; `events / 6`, so a
/// 1-event beacon is one span, 20 events are 17 spans + 3 vitals, 100 are 95 + 5), the rest
/// fetch spans, each its own trace as the SDK makes them. Every beacon carries its page view.
pub fn beacon(events: usize) -> Payload {
    let vitals = (events / 6).min(5);
    let spans = events - vitals;
    let view = spans; // group of the page view id
    let session = spans + 1; // group of the session id
    let mut j = Json {
        text: String::new(),
        patches: Vec::new(),
    };
    j.lit(r#"{"v":1,"sentAt":"#).time(0, ".3");
    j.lit(r#","resource":{"service.name":"shop-web","service.version":"1.4.0","deployment.environment.name":"prod","telemetry.sdk.name":"rum-sdk","telemetry.sdk.language":"webjs","telemetry.sdk.version":"0.1.0"}"#);
    j.lit(r#","session":{"id":""#)
        .trace_hex(session)
        .lit(r#""}"#);
    j.lit(r#","view":{"id":""#).span_hex(view);
    j.lit(r#"","url":"https://shop.example.com/products/8421?utm_source=newsletter","referrer":"https://www.google.com/","type":"navigate","start":"#)
        .time(-30_000, ".0")
        .lit("}");
    j.lit(r#","spans":["#);
    for s in 0..spans {
        if s > 0 {
            j.lit(",");
        }
        let path = API_PATHS[s % API_PATHS.len()];
        let method = if path.contains("cart") || path.contains("checkout") {
            "POST"
        } else {
            "GET"
        };
        let failed = s % 17 == 16;
        let status = if failed { 503 } else { 200 };
        let start = -29_000 + (s as i64) * 250;
        j.lit(r#"{"traceId":""#)
            .trace_hex(s)
            .lit(r#"","spanId":""#)
            .span_hex(s);
        j.lit(&format!(r#"","name":"{method}","kind":"client","start":"#))
            .time(start, ".125");
        j.lit(r#","end":"#)
            .time(start + 40 + (s as i64 % 7) * 31, ".875");
        if failed {
            j.lit(r#","status":"error""#);
        }
        j.lit(&format!(
            r#","attrs":{{"http.request.method":"{method}","url.full":"https://shop.example.com{path}","http.response.status_code":{status}"#
        ));
        if failed {
            j.lit(r#","error.type":"503""#);
        }
        j.lit("}}");
    }
    j.lit(r#"],"vitals":["#);
    let names = [
        ("LCP", 1812.5, "needs-improvement"),
        ("FCP", 912.4, "good"),
        ("TTFB", 212.0, "good"),
        ("CLS", 0.04, "good"),
        ("INP", 96.0, "good"),
    ];
    for (i, (name, value, rating)) in names.iter().take(vitals).enumerate() {
        if i > 0 {
            j.lit(",");
        }
        j.lit(&format!(
            r#"{{"name":"{name}","value":{value},"delta":{value},"id":"v1-"#
        ))
        .span_hex(view);
        j.lit(&format!(r#"-{name}","rating":"{rating}","nav":"navigate""#));
        if *name == "LCP" {
            j.lit(r#","attr":{"target":"main>div.hero>img","url":"https://shop.example.com/img/hero-1200.webp","timeToFirstByte":212,"resourceLoadDelay":310.2,"resourceLoadDuration":905.1,"elementRenderDelay":385.2}"#);
        }
        j.lit("}");
    }
    j.lit(r#"],"context":{"screen":{"width":1920,"height":1080},"viewport":{"width":1280,"height":720},"connection":{"effectiveType":"4g"},"language":"en-US"}}"#);
    let body = j.text.into_bytes();
    let heads = (0..USER_AGENTS.len() * CLIENT_IPS.len())
        .map(|i| {
            let (ua, ip) = Payload::variant(i);
            format!(
                "POST /v1/rum?key={KEY} HTTP/1.1\r\nHost: gateway.bench\r\nUser-Agent: {ua}\r\n\
                 Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nOrigin: {ORIGIN}\r\n\
                 Referer: {ORIGIN}/products/8421?utm_source=newsletter\r\nAccept: */*\r\n\
                 Accept-Language: en-US,en;q=0.9\r\nX-Forwarded-For: {ip}\r\n\r\n",
                body.len()
            )
            .into_bytes()
        })
        .collect();
    Payload {
        name: format!("beacon-{events}"),
        kind: Kind::Beacon,
        spans,
        vitals,
        heads,
        body,
        patches: j.patches,
        groups: spans + 2,
        session_group: Some(session),
    }
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.into())
}

/// Distinct 16- and 8-byte markers for trace `t` and span `i`, found and replaced after encoding.
fn trace_marker(t: usize) -> [u8; 16] {
    let mut m = [
        0xA7, 0x3C, 0x5E, 0x91, 0xD2, 0x4B, 0x68, 0xF3, 0x1A, 0xC5, 0x7E, 0x29, 0xB4, 0x86, 0, 0,
    ];
    m[14..].copy_from_slice(&(t as u16).to_be_bytes());
    m
}

fn span_marker(i: usize) -> [u8; 8] {
    let mut m = [0xE1, 0x5D, 0x97, 0x2F, 0xC8, 0x63, 0, 0];
    m[6..].copy_from_slice(&(i as u16).to_be_bytes());
    m
}

/// An OTLP/HTTP protobuf export of `spans` spans from one backend service, in traces of 5
/// (a server span with 4 children: database, cache and outgoing HTTP calls).
pub fn otlp(spans: usize) -> anyhow::Result<Payload> {
    let base_ns: u64 = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(0));
    let mut out = Vec::with_capacity(spans);
    for i in 0..spans {
        let root = i - i % 5;
        let is_root = i == root;
        let start = base_ns + (i as u64) * 3_000_000;
        let (name, kind, attributes) = match i % 5 {
            0 => (
                "GET /api/products/{id}",
                span::SpanKind::Server,
                vec![
                    kv("http.request.method", s("GET")),
                    kv("http.route", s("/api/products/{id}")),
                    kv("url.path", s("/api/products/8421")),
                    kv("http.response.status_code", any_value::Value::IntValue(200)),
                    kv("server.address", s("shop-api.internal")),
                    kv("user_agent.original", s(USER_AGENTS[0])),
                ],
            ),
            1 | 3 => (
                "SELECT shop.products",
                span::SpanKind::Client,
                vec![
                    kv("db.system.name", s("postgresql")),
                    kv("db.namespace", s("shop")),
                    kv("db.operation.name", s("SELECT")),
                    kv(
                        "db.query.text",
                        s("SELECT id, name, price FROM products WHERE id = $1"),
                    ),
                    kv("server.address", s("db.internal")),
                ],
            ),
            2 => (
                "GET",
                span::SpanKind::Client,
                vec![
                    kv("db.system.name", s("redis")),
                    kv("db.operation.name", s("GET")),
                    kv("server.address", s("cache.internal")),
                ],
            ),
            _ => (
                "POST",
                span::SpanKind::Client,
                vec![
                    kv("http.request.method", s("POST")),
                    kv("url.full", s("http://pricing.internal/v2/quote")),
                    kv("http.response.status_code", any_value::Value::IntValue(200)),
                ],
            ),
        };
        out.push(Span {
            trace_id: trace_marker(i / 5).to_vec(),
            span_id: span_marker(i).to_vec(),
            parent_span_id: if is_root {
                Vec::new()
            } else {
                span_marker(root).to_vec()
            },
            name: name.into(),
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start + if is_root { 14_000_000 } else { 2_000_000 },
            attributes,
            flags: 0x101, // sampled, with the has-is-remote bit as OTel SDKs set it
            status: Some(Status {
                message: String::new(),
                code: status::StatusCode::Ok as i32,
            }),
            ..Default::default()
        });
    }
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", s("shop-api")),
                    kv("service.version", s("2.7.1")),
                    kv("deployment.environment.name", s("prod")),
                    kv("host.name", s("shop-api-7d9f8c-x2k4p")),
                    kv("telemetry.sdk.name", s("opentelemetry")),
                    kv("telemetry.sdk.language", s("rust")),
                    kv("telemetry.sdk.version", s("0.31.0")),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "shop-api".into(),
                    version: "2.7.1".into(),
                    ..Default::default()
                }),
                spans: out,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let body = request.encode_to_vec();
    let mut patches = Vec::new();
    for t in 0..spans.div_ceil(5) {
        for offset in find_all(&body, &trace_marker(t)) {
            patches.push(Patch {
                offset,
                group: t,
                form: Form::TraceRaw,
            });
        }
    }
    for i in 0..spans {
        for offset in find_all(&body, &span_marker(i)) {
            patches.push(Patch {
                offset,
                group: i,
                form: Form::SpanRaw,
            });
        }
    }
    // Every span has a trace id and a span id; all but the roots a parent span id.
    let expected = 3 * spans - spans.div_ceil(5);
    anyhow::ensure!(
        patches.len() == expected,
        "OTLP template: found {} id markers, expected {expected}",
        patches.len()
    );
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: gateway.bench\r\nUser-Agent: OTel-OTLP-Exporter-Rust/0.31.0\r\n\
         Content-Type: application/x-protobuf\r\nAuthorization: Bearer {KEY}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    Ok(Payload {
        name: format!("otlp-{spans}"),
        kind: Kind::Otlp,
        spans,
        vitals: 0,
        heads: vec![head.into_bytes()],
        body,
        patches,
        groups: spans,
        session_group: None,
    })
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}
