#!/usr/bin/env bash
# Installs what building and testing need, only where it is missing:
#   the wasm32 Rust target, rustfmt and clippy,
#   Node.js/npm, the npm packages of js/ (and of playwright/ and playwright/bundlers/ with
#   --browser, of bench/ with
#   --bench) from their lockfiles, and (with --browser) Debian's chromium; and the gateway's
#   user-agent regexes (npm uap-core) in gateway/assets/uap-core/. With --cross: the Python
#   virtual environment of tests/ (tests/requirements.txt, every version pinned) and the npm
#   packages of tests/otel-js/. With --testdata: when ../shared/testdata is not beside the
#   repository, the same test data from registry packages into target/testdata (MaxMind's
#   test databases from the PyPI maxminddb 3.2.0 sdist, uap-core's regexes from npm and its
#   test suites from the uaparser crate). With --gateway: only what building rum-gateway needs
#   (npm, and the user-agent regexes it embeds), as deploy/Dockerfile runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

browser=false
bench=false
cross=false
testdata=false
gateway_only=false
for arg in "$@"; do
  case "$arg" in
    --browser) browser=true ;;
    --bench) bench=true ;;
    --cross) cross=true ;;
    --testdata) testdata=true ;;
    --gateway) gateway_only=true ;;
    *) echo "usage: $0 [--browser] [--bench] [--cross] [--testdata] | --gateway" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*" >&2; }

apt_install() {
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  say "apt-get install $*"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if $gateway_only && ($browser || $bench || $cross || $testdata); then
  echo "$0: --gateway goes alone" >&2
  exit 2
fi

if ! $gateway_only && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

for component in rustfmt clippy; do
  if ! $gateway_only && ! rustup component list --installed | grep -q "^$component"; then
    say "rustup component add $component"
    rustup component add "$component"
  fi
done

if ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi

npm_ci() {
  local dir=$1
  # Reinstall when node_modules is missing or older than the lockfile.
  if [[ ! -d "$dir/node_modules" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    say "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
$gateway_only || npm_ci js

# uap-core's user-agent regexes, which gateway/build.rs embeds in rum-gateway.
uap_version=0.18.0
uap_dir=gateway/assets/uap-core
if [[ ! -f "$uap_dir/regexes.yaml" || "$(cat "$uap_dir/VERSION" 2>/dev/null)" != "$uap_version" ]]; then
  say "npm pack uap-core@$uap_version into $uap_dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent --loglevel=error "uap-core@$uap_version" >/dev/null)
  tar -xzf "$tmp/uap-core-$uap_version.tgz" -C "$tmp"
  mkdir -p "$uap_dir"
  cp "$tmp/package/regexes.yaml" "$tmp/package/LICENSE" "$uap_dir/"
  echo "$uap_version" >"$uap_dir/VERSION"
  rm -rf "$tmp"
fi

if $browser; then
  npm_ci playwright
  npm_ci playwright/bundlers
  if [[ ! -x /usr/bin/chromium ]]; then
    apt_install chromium
  fi
fi

# The peer SDKs the benchmarks compare against (bench/package-lock.json).
if $bench; then
  npm_ci bench
fi

# The cross-component tests' clients: the OpenTelemetry Python SDK and a MaxMind reader from
# PyPI, the OpenTelemetry JS SDK from npm.
if $cross; then
  venv=tests/.venv
  if [[ ! -x "$venv/bin/python" ]]; then
    say "python3 -m venv $venv"
    python3 -m venv "$venv"
  fi
  if [[ ! -f "$venv/.installed" || tests/requirements.txt -nt "$venv/.installed" ]]; then
    say "pip install -r tests/requirements.txt"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
    touch "$venv/.installed"
  fi
  npm_ci tests/otel-js
fi

# The shared test data, for a clone without ../shared beside it (tests read $RUM_TESTDATA, else
# ../shared/testdata, else target/testdata).
if $testdata && [[ ! -d ../shared/testdata && -z "${RUM_TESTDATA:-}" ]]; then
  dest=target/testdata
  if [[ ! -f "$dest/.complete" ]]; then
    say "test data from registry packages into $dest"
    rm -rf "$dest" && mkdir -p "$dest/mmdb" "$dest/uap-core/tests"
    tmp=$(mktemp -d)
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
      maxminddb==3.2.0 -d "$tmp"
    tar -xzf "$tmp/maxminddb-3.2.0.tar.gz" -C "$tmp"
    cp "$tmp"/maxminddb-3.2.0/tests/data/test-data/{GeoIP2-City-Test,GeoLite2-City-Test,GeoLite2-Country-Test}.mmdb "$dest/mmdb/"
    rm -rf "$tmp"
    cp gateway/assets/uap-core/regexes.yaml "$dest/uap-core/"
    # The uaparser crate (a gateway dependency) vendors uap-core's suites.
    cargo fetch --quiet
    uap=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/uaparser-0.6.4 | head -n 1)
    cp "$uap"/src/core/tests/{test_ua,test_os,test_device}.yaml "$uap/src/core/test_resources/additional_os_tests.yaml" "$dest/uap-core/tests/"
    touch "$dest/.complete"
  fi
fi
