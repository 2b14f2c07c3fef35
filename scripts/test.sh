#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests of the workspace, the SDK build with its
# size report, the cross-component tests in tests/ (Python, against the built gateway), and the
# browser tests in headless Chromium against the real gateway and demo
# site (each test starts the servers it needs on loopback). Installs missing tools first.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-tools.sh --browser --cross --testdata

echo "==> cargo fmt --all --check"
cargo fmt --all --check

echo "==> cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

echo "==> cargo test --workspace"
cargo test --workspace

echo "==> SDK build and size report (js/: npm run build)"
(cd js && npm run build)

echo "==> building the gateway and demo site for the browser tests"
cargo build -p gateway -p demo-site

echo "==> cross-component tests (tests/: real OpenTelemetry Python and JS SDKs, MaxMind reader)"
tests/.venv/bin/python -m pytest -q tests

echo "==> browser tests (playwright-core + /usr/bin/chromium)"
(cd playwright && npm test)
