//! Browser errors (issue 14) through the gateway: stacks of Chromium, Firefox and Safari
//! parsed into frames (real stack strings, `fixtures/stacks/README.md` cites each), the
//! fingerprint, symbolication checked frame by frame against Mozilla's `source-map`
//! (`fixtures/sourcemap/`), source map uploads (auth, every 4xx), grouping of repeated errors,
//! the session API's errors, and the `errors` field refused by name.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use gateway::config::{Config, Overrides};
use gateway::errors::{fingerprint, stack};
use gateway::model::{BrowserError, Frame};
use gateway::store::writer::{self, Writer};
use serde_json::{json, Value};

mod common;
use common::{get, now_ms, send};

const ORIGIN: &str = "http://localhost:8080";
const TOKEN: &str = "errors-test-token-0123";
const SESSION: &str = "0123456789abcdef0123456789abcdef";
const MIN_URL: &str = "http://fixture.test/assets/app.min.js";

fn fixture(path: &str) -> String {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

// ---------------------------------------------------------------- stack parsing

type Expected<'a> = (Option<&'a str>, &'a str, Option<u32>, Option<u32>);

fn frames_of(path: &str) -> Vec<Frame> {
    stack::parse(&fixture(path), 50).0
}

fn assert_frames(path: &str, want: &[Expected]) {
    type Owned = (Option<String>, String, Option<u32>, Option<u32>);
    let got: Vec<Owned> = frames_of(path)
        .into_iter()
        .map(|f| (f.function, f.url, f.line, f.column))
        .collect();
    let want: Vec<Owned> = want
        .iter()
        .map(|(f, u, l, c)| (f.map(String::from), u.to_string(), *l, *c))
        .collect();
    assert_eq!(got, want, "{path}");
}

#[test]
fn stacks_of_three_browsers_parse_into_frames() {
    const SHOP: &str = "http://fixture.test/static/shop.js?v=3";
    let utility = [
        (Some("eval"), "", Some(370), Some(30)),
        (
            Some("UtilityScript.evaluate"),
            "<anonymous>",
            Some(372),
            Some(16),
        ),
        (
            Some("UtilityScript.<anonymous>"),
            "<anonymous>",
            Some(1),
            Some(44),
        ),
    ];
    let with_utility = |frames: &[Expected<'static>]| -> Vec<Expected<'static>> {
        frames.iter().chain(utility.iter()).copied().collect()
    };
    // Chromium, recorded here.
    assert_frames(
        "stacks/chromium-nested.txt",
        &with_utility(&[
            (Some("levelThree"), SHOP, Some(2), Some(31)),
            (Some("levelTwo"), SHOP, Some(3), Some(30)),
            (Some("levelOne"), SHOP, Some(4), Some(30)),
            (Some("Object.nested"), SHOP, Some(7), Some(17)),
            (Some("window.record"), SHOP, Some(15), Some(33)),
        ]),
    );
    assert_frames(
        "stacks/chromium-anonymous.txt",
        &with_utility(&[
            (Some("levelThree"), SHOP, Some(2), Some(31)),
            (Some("levelTwo"), SHOP, Some(3), Some(30)),
            (None, SHOP, Some(8), Some(49)),
            (Some("Array.map"), "<anonymous>", None, None),
            (Some("Object.anonymous"), SHOP, Some(8), Some(24)),
            (Some("window.record"), SHOP, Some(15), Some(33)),
        ]),
    );
    assert_frames(
        "stacks/chromium-constructor.txt",
        &with_utility(&[
            (Some("levelThree"), SHOP, Some(2), Some(31)),
            (Some("levelTwo"), SHOP, Some(3), Some(30)),
            (Some("levelOne"), SHOP, Some(4), Some(30)),
            (Some("new Cart"), SHOP, Some(5), Some(30)),
            (Some("Object.constructor"), SHOP, Some(9), Some(22)),
            (Some("window.record"), SHOP, Some(15), Some(33)),
        ]),
    );
    // Code run by eval lives at the eval call of the script that ran it.
    assert_frames(
        "stacks/chromium-eval.txt",
        &with_utility(&[
            (Some("levelThree"), SHOP, Some(2), Some(31)),
            (Some("evaluated"), SHOP, Some(10), Some(15)),
            (Some("eval"), SHOP, Some(10), Some(15)),
            (Some("Object.eval"), SHOP, Some(10), Some(15)),
            (Some("window.record"), SHOP, Some(15), Some(33)),
        ]),
    );
    assert_frames(
        "stacks/chromium-async.txt",
        &[
            (Some("levelThree"), SHOP, Some(2), Some(31)),
            (Some("levelTwo"), SHOP, Some(3), Some(30)),
            (Some("loadCart"), SHOP, Some(11), Some(96)),
            (Some("Object.async"), SHOP, Some(11), Some(49)),
            (Some("window.record"), SHOP, Some(15), Some(9)),
            (None, "<anonymous>", Some(381), Some(23)),
        ],
    );
    assert_frames(
        "stacks/chromium-method.txt",
        &with_utility(&[
            (Some("levelThree"), SHOP, Some(2), Some(31)),
            (Some("Object.checkout"), SHOP, Some(12), Some(33)),
            (Some("Object.method"), SHOP, Some(12), Some(52)),
            (Some("window.record"), SHOP, Some(15), Some(33)),
        ]),
    );
    // Firefox: eval frames point at the line of the calling script.
    const FILE: &str = "http://localhost:8080/file.js";
    assert_frames(
        "stacks/firefox-43-eval.txt",
        &[
            (Some("baz"), FILE, Some(26), None),
            (Some("foo"), FILE, Some(26), None),
            (None, FILE, Some(26), None),
            (Some("speak"), FILE, Some(26), Some(17)),
            (None, FILE, Some(33), Some(9)),
        ],
    );
    const ROOT: &str = "http://localhost:5000/";
    assert_frames(
        "stacks/firefox-66-eval.txt",
        &[
            (Some("aha"), ROOT, Some(19), Some(13)),
            (Some("callAnotherThing"), ROOT, Some(20), Some(15)),
            (Some("callback"), ROOT, Some(25), Some(7)),
            (Some("test"), ROOT, Some(34), Some(7)),
            (Some("test"), ROOT, Some(33), Some(23)),
            (None, ROOT, Some(39), None),
            (Some("aha"), ROOT, Some(39), Some(5)),
            (Some("testMethod"), ROOT, Some(44), Some(7)),
            (None, ROOT, Some(50), Some(19)),
        ],
    );
    assert_frames(
        "stacks/firefox-44-ns-exception.txt",
        &[
            (
                Some("[2]</Bar.prototype._baz"),
                "http://path/to/file.js",
                Some(703),
                Some(28),
            ),
            (
                Some("App.prototype.foo"),
                "file:///path/to/file.js",
                Some(15),
                Some(2),
            ),
            (Some("bar"), "file:///path/to/file.js", Some(20), Some(3)),
            (None, "file:///path/to/index.html", Some(23), Some(1)),
        ],
    );
    const AT: &str = "http://localhost:5000/misc/@stuff/foo.js";
    assert_frames(
        "stacks/firefox-60-at-sign.txt",
        &[
            (Some("obj[\"@who\"]"), AT, Some(4), Some(9)),
            (Some("what"), AT, Some(8), Some(3)),
            (Some("where"), AT, Some(11), Some(3)),
            (Some("why"), AT, Some(14), Some(3)),
            (None, AT, Some(17), Some(1)),
        ],
    );
    // Safari: `[native code]`, `global code`, frames without a function; `eval code` is not a
    // frame.
    assert_frames(
        "stacks/safari-12-eval.txt",
        &[
            (Some("aha"), ROOT, Some(19), Some(22)),
            (Some("aha"), "[native code]", None, None),
            (Some("callAnotherThing"), ROOT, Some(20), Some(16)),
            (Some("callback"), ROOT, Some(25), Some(23)),
            (None, ROOT, Some(34), Some(25)),
            (Some("map"), "[native code]", None, None),
            (Some("test"), ROOT, Some(33), Some(26)),
            (Some("eval"), "[native code]", None, None),
            (Some("aha"), ROOT, Some(39), Some(9)),
            (Some("testMethod"), ROOT, Some(44), Some(10)),
            (None, ROOT, Some(50), Some(29)),
        ],
    );
    const TEST: &str = "http://localhost:5000/test";
    assert_frames(
        "stacks/safari-12-native.txt",
        &[
            (Some("fooIterator"), TEST, Some(20), Some(26)),
            (Some("map"), "[native code]", None, None),
            (Some("foo"), TEST, Some(19), Some(22)),
            (Some("global code"), TEST, Some(24), Some(10)),
        ],
    );
    assert_frames(
        "stacks/safari-6.txt",
        &[
            (None, "http://path/to/file.js", Some(48), None),
            (
                Some("dumpException3"),
                "http://path/to/file.js",
                Some(52),
                None,
            ),
            (Some("onclick"), "http://path/to/file.js", Some(82), None),
            (None, "[native code]", None, None),
        ],
    );
    let extension = frames_of("stacks/safari-extension.txt");
    assert_eq!(extension.len(), 3);
    assert!(extension.iter().all(|f| !f.in_app), "{extension:?}");
    assert_eq!(extension[0].column, Some(929865));
    // Page scripts are in app; native code and Playwright's injected frames are not.
    let nested = frames_of("stacks/chromium-nested.txt");
    assert!(nested[..5].iter().all(|f| f.in_app));
    assert!(nested[5..].iter().all(|f| !f.in_app));
}

// ---------------------------------------------------------------- fingerprint

fn error_with(error_type: &str, message: &str, stack_text: &str) -> BrowserError {
    BrowserError {
        session_id: "s".into(),
        page_view_id: "v".into(),
        id: "0000000000000001".into(),
        kind: "uncaught".into(),
        error_type: error_type.into(),
        message: message.into(),
        stack: stack_text.into(),
        source: None,
        line: None,
        column: None,
        time_unix_nano: 1,
        count: 1,
        action_span_id: None,
        trace_id: None,
        span_id: None,
        attributes: Default::default(),
        resource: Default::default(),
        frames: stack::parse(stack_text, 50).0,
        frames_omitted: 0,
        fingerprint: String::new(),
    }
}

#[test]
fn the_fingerprint_ignores_line_numbers_and_ids_but_not_the_type_or_the_code() {
    let stack_at = |line: u32| {
        format!(
            "TypeError: x\n    at levelThree (http://h/assets/app.3f2a1b9c.js:{line}:31)\n    at levelTwo (http://h/assets/app.3f2a1b9c.js:{}:9)",
            line + 40
        )
    };
    let base = fingerprint::fingerprint(&error_with(
        "TypeError",
        "Unexpected token at line 12 in order 5512 (req 550e8400-e29b-41d4-a716-446655440000)",
        &stack_at(2),
    ));
    assert_eq!(base.len(), 32);
    // The message's numbers and ids, the frames' lines and a rebuilt bundle's hash: same group.
    let moved = fingerprint::fingerprint(&error_with(
        "TypeError",
        "Unexpected token at line 97 in order 18 (req 9b2c0a4e-0000-41d4-a716-446655440000)",
        &stack_at(120).replace("3f2a1b9c", "77aa01bc"),
    ));
    assert_eq!(base, moved);
    // Another type, another function, another quoted property: another group.
    let other_type = fingerprint::fingerprint(&error_with(
        "RangeError",
        "Unexpected token at line 12 in order 5512 (req 550e8400-e29b-41d4-a716-446655440000)",
        &stack_at(2),
    ));
    assert_ne!(base, other_type);
    let other_code = fingerprint::fingerprint(&error_with(
        "TypeError",
        "Unexpected token at line 12 in order 5512 (req 550e8400-e29b-41d4-a716-446655440000)",
        &stack_at(2).replace("levelTwo", "checkout"),
    ));
    assert_ne!(base, other_code);
    let a = fingerprint::fingerprint(&error_with(
        "TypeError",
        "Cannot read properties of undefined (reading 'price')",
        &stack_at(2),
    ));
    let b = fingerprint::fingerprint(&error_with(
        "TypeError",
        "Cannot read properties of undefined (reading 'name')",
        &stack_at(2),
    ));
    assert_ne!(a, b);
}

// ---------------------------------------------------------------- the gateway

struct Gateway {
    ingest: Router,
    admin: Router,
    dir: tempfile::TempDir,
    _writer: Writer,
}

impl Gateway {
    fn start(extra: &str) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = format!(
            "[[apps]]\nname = \"shop\"\nkey = \"k1\"\nallowed_origins = [\"http://localhost:*\"]\n\
             [server]\nadmin_token = \"{TOKEN}\"\n{extra}\n"
        );
        let overrides = Overrides {
            data_dir: Some(dir.path().into()),
            ..Overrides::default()
        };
        let config = Config::from_toml(&toml, overrides).expect("config");
        let (store, writer) = writer::start(dir.path(), 64).expect("store");
        let (ingest, admin) = gateway::server::routers(&config, store).expect("routers");
        Gateway {
            ingest,
            admin,
            dir,
            _writer: writer,
        }
    }

    async fn beacon(&self, beacon: &Value) -> (StatusCode, Value) {
        let request = Request::post("/v1/rum?key=k1")
            .header("content-type", "text/plain;charset=UTF-8")
            .header("origin", ORIGIN)
            .body(Body::from(beacon.to_string()))
            .expect("request");
        let (status, body, _) = send(&self.ingest, request).await;
        (status, body)
    }

    async fn beacon_ok(&self, beacon: &Value) {
        let (status, body) = self.beacon(beacon).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    async fn upload(&self, query: &str, body: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::post(format!("/api/sourcemaps?{query}"));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let (status, body, _) = send(
            &self.admin,
            request.body(Body::from(body.to_string())).expect("request"),
        )
        .await;
        (status, body)
    }

    async fn api(&self, path: &str) -> Value {
        let request = Request::get(path)
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .expect("request");
        let (status, body, _) = send(&self.admin, request).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }
}

fn upload_query(version: &str) -> String {
    format!("service=shop-web&version={version}&url=http%3A%2F%2Fcdn.example%2Fassets%2Fapp.min.js%3Fv%3D1")
}

/// Whole milliseconds a minute ago.
fn t0() -> f64 {
    (now_ms() / 1000.0).floor() * 1000.0 - 60_000.0
}

fn beacon(version: &str, view: &str, user: &str, errors: Value) -> Value {
    json!({
        "v": 1, "sentAt": now_ms(),
        "resource": {"service.name": "shop-web", "service.version": version,
                     "deployment.environment.name": "prod"},
        "session": {"id": SESSION},
        "view": {"id": view, "url": "http://localhost:8080/cart", "type": "navigate", "start": t0()},
        "user": {"id": user},
        "errors": errors,
    })
}

fn error(id: &str, stack_text: &str, count: u64) -> Value {
    json!({"type": "TypeError", "message": "Cart has too many items: 3", "stack": stack_text,
           "kind": "uncaught", "time": t0() + 1000.0, "id": id, "count": count,
           "source": MIN_URL, "line": 1, "col": 55})
}

#[tokio::test]
async fn resolved_frames_match_mozilla_source_map_on_every_frame() {
    let gw = Gateway::start("");
    let map = fixture("sourcemap/app.min.js.map");
    let (status, body) = gw.upload(&upload_query("1.4.2"), &map, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["stored"]["path"], "assets/app.min.js");
    assert_eq!(body["stored"]["sources_content"], true);
    let stack_text = fixture("sourcemap/chromium-stack.txt");
    gw.beacon_ok(&beacon(
        "1.4.2",
        "a1a1a1a1a1a1a1a1",
        "u-1",
        json!([error("00000000000000a1", &stack_text, 1)]),
    ))
    .await;
    let list = gw.api("/api/errors").await;
    let groups = list["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{list}");
    let fp = groups[0]["fingerprint"].as_str().expect("fingerprint");
    assert_eq!(groups[0]["culprit"], "levelThree (src/app.js)");
    let group = gw.api(&format!("/api/errors/{fp}")).await;
    let frames = group["occurrences"][0]["frames"]
        .as_array()
        .expect("frames")
        .clone();
    let expected: Value = serde_json::from_str(&fixture("sourcemap/expected.json")).expect("json");
    let mut compared = 0;
    for want in expected["frames"].as_array().expect("frames") {
        let got = frames
            .iter()
            .find(|f| {
                f["line"] == want["line"]
                    && f["column"] == want["column"]
                    && f["url"] == want["url"]
            })
            .unwrap_or_else(|| panic!("no frame at {want}"));
        // The minified frame is kept beside the original.
        assert_eq!(got["function"], want["function"], "{got}");
        let Some(original) = want["original"].as_object() else {
            assert!(got.get("original").is_none(), "{got}");
            continue;
        };
        let o = &got["original"];
        assert_eq!(o["file"], original["file"], "{got}");
        assert_eq!(o["line"], original["line"], "{got}");
        assert_eq!(o["column"], original["column"], "{got}");
        assert_eq!(o["function"], original["function"], "{got}");
        assert_eq!(o["context"]["line"], original["source_line"], "{got}");
        compared += 1;
    }
    assert_eq!(compared, 4, "the four frames of app.min.js");
    // Source lines around the throw, from sourcesContent.
    let top = &frames[0]["original"]["context"];
    assert_eq!(top["start_line"], 3);
    assert_eq!(top["pre"].as_array().map(Vec::len), Some(3));
    assert_eq!(top["post"][0], "  }");
    // Frames without a map say why.
    let utility = frames
        .iter()
        .find(|f| f["url"] == "<anonymous>")
        .expect("frame");
    assert_eq!(utility["unresolved"], "not_a_script_url");
}

#[tokio::test]
async fn uploads_need_the_token_and_a_bad_upload_is_told_what_is_wrong() {
    let gw = Gateway::start("[errors]\nmax_sourcemap_bytes = 4096\n");
    let map = fixture("sourcemap/app.min.js.map");
    assert!(map.len() < 4096);
    let (status, _) = gw.upload(&upload_query("1"), &map, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = gw
        .upload(&upload_query("1"), &map, Some("wrong-token-0123456"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let cases = [
        ("version=1&url=http://h/a.js", map.clone(), 400, "service"),
        ("service=s&url=http://h/a.js", map.clone(), 400, "version"),
        ("service=s&version=1", map.clone(), 400, "url"),
        (
            "service=s&version=1&url=a.js",
            map.clone(),
            400,
            "url must be",
        ),
        (
            "service=s&version=1&url=http://h/a.js",
            "{\"version\":3,".into(),
            400,
            "not a source map",
        ),
        (
            "service=s&version=1&url=http://h/a.js",
            "".into(),
            400,
            "empty",
        ),
        (
            "service=s&version=1&url=http://h/a.js",
            "x".repeat(5000),
            413,
            "max_sourcemap_bytes",
        ),
    ];
    for (query, body, status, says) in cases {
        let (got, answer) = gw.upload(query, &body, Some(TOKEN)).await;
        assert_eq!(got.as_u16(), status, "{query}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{query}: {answer}");
    }
    let (status, answer) = gw.upload(&upload_query("1"), &map, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    // Stored under the data directory, one file per service, version and path.
    let stored = gw
        .dir
        .path()
        .join("sourcemaps/shop-web/1/assets%2Fapp.min.js.map");
    assert!(stored.is_file(), "{}", stored.display());
}

#[tokio::test]
async fn a_map_uploaded_after_an_error_does_not_rewrite_it() {
    let gw = Gateway::start("");
    let stack_text = fixture("sourcemap/chromium-stack.txt");
    gw.beacon_ok(&beacon(
        "2.0.0",
        "b1b1b1b1b1b1b1b1",
        "u-1",
        json!([error("00000000000000b1", &stack_text, 1)]),
    ))
    .await;
    let map = fixture("sourcemap/app.min.js.map");
    let (status, _) = gw.upload(&upload_query("2.0.0"), &map, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::CREATED);
    gw.beacon_ok(&beacon(
        "2.0.0",
        "b2b2b2b2b2b2b2b2",
        "u-1",
        json!([error("00000000000000b2", &stack_text, 1)]),
    ))
    .await;
    let list = gw.api("/api/errors").await;
    let groups = list["groups"].as_array().expect("groups");
    // The first record stays minified (its frames and group as stored); the second resolves,
    // and reads original frames, so it has a group of its own.
    assert_eq!(groups.len(), 2, "{list}");
    let mut unresolved = 0;
    let mut resolved = 0;
    for g in groups {
        let group = gw
            .api(&format!(
                "/api/errors/{}",
                g["fingerprint"].as_str().unwrap_or("")
            ))
            .await;
        let top = &group["occurrences"][0]["frames"][0];
        match top["unresolved"].as_str() {
            Some("no_sourcemap") => unresolved += 1,
            None if top["original"]["function"] == "levelThree" => resolved += 1,
            other => panic!("{other:?}: {top}"),
        }
    }
    assert_eq!((unresolved, resolved), (1, 1));
}

#[tokio::test]
async fn repeated_errors_group_and_counts_keep_the_largest() {
    let gw = Gateway::start("");
    let stack_text = fixture("stacks/chromium-nested.txt");
    let v1 = "c1c1c1c1c1c1c1c1";
    // The SDK counts repeats in a view on its first record and may re-send it with more.
    gw.beacon_ok(&beacon(
        "3.1",
        v1,
        "u-1",
        json!([error("00000000000000c1", &stack_text, 3)]),
    ))
    .await;
    gw.beacon_ok(&beacon(
        "3.1",
        v1,
        "u-1",
        json!([error("00000000000000c1", &stack_text, 50)]),
    ))
    .await;
    gw.beacon_ok(&beacon(
        "3.1",
        v1,
        "u-1",
        json!([error("00000000000000c1", &stack_text, 20)]),
    ))
    .await;
    // The same error in another view and release, by another user: the same group.
    let mut other = error("00000000000000c2", &stack_text.replace(":2:31", ":9:31"), 1);
    other["message"] = json!("Cart has too many items: 7");
    gw.beacon_ok(&beacon("3.2", "c2c2c2c2c2c2c2c2", "u-2", json!([other])))
        .await;
    // Another type: another group.
    let mut range = error("00000000000000c3", &stack_text, 1);
    range["type"] = json!("RangeError");
    gw.beacon_ok(&beacon("3.2", "c2c2c2c2c2c2c2c2", "u-2", json!([range])))
        .await;

    let list = gw.api("/api/errors").await;
    let groups = list["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2, "{list}");
    let group = groups
        .iter()
        .find(|g| g["type"] == "TypeError")
        .expect("TypeError");
    assert_eq!(group["count"], 51, "{group}");
    assert_eq!(group["records"], 2);
    assert_eq!(group["sessions"], 1);
    assert_eq!(group["users"], 2);
    let versions: Vec<&str> = group["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .filter_map(|r| r["version"].as_str())
        .collect();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert!(versions.contains(&"3.1") && versions.contains(&"3.2"));
    let sparkline = group["sparkline"].as_array().expect("sparkline");
    assert_eq!(sparkline.len(), 24);
    assert_eq!(sparkline.iter().filter_map(Value::as_i64).sum::<i64>(), 51);
    // Filters: a release, an environment, a time range.
    let only = gw.api("/api/errors?service=shop-web&version=3.1").await;
    assert_eq!(only["groups"].as_array().map(Vec::len), Some(1), "{only}");
    assert_eq!(only["groups"][0]["count"], 50);
    let none = gw.api("/api/errors?environment=staging").await;
    assert_eq!(none["groups"], json!([]));
    let future = format!("/api/errors?from={}", (now_ms() as i64) + 3_600_000);
    assert_eq!(gw.api(&future).await["groups"], json!([]));
    // The session counts them and shows them on its timeline.
    let session = gw.api(&format!("/api/sessions/{SESSION}")).await;
    assert_eq!(
        session["session"]["exception_count"], 52,
        "{}",
        session["session"]
    );
    assert_eq!(session["session"]["error_count"], 52);
    let marks: Vec<&Value> = session["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["type"] == "error")
        .collect();
    assert_eq!(marks.len(), 3);
    assert_eq!(marks[0]["count"], 50);
    assert_eq!(marks[0]["view_id"], v1);
    // Unknown and malformed fingerprints.
    let request = |path: &str| {
        Request::get(path.to_string())
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .expect("request")
    };
    let (status, _, _) = send(
        &gw.admin,
        request(&format!("/api/errors/{}", "0".repeat(32))),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(&gw.admin, request("/api/errors/xyz")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = send(&gw.admin, request("/api/errors?from=5&to=1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_error_links_its_action_and_trace() {
    let gw = Gateway::start("");
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut b = beacon("4", "d1d1d1d1d1d1d1d1", "u-1", json!([]));
    b["spans"] = json!([
        {"traceId": trace, "spanId": "aaaaaaaaaaaaaaa1", "name": "click Pay", "kind": "internal",
         "start": t0() + 900.0, "end": t0() + 1200.0,
         "attrs": {"rum.action.type": "click", "rum.action.name": "Pay",
                   "rum.action.frustration.type": ["error_click"]}},
        {"traceId": trace, "spanId": "aaaaaaaaaaaaaaa2", "parentSpanId": "aaaaaaaaaaaaaaa1", "name": "POST",
         "kind": "client", "start": t0() + 950.0, "end": t0() + 1100.0, "status": "error",
         "attrs": {"http.request.method": "POST", "url.full": "http://localhost:8080/api/pay",
                   "http.response.status_code": 500, "error.type": "500"}}
    ]);
    let mut e = error(
        "00000000000000d1",
        "Error: pay failed\n    at pay (http://localhost:8080/app.js:1:2)",
        1,
    );
    e["kind"] = json!("unhandledrejection");
    e["actionSpanId"] = json!("aaaaaaaaaaaaaaa1");
    e["traceId"] = json!(trace);
    e["spanId"] = json!("aaaaaaaaaaaaaaa2");
    b["errors"] = json!([e]);
    gw.beacon_ok(&b).await;
    let list = gw.api("/api/errors").await;
    let fp = list["groups"][0]["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_string();
    let group = gw.api(&format!("/api/errors/{fp}")).await;
    let o = &group["occurrences"][0];
    assert_eq!(o["session_id"], SESSION);
    assert_eq!(o["view_id"], "d1d1d1d1d1d1d1d1");
    assert_eq!(o["view_url"], "http://localhost:8080/cart");
    assert_eq!(o["action_span_id"], "aaaaaaaaaaaaaaa1");
    assert_eq!(o["action_trace_id"], trace);
    assert_eq!(o["trace_id"], trace);
    assert_eq!(o["span_id"], "aaaaaaaaaaaaaaa2");
    assert_eq!(o["user_id"], "u-1");
    assert_eq!(o["kind"], "unhandledrejection");
    assert_eq!(o["frames"][0]["unresolved"], "no_sourcemap");
    // The error span counts as before, beside the recorded error.
    let session = gw.api(&format!("/api/sessions/{SESSION}")).await;
    assert_eq!(
        session["session"]["error_count"], 2,
        "{}",
        session["session"]
    );
    assert_eq!(session["session"]["exception_count"], 1);
}

#[tokio::test]
async fn each_bad_error_field_is_refused_with_its_name() {
    let gw = Gateway::start("");
    let good = || {
        error(
            "00000000000000e1",
            "Error: x\n    at f (http://h/a.js:1:2)",
            1,
        )
    };
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit)> = vec![
        ("errors", |e| *e = json!("x")),
        ("errors.type", |e| e["type"] = json!("")),
        ("errors.message", |e| e["message"] = json!(5)),
        ("errors.stack", |e| e["stack"] = json!("s".repeat(16385))),
        ("errors.kind", |e| e["kind"] = json!("fatal")),
        ("errors.time", |e| e["time"] = json!(1000.0)),
        ("errors.count", |e| e["count"] = json!(0)),
        ("errors.id", |e| e["id"] = json!("not-hex")),
        ("errors.actionSpanId", |e| e["actionSpanId"] = json!("zz")),
        ("errors.traceId", |e| {
            e["traceId"] = json!("00000000000000000000000000000000")
        }),
        ("errors.line", |e| e["line"] = json!(-3)),
        ("errors.attrs", |e| e["attrs"] = json!({"a": {"b": 1}})),
    ];
    for (field, edit) in cases {
        let mut e = good();
        edit(&mut e);
        let errors = if field == "errors" { e } else { json!([e]) };
        let (status, body) = gw
            .beacon(&beacon("1", "e1e1e1e1e1e1e1e1", "u-1", errors))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert_eq!(body["error"], "invalid_field", "{field}: {body}");
        assert!(
            body["message"].as_str().unwrap_or_default().contains(field),
            "{field}: {body}"
        );
    }
    // Nothing of them was stored.
    assert_eq!(gw.api("/api/errors").await["groups"], json!([]));
    // Without the token the admin API is closed to errors too.
    let (status, _) = get(&gw.admin, "/api/errors").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn errors_past_the_sdk_s_view_cap_are_kept_with_the_view() {
    let gw = Gateway::start("");
    let mut b = beacon("5", "f1f1f1f1f1f1f1f1", "u-1", json!([]));
    b["view"]["dropped"] = json!({"errors": 3, "actions": 1});
    gw.beacon_ok(&b).await;
    b["view"]["dropped"] = json!({"errors": 2});
    gw.beacon_ok(&b).await;
    let session = gw.api(&format!("/api/sessions/{SESSION}")).await;
    assert_eq!(
        session["views"][0]["dropped"],
        json!({"actions": 1, "events": 0, "route_changes": 0, "errors": 3})
    );
}
