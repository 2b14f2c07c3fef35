//! Where the tests' shared data is. One file so that the integration tests
//! (`gateway/tests/common/mod.rs`) include the same function with `#[path]`.

/// A file of the shared test data (MaxMind's test databases, uap-core's regexes and
/// suites): under `$RUM_TESTDATA` when set, else `../shared/testdata` beside the repository,
/// else `target/testdata`, which `scripts/ensure-tools.sh --testdata` fills from registry
/// packages on a machine without `../shared`.
pub fn testdata(path: &str) -> std::path::PathBuf {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var_os("RUM_TESTDATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let shared = repo.join("../shared/testdata");
            if shared.is_dir() {
                shared
            } else {
                repo.join("target/testdata")
            }
        });
    dir.join(path)
}
