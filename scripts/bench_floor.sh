#!/usr/bin/env bash
# bench_floor.sh: issue 13's lateness figure. RUNS runs of `streambed bench --clients CLIENTS
# --duration DURATION --floor` at the spec's 2 s cadence, each the server's window and then the
# floor's (a bare writer read by the same load client); prints each run's p50 and p99 on both
# sides and the p99 difference, then the median difference and how many runs were within 1 ms.
# Bounded: RUNS x (DURATION + the floor's as many rounds); `bench` stops its own server.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-8}
CLIENTS=${CLIENTS:-1000}
DURATION=${DURATION:-40s}
bin=${BIN:-build/streambed}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for run in $(seq "$RUNS"); do
  echo "run $run of $RUNS: $CLIENTS clients, $DURATION, then the floor" >&2
  "$bin" bench --clients "$CLIENTS" --duration "$DURATION" --floor --json > "$out/$run.json" || true
done

python3 - "$out" "$RUNS" <<'PY'
import json, os, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
diffs = []
for r in range(1, runs + 1):
    text = open(os.path.join(out, f"{r}.json")).read()
    if "{" not in text:
        print(f"run {r}: no result")
        continue
    d = json.loads(text[text.index("{"):])
    if "floor" not in d:
        print(f"run {r}: no floor (no client connected, or no frame)")
        continue
    s, f = d["latenessMs"], d["floor"]["latenessMs"]
    diffs.append(s["p99"] - f["p99"])
    print(f"run {r}: server p50 {s['p50']:.2f} p99 {s['p99']:.2f} ms, floor p50 {f['p50']:.2f} "
          f"p99 {f['p99']:.2f} ms: p99 {diffs[-1]:+.2f} ms; delivered {d['messages']}, gaps "
          f"{d['gaps']}, floor {d['floor']['messages']}")
if diffs:
    within = sum(1 for x in diffs if x <= 1.0)
    print(f"p99 over the floor's: median {statistics.median(diffs):+.2f} ms, within 1 ms in "
          f"{within} of {len(diffs)}")
PY
