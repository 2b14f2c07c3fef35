//! What each fuzz target checks, for one input. The fuzz targets (`fuzz/fuzz_targets/*.rs`)
//! call these, and so does the corpus replay (`tests/fuzz_corpus.rs`, through `#[path]`), so a
//! committed input is checked the same way by `cargo test --workspace` on stable.
//!
//! Each decoder either accepts its input or refuses it with a [`Rejection`] whose status is a
//! client error (400, 413 or 422): a panic, or a refusal the gateway would answer with 5xx, is
//! a finding. The round trip checks that every beacon the SDK's encoder writes is decoded and
//! accepted by the gateway.

use std::path::Path;

use gateway::decoders::{self, Checks, Limits, Rejection};
use gateway::errors::sourcemap::SourceMaps;
use gateway::errors::{stack, ErrorsConfig};
use gateway::model::Frame;

/// The receive time every target validates against: 2026-11-27T00:00:00Z, in unix ms. The
/// seed beacons and OTLP requests are timed around it.
pub const NOW_MS: f64 = 1_795_737_600_000.0;
const NOW_NANOS: i64 = 1_795_737_600_000_000_000;
/// The default `enrich.clock_skew_threshold_ms`, in nanoseconds.
const SKEW_NANOS: i64 = 1_000_000_000;

fn checks(limits: &Limits) -> Checks<'_> {
    Checks {
        limits,
        received_unix_nano: NOW_NANOS,
        clock_skew_threshold_nanos: SKEW_NANOS,
    }
}

/// A refusal must be one the client caused.
fn client_error(r: &Rejection) {
    let status = r.status().as_u16();
    assert!(
        matches!(status, 400 | 413 | 422),
        "a decoder refused with {status}: {r}"
    );
}

/// Outcome of one input, for the replay's tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Refused,
}

fn outcome<T>(result: &Result<T, Rejection>) -> Outcome {
    match result {
        Ok(_) => Outcome::Accepted,
        Err(r) => {
            client_error(r);
            Outcome::Refused
        }
    }
}

/// `beacon_json`: a beacon body, decoded and validated as `POST /v1/rum` does.
pub fn beacon_json(data: &[u8]) -> Outcome {
    let limits = Limits::default();
    let result =
        decoders::beacon(data).and_then(|b| decoders::validate_beacon(b, &checks(&limits)));
    if let Ok(valid) = &result {
        assert_eq!(valid.batch.page_views.len(), 1, "a beacon is one page view");
        let events = valid.batch.spans.len()
            + valid.batch.vitals.len()
            + valid.batch.events.len()
            + valid.batch.errors.len();
        assert!(
            events <= limits.max_events_per_request,
            "{events} events accepted"
        );
    }
    outcome(&result)
}

fn otlp(request: Result<decoders::ExportTraceServiceRequest, Rejection>) -> Outcome {
    let limits = Limits::default();
    let result = request.and_then(|r| decoders::validate_otlp(r, &checks(&limits)));
    if let Ok(valid) = &result {
        assert!(valid.batch.spans.len() <= limits.max_events_per_request);
        assert!(valid.batch.page_views.is_empty() && valid.batch.vitals.is_empty());
    }
    outcome(&result)
}

/// `otlp_protobuf`: an `application/x-protobuf` body of `POST /v1/traces`. A request that
/// decodes re-encodes to bytes that decode and re-encode to the same bytes (compared as
/// bytes: a NaN double is not equal to itself).
pub fn otlp_protobuf(data: &[u8]) -> Outcome {
    let decoded = decoders::otlp_protobuf(data);
    if let Ok(request) = &decoded {
        let once = prost::Message::encode_to_vec(request);
        let again = decoders::otlp_protobuf(&once)
            .expect("a decoded request re-encodes to a decodable one");
        assert_eq!(
            prost::Message::encode_to_vec(&again),
            once,
            "protobuf round trip"
        );
    }
    otlp(decoded)
}

/// `otlp_json`: an `application/json` body of `POST /v1/traces`.
pub fn otlp_json(data: &[u8]) -> Outcome {
    otlp(decoders::otlp_json(data))
}

/// `gzip`: the capped inflater. The first byte picks the cap (0 to 255 × 64 bytes); the rest
/// is the body. What it returns is at most the cap and equals what an uncapped read returns;
/// "too large" only when there are more bytes than the cap.
pub fn gzip(data: &[u8]) -> Outcome {
    let Some((&first, body)) = data.split_first() else {
        return Outcome::Refused;
    };
    let cap = u64::from(first) * 64;
    let capped = decoders::gunzip(body, cap);
    // 1 MiB: the largest cap here, times 64 (a reference read, bounded too).
    let reference = decoders::gunzip(body, 1 << 20);
    match (&capped, &reference) {
        (Ok(out), Ok(all)) => {
            assert!(out.len() as u64 <= cap);
            assert_eq!(out, all, "capped and uncapped reads differ");
        }
        (Ok(out), Err(Rejection::DecompressedTooLarge(_))) => {
            panic!(
                "{} bytes within the cap, but over 1 MiB uncapped",
                out.len()
            )
        }
        (Err(Rejection::DecompressedTooLarge(_)), Ok(all)) => {
            assert!(
                all.len() as u64 > cap,
                "refused {} bytes under the cap {cap}",
                all.len()
            )
        }
        _ => {}
    }
    outcome(&capped)
}

