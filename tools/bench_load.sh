#!/usr/bin/env bash
# Whole-system figures: astrix against the raw peer (bench/raw), both driven
# by the load generator (bench/loadgen) as bench/README.md describes,
# alternated in one run (raw, astrix, raw, astrix, ...); the medians, their
# spreads (min-max) and the ratios astrix/raw are printed at the end.
#
#   tools/bench_load.sh [events|actions1|actions4|fastagi|all] [ROUNDS]
#
# Builds loadgen, rust-raw and the astrix bench examples (release). Not part
# of CI: it takes minutes and the figures only mean something as ratios
# within one run.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: $0 [events|actions1|actions4|fastagi|all] [ROUNDS]" >&2
  exit 2
}
what=${1:-all}
rounds=${2:-3}
case $what in events | actions1 | actions4 | fastagi | all) ;; *) usage ;; esac
[[ $rounds =~ ^[1-9][0-9]*$ ]] || usage

# The sizes of the contract (bench/README.md).
EVENTS=2000000
SESSIONS=20000
COMMANDS=10

cargo build -q --release -p astrix-loadgen -p astrix-raw
cargo build -q --release --example bench_ami_events --example bench_ami_actions --example bench_fastagi
target=$(cargo metadata -q --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
LG=$target/release/loadgen
RAW=$target/release/rust-raw
EX=$target/release/examples

# Pin as the contract's caveats advise, when there are two CPUs to pin to.
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  cpu0=(taskset -c 0)
  cpu1=(taskset -c 1)
else
  cpu0=()
  cpu1=()
fi
rss=()
[ -x /usr/bin/time ] && rss=(/usr/bin/time -f '%M' -o)

tmp=$(mktemp -d)
cleanup() {
  local pids
  pids=$(jobs -p)
  # shellcheck disable=SC2086 # one word per pid
  [ -z "$pids" ] || kill $pids 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
results=$tmp/results
: >"$results"
port=$((20000 + RANDOM % 20000))

# field NAME: the value of NAME in the JSON line on stdin.
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }

# record KEY PEER VALUE: one figure for the summary.
record() { echo "$1 $2 $3" >>"$results"; }

# wait_loadgen ERRFILE PID: until loadgen says it listens (after generating
# its events), or fail if it died or took over two minutes.
wait_loadgen() {
  for _ in $(seq 1200); do
    grep -q listening "$1" && return 0
    if ! kill -0 "$2" 2>/dev/null; then
      echo "loadgen exited: $(cat "$1")" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "loadgen is not listening after 120 s" >&2
  return 1
}

# wait_port PORT PID: until something listens on 127.0.0.1:PORT, without
# connecting (a connection would count as a session).
wait_port() {
  local hex
  hex=$(printf '%04X' "$1")
  for _ in $(seq 300); do
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
      /proc/net/tcp && return 0
    if ! kill -0 "$2" 2>/dev/null; then
      echo "the server on port $1 exited" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "nothing listens on port $1 after 30 s" >&2
  return 1
}

# wait_lg PID: wait for loadgen; show its stderr if it failed.
wait_lg() {
  wait "$1" || {
    echo "loadgen failed: $(cat "$tmp/lg.err")" >&2
    exit 1
  }
}

# wait_or_kill PID SECS: wait for PID; kill it if still running after SECS.
wait_or_kill() {
  for _ in $(seq $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$1" 2>/dev/null; then
    echo "WARNING: pid $1 still running after $2 s; killed" >&2
    kill "$1" 2>/dev/null || true
  fi
  wait "$1" || true
}

run_events() {
  local out n rate lg note
  for round in $(seq "$rounds"); do
    for peer in raw astrix; do
      port=$((port + 1))
      "$LG" ami-events --port $port --events $EVENTS >"$tmp/lg.json" 2>"$tmp/lg.err" &
      lg=$!
      wait_loadgen "$tmp/lg.err" $lg
      note=
      if [ $peer = raw ]; then
        out=$("$RAW" ami-events --port $port)
      elif [ ${#rss[@]} -gt 0 ]; then
        out=$("${rss[@]}" "$tmp/rss" "$EX/bench_ami_events" --port $port)
        note=", peak RSS $(tail -1 "$tmp/rss") KiB"
      else
        out=$("$EX/bench_ami_events" --port $port)
      fi
      wait_lg $lg
      n=$(field events <<<"$out")
      rate=$(field events_per_s <<<"$out")
      [ "$n" = $EVENTS ] || echo "WARNING: $peer received $n of $EVENTS events" >&2
      record events_per_s $peer "$rate"
      echo "events round $round $peer: $rate events/s ($n events$note)"
    done
  done
}

# run_actions THREADS ACTIONS PIN: PIN=pin puts both sides on CPU 0.
run_actions() {
  local threads=$1 n=$2 pin=() out rate lg
  [ "$3" = pin ] && pin=("${cpu0[@]}")
  for round in $(seq "$rounds"); do
    for peer in raw astrix; do
      port=$((port + 1))
      "${pin[@]}" "$LG" ami-actions --port $port >/dev/null 2>"$tmp/lg.err" &
      lg=$!
      wait_loadgen "$tmp/lg.err" $lg
      if [ $peer = raw ]; then
        out=$("${pin[@]}" "$RAW" ami-actions --port $port --threads "$threads" --actions "$n" --shared)
      else
        out=$("${pin[@]}" "$EX/bench_ami_actions" --port $port --threads "$threads" --actions "$n")
      fi
      wait_lg $lg
      rate=$(field actions_per_s <<<"$out")
      record "actions${threads}_per_s" $peer "$rate"
      echo "actions x$threads round $round $peer: $rate actions/s ($(field actions <<<"$out") actions)"
    done
  done
}

run_fastagi() {
  local out server cps p99 ok failed wrong bad
  for round in $(seq "$rounds"); do
    for peer in raw astrix; do
      port=$((port + 1))
      if [ $peer = raw ]; then
        "${cpu1[@]}" "$RAW" fastagi --port $port --commands $COMMANDS --sessions $SESSIONS >/dev/null &
      else
        "${cpu1[@]}" "$EX/bench_fastagi" --port $port --commands $COMMANDS --sessions $SESSIONS >/dev/null &
      fi
      server=$!
      wait_port $port $server
      out=$("${cpu0[@]}" "$LG" fastagi --target 127.0.0.1:$port --sessions $SESSIONS \
        --concurrency 10 --commands $COMMANDS 2>/dev/null)
      wait_or_kill $server 30
      cps=$(field commands_per_s <<<"$out")
      p99=$(field cmd_p99_us <<<"$out")
      ok=$(field sessions_ok <<<"$out")
      failed=$(field sessions_failed <<<"$out")
      wrong=$(field sessions_wrong_command_count <<<"$out")
      bad=$(field replies_5xx <<<"$out")
      if [ "$ok" != $SESSIONS ] || [ "$failed" != 0 ] || [ "$wrong" != 0 ] || [ "$bad" != 0 ]; then
        echo "WARNING: $peer: sessions_ok $ok of $SESSIONS, failed $failed, wrong count $wrong, 5xx $bad" \
          "($(field first_error <<<"$out"))" >&2
      fi
      record fastagi_commands_per_s $peer "$cps"
      record fastagi_p99_us $peer "$p99"
      echo "fastagi round $round $peer: $cps commands/s, p99 $p99 us, sessions_ok $ok"
    done
  done
}

case $what in
  events) run_events ;;
  actions1) run_actions 1 30000 pin ;;
  actions4) run_actions 4 100000 nopin ;;
  fastagi) run_fastagi ;;
  all)
    run_events
    run_actions 1 30000 pin
    run_actions 4 100000 nopin
    run_fastagi
    ;;
esac

python3 - "$results" "$rounds" <<'EOF'
import statistics, sys

rows = {}
for line in open(sys.argv[1]):
    key, peer, value = line.split()
    rows.setdefault(key, {"raw": [], "astrix": []})[peer].append(float(value))

def spread(xs):
    return f"{statistics.median(xs):,.1f} ({min(xs):,.1f}-{max(xs):,.1f})"

print(f"--- {sys.argv[2]} round(s): median (min-max); ratio = astrix/raw of the medians")
for key, v in rows.items():
    raw, ours = statistics.median(v["raw"]), statistics.median(v["astrix"])
    ratio = f"{ours / raw:.3f}" if raw else "n/a"
    note = "  (lower is better)" if key.endswith("_us") else ""
    print(f"{key}: raw {spread(v['raw'])}, astrix {spread(v['astrix'])}, ratio {ratio}{note}")
EOF
