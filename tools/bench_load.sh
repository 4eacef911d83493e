#!/usr/bin/env bash
# Whole-system figures: astrix against the raw peer (bench/raw), both driven
# by the load generator (bench/loadgen) as bench/README.md describes,
# alternated in one run (raw, astrix, raw, astrix, ...); the medians, their
# spreads (min-max) and the ratios astrix/raw are printed at the end.
#
#   tools/bench_load.sh [FIGURE] [ROUNDS] [--with-asterisk-rs]
#
# FIGURE: events, events-typed, actions1, actions4, actions16, fastagi,
# fastagi-hold, or all (default). --with-asterisk-rs adds the asterisk-rs
# 0.8 client (built from crates.io in a throwaway folder outside the
# repository by tools/bench_peer_asterisk_rs.sh; needs the network) to the
# actions figures, with the ratio astrix/asterisk-rs (ASTERISK_RS_DIR=DIR
# keeps its build in DIR, outside the repository, for the next run).
#
# Builds loadgen, rust-raw and the astrix bench examples (release). Not part
# of CI: it takes minutes and the figures only mean something as ratios
# within one run.
set -euo pipefail
cd "$(dirname "$0")/.."

FIGURES="events events-typed actions1 actions4 actions16 fastagi fastagi-hold"
usage() {
  echo "usage: $0 [${FIGURES// /|}|all] [ROUNDS] [--with-asterisk-rs]" >&2
  exit 2
}
positional=()
with_asrs=
for a in "$@"; do
  case $a in
    --with-asterisk-rs) with_asrs=1 ;;
    -*) usage ;;
    *) positional+=("$a") ;;
  esac
