#!/usr/bin/env bash
# User-space instructions per request of two server binaries, counted by valgrind (callgrind): a figure that the
# load of a shared machine barely moves, unlike requests per second (this machine has no hardware counters for
# `perf stat -e instructions`). Each side: start the server under callgrind, warm up with 200 requests, zero the
# counters, send CONNS x PER keep-alive requests (one in flight per connection, every answer checked for 200), dump.
# A fifth argument is side B's config JSON (the fourth is then side A's only): the same binary on both sides with two
# configs compares a setting, e.g. the metrics:  run.sh user-send BIN BIN '{}' '{"admin":{"metrics":false}}'
#
#   Benchmarks/Instructions/run.sh hello BEFORE/BenchPushinator AFTER/BenchPushinator
#   Benchmarks/Instructions/run.sh user-send BEFORE/pushinator AFTER/pushinator ['{"users":{"offlineQueue":{"max":0}}}']
#   Benchmarks/Instructions/run.sh connect BEFORE/pushinator AFTER/pushinator ['{"client":{"recovery":{"maxDisconnectionDuration":0}}}']
#   Benchmarks/Instructions/run.sh fanout BEFORE/pushinator AFTER/pushinator ['{"client":{"recovery":{"maxDisconnectionDuration":0}}}']
#   ROUNDS=2 CONNS=20 PER=200 CONNECTS=1000 WINDOW=50 CLIENTS=1000 BROADCASTS=20 WARMUP=5 Benchmarks/Instructions/run.sh ...
#   INFLIGHT=32 fanout: the counted broadcasts 32 at a time over 32 admin connections (as LoadTool), not drained one by one
#   SYSCALLS=1 fanout: the server without valgrind, system calls per delivery counted by `perf stat` instead
#   OPEN=10000 connect: that many more clients connected (and kept open, idle) before the counters are zeroed, so the
#   counted connects find OPEN connections already there (what grows with the number of open connections)
#   PORT=19750 (side A's admin port, +1 its client port; side B +10): pick another base to run two at once
#   KEEP=DIR ... keeps each side's callgrind dump as DIR/<mode>.<A|B>.<round> (for callgrind_annotate); B may be '-'
#   CALLGRIND_ARGS=--cache-sim=yes ... adds callgrind options (D1/LL misses in the kept dumps)
#   Benchmarks/Instructions/run.sh connect Benchmarks/Floor/.build/release/Floor AFTER/pushinator   # the floor server
#
# hello: GET /hello of Benchmarks/HTTP's BenchPushinator. user-send: POST /user/send of pushinator's admin API to a
# registered user with no socket (the config JSON is merged over a base that turns recovery and the offline queue
# off; pass '{"client":{"recovery":{}}}' style overrides to turn them back on). connect: CONNECTS Socket.IO clients
# over WebSocket (upgrade, namespace connect, auth; WINDOW at a time, kept open), instructions per connect, the
# config JSON over pushinator's defaults (recovery on); the clients stay open until the counters are dumped (no
# disconnect is counted) and the server's monotonic clock runs 50x slower (slow_clock.c: no heartbeat fires during a
# count that takes minutes under callgrind; the floor sends none). A binary named Floor or floor is the floor server
# (Benchmarks/Floor, started with its port flags, the config ignored). fanout: CLIENTS Socket.IO clients connected and authenticated
# as for connect (all in the `authenticated` room), WARMUP `/broadcast`s, counters zeroed, BROADCASTS more, one at a
# time, each sent once every client has the one before (ws_fanout.py; any loss fails the run); instructions per
# delivery (Ir / (CLIENTS * BROADCASTS)), the admin requests included, less the pings that fell into the window
# (counted by the clients, priced by a second dump over IDLE seconds of pings alone); the config JSON over pushinator's
# defaults.
# Needs valgrind, gcc, python3.
# Release binaries built with DWARF 5 debug info are copied without it first (valgrind 3.19 cannot read it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode=$1; A=$2; B=$3; EXTRA=${4:-'{}'}
EXTRA_B=${5:-$EXTRA}
ROUNDS=${ROUNDS:-1}; CONNS=${CONNS:-20}; PER=${PER:-200}; CONNECTS=${CONNECTS:-1000}; WINDOW=${WINDOW:-50}
PORT=${PORT:-19750}; CLIENTS=${CLIENTS:-1000}; BROADCASTS=${BROADCASTS:-20}; WARMUP=${WARMUP:-5}; IDLE=${IDLE:-10}; INFLIGHT=${INFLIGHT:-1}
SYSCALLS=${SYSCALLS:-}; KEEP=${KEEP:-}; OPEN=${OPEN:-0}
ulimit -n $((OPEN + CONNECTS + 5000)) 2>/dev/null || true
work=$(mktemp -d /tmp/instructions-ab.XXXXXX)
pid=""
cleanup() { [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
gcc -shared -fPIC -O2 -o "$work/no_sigsuspend.so" "$here/no_sigsuspend.c"
gcc -shared -fPIC -O2 -o "$work/slow_clock.so" "$here/slow_clock.c" -ldl
objcopy --strip-debug "$A" "$work/A"; [[ "$B" == - ]] || objcopy --strip-debug "$B" "$work/B"

measure() {  # side -> prints Ir per request
    local side=$1 port=$2 args=() body="" method=GET path=/hello setup=""
    local EXTRA=$EXTRA; [[ $side == B ]] && EXTRA=$EXTRA_B
    case $mode in
    hello) args=(--port "$port") ;;
    user-send)
        python3 -c "
import json,sys
base={'admin':{'host':'127.0.0.1','port':int(sys.argv[2])},'client':{'host':'127.0.0.1','port':int(sys.argv[2])+1,
      'recovery':{'maxDisconnectionDuration':0}},'log':{'debug':False},'users':{'offlineQueue':{'max':0}}}
def merge(a,b):
    for k,v in b.items(): a[k]=merge(a.get(k,{}),v) if isinstance(v,dict) and isinstance(a.get(k),dict) else v
    return a
json.dump(merge(base,json.loads(sys.argv[1])),open(sys.argv[3],'w'))" "$EXTRA" "$port" "$work/config.json"
        args=(-c "$work/config.json"); method=POST; path=/user/send
        body='{"userId":"bench-user","message":{"title":"hello","body":"a message of a typical size"}}'
        setup=1 ;;
    connect|fanout)
        python3 -c "
