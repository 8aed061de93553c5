#!/usr/bin/env bash
# System calls and context switches per WebSocket connect of one server binary, counted by `perf stat` (tracepoints
# and software events: the machine's load does not move the counts much, unlike connects per second). The server
# runs pinned to core 0 and the clients (ws_connects.py) to core 1, as in Benchmarks/run.sh: CONNECTS Socket.IO
# clients over WebSocket (upgrade, namespace connect, auth), WINDOW in flight, kept open until the counts are taken
# (no disconnect is counted). Prints, per connect: all system calls, each one made at least 0.05 times per connect,
# the context switches (perf's, and voluntary/involuntary from /proc/PID/task/*/status) and the threads that ran.
#
#   Benchmarks/Instructions/connect_syscalls.sh Benchmarks/Floor/.build/release/Floor
#   Benchmarks/Instructions/connect_syscalls.sh .build-release/release/pushinator ['{"client":{"recovery":{"maxDisconnectionDuration":0}}}']
#   CONNECTS=1000 WINDOW=50 PORT=19850 ROUNDS=1 ...     (the defaults)
#   STRACE=1 ...   also `strace -c -f` over the same connects (slower: its batching differs from the perf counts)
#   OPEN=10000 ... that many idle clients connected (and kept open) first: the counted connects find them there
# Also prints the server's minor page faults and CPU time (user + system, from /proc/PID/stat) per connect.
# A binary named Floor or floor is the floor server (started with its port flags). Needs perf, python3, taskset.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
BIN=$1; EXTRA=${2:-'{}'}
CONNECTS=${CONNECTS:-1000}; WINDOW=${WINDOW:-50}; PORT=${PORT:-19850}; ROUNDS=${ROUNDS:-1}; OPEN=${OPEN:-0}
work=$(mktemp -d /tmp/connect-syscalls.XXXXXX)
pid=""; tracer=""; stracer=""; idle=""
cleanup() { [[ -n "$idle" ]] && kill "$idle" 2>/dev/null; [[ -n "$tracer" ]] && kill "$tracer" 2>/dev/null; [[ -n "$stracer" ]] && kill "$stracer" 2>/dev/null; [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n $((OPEN + CONNECTS + 5000)) 2>/dev/null || true

switches() {  # voluntary involuntary, summed over the process's threads
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/{v+=$2} /^nonvoluntary_ctxt_switches/{n+=$2} END{print v+0, n+0}'
}
faults_cpu() {  # minor faults, user and system clock ticks (fields 10, 14, 15 of /proc/PID/stat)
    sed 's/.*) //' /proc/"$1"/stat | awk '{print $8, $12, $13}'
}
per_thread() {  # TID NAME VOLUNTARY INVOLUNTARY, one line per thread
    for status in /proc/"$1"/task/*/status; do
        awk '/^Name:/{name=$2} /^Pid:/{tid=$2} /^voluntary_ctxt_switches/{v=$2} /^nonvoluntary_ctxt_switches/{n=$2}
             END{print tid, name, v, n}' "$status" 2>/dev/null
    done
}

for round in $(seq 1 "$ROUNDS"); do
    python3 -c "
import json,sys
def merge(a,b):
    for k,v in b.items(): a[k]=merge(a.get(k,{}),v) if isinstance(v,dict) and isinstance(a.get(k),dict) else v
    return a
json.dump(merge({'admin':{'host':'127.0.0.1','port':int(sys.argv[1])},'client':{'host':'127.0.0.1','port':int(sys.argv[1])+1},
           'log':{'debug':False}}, json.loads(sys.argv[2])),open(sys.argv[3],'w'))" "$PORT" "$EXTRA" "$work/config.json"
    args=(-c "$work/config.json")
    case $(basename "$BIN") in Floor|floor) args=(--admin-port "$PORT" --client-port $((PORT + 1)) --flush-every tick) ;; esac
    if curl -s -o /dev/null "http://127.0.0.1:$PORT/" || curl -s -o /dev/null "http://127.0.0.1:$((PORT + 1))/"; then
        echo "port $PORT or $((PORT + 1)) is in use (another run?): set PORT" >&2; exit 1
    fi
    taskset -c 0 "$BIN" "${args[@]}" >"$work/log" 2>&1 &
    pid=$!
    for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
    taskset -c 1 python3 "$here/ws_connects.py" 127.0.0.1 $((PORT + 1)) $((CONNECTS + 20 + OPEN)) 0 --register "$PORT"
    taskset -c 1 python3 "$here/ws_connects.py" 127.0.0.1 $((PORT + 1)) 20 10 --first $((CONNECTS + 1)) >/dev/null
    if (( OPEN > 0 )); then  # OPEN idle clients, held open until the counts are taken
        rm -f "$work/idle-release" "$work/idle-connected"
        taskset -c 1 python3 "$here/ws_connects.py" 127.0.0.1 $((PORT + 1)) "$OPEN" "$WINDOW" --first $((CONNECTS + 21)) \
            --hold "$work/idle-release" >"$work/idle-connected" &
        idle=$!
        for _ in $(seq 1 6000); do [[ -s "$work/idle-connected" ]] && break; sleep 0.1; done
        [[ "$(cat "$work/idle-connected")" == "$OPEN" ]] || { echo "only $(cat "$work/idle-connected") of $OPEN idle clients connected" >&2; exit 1; }
    fi
    sleep 0.5
    perf stat -x, -e 'raw_syscalls:sys_enter,context-switches,cpu-migrations,syscalls:sys_enter_*' -p "$pid" \
        -o "$work/perf" &
    tracer=$!
    if [[ -n "${STRACE:-}" ]]; then strace -c -f -o "$work/strace" -p "$pid" 2>/dev/null & stracer=$!; fi
    sleep 1  # attached
    before=$(switches "$pid"); per_thread "$pid" >"$work/threads.before"; fc_before=$(faults_cpu "$pid")
    rm -f "$work/release" "$work/connected"
    taskset -c 1 python3 "$here/ws_connects.py" 127.0.0.1 $((PORT + 1)) "$CONNECTS" "$WINDOW" --hold "$work/release" \
        >"$work/connected" &
    client=$!
    for _ in $(seq 1 6000); do [[ -s "$work/connected" ]] && break; sleep 0.1; done
    sleep 0.5
    after=$(switches "$pid"); per_thread "$pid" >"$work/threads.after"; fc_after=$(faults_cpu "$pid")
    kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true; tracer=""
    if [[ -n "$stracer" ]]; then kill -INT "$stracer"; wait "$stracer" 2>/dev/null || true; stracer=""; fi
    threads=$(ls /proc/"$pid"/task | wc -l)
    touch "$work/release"; wait "$client" || true
    if [[ -n "$idle" ]]; then touch "$work/idle-release"; wait "$idle" || true; idle=""; fi
    ok=$(cat "$work/connected")
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""
    [[ "$ok" == "$CONNECTS" ]] || { echo "only $ok of $CONNECTS connects succeeded" >&2; exit 1; }
    echo "$(basename "$BIN") round $round: $CONNECTS connects, window $WINDOW, $OPEN idle connections open, $threads threads"
    awk -v n="$CONNECTS" -v hz="$(getconf CLK_TCK)" -v before="$fc_before" -v after="$fc_after" 'BEGIN {
        split(before, b, " "); split(after, a, " ")
        printf "  minor page faults per connect: %.2f; server CPU time per connect (perf attached): user %.1f us, system %.1f us\n",
            (a[1] - b[1]) / n, (a[2] - b[2]) * 1e6 / hz / n, (a[3] - b[3]) * 1e6 / hz / n }'
    awk -F, -v n="$CONNECTS" -v before="$before" -v after="$after" '
        $3 == "raw_syscalls:sys_enter" { printf "  system calls per connect: %.2f\n", $1 / n }
        $3 == "context-switches" { printf "  context switches per connect (perf): %.3f\n", $1 / n }
        $3 == "cpu-migrations" { migrations = $1 }
        $3 ~ /^syscalls:sys_enter_/ && $1 / n >= 0.05 { sub("syscalls:sys_enter_", "", $3); line = line sprintf(" %s %.2f", $3, $1 / n) }
        END { split(before, b, " "); split(after, a, " ")
              printf "  voluntary / involuntary switches per connect (/proc): %.3f / %.3f\n", (a[1] - b[1]) / n, (a[2] - b[2]) / n
              print "  by call:" line }' "$work/perf"
    awk -v n="$CONNECTS" 'NR == FNR { v[$1] = $3; i[$1] = $4; next }
        { dv = ($3 - v[$1]) / n; di = ($4 - i[$1]) / n; if (dv + di > 0) line = line sprintf(" %s(%s) %.3f/%.3f", $2, $1, dv, di) }
        END { print "  switches by thread (voluntary/involuntary per connect):" line }' "$work/threads.before" "$work/threads.after"
    [[ -z "${STRACE:-}" ]] || { echo "  strace -c -f:"; sed -n '1,40p' "$work/strace" | sed 's/^/    /'; }
done
