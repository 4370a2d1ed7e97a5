#!/usr/bin/env bash
# bench_hop.sh: issue 14's Redis hop, at the node and with no client. A source and a follower of
# one cluster on one redis-server (the world SCALE times faster, one clock start); each node's
# streambed_due_to_hub_seconds (due instant to hub entry, by endpoint) is read before and after
# DURATION seconds, ROUNDS times. The follower's figure minus the source's, over the same
# messages, is the append, Redis's script and PUBLISH, and the follower's read: the hop. Prints
# p50 and p99 (interpolated within the metric's buckets) for every message and for /ws/channels,
# and Redis's CPU. BIN: another build of streambed.
# Bounded: ROUNDS × DURATION; every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}  # seconds
SCALE=${SCALE:-1}
ROUNDS=${ROUNDS:-2}
bin=${BIN:-build/streambed}
command -v redis-server >/dev/null || { echo "bench-hop: redis-server not found" >&2; exit 2; }
script=bench-hop
source scripts/processes.sh

redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  > "$tmp/redis.out" 2>&1 &
pids+=($!)
redis_pid=$!
for _ in $(seq 200); do redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done

clock=(--clock-start "$(( $(date +%s%3N) - 1000 ))" --time-scale "$SCALE")
cluster=(--redis "redis://127.0.0.1:$redis_port" --cluster "hop$$")
start source "$bin" serve --port 0 "${clock[@]}" "${cluster[@]}"
source_port=$port
start follower "$bin" serve --port 0 "${clock[@]}" "${cluster[@]}"
follower_port=$port
grep -q '"role":"source"' <<<"$(curl -s "127.0.0.1:$source_port/q/health")" ||
  { echo "$script: the first node is not the source" >&2; exit 1; }

scrape() { curl -s "127.0.0.1:$1/q/metrics" | grep '^streambed_due_to_hub_seconds_bucket' > "$2"; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in $(seq "$ROUNDS"); do
  echo "round $round: a source and a follower, no client, ${DURATION} s, world $SCALE x" >&2
  scrape "$source_port" "$tmp/source.0"; scrape "$follower_port" "$tmp/follower.0"
  redis_before=$(cpu "$redis_pid")
  sleep "$DURATION"  # the measured window itself, not a synchronization
  scrape "$source_port" "$tmp/source.1"; scrape "$follower_port" "$tmp/follower.1"
  redis_after=$(cpu "$redis_pid")
  python3 - "$tmp" "$round" "$(( (redis_after - redis_before) * 10 / DURATION ))" <<'PY'
import sys
sys.path.insert(0, "scripts")
from due_to_hub import quantiles, read_series
tmp, round_, redis_ms = sys.argv[1], sys.argv[2], sys.argv[3]
scrape = lambda node, which: read_series(open(f"{tmp}/{node}.{which}"))
source = scrape("source", 0), scrape("source", 1)
follower = scrape("follower", 0), scrape("follower", 1)
for label, key in (("every message", "all"), ("/ws/channels", "/ws/channels")):
    (n, s), (_, f) = quantiles(*source, key), quantiles(*follower, key)
    print(f"round {round_}, {label} ({n}): source p50 {s[0]:.2f} p99 {s[1]:.2f} ms, follower "
          f"p50 {f[0]:.2f} p99 {f[1]:.2f} ms; the hop {f[0] - s[0]:+.2f} / {f[1] - s[1]:+.2f} ms")
print(f"round {round_}: Redis {redis_ms} ms of CPU a second")
PY
done
