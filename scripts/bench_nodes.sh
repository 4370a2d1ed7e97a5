#!/usr/bin/env bash
# bench_nodes.sh: issue 14's per-node CPU, one node at a time. A cluster of two nodes on one
# redis-server (the source, the first, and a follower) and a single `serve` without Redis, the
# three worlds faster by SCALE and sharing one clock start; then ROUNDS rounds, each putting
# CLIENTS clients on the source, the follower and the single node in turn (one `bench` each,
# DURATION long), so the three are measured under the same load, one after the other, on the
# same machine. Prints each run's server CPU per delivery and the nodes' against the single's.
# REDIS_UNIX=1: the nodes reach Redis through its Unix-domain socket instead of loopback TCP.
# Bounded: ROUNDS × 3 runs of DURATION; every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-333}
DURATION=${DURATION:-12s}
SCALE=${SCALE:-20}
ROUNDS=${ROUNDS:-3}
ENDPOINT=${ENDPOINT:-/ws/channels}
bin=${BIN:-build/streambed}  # BIN: another build of it, to compare
REDIS_UNIX=${REDIS_UNIX:-0}   # 1: the nodes reach Redis through its Unix-domain socket
command -v redis-server >/dev/null || { echo "bench-nodes: redis-server not found" >&2; exit 2; }
script=bench-nodes
source scripts/processes.sh

redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --unixsocket "$tmp/redis.sock" \
  --unixsocketperm 700 --save '' --appendonly no --dir "$tmp" \
  > "$tmp/redis.out" 2>&1 &
pids+=($!)
for _ in $(seq 200); do redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done

clock=(--clock-start "$(( $(date +%s%3N) - 1000 ))" --time-scale "$SCALE")
redis_url="redis://127.0.0.1:$redis_port"
[ "$REDIS_UNIX" = 1 ] && redis_url="unix://$tmp/redis.sock"
cluster=(--redis "$redis_url" --cluster "nodes$$")
declare -A ports node_pids
start source "$bin" serve --port 0 "${clock[@]}" "${cluster[@]}"
ports[source]=$port; node_pids[source]=${pids[-1]}
start follower "$bin" serve --port 0 "${clock[@]}" "${cluster[@]}"
ports[follower]=$port; node_pids[follower]=${pids[-1]}
start single "$bin" serve --port 0 "${clock[@]}"
ports[single]=$port; node_pids[single]=${pids[-1]}
role=$(curl -s "127.0.0.1:${ports[source]}/q/health")
grep -q '"role":"source"' <<<"$role" || { echo "$script: the first node is not the source: $role" >&2; exit 1; }

for round in $(seq "$ROUNDS"); do
  for node in source follower single; do
    echo "round $round: $CLIENTS clients on the $node node, $DURATION, world $SCALE x" >&2
    "$bin" bench --target "ws://127.0.0.1:${ports[$node]}" --target-pid "${node_pids[$node]}" \
      --clients "$CLIENTS" --duration "$DURATION" --endpoint "$ENDPOINT" --subscribe '*' \
      --json > "$tmp/$node-$round.json" || true
  done
done

python3 - "$tmp" "$ROUNDS" <<'PY'
import json, sys, os, statistics
tmp, rounds = sys.argv[1], int(sys.argv[2])
ratios = {"source": [], "follower": []}
def load(name):
    text = open(os.path.join(tmp, name)).read()
    return json.loads(text[text.index("{"):])
for r in range(1, rounds + 1):
    d = {n: load(f"{n}-{r}.json") for n in ("source", "follower", "single")}
    cpu = {n: d[n]["serverCpuSecondsPerMillion"] for n in d}
    for n in ratios:
        ratios[n].append(cpu[n] / cpu["single"])
    print(f"round {r}: CPU-s per 10^6 deliveries: source {cpu['source']:.2f}, follower "
          f"{cpu['follower']:.2f}, single {cpu['single']:.2f}; source / single "
          f"{cpu['source'] / cpu['single']:.2f}, follower / single {cpu['follower'] / cpu['single']:.2f}; "
          "p99 ms " + ", ".join(f"{n} {d[n]['latenessMs']['p99']:.2f}" for n in d) +
          "; gaps " + ", ".join(f"{n} {d[n]['gaps']}" for n in d))
for n, r in ratios.items():
    print(f"{n} / single over {len(r)} rounds: median {statistics.median(r):.2f}, 1.2 or under in "
          f"{sum(1 for x in r if x <= 1.2)}")
PY
