#!/usr/bin/env bash
# bench_shapes.sh: the four fan-out shapes of docs/benchmarks.md ("Fan-out shapes"), each a
# `streambed bench --clients N --rate R` run, at each of THREADS (server I/O threads) and
# WINDOWS (--coalesce-window) and IO_URING (on: the default; off: --no-io-uring, one sendmsg per
# connection), then the loopback floor once; prints one line per run with the
# server's CPU per delivery. Bounded: each run lasts DURATION; bench stops its own server.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
THREADS=${THREADS:-"2 1"}
WINDOWS=${WINDOWS:-"2ms"}
IO_URING=${IO_URING:-"on"}
# subscribers x messages per second
SHAPES=${SHAPES:-"1000x100 100x10000 1000x1000 10000x1"}
bin=build/streambed

for shape in $SHAPES; do
  clients=${shape%x*}
  rate=${shape#*x}
  for threads in $THREADS; do
    for window in $WINDOWS; do
     for uring in $IO_URING; do
      extra=()
      [ "$uring" = off ] && extra=(--no-io-uring)
      out=$("$bin" bench --clients "$clients" --rate "$rate" --duration "$DURATION" \
              --server-threads "$threads" --coalesce-window "$window" "${extra[@]}" --json 2>/dev/null)
      python3 - "$clients" "$rate" "$threads" "$window" "$uring" "$out" <<'PY'
import json, sys
clients, rate, threads, window, uring = sys.argv[1:6]
text = sys.argv[6]
d = json.loads(text[text.index("{"):])
per = d["serverBytesPerConnection"]["connected"]
print(f"{clients:>6} x {rate:>6}/s  threads {threads}  window {window:>4}  io_uring {uring:>3}: "
      f"{d['serverCpuSecondsPerMillion']:.3f} µs/delivery, {d['deliveredPerSecond']:,.0f} delivered/s, "
      f"gaps {d['gaps']}, lateness p50 {d['latenessMs']['p50']:.2f} p99 {d['latenessMs']['p99']:.2f} ms, "
      f"{per/1024:.2f} KiB/connection, client CPU {d['clientCpuSeconds']:.2f} s")
PY
     done
    done
  done
done
echo "loopback floor (1000 clients, the 2 s cadence):"
"$bin" bench --clients 1000 --duration "$DURATION" --floor 2>/dev/null | grep -i -E "floor|lateness" || true
