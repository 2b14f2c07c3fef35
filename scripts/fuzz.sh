#!/usr/bin/env bash
# Coverage-guided fuzzing of the gateway's decoders and the SDK→gateway round trip
# (docs/fuzzing.md): runs each target for SECONDS (default 60) under `nice -n 19`, one at a
# time, and prints each one's executions and executions per second.
#
#   scripts/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]
#   scripts/fuzz.sh --merge [TARGET...]     # fold what the runs found into fuzz/corpus (minimized)
#   FUZZ_RUNS=10000000 scripts/fuzz.sh 1200  # stop each target after that many executions
#                                              # (or SECONDS, whichever comes first)
#   FUZZ_TIMEOUT=120 scripts/fuzz.sh ...       # seconds one input may take before it counts as
#                                              # a hang (default 10; raise it when the run may be
#                                              # paused, e.g. SIGSTOP during a benchmark)
#
# Targets: beacon_json otlp_protobuf otlp_json gzip stack sourcemap sdk_roundtrip.
# Needs the nightly toolchain and cargo-fuzz (installed when missing). New inputs go to
# fuzz/work/<target>/ (not committed); fuzz/corpus/<target>/ (minimized) and
# fuzz/seeds/<target>/ (real beacons and OTLP requests, recorded stacks) are read. A crash is
# written to fuzz/artifacts/<target>/ and stops that target: once fixed, copy it into
# fuzz/regressions/<target>/ so tests/fuzz_corpus.rs replays it. One target at a time, one
# process: fuzzing takes one core.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

ALL=(beacon_json otlp_protobuf otlp_json gzip stack sourcemap sdk_roundtrip)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

merge=0
if [[ "${1:-}" == "--merge" ]]; then
  merge=1
  shift
  seconds=0
else
  seconds="${1:-60}"
  [[ $# -gt 0 ]] && shift
fi
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${ALL[@]}")

# Release with debug assertions (overflow checks), no sanitizer: the targets are safe Rust,
# and ASan would halve the executions.
nice -n 19 cargo +nightly fuzz build -s none
bin_dir=target/x86_64-unknown-linux-gnu/release

[[ $merge == 1 ]] || printf '%-14s %14s %10s %8s %s\n' target executions exec/s seconds result
for t in "${targets[@]}"; do
  mkdir -p "work/$t" "corpus/$t" "seeds/$t" "artifacts/$t"
  if [[ $merge == 1 ]]; then
    # Minimize the committed corpus together with what the runs found.
    rm -rf "corpus/$t.new" && mkdir "corpus/$t.new"
    # A small set of inputs that covers every edge the corpus and the runs reached
    # (-use_counters=0: edges, not hit-count buckets; set_cover_merge: a set cover, smaller
    # than -merge=1), so the committed corpus stays small.
    nice -n 19 "$bin_dir/$t" -set_cover_merge=1 -use_counters=0 "corpus/$t.new" "corpus/$t" "work/$t" >"work/$t.merge.log" 2>&1
    rm -rf "corpus/$t" && mv "corpus/$t.new" "corpus/$t"
    echo "$t: $(ls "corpus/$t" | wc -l) inputs, $(du -sh --apparent-size "corpus/$t" | cut -f1)"
    continue
  fi
  log="work/$t.log"
  start=$(date +%s)
  status=ok
  nice -n 19 "$bin_dir/$t" "work/$t" "corpus/$t" "seeds/$t" \
    -max_total_time="$seconds" -runs="${FUZZ_RUNS:--1}" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || status="FOUND (see $log, artifacts/$t/)"
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  printf '%-14s %14s %10s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$elapsed" "$status"
done
