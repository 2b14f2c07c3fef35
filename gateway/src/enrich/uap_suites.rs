//! uap-core's own test suites (`test_ua.yaml`, `test_os.yaml`, `test_device.yaml`, from the
//! shared test data) run through the gateway's user-agent parser, cache included. Prints the
//! pass rate per suite and holds each to a floor just under what was measured.

use std::num::NonZeroUsize;
use std::time::Instant;

use super::user_agent::{Parsed, UserAgents};
use serde::Deserialize;

#[derive(Deserialize)]
struct Suite {
    test_cases: Vec<Case>,
}

/// A case: the input and the expected fields (empty in YAML reads as `None`).
#[derive(Deserialize)]
struct Case {
    user_agent_string: String,
    family: Option<String>,
    major: Option<String>,
    minor: Option<String>,
    patch: Option<String>,
    patch_minor: Option<String>,
    brand: Option<String>,
    model: Option<String>,
}

fn load(name: &str) -> Vec<Case> {
    let path = crate::model::testing::testdata("uap-core/tests").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str::<Suite>(&text)
        .expect("suite")
        .test_cases
}

fn parser() -> UserAgents {
    // A cache smaller than the suites, so both hits and evictions are exercised.
    let cache = NonZeroUsize::new(1024).expect("non-zero");
    UserAgents::load(
        &crate::model::testing::testdata("uap-core/regexes.yaml"),
        cache,
    )
    .expect("regexes")
}

fn none_if_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

type Fields<'a> = Vec<Option<&'a str>>;

/// Runs one suite; returns (passed, total) and prints up to five failures.
fn run(
    name: &str,
    parser: &UserAgents,
    expected: impl Fn(&Case) -> Fields<'_>,
    actual: impl for<'p> Fn(&'p Parsed) -> Fields<'p>,
) -> (usize, usize) {
    let cases = load(name);
    let started = Instant::now();
    let mut passed = 0;
    let mut shown = 0;
    for case in &cases {
        let parsed = parser.parse(&case.user_agent_string);
        let want = expected(case);
        let got = actual(&parsed);
        if want == got {
            passed += 1;
        } else if shown < 5 {
            shown += 1;
            println!(
                "  {name} mismatch for {:?}: want {want:?}, got {got:?}",
                case.user_agent_string
            );
        }
    }
    println!(
        "{name}: {passed}/{} ({:.1} s)",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    (passed, cases.len())
}

#[test]
fn uap_core_suites_pass_through_the_gateway_parser() {
    let started = Instant::now();
    let parser = parser();
    println!(
        "regexes compiled in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let ua = run(
        "test_ua.yaml",
        &parser,
        |c| {
            vec![
                none_if_empty(&c.family),
                none_if_empty(&c.major),
                none_if_empty(&c.minor),
                none_if_empty(&c.patch),
            ]
        },
        |p| {
            vec![
                Some(p.family.as_str()),
                none_if_empty(&p.major),
                none_if_empty(&p.minor),
                none_if_empty(&p.patch),
            ]
        },
    );
    let os = run(
        "test_os.yaml",
        &parser,
        |c| {
            vec![
                none_if_empty(&c.family),
                none_if_empty(&c.major),
                none_if_empty(&c.minor),
                none_if_empty(&c.patch),
                none_if_empty(&c.patch_minor),
            ]
        },
        |p| {
            vec![
                Some(p.os_family.as_str()),
                none_if_empty(&p.os_major),
                none_if_empty(&p.os_minor),
                none_if_empty(&p.os_patch),
                none_if_empty(&p.os_patch_minor),
            ]
        },
    );
    let device = run(
        "test_device.yaml",
        &parser,
        |c| {
            vec![
                none_if_empty(&c.family),
                none_if_empty(&c.brand),
                none_if_empty(&c.model),
            ]
        },
        |p| {
            vec![
                Some(p.device_family.as_str()),
                none_if_empty(&p.device_brand),
                none_if_empty(&p.device_model),
            ]
        },
    );
    assert!(parser.cached() <= 1024, "the cache stays bounded");

    // Floors just under the measured rates (see the printout): a parser or regexes change
    // that loses cases fails here.
    for ((passed, total), floor, name) in [
        (ua, 1.0, "test_ua"),
        (os, 1.0, "test_os"),
        (device, 1.0, "test_device"),
    ] {
        let rate = passed as f64 / total as f64;
        assert!(
            rate >= floor,
            "{name}: {passed}/{total} is under the floor of {floor}"
        );
    }
}