/// `stack`: a browser's `Error.stack`. The first byte picks the frame limit (1 to 64).
pub fn stack(data: &[u8]) -> Outcome {
    let Some((&first, text)) = data.split_first() else {
        return Outcome::Refused;
    };
    let max = usize::from(first % 64) + 1;
    let text = String::from_utf8_lossy(text);
    let (frames, omitted) = stack::parse(&text, max);
    assert!(frames.len() <= max);
    assert!(
        omitted == 0 || frames.len() == max,
        "frames omitted below the limit"
    );
    assert!(frames.len() + omitted <= text.lines().count());
    if frames.is_empty() {
        Outcome::Refused
    } else {
        Outcome::Accepted
    }
}

/// Frames to resolve when the input carries no stack: positions on the first lines.
fn default_frames() -> Vec<Frame> {
    let text = "Error: x\n    at a (https://shop.example/app.min.js:1:1)\n    at b (https://shop.example/app.min.js:1:17)\n    at c (https://shop.example/app.min.js:2:5)\n    at https://shop.example/vendor.js:1:120";
    stack::parse(text, 50).0
}

/// `sourcemap`: a source map's bytes and the frames it resolves. An input with a NUL byte is
/// `stack NUL map`; without one it is all map, with fixed frames. After resolution each
/// frame with a position is either resolved or says why not, never both.
pub fn sourcemap(data: &[u8]) -> Outcome {
    let (mut frames, map) = match data.iter().position(|&b| b == 0) {
        Some(i) => (
            stack::parse(&String::from_utf8_lossy(&data[..i]), 50).0,
            &data[i + 1..],
        ),
        None => (default_frames(), data),
    };
    let maps = SourceMaps::new(&ErrorsConfig::default(), Path::new("/nonexistent-fuzz-dir"));
    maps.symbolicate_with_map(map, &mut frames);
    let mut resolved = false;
    for f in &frames {
        assert!(
            f.original.is_some() != f.unresolved.is_some(),
            "a frame both or neither resolved: {f:?}"
        );
        if let Some(o) = &f.original {
            assert!(o.line >= 1 && o.column >= 1);
            resolved = true;
        }
    }
    if resolved {
        Outcome::Accepted
    } else {
        Outcome::Refused
    }
}

/// Reads an input as a sequence of choices; past its end every read is zero.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    /// A length-prefixed run of bytes (at most `max`).
    fn bytes(&mut self, max: usize) -> &'a [u8] {
        let len = (usize::from(self.u16()) % (max + 1)).min(self.data.len());
        let (head, rest) = self.data.split_at(len);
        self.data = rest;
        head
    }
    /// Text as JS hands it over: `TextEncoder` makes any string valid UTF-8.
    fn text(&mut self, max: usize) -> String {
        String::from_utf8_lossy(self.bytes(max)).into_owned()
    }
    /// A string as the SDK's bindings hand it to the recorder: JS writes up to about `cap`
    /// plus a quarter, and `io::Input::string(cap)` keeps the first `cap` bytes ([`cut`]).
    fn field(&mut self, cap: usize) -> Vec<u8> {
        let text = self.text(cap + cap / 4);
        cut(text.as_bytes(), cap).to_vec()
    }
    /// A JSON object as `journey.js` `json()` (`JSON.stringify`) writes one, or nothing;
    /// sometimes longer than the bindings read of it.
    fn json(&mut self) -> String {
        match self.byte() % 5 {
            0 => String::new(),
            1 => {
                let (k, v) = (self.key(), self.text(200));
                serde_json::json!({ k: v }).to_string()
            }
            2 => {
                let (k, n) = (self.key(), self.u32());
                serde_json::json!({ k: n, "flag": n & 1 == 0 }).to_string()
            }
            3 => {
                let v = self.text(100);
                serde_json::json!({ "target": v, "n": 1.5 }).to_string()
            }
            _ => {
                let v = self.text(8000);
                serde_json::json!({ "long": v }).to_string()
            }
        }
    }
    /// An attribute's name. `json()` keeps an empty one, and the gateway refuses every
    /// beacon that carries it (finding 4 in `docs/fuzzing.md`); with `RUM_FUZZ_SDK_AS_IS=1`
    /// the target sends empty names, by default it names them `k` as the fix would leave
    /// them out.
    fn key(&mut self) -> String {
        let key = self.text(40);
        if key.is_empty() && !sdk_as_is() {
            "k".to_string()
        } else {
            key
        }
    }
    /// That JSON as the bindings hand it over: read with a cap ([`cut_json`]).
    fn json_field(&mut self, cap: usize) -> Vec<u8> {
        let json = self.json();
        cut_json(json.as_bytes(), cap).to_vec()
    }
    /// Milliseconds since the navigation's start, as `performance.now()` gives them.
    fn ms(&mut self) -> f64 {
        f64::from(self.u32() % 36_000_000) / 16.0
    }
    fn hex<const N: usize>(&mut self) -> [u8; N] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'0'; N];
        for slot in out.iter_mut() {
            *slot = DIGITS[usize::from(self.byte() % 16)];
        }
        // Ids are random and never all zero.
        if out.iter().all(|&b| b == b'0') {
            out[N - 1] = b'1';
        }
        out
    }
}