import json,sys
def merge(a,b):  # deep: '{"client":{"recovery":...}}' keeps the client port
    for k,v in b.items(): a[k]=merge(a.get(k,{}),v) if isinstance(v,dict) and isinstance(a.get(k),dict) else v
    return a
json.dump(merge({'admin':{'host':'127.0.0.1','port':int(sys.argv[1])},'client':{'host':'127.0.0.1','port':int(sys.argv[1])+1},
           'log':{'debug':False}}, json.loads(sys.argv[2])),open(sys.argv[3],'w'))" "$port" "$EXTRA" "$work/config.json"
        args=(-c "$work/config.json")
        case $(basename "$( [[ $side == A ]] && echo "$A" || echo "$B")") in
        Floor|floor) args=(--admin-port "$port" --client-port $((port + 1)) --flush-every tick) ;;
        esac ;;
    *) echo "mode: hello, user-send, connect or fanout" >&2; exit 2 ;;
    esac
    if curl -s -o /dev/null "http://127.0.0.1:$port/" || curl -s -o /dev/null "http://127.0.0.1:$((port + 1))/"; then
        echo "port $port or $((port + 1)) is in use (another run?): set PORT" >&2; exit 1
    fi
    if [[ $mode == fanout && -n "$SYSCALLS" ]]; then
        "$work/$side" "${args[@]}" >"$work/log.$side" 2>&1 &
    else
        local preload="$work/no_sigsuspend.so" instr=()
        [[ $mode == connect ]] && preload="$preload:$work/slow_clock.so"  # no heartbeats during the count
        [[ $mode == fanout ]] && instr=(--instr-atstart=no)  # ws_fanout.py turns it on once every client is in
        LD_PRELOAD="$preload" valgrind --tool=callgrind ${CALLGRIND_ARGS:-} "${instr[@]}" --callgrind-out-file="$work/cg.$side.%p" \
            "$work/$side" "${args[@]}" >"$work/log.$side" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 1 400); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.25; done
    if [[ -n "$setup" ]]; then
        curl -sf -X POST "http://127.0.0.1:$port/user/register" -d '{"userId":"bench-user","hash":"h"}' >/dev/null
    fi
    local ok expected=$((CONNS * PER))
    if [[ $mode == fanout ]]; then
        expected=$((CLIENTS * BROADCASTS))
        python3 "$here/ws_connects.py" 127.0.0.1 $((port + 1)) "$CLIENTS" 0 --register "$port"
        counts=$(python3 "$here/ws_fanout.py" 127.0.0.1 $((port + 1)) "$port" "$CLIENTS" "$WINDOW" "$BROADCASTS" "$WARMUP" \
            "$pid" "$IDLE" --inflight "$INFLIGHT" ${SYSCALLS:+--perf}) \
            || { echo "$side: the fan-out failed (above); server log:" >&2; tail -20 "$work/log.$side" >&2; kill -9 "$pid"; exit 1; }
    elif [[ $mode == connect ]]; then
        expected=$CONNECTS
        python3 "$here/ws_connects.py" 127.0.0.1 $((port + 1)) $((CONNECTS + 20 + OPEN)) 0 --register "$port"
        python3 "$here/ws_connects.py" 127.0.0.1 $((port + 1)) 20 10 --first $((CONNECTS + 1)) >/dev/null
        local idle=""
        if (( OPEN > 0 )); then  # OPEN idle clients, held open until the count is dumped
            rm -f "$work/idle-release" "$work/idle-connected"
            python3 "$here/ws_connects.py" 127.0.0.1 $((port + 1)) "$OPEN" "$WINDOW" --first $((CONNECTS + 21)) \
                --hold "$work/idle-release" >"$work/idle-connected" &
            idle=$!
            for _ in $(seq 1 72000); do [[ -s "$work/idle-connected" ]] && break; sleep 0.1; done
            [[ "$(cat "$work/idle-connected")" == "$OPEN" ]] || { echo "$side: only $(cat "$work/idle-connected") of $OPEN idle clients connected" >&2; exit 1; }
        fi
        callgrind_control -z "$pid" >/dev/null
        # the clients stay open until the counters are dumped: the count holds connects, not disconnects
        rm -f "$work/release" "$work/connected"
        python3 "$here/ws_connects.py" 127.0.0.1 $((port + 1)) "$CONNECTS" "$WINDOW" --hold "$work/release" \
            >"$work/connected" &
        local client=$!
        for _ in $(seq 1 36000); do [[ -s "$work/connected" ]] && break; sleep 0.1; done
        ok=$(cat "$work/connected")
        callgrind_control -d "$pid" >/dev/null
        touch "$work/release"; wait "$client" || true
        [[ -z "$idle" ]] || { touch "$work/idle-release"; wait "$idle" || true; }
    else
        python3 "$here/fixed_load.py" 127.0.0.1 "$port" $method $path 10 20 "$body" >/dev/null
        callgrind_control -z "$pid" >/dev/null
        ok=$(python3 "$here/fixed_load.py" 127.0.0.1 "$port" $method $path "$CONNS" "$PER" "$body")
    fi
    [[ $mode == fanout || $mode == connect ]] || callgrind_control -d "$pid" >/dev/null
    sleep 1
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""
    if [[ $mode == fanout && -n "$SYSCALLS" ]]; then  # ok pings 0 name=count...
        echo "$counts" | awk '{split($4, all, "="); printf "%.3f system calls per delivery (", all[2] / $1
            for (i = 5; i <= NF; i++) { split($i, kv, "="); sub("sys_enter_", "", kv[1]); printf "%s%s %.3f", (i > 5 ? ", " : ""), kv[1], kv[2] / $1 }
            printf "; %d pings in the window)\n", $2}'
        return
    fi
    if [[ $mode == fanout ]]; then  # dump 1: the fan-out window, dump 2: IDLE seconds of pings only
        local d1 d2 p1 p2; read -r ok p1 p2 <<<"$counts"
        d1=$(ls "$work"/cg.$side.*.1); d2=$(ls "$work"/cg.$side.*.2)
        [[ -z "$KEEP" ]] || { mkdir -p "$KEEP"; cp "$d1" "$KEEP/$mode.$side.$round"; cp "$d2" "$KEEP/$mode.$side.$round.idle"; }
        awk -v ok="$ok" -v p1="$p1" -v p2="$p2" '/^summary:|^totals:/{ir[FILENAME]=$2}
            END{w=ir[ARGV[1]]; i=ir[ARGV[2]]; ping=(p2 > 0 ? i/p2 : 0)
                printf "%.0f (raw %.0f, %d pings in the window at %.0f each)\n", (w - p1*ping)/ok, w/ok, p1, ping}' "$d1" "$d2"
        rm -f "$work"/cg.$side.*; return
    fi
    local dump; dump=$(ls -t "$work"/cg.$side.*.[0-9]* | head -1)
    [[ "$ok" == "$expected" ]] || { echo "$side: only $ok of $expected requests or connects succeeded" >&2; exit 1; }
    awk -v ok="$ok" '/^summary:|^totals:/{printf "%.0f\n", $2/ok; exit}' "$dump"
    [[ -z "$KEEP" ]] || { mkdir -p "$KEEP"; cp "$dump" "$KEEP/$mode.$side.$round"; }
    rm -f "$work"/cg.$side.*
}

for round in $(seq 1 "$ROUNDS"); do
    a=$(measure A "$PORT")
    what=request; [[ $mode == connect ]] && what=connect; [[ $mode == fanout ]] && what=delivery
    if [[ "$B" == - ]]; then echo "$mode round $round: $a instructions per $what"; continue; fi
    b=$(measure B $((PORT + 10)))
    awk -v r="$round" -v a="$a" -v b="$b" -v m="$mode" -v w="$what" \
        'BEGIN{printf "%s round %d: before %s, after %s%s: after/before %.3f\n", m, r, a, b, (a ~ /system calls/ ? "" : " instructions per " w), (b+0)/(a+0)}'
done
