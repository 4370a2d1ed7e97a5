#!/usr/bin/env bash
# bench_compare.sh: streambed and the `ws` peer (bench/peers/ws-peer.mjs), one after the other,
# under the same load client (`streambed bench`), and the ratios. The peer re-broadcasts the
# messages of an upstream streambed running the same source, so both send the same bytes.
#   RATE=max (default): saturation — streambed's flood source publishes as fast as its server
#     delivers; the peer's upstream publishes as fast as the peer reads it. Delivered messages
#     per second is then each server's fan-out capacity under this load client.
#   RATE=N: N messages per second on /ws/metrics for both.  RATE=sim: the simulator at SCALE.
# Bounded: each run lasts DURATION; every process is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-1000}
DURATION=${DURATION:-20s}
RATE=${RATE:-max}
SCALE=${SCALE:-1}          # with RATE=sim: --time-scale (1 is the real cadence)
BATCH=${BATCH:-}           # 1: clients connect with ?batch=1 (the peer ignores it)
ENDPOINT=${ENDPOINT:-/ws/metrics}
bin=build/streambed
script=bench-compare
source scripts/processes.sh

if [ "$RATE" = sim ]; then source_args=(--time-scale "$SCALE"); bench_source=(--time-scale "$SCALE")
else source_args=(--flood "$RATE"); bench_source=(--rate "$RATE"); fi
batch_args=(); [ -n "$BATCH" ] && batch_args=(--batch)

echo "streambed: $CLIENTS clients on $ENDPOINT, source ${bench_source[*]}, $DURATION" >&2
# bench exits 1 when clients failed to connect; the table still shows it.
"$bin" bench --clients "$CLIENTS" --duration "$DURATION" --endpoint "$ENDPOINT" "${bench_source[@]}" \
  "${batch_args[@]}" --json > "$tmp/streambed.json" || true

# The upstream's queue to the peer is large, so that its saturation flood is paced by the
# peer's reading (the backlog) rather than conflated at the outbound bound.
start upstream "$bin" serve --port 0 --outbound-limit 268435456 "${source_args[@]}"
up_port=$port
start peer node bench/peers/ws-peer.mjs --port 0 --upstream "ws://127.0.0.1:$up_port" --wait-clients "$CLIENTS"
peer_port=$port
echo "ws peer: the same load" >&2
"$bin" bench --target "ws://127.0.0.1:$peer_port" --target-pid "${pids[1]}" --clients "$CLIENTS" \
  --duration "$DURATION" --endpoint "$ENDPOINT" "${batch_args[@]}" --json > "$tmp/peer.json" || true

python3 - "$tmp/streambed.json" "$tmp/peer.json" <<'PY'
import json, sys
s, p = (json.load(open(f)) for f in sys.argv[1:3])
rows = [
    ("clients connected", s["connected"], p["connected"], "higher"),
    ("delivered messages/s", s["deliveredPerSecond"], p["deliveredPerSecond"], "higher"),
    ("delivery ratio", s["deliveryRatio"], p["deliveryRatio"], "higher"),
    ("lateness p50 ms", s["latenessMs"]["p50"], p["latenessMs"]["p50"], "lower"),
    ("lateness p99 ms", s["latenessMs"]["p99"], p["latenessMs"]["p99"], "lower"),
    ("lateness p99.9 ms", s["latenessMs"]["p999"], p["latenessMs"]["p999"], "lower"),
    ("server CPU s per 1e6 deliveries", s.get("serverCpuSecondsPerMillion", 0), p.get("serverCpuSecondsPerMillion", 0), "lower"),
    ("server bytes per connection", s.get("serverBytesPerConnection", {}).get("end", 0), p.get("serverBytesPerConnection", {}).get("end", 0), "lower"),
    ("load client CPU s", s["clientCpuSeconds"], p["clientCpuSeconds"], "-"),
]
print(f"{'':34}{'streambed':>14}{'ws peer':>14}{'streambed/peer':>16}")
for name, a, b, better in rows:
    ratio = (a / b) if b else float('nan')
    print(f"{name:34}{a:14.3f}{b:14.3f}{ratio:16.2f}")
PY
