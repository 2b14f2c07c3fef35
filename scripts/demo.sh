#!/usr/bin/env bash
# Runs the demo: builds the SDK and the binaries, starts the gateway (development mode, store
# in ./data) and the demo shop, and prints their URLs. Ctrl-C stops everything.
#   GATEWAY_PORT (4318), ADMIN_PORT (4319), DEMO_PORT (8080) change the ports.
# Fails, saying why, when a port is taken (checked before building) or when a server exits
# during start-up; it prints the URLs only once all three ports answer.
set -euo pipefail
cd "$(dirname "$0")/.."

gateway_port=${GATEWAY_PORT:-4318}
admin_port=${ADMIN_PORT:-4319}
demo_port=${DEMO_PORT:-8080}

fail() {
  printf 'demo.sh: %s\n' "$*" >&2
  exit 1
}

# Whether something accepts connections on 127.0.0.1:$1 (bash's /dev/tcp; a refused connection
# on loopback fails at once).
port_answers() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# Who holds a port, when `ss` can tell (e.g. ` (held by users:(("python3",pid=12,fd=3)))`).
port_holder() {
  local line
  line=$(ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1) || true
  [[ $line == *users:* ]] && printf ' (held by %s)' "users:${line#*users:}"
  return 0
}

declare -A port_names=()
for spec in "GATEWAY_PORT:$gateway_port:the gateway's ingest listener" \
  "ADMIN_PORT:$admin_port:the gateway's viewer (admin listener)" \
  "DEMO_PORT:$demo_port:the demo shop"; do
  IFS=: read -r var port what <<<"$spec"
  [[ $port =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) ||
    fail "$var=$port is not a port number (1-65535)."
  [[ -z ${port_names[$port]:-} ]] ||
    fail "$var and ${port_names[$port]} are both $port; give each server its own port."
  port_names[$port]=$var
  if port_answers "$port"; then
    fail "port $port on 127.0.0.1 ($var, $what) is already in use$(port_holder "$port"). Stop \
what holds it (an earlier demo.sh?) or choose another port: $var=<port> scripts/demo.sh"
  fi
done

scripts/ensure-tools.sh
(cd js && npm run build)
cargo build -p gateway -p demo-site

pids=()
names=()

stop() {
  trap - EXIT
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

target/debug/rum-gateway --data-dir ./data \
  --ingest-listen "127.0.0.1:$gateway_port" --admin-listen "127.0.0.1:$admin_port" &
pids+=($!)
names+=(rum-gateway)
target/debug/demo-site --listen "127.0.0.1:$demo_port" \
  --gateway "http://127.0.0.1:$gateway_port" --sdk-dir js/dist &
pids+=($!)
names+=(demo-site)

# Wait until all three ports answer, failing as soon as a server has exited (a port taken
# since the check above, a broken ./data, ...): its own error is in the log above.
deadline=$((SECONDS + 60))
while :; do
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      status=0
      wait "${pids[$i]}" || status=$?
      fail "${names[$i]} exited during start-up (status $status); its error is above. Ports: \
GATEWAY_PORT=$gateway_port ADMIN_PORT=$admin_port DEMO_PORT=$demo_port."
    fi
  done
  ready=true
  for port in "$gateway_port" "$admin_port" "$demo_port"; do
    port_answers "$port" || ready=false
  done
  $ready && break
  ((SECONDS < deadline)) || fail "the servers did not open ports $gateway_port, $admin_port \
and $demo_port within 60 s."
  sleep 0.2
done

cat <<MSG

  Demo shop:     http://127.0.0.1:$demo_port/
  Trace viewer:  http://127.0.0.1:$admin_port/

  Open the shop, click "Add to cart", then switch tabs or close it (that sends the final
  vitals); the viewer lists the page view and the joined browser + backend trace.
  Ctrl-C stops everything.

MSG
# Stop everything as soon as either process ends (or on Ctrl-C), saying which one did.
status=0
wait -n "${pids[@]}" || status=$?
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    printf 'demo.sh: %s exited (status %s); stopping the demo.\n' "${names[$i]}" "$status" >&2
  fi
done
exit "$status"
