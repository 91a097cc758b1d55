#!/usr/bin/env bash
# Runs the load tool's presets against hyperstack-server (spawned fresh by the tool for each
# run) and the reference server (started fresh here for each run), alternating which goes
# first, REPS times; each run's JSON report goes to OUT/<preset>.<server>.<rep>.json and the
# reference's stderr to OUT/<preset>.reference.<rep>.log.
#
#   bench/reference/compare.sh <reference-server binary> [OUT]
#
# BENCH: the load tool (default target/release/bench); REPS (default 3), numbered from
# FIRST_REP (default 1, to add repetitions to a sitting);
# PRESETS (default "fanout latency snapshot snapshot-500 idle slow-client-baseline slow-client
# mixed"; snapshot-500 is the snapshot preset at 500 entities, all the reference's entity cache
# holds);
# EXTRA: options passed to every run (e.g. "--scale 0.1"); FEEDER_PORT / WS_PORT for the
# reference (50077 / 8878). The slow-client preset runs as two runs on two fresh servers
# (baseline without the slow client, then with it), since an external server cannot be reset
# between the two.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 <reference-server binary> [out dir]" >&2; exit 2; }
reference="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
out="${2:-bench/results/$(date -u +%Y-%m-%d)}"
bench="${BENCH:-target/release/bench}"
reps="${REPS:-3}"
first="${FIRST_REP:-1}"
presets="${PRESETS:-fanout latency snapshot snapshot-500 idle slow-client-baseline slow-client mixed}"
extra="${EXTRA:-}"
feeder_port="${FEEDER_PORT:-50077}"
ws_port="${WS_PORT:-8878}"
[ -x "$bench" ] || { echo "no load tool at $bench (cargo build --release -p hyperstack-bench)" >&2; exit 1; }
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)"

# A preset name as the tool's arguments.
args_of() {
    case "$1" in
        snapshot-500) echo "snapshot --preload 500 --keys 500" ;;
        slow-client-baseline) echo "slow-client --baseline-only" ;;
        slow-client) echo "slow-client --no-baseline" ;;
        *) echo "$1" ;;
    esac
}

ours() { # preset rep
    echo "$(date -u +%T) ours $1 #$2 (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    # shellcheck disable=SC2046
    "$bench" $(args_of "$1") --spawn --json $extra > "$out/$1.ours.$2.json" \
        || echo "ours $1 #$2 failed" >&2
}

reference() { # preset rep
    echo "$(date -u +%T) reference $1 #$2 (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    YELLOWSTONE_ENDPOINT="http://127.0.0.1:$feeder_port" REFERENCE_BIND="127.0.0.1:$ws_port" \
        "$reference" > /dev/null 2> "$out/$1.reference.$2.log" &
    local pid=$!
    local tries=0
    until (exec 3<> "/dev/tcp/127.0.0.1/$ws_port") 2> /dev/null; do
        tries=$((tries + 1))
        [ $tries -lt 300 ] || { echo "the reference did not listen on $ws_port" >&2; kill "$pid"; return 1; }
        sleep 0.1
    done
    # shellcheck disable=SC2046
    "$bench" $(args_of "$1") --url "ws://127.0.0.1:$ws_port" --pid "$pid" \
        --feeder-bind "127.0.0.1:$feeder_port" --json $extra > "$out/$1.reference.$2.json" \
        || echo "reference $1 #$2 failed" >&2
    kill "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
}

for rep in $(seq "$first" $((first + reps - 1))); do
    for preset in $presets; do
        if [ $((rep % 2)) = 1 ]; then
            ours "$preset" "$rep"; reference "$preset" "$rep"
        else
            reference "$preset" "$rep"; ours "$preset" "$rep"
        fi
    done
done
echo "done: $out" >&2
