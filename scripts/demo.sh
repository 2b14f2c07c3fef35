#!/usr/bin/env bash
# Runs the demo: builds the SDK and the binaries, starts the gateway (development mode, store
# in ./data) and the demo shop, and prints their URLs. Ctrl-C stops everything.
#   GATEWAY_PORT (4318), ADMIN_PORT (4319), DEMO_PORT (8080) change the ports.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-tools.sh
(cd js && npm run build)
cargo build -p gateway -p demo-site

gateway_port=${GATEWAY_PORT:-4318}
admin_port=${ADMIN_PORT:-4319}
demo_port=${DEMO_PORT:-8080}
pids=()

stop() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop INT TERM EXIT

target/debug/rum-gateway --data-dir ./data \
  --ingest-listen "127.0.0.1:$gateway_port" --admin-listen "127.0.0.1:$admin_port" &
pids+=($!)
target/debug/demo-site --listen "127.0.0.1:$demo_port" \
  --gateway "http://127.0.0.1:$gateway_port" --sdk-dir js/dist &
pids+=($!)

sleep 1
cat <<MSG

  Demo shop:     http://127.0.0.1:$demo_port/
  Trace viewer:  http://127.0.0.1:$admin_port/

  Open the shop, click "Add to cart", then switch tabs or close it (that sends the final
  vitals); the viewer lists the page view and the joined browser + backend trace.
  Ctrl-C stops everything.

MSG
# Stop everything as soon as either process ends (or on Ctrl-C).
wait -n "${pids[@]}" || true
