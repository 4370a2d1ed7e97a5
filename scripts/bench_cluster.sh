#!/usr/bin/env bash
# bench_cluster.sh: issue 14's numbers. A single `serve` under CLIENTS clients (and a node's
# share of them), three single nodes without Redis, then three nodes of a cluster on one
# redis-server, CLIENTS spread over the three by one load process (`bench` with a --target per
# node); the world at the spec's 2 s cadence (SCALE 1) in all. Prints each run's lateness and
# server CPU per delivery, and the cluster's against the single node's and the three's.
# Bounded: each run lasts DURATION; every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-1000}
DURATION=${DURATION:-20s}
SCALE=${SCALE:-1}
ENDPOINT=${ENDPOINT:-/ws/channels}
bin=build/streambed
command -v redis-server >/dev/null || { echo "bench-cluster: redis-server not found" >&2; exit 2; }
script=bench-cluster
source scripts/processes.sh

bench_args=(--duration "$DURATION" --endpoint "$ENDPOINT" --subscribe '*' --json)

# A single node with every client, and with a node's share of them (its fixed costs — the
# world, the HTTP and health checks — spread over as many deliveries as a node of the cluster).
per=$((CLIENTS / 3))
for run in "single:$CLIENTS" "share:$per"; do
  name=${run%%:*}; n=${run#*:}
  echo "single node: $n clients on $ENDPOINT, --time-scale $SCALE, $DURATION" >&2
  start "$name" "$bin" serve --port 0 --time-scale "$SCALE"
  "$bin" bench --target "ws://127.0.0.1:$port" --target-pid "${pids[-1]}" --clients "$n" \
    "${bench_args[@]}" > "$tmp/$name.json" || true
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
done

# Starts three `serve` processes (NAME1..3, the extra serve options given), then one `bench`
# spreading the clients over them into $tmp/OUT.json; their ports and pids stay in
# three_ports/three_pids (bench pairs each --target-pid with the --target in the same place).
three_ports=(); three_pids=()
bench_three() {
  local name=$1 out=$2; shift 2
  three_ports=(); three_pids=()
  for i in 1 2 3; do
    start "$name$i" "$bin" serve --port 0 --time-scale "$SCALE" "$@"
    three_ports+=("$port"); three_pids+=("${pids[-1]}")
  done
  local args=()
  for i in 0 1 2; do args+=(--target "ws://127.0.0.1:${three_ports[$i]}"); done
  for i in 0 1 2; do args+=(--target-pid "${three_pids[$i]}"); done
  due_to_hub "$out" before
  "$bin" bench "${args[@]}" --clients "$CLIENTS" "${bench_args[@]}" > "$tmp/$out.json" || true
  due_to_hub "$out" after
}

# Each of the three's due-to-hub histogram (/q/metrics) into $tmp/OUT-I.WHEN: from the instant a
# message was due to its entry into the node's hub (published there, or read from Redis).
due_to_hub() {
  for i in 0 1 2; do
    curl -s "127.0.0.1:${three_ports[$i]}/q/metrics" | grep '^streambed_due_to_hub_seconds_bucket' \
      > "$tmp/$1-$i.$2" || true
    curl -s "127.0.0.1:${three_ports[$i]}/q/health" | grep -o '"role":"[a-z]*"' >> "$tmp/$1-$i.$2" || true
  done
}

# Three single nodes (no Redis), the clients spread over them by the same load process: the
# same three processes on the same two cores as the cluster, without the Redis hop. Their worlds
# share one clock start, so that their messages fall due at the same instants, as a cluster's
# do on all its nodes at once (three clock starts would spread the three bursts apart and
# spare each node the others' contention). The cluster is compared with this run: what remains
# is what Redis and following cost.
echo "three single nodes: $CLIENTS clients spread over them, no Redis, one clock start" >&2
bench_three three three --clock-start "$(( $(date +%s%3N) - 1000 ))"
for p in "${three_pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done

redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  > "$tmp/redis.out" 2>&1 &
pids+=($!)
for _ in $(seq 200); do redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
echo "three nodes: $CLIENTS clients spread over them, the same world and window" >&2
bench_three node cluster --redis "redis://127.0.0.1:$redis_port" --cluster "bench$$"
for i in 0 1 2; do
  curl -s "127.0.0.1:${three_ports[$i]}/q/health" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("node'"$i"' role:", json.dumps(d)[:200])' >&2 || true
done

ENDPOINT="$ENDPOINT" python3 - "$tmp" <<'PY'
import json, sys, os
tmp = sys.argv[1]
def load(name):
    text = open(os.path.join(tmp, name)).read()
    return json.loads(text[text.index("{"):])
def line(label, d):
    l = d["latenessMs"]
    print(f"{label:<8} clients {d['connected']:>5}  gaps {d['gaps']}  delivery {d['deliveryRatio']:.4%}  "
          f"lateness p50 {l['p50']:.2f} p99 {l['p99']:.2f} max {l['max']:.2f} ms  "
          f"server {d['serverCpuSecondsPerMillion']:.2f} CPU-s per 10^6 deliveries")
single = load("single.json")
share = load("share.json")
line("single", single)
line("share", share)
three = load("three.json")
line("three", three)
cluster = load("cluster.json")
line("cluster", cluster)
nodes = cluster.get("servers", [])
for i, d in enumerate(three.get("servers", [])):
    print(f"three{i}   server {d['cpuSecondsPerMillion']:.2f} CPU-s per 10^6 of its deliveries")
for i, d in enumerate(nodes):
    print(f"node{i}    server {d['cpuSecondsPerMillion']:.2f} CPU-s per 10^6 of its deliveries")
def ratios(base):
    return ", ".join("%.2f" % (d["cpuSecondsPerMillion"] / base["serverCpuSecondsPerMillion"])
                     for d in nodes)
print(f"cluster: p99 - single = {cluster['latenessMs']['p99'] - single['latenessMs']['p99']:+.2f} ms; "
      f"CPU per delivery per node / single = {ratios(single)}; / single with a node's share = "
      f"{ratios(share)}")
# Due to hub over the window, per node: the Redis hop is a follower's against the source's (and
# against a single node's, whose messages enter the hub as the simulator publishes them); for
# the run's endpoint (what its clients read) and for every message.
endpoint = os.environ.get("ENDPOINT", "/ws/channels")
sys.path.insert(0, "scripts")
from due_to_hub import quantiles, read_series
def due(out, i):
    def read(when):
        lines = open(os.path.join(tmp, f"{out}-{i}.{when}")).read().splitlines()
        roles = [l.split(":")[1].strip().strip('"') for l in lines if l.startswith('"role"')]
        return read_series(lines), (roles or ["single"])[0]
    before, _ = read("before")
    after, role = read("after")
    return role, quantiles(before, after, endpoint), quantiles(before, after, "all")
for out in ("three", "cluster"):
    for i in range(3):
        try:
            role, mine, every = due(out, i)
            print(f"{out}{i} due to hub ({role}): {endpoint} {mine[0]} messages, p50 {mine[1][0]:.2f} "
                  f"p99 {mine[1][1]:.2f} ms; all {every[0]}, p50 {every[1][0]:.2f} p99 {every[1][1]:.2f} ms")
        except (OSError, ValueError, IndexError, KeyError) as e:
            print(f"{out}{i} due to hub: not read ({e})")
print(f"cluster against three single nodes: p99 {cluster['latenessMs']['p99'] - three['latenessMs']['p99']:+.2f} ms; "
      f"CPU per delivery {cluster['serverCpuSecondsPerMillion'] / three['serverCpuSecondsPerMillion']:.2f} x "
      f"(per node: " + ", ".join("%.2f" % (d["cpuSecondsPerMillion"] / t["cpuSecondsPerMillion"])
                                  for d, t in zip(nodes, three.get("servers", []))) + ")")
PY
