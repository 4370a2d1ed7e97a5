#!/usr/bin/env bash
# fuzz.sh: the long fuzzing run of `make fuzz` — every target of fuzz/ in turn for FUZZ_SECONDS
# (default 600) each, from its corpus in fixtures/fuzz/NAME/ plus what earlier runs found
# (build-fuzz/fuzz-corpus/NAME/, kept between runs). Prints one line per target: executions,
# executions per second, edges covered (cov), features (ft), corpus size; stops at the first
# crash, whose input libFuzzer writes to build-fuzz/fuzz-crash-*.
set -euo pipefail

seconds=${FUZZ_SECONDS:-600}
targets=${FUZZ_TARGETS:-"client_message poll_query http_request frame_reader ws_frames sim_config scenario recording"}
build=build-fuzz
summary=$build/fuzz-summary.txt
: >"$summary"

for t in $targets; do
  mkdir -p "$build/fuzz-corpus/$t" "$build/fuzz-logs"
  log=$build/fuzz-logs/$t.log
  echo "fuzz: $t for ${seconds} s (log: $log)" >&2
  if ! "$build/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build/fuzz-crash-$t-" \
      "$build/fuzz-corpus/$t" "fixtures/fuzz/$t" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz: $t FAILED; the input is in $build/fuzz-crash-$t-*" >&2
    exit 1
  fi
  done_line=$(grep -aE '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")
  echo "$t: ${seconds} s, $execs executions ($rate/s), cov $cov, ft $ft, corpus $corp" | tee -a "$summary"
done
