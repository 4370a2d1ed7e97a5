# processes.sh: sourced by the bench scripts. A temporary folder ($tmp), the processes started
# ($pids), all stopped and the folder removed on exit; start NAME CMD… runs CMD in the
# background with stdout in $tmp/NAME.out, waits (bounded, 20 s) for its `listening on` line and
# sets $port. No subshell, so $pids and $port stick. $script names the caller in messages.
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

start() {
  local name=$1; shift
  "$@" > "$tmp/$name.out" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 400); do
    grep -q '^listening on' "$tmp/$name.out" 2>/dev/null && break
    sleep 0.05
  done
  grep -q '^listening on' "$tmp/$name.out" || { echo "$script: $name did not start" >&2; exit 1; }
  port=$(sed -n 's/^listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$tmp/$name.out" | head -1)
}
