//! The fuzz corpus as ordinary tests, on stable: every committed input of every target
//! (`fuzz/corpus/<target>/`, what the fuzzer found, minimized; `fuzz/seeds/<target>/`, the
//! real beacons, OTLP requests and stacks it started from; and `fuzz/regressions/<target>/`,
//! inputs that once crashed) is run through the same checks the fuzz target makes
//! (`fuzz/src/checks.rs`), so a fixed crash stays fixed. `docs/fuzzing.md` describes the
//! targets.

#[path = "../fuzz/src/checks.rs"]
#[allow(dead_code)]
mod checks;

use std::path::{Path, PathBuf};

use checks::Outcome;

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Runs `check` on every input of `target`; the corpus must hold inputs the decoder accepts
/// and (`refusals`) inputs it refuses, so both paths are replayed.
fn replay(target: &str, check: fn(&[u8]) -> Outcome, refusals: bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let corpus = inputs(&root.join("corpus").join(target));
    assert!(
        corpus.len() >= 5,
        "fuzz/corpus/{target} holds {} inputs",
        corpus.len()
    );
    let seeds = inputs(&root.join("seeds").join(target));
    assert!(!seeds.is_empty(), "fuzz/seeds/{target} is empty");
    let regressions = inputs(&root.join("regressions").join(target));
    let (mut accepted, mut refused) = (0, 0);
    for file in corpus.iter().chain(&seeds).chain(&regressions) {
        let data = std::fs::read(file).expect("read a corpus input");
        let result = std::panic::catch_unwind(|| check(&data));
        match result {
            Ok(Outcome::Accepted) => accepted += 1,
            Ok(Outcome::Refused) => refused += 1,
            Err(_) => panic!("{target}: {} fails its check", file.display()),
        }
    }
    assert!(accepted > 0, "{target}: no corpus input is accepted");
    assert!(
        !refusals || refused > 0,
        "{target}: no corpus input is refused"
    );
}

#[test]
fn beacon_json() {
    replay("beacon_json", checks::beacon_json, true);
}

#[test]
fn otlp_protobuf() {
    replay("otlp_protobuf", checks::otlp_protobuf, true);
}

#[test]
fn otlp_json() {
    replay("otlp_json", checks::otlp_json, true);
}

#[test]
fn gzip() {
    replay("gzip", checks::gzip, true);
}

#[test]
fn stack() {
    replay("stack", checks::stack, true);
}

#[test]
fn sourcemap() {
    replay("sourcemap", checks::sourcemap, true);
}

/// Every input is a page's activity; each beacon the SDK writes must be accepted.
#[test]
fn sdk_roundtrip() {
    replay("sdk_roundtrip", checks::sdk_roundtrip, false);
}
