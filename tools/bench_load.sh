#!/usr/bin/env bash
# Whole-system figures against ../shared/bench: astrix vs the raw peer,
# alternated in one run, medians and ratios printed at the end.
#
#   tools/bench_load.sh [events|actions1|actions4|fastagi|all] [ROUNDS]
#
# Builds loadgen and rust-raw (target dir: target/bench-peers) and the
# astrix bench examples (release). Not part of CI: it takes minutes and the
# figures only mean something as ratios within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
rounds=${2:-3}
peers=target/bench-peers
cargo build -q --release --manifest-path ../shared/bench/loadgen/Cargo.toml --target-dir "$peers"
cargo build -q --release --manifest-path ../shared/bench/raw/Cargo.toml --target-dir "$peers"
cargo build -q --release --example bench_ami_events --example bench_ami_actions --example bench_fastagi
LG=$peers/release/loadgen
RAW=$peers/release/rust-raw
EX=target/release/examples
port=$((20000 + RANDOM % 20000))
declare -A results

field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

run_events() {
  local raw=() ours=()
  for _ in $(seq "$rounds"); do
    port=$((port + 1)); $LG ami-events --port $port --events 2000000 >/dev/null 2>&1 & sleep 5
    raw+=("$($RAW ami-events --port $port | field events_per_s)"); wait
    port=$((port + 1)); $LG ami-events --port $port --events 2000000 >/tmp/astrix-lg.json 2>/dev/null & sleep 5
    local out; out=$(/usr/bin/time -f '%M' $EX/bench_ami_events --port $port 2>/tmp/astrix-rss)
    wait
    ours+=("$(echo "$out" | field events_per_s)")
    echo "events: raw ${raw[-1]} astrix ${ours[-1]} ($(echo "$out" | field events) events, peak RSS $(tail -1 /tmp/astrix-rss) KiB)"
  done
  results[events]="$(median "${raw[@]}") $(median "${ours[@]}")"
}

run_actions() {
  local threads=$1 n=$2 pin=$3 raw=() ours=()
  for _ in $(seq "$rounds"); do
    port=$((port + 1)); $pin $LG ami-actions --port $port >/dev/null 2>&1 & sleep 0.5
    raw+=("$($pin $RAW ami-actions --port $port --threads "$threads" --actions "$n" --shared | field actions_per_s)"); wait
    port=$((port + 1)); $pin $LG ami-actions --port $port >/dev/null 2>&1 & sleep 0.5
    ours+=("$($pin $EX/bench_ami_actions --port $port --threads "$threads" --actions "$n" | field actions_per_s)"); wait
    echo "actions x$threads: raw ${raw[-1]} astrix ${ours[-1]}"
  done
  results[actions$threads]="$(median "${raw[@]}") $(median "${ours[@]}")"
}

run_fastagi() {
  local raw=() ours=() rawp=() oursp=()
  for _ in $(seq "$rounds"); do
    for peer in raw astrix; do
      port=$((port + 1))
      if [ $peer = raw ]; then
        taskset -c 1 $RAW fastagi --port $port --commands 10 --sessions 20000 >/dev/null 2>&1 &
      else
        taskset -c 1 $EX/bench_fastagi --port $port --commands 10 --sessions 20000 >/dev/null 2>&1 &
      fi
      sleep 0.5
      local out; out=$(taskset -c 0 $LG fastagi --target 127.0.0.1:$port --sessions 20000 --concurrency 10 --commands 10 2>/dev/null)
      wait
      local cps p99 ok
      cps=$(echo "$out" | field commands_per_s); p99=$(echo "$out" | field cmd_p99_us); ok=$(echo "$out" | field sessions_ok)
      echo "fastagi $peer: $cps commands/s, p99 $p99 us, sessions_ok $ok, failed $(echo "$out" | field sessions_failed), 5xx $(echo "$out" | field replies_5xx)"
      if [ $peer = raw ]; then raw+=("$cps"); rawp+=("$p99"); else ours+=("$cps"); oursp+=("$p99"); fi
    done
  done
  results[fastagi]="$(median "${raw[@]}") $(median "${ours[@]}")"
  results[fastagi_p99]="$(median "${rawp[@]}") $(median "${oursp[@]}")"
}

case $what in
  events) run_events ;;
  actions1) run_actions 1 30000 "taskset -c 0" ;;
  actions4) run_actions 4 100000 "" ;;
  fastagi) run_fastagi ;;
  all) run_events; run_actions 1 30000 "taskset -c 0"; run_actions 4 100000 ""; run_fastagi ;;
  *) echo "usage: $0 [events|actions1|actions4|fastagi|all] [ROUNDS]" >&2; exit 2 ;;
esac

echo "--- medians (raw, astrix, astrix/raw)"
for k in "${!results[@]}"; do
  read -r r a <<<"${results[$k]}"
  echo "$k: $r $a $(python3 -c "print(round($a/$r, 3))")"
done