/// What `rum-sdk/src/io.rs` `Input::string(cap)` leaves of a string JS wrote: its first
/// `cap` bytes, even inside a character; the JSON writer then writes each byte of the cut
/// character as U+FFFD (3 bytes), so the field can grow past the gateway's limit for it and
/// the whole beacon is refused (finding 2 in `docs/fuzzing.md`). With `RUM_FUZZ_SDK_AS_IS=1`
/// the target cuts as the SDK does today; by default at the character boundary below `cap`,
/// as the fix would, so that the rest of the round trip is fuzzed.
fn cut(bytes: &[u8], cap: usize) -> &[u8] {
    if bytes.len() <= cap || sdk_as_is() {
        return bytes.get(..cap).unwrap_or(bytes);
    }
    let mut end = cap;
    // A UTF-8 continuation byte is 0b10xxxxxx: back off to the start of its character.
    while end > 0 && bytes[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    &bytes[..end]
}

/// What the bindings leave of an attributes object (`custom` and `error` read it with
/// `string(MAX_ATTRS_BYTES)`): a longer one is cut, and the recorder writes the cut JSON
/// into the beacon as it is, so the beacon is not JSON (finding 3). As the SDK is
/// (`RUM_FUZZ_SDK_AS_IS=1`): cut at `cap`; by default, one byte more is read, so an object
/// over `cap` reaches the recorder over `cap` and is left out (as the vitals' attribution
/// already is, read with `MAX_ATTRIBUTION_BYTES + 1`).
fn cut_json(bytes: &[u8], cap: usize) -> &[u8] {
    if sdk_as_is() {
        return bytes.get(..cap).unwrap_or(bytes);
    }
    if bytes.len() > cap {
        return &[];
    }
    bytes
}

fn sdk_as_is() -> bool {
    static AS_IS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AS_IS.get_or_init(|| std::env::var_os("RUM_FUZZ_SDK_AS_IS").is_some_and(|v| v == "1"))
}

/// `sdk_roundtrip`: the input drives the SDK's recorder (fetch calls, vitals, events, errors,
/// users, flushes) with text and numbers as the browser hands them over; every beacon it
/// writes must be decoded and accepted by the gateway.
pub fn sdk_roundtrip(data: &[u8]) -> Outcome {
    use rum_sdk::beacon::Envelope;
    use rum_sdk::errors::{PageError, KINDS};
    use rum_sdk::journey::view::View;
    use rum_sdk::recorder::Recorder;
    use rum_sdk::trace::http::HttpCall;
    use rum_sdk::trace::ids::{SpanId, TraceId};
    use rum_sdk::vitals::{MetricName, Rating, Report};

    // The bindings' caps (`rum-sdk/src/bindings.rs`): names 256 bytes, strings 4096.
    const NAME: usize = 256;
    const STRING: usize = 4096;
    let mut input = Input { data };
    let service = input.field(NAME);
    let url = input.field(STRING);
    let envelope = Envelope {
        service: [&service, b"1.0.0", b"prod"],
        sdk_version: "0.1.0",
        screen: [1920, 1080, 1280, 720],
        effective_type: b"4g",
        language: b"en-US",
        mobile: Some(false),
    };
    let session = input.hex::<32>();
    let view_id = input.hex::<16>();
    let view = View::new(&view_id, &url, b"", b"navigate", 0.0);
    // The page started up to 10 minutes before the gateway's clock.
    let time_origin = NOW_MS - 600_000.0;
    let mut arena = vec![0u8; rum_sdk::batch::QUEUE_BYTES];
    let mut recorder = Recorder::new(&envelope, &session, view, time_origin, 42, &mut arena);
    let mut out = vec![0u8; rum_sdk::batch::MAX_BYTES];
    let mut beacons = 0usize;
    let mut check = |bytes: &[u8]| {
        let limits = Limits::default();
        let decoded = decoders::beacon(bytes).unwrap_or_else(|r| {
            panic!(
                "the gateway cannot decode the SDK's beacon: {r}\n{}",
                String::from_utf8_lossy(bytes)
            )
        });
        decoders::validate_beacon(decoded, &checks(&limits)).unwrap_or_else(|r| {
            panic!(
                "the gateway refuses the SDK's beacon: {r}\n{}",
                String::from_utf8_lossy(bytes)
            )
        });
        beacons += 1;
    };
    let mut now = 0.0;
    for _ in 0..64 {
        if input.data.is_empty() {
            break;
        }
        now += f64::from(input.u16()) / 4.0;
        match input.byte() % 7 {
            0 => {
                // fetch.js: `String(method || 'GET').toUpperCase()`.
                let method = input.text(80).to_uppercase();
                let method = cut(method.as_bytes(), 64).to_vec();
                let method = if method.is_empty() {
                    b"GET".to_vec()
                } else {
                    method
                };
                let (url, error) = (input.field(STRING), input.field(64));
                let start = input.ms();
                let end = start + f64::from(input.u16());
                let parent = (input.byte() & 1 == 0).then(|| SpanId(input.hex()));
                recorder.http(&HttpCall {
                    trace_id: TraceId(input.hex()),
                    span_id: SpanId(input.hex()),
                    parent,
                    method: &method,
                    url: &url,
                    start,
                    end,
                    status: input.u16() % 600,
                    error: &error,
                });
            }
            1 => {
                let name = [
                    MetricName::Cls,
                    MetricName::Fcp,
                    MetricName::Inp,
                    MetricName::Lcp,
                    MetricName::Ttfb,
                ][usize::from(input.byte() % 5)];
                let rating = [Rating::Good, Rating::NeedsImprovement, Rating::Poor]
                    [usize::from(input.byte() % 3)];
                let value = f64::from(input.u32()) / 1000.0;
                let report = Report {
                    name,
                    value,
                    delta: value / 2.0,
                    rating,
                    detail: f64::from(input.u16()),
                };
                // Read with `MAX_ATTRIBUTION_BYTES + 1`: a longer one is marked truncated.
                let json = input.json();
                let attribution = json
                    .as_bytes()
                    .get(..rum_sdk::beacon::MAX_ATTRIBUTION_BYTES + 1)
                    .unwrap_or(json.as_bytes());
                recorder.vital(&report, u32::from(input.byte() % 4), attribution);
            }
            2 => {
                let name = input.field(NAME);
                let attrs = input.json_field(rum_sdk::journey::event::MAX_ATTRS_BYTES);
                // `custom` drops an event without a name.
                if !name.is_empty() {
                    recorder.event(now, &name, &attrs, true);
                }
            }
            3 => {
                let kind = KINDS[usize::from(input.byte()) % KINDS.len()];
                // errors.js: `e.name || 'Error'` (or 'ResourceError'): never empty. (The SDK
                // writes "Error" for an empty type in the first record but the empty type in
                // the count update, which the gateway refuses: finding 5 in docs/fuzzing.md,
                // unreachable from JS.)
                let error_type = input.field(64);
                let error_type = if error_type.is_empty() && !sdk_as_is() {
                    b"Error".to_vec()
                } else {
                    error_type
                };
                let message = input.field(rum_sdk::errors::MAX_MESSAGE_BYTES);
                let stack = input.field(rum_sdk::errors::MAX_STACK_BYTES);
                let source = input.field(STRING);
                let request =
                    (input.byte() < 86).then(|| (TraceId(input.hex()), SpanId(input.hex())));
                let attrs = input.json_field(rum_sdk::journey::event::MAX_ATTRS_BYTES);
                recorder.error(
                    &PageError {
                        kind,
                        error_type: &error_type,
                        message: &message,
                        stack: &stack,
                        source: &source,
                        line: input.u32(),
                        col: input.u32(),
                        time: now,
                        request,
                        action: None,
                        attrs: &attrs,
                    },
                    true,
                );
            }
            4 => {
                let id = input.field(NAME);
                let attrs = input.json();
                let attrs = cut(attrs.as_bytes(), rum_sdk::recorder::USER_BYTES).to_vec();
                recorder.user(&id, &attrs);
            }
            5 => {
                recorder.tick(now);
            }
            _ => {
                let len = recorder.next_beacon(time_origin + now, &mut out);
                if len > 0 {
                    check(&out[..len]);
                }
            }
        }
    }
    recorder.leave(now);
    loop {
        let len = recorder.next_beacon(time_origin + now, &mut out);
        if len == 0 {
            break;
        }
        check(&out[..len]);
    }
    if beacons > 0 {
        Outcome::Accepted
    } else {
        Outcome::Refused
    }
}