done
what=${positional[0]:-all}
rounds=${positional[1]:-3}
[ ${#positional[@]} -le 2 ] || usage
[[ " $FIGURES all " == *" $what "* ]] || usage
[[ $rounds =~ ^[1-9][0-9]*$ ]] || usage

# The sizes of the contract (bench/README.md).
EVENTS=2000000
SESSIONS=20000
COMMANDS=10
# fastagi-hold: calls open at once, each a command every HOLD_INTERVAL_MS
# for HOLD_SECS.
HOLD_CALLS=${HOLD_CALLS:-500 2000 5000}
HOLD_SECS=${HOLD_SECS:-20}
HOLD_INTERVAL_MS=${HOLD_INTERVAL_MS:-300}

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

ASRS=
if [ -n "$with_asrs" ]; then
  asrs_dir=${ASTERISK_RS_DIR:-$tmp/asrs}
  echo "building the asterisk-rs peer in $asrs_dir (outside the repository) ..." >&2
  ASRS=$(tools/bench_peer_asterisk_rs.sh "$asrs_dir")
fi

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

# run_events KEY [FLAG]: astrix's bench_ami_events with FLAG (--typed)
# against the raw framing ceiling, figures recorded under KEY.
run_events() {
  local key=$1 flag=("${@:2}") out n rate lg note errors
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
        out=$("${rss[@]}" "$tmp/rss" "$EX/bench_ami_events" --port $port "${flag[@]}")
        note=", peak RSS $(tail -1 "$tmp/rss") KiB"
      else
        out=$("$EX/bench_ami_events" --port $port "${flag[@]}")
      fi
      wait_lg $lg
      n=$(field events <<<"$out")
      rate=$(field events_per_s <<<"$out")
      [ "$n" = $EVENTS ] || echo "WARNING: $peer received $n of $EVENTS events" >&2
      if [ $peer = astrix ] && [ ${#flag[@]} -gt 0 ]; then
        errors=$(field parse_errors <<<"$out")
        [ "$errors" = 0 ] || echo "WARNING: $errors events did not parse as their type" >&2
        note="$note, ${flag[*]}, $errors parse errors"
      fi
      record "$key" $peer "$rate"
      echo "$key round $round $peer: $rate events/s ($n events$note)"
    done
  done
}

# run_actions THREADS ACTIONS PIN: PIN=pin puts both sides on CPU 0.
run_actions() {
  local threads=$1 n=$2 pin=() out rate lg
  [ "$3" = pin ] && pin=("${cpu0[@]}")
  local peers=(raw astrix) done
  [ -z "$ASRS" ] || peers+=(asterisk-rs)
  for round in $(seq "$rounds"); do
    for peer in "${peers[@]}"; do
      port=$((port + 1))
      "${pin[@]}" "$LG" ami-actions --port $port >/dev/null 2>"$tmp/lg.err" &
      lg=$!
      wait_loadgen "$tmp/lg.err" $lg
      case $peer in
        raw) out=$("${pin[@]}" "$RAW" ami-actions --port $port --threads "$threads" --actions "$n" --shared) ;;
        astrix) out=$("${pin[@]}" "$EX/bench_ami_actions" --port $port --threads "$threads" --actions "$n") ;;
        asterisk-rs) out=$("${pin[@]}" timeout 300 "$ASRS" --port $port --threads "$threads" --actions "$n") ;;
      esac
      wait_lg $lg
      rate=$(field actions_per_s <<<"$out")
      done=$(field actions <<<"$out")
      [ "$done" = "$n" ] || echo "WARNING: $peer completed $done of $n actions" >&2
      record "actions${threads}_per_s" $peer "$rate"
      echo "actions x$threads round $round $peer: $rate actions/s ($done actions)"
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

# sample_proc PID OUT: until PID ends, writes to OUT its first VmRSS, then
# the most Threads, VmRSS and VmSize seen (KiB; sampled every 0.2 s).
sample_proc() {
  local t r v t_max=0 r_max=0 v_max=0 base=
  while [ -r "/proc/$1/status" ]; do
    read -r t r v < <(awk '$1 == "Threads:" { t = $2 } $1 == "VmRSS:" { r = $2 }
      $1 == "VmSize:" { v = $2 } END { print t + 0, r + 0, v + 0 }' "/proc/$1/status" 2>/dev/null) || break
    [ "$r" -gt 0 ] || break
    [ -n "$base" ] || base=$r
    [ "$t" -le "$t_max" ] || t_max=$t
    [ "$r" -le "$r_max" ] || r_max=$r
    [ "$v" -le "$v_max" ] || v_max=$v
    echo "$base $t_max $r_max $v_max" >"$2"
    sleep 0.2
  done
}

# run_hold CALLS: CALLS FastAGI calls open at once (loadgen fastagi-hold),
# each a command every HOLD_INTERVAL_MS for HOLD_SECS, served by the raw
# thread-per-call server and by astrix's FastAgiServer.
run_hold() {
  local calls=$1 out server sampler lgout base threads rss vm per
  if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $((2 * calls + 200)) ]; then
    echo "WARNING: fastagi-hold $calls: open-files hard limit $(ulimit -Hn) < $((2 * calls + 200)); skipped" >&2
    return 0
  fi
  for round in $(seq "$rounds"); do
    for peer in raw astrix; do
      port=$((port + 1))
      if [ $peer = raw ]; then
        "${cpu1[@]}" "$RAW" fastagi --port $port --sessions "$calls" \
          --hold-secs "$HOLD_SECS" --interval-ms "$HOLD_INTERVAL_MS" >"$tmp/server.json" &
      else
        "${cpu1[@]}" "$EX/bench_fastagi" --port $port --sessions "$calls" \
          --hold-secs "$HOLD_SECS" --interval-ms "$HOLD_INTERVAL_MS" >"$tmp/server.json" &
      fi
      server=$!
      wait_port $port $server
      : >"$tmp/proc"
      sample_proc $server "$tmp/proc" &
      sampler=$!
      lgout=$("${cpu0[@]}" "$LG" fastagi-hold --target 127.0.0.1:$port --calls "$calls" 2>/dev/null)
      wait_or_kill $server 60
      wait $sampler || true
      out=$(cat "$tmp/server.json")
      read -r base threads rss vm <"$tmp/proc"
      per=$(((rss - base) / calls))
      if [ "$(field sessions_ok <<<"$lgout")" != "$calls" ] || [ "$(field replies_5xx <<<"$lgout")" != 0 ]; then
        echo "WARNING: $peer: $(field sessions_ok <<<"$lgout") of $calls calls ok," \
          "5xx $(field replies_5xx <<<"$lgout") ($(field first_error <<<"$lgout"))" >&2
      fi
      record "hold${calls}_commands_per_s" $peer "$(field commands_per_s <<<"$lgout")"
      record "hold${calls}_p50_us" $peer "$(field cmd_p50_us <<<"$out")"
      record "hold${calls}_p99_us" $peer "$(field cmd_p99_us <<<"$out")"
      record "hold${calls}_setup_p50_us" $peer "$(field setup_p50_us <<<"$lgout")"
      record "hold${calls}_threads" $peer "$threads"
      record "hold${calls}_rss_kib" $peer "$rss"
      record "hold${calls}_rss_per_call_kib" $peer "$per"
      record "hold${calls}_virtual_kib" $peer "$vm"
      echo "fastagi-hold $calls round $round $peer: $(field commands_per_s <<<"$lgout") commands/s," \
        "p50 $(field cmd_p50_us <<<"$out") us, p99 $(field cmd_p99_us <<<"$out") us," \
        "$threads threads, RSS $rss KiB ($per KiB a call over $base), virtual $vm KiB," \
        "calls ok $(field sessions_ok <<<"$lgout"), setup p50 $(field setup_p50_us <<<"$lgout") us" \
        "p99 $(field setup_p99_us <<<"$lgout") us"
    done
  done
}

run_figure() {
  case $1 in
    events) run_events events_per_s ;;
    events-typed) run_events events_typed_per_s --typed ;;
    actions1) run_actions 1 30000 pin ;;
    actions4) run_actions 4 100000 nopin ;;
    actions16) run_actions 16 100000 nopin ;;
    fastagi) run_fastagi ;;
    fastagi-hold)
      # Two descriptors a call on each side (reader and writer).
      [ "$(ulimit -Hn)" = unlimited ] || ulimit -n "$(ulimit -Hn)"
      for c in $HOLD_CALLS; do run_hold "$c"; done
      ;;
  esac
}

if [ "$what" = all ]; then
  for f in $FIGURES; do run_figure "$f"; done
else
  run_figure "$what"
fi

python3 - "$results" "$rounds" <<'EOF'
import statistics, sys

rows = {}
for line in open(sys.argv[1]):
    key, peer, value = line.split()
    rows.setdefault(key, {}).setdefault(peer, []).append(float(value))

def spread(xs):
    return f"{statistics.median(xs):,.1f} ({min(xs):,.1f}-{max(xs):,.1f})"

def ratio(a, b):
    return f"{a / b:.3f}" if b else "n/a"

print(f"--- {sys.argv[2]} round(s): median (min-max); ratios of the medians")
for key, v in rows.items():
    ours = statistics.median(v["astrix"])
    peers = ", ".join(f"{p} {spread(xs)}" for p, xs in v.items())
    ratios = ", ".join(
        f"astrix/{p} {ratio(ours, statistics.median(xs))}" for p, xs in v.items() if p != "astrix"
    )
    lower = key.endswith("_us") or "_rss" in key or "threads" in key or "virtual" in key
    note = "  (lower is better)" if lower else ""
    print(f"{key}: {peers}; {ratios}{note}")
EOF
