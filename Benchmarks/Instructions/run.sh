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
#   ROUNDS=2 CONNS=20 PER=200 CONNECTS=1000 WINDOW=50 Benchmarks/Instructions/run.sh ...
#
# hello: GET /hello of Benchmarks/HTTP's BenchPushinator. user-send: POST /user/send of pushinator's admin API to a
# registered user with no socket (the config JSON is merged over a base that turns recovery and the offline queue
# off; pass '{"client":{"recovery":{}}}' style overrides to turn them back on). connect: CONNECTS Socket.IO clients
# over WebSocket (upgrade, namespace connect, auth; WINDOW at a time, kept open), instructions per connect, the
# config JSON over pushinator's defaults (recovery on). Needs valgrind, gcc, python3.
# Release binaries built with DWARF 5 debug info are copied without it first (valgrind 3.19 cannot read it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode=$1; A=$2; B=$3; EXTRA=${4:-'{}'}
EXTRA_B=${5:-$EXTRA}
ROUNDS=${ROUNDS:-1}; CONNS=${CONNS:-20}; PER=${PER:-200}; CONNECTS=${CONNECTS:-1000}; WINDOW=${WINDOW:-50}
work=$(mktemp -d /tmp/instructions-ab.XXXXXX)
pid=""
cleanup() { [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
gcc -shared -fPIC -O2 -o "$work/no_sigsuspend.so" "$here/no_sigsuspend.c"
objcopy --strip-debug "$A" "$work/A"; objcopy --strip-debug "$B" "$work/B"

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
    connect)
        python3 -c "
import json,sys
json.dump({'admin':{'host':'127.0.0.1','port':int(sys.argv[1])},'client':{'host':'127.0.0.1','port':int(sys.argv[1])+1},
           'log':{'debug':False}} | json.loads(sys.argv[2]),open(sys.argv[3],'w'))" "$port" "$EXTRA" "$work/config.json"
        args=(-c "$work/config.json") ;;
    *) echo "mode: hello, user-send or connect" >&2; exit 2 ;;
    esac
    LD_PRELOAD="$work/no_sigsuspend.so" valgrind --tool=callgrind --callgrind-out-file="$work/cg.$side.%p" \
        "$work/$side" "${args[@]}" >"$work/log.$side" 2>&1 &
    pid=$!
    for _ in $(seq 1 400); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.25; done
    if [[ -n "$setup" ]]; then
        curl -sf -X POST "http://127.0.0.1:$port/user/register" -d '{"userId":"bench-user","hash":"h"}' >/dev/null
    fi
    local ok expected=$((CONNS * PER))
    if [[ $mode == connect ]]; then
        expected=$CONNECTS
        python3 "$here/ws_connects.py" 127.0.0.1 $((port + 1)) $((CONNECTS + 20)) 0 --register "$port"
        python3 "$here/ws_connects.py" 127.0.0.1 $((port + 1)) 20 10 --first $((CONNECTS + 1)) >/dev/null
        callgrind_control -z "$pid" >/dev/null
        ok=$(python3 "$here/ws_connects.py" 127.0.0.1 $((port + 1)) "$CONNECTS" "$WINDOW")
    else
        python3 "$here/fixed_load.py" 127.0.0.1 "$port" $method $path 10 20 "$body" >/dev/null
        callgrind_control -z "$pid" >/dev/null
        ok=$(python3 "$here/fixed_load.py" 127.0.0.1 "$port" $method $path "$CONNS" "$PER" "$body")
    fi
    callgrind_control -d "$pid" >/dev/null
    sleep 1
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""
    local dump; dump=$(ls -t "$work"/cg.$side.*.[0-9]* | head -1)
    [[ "$ok" == "$expected" ]] || { echo "$side: only $ok of $expected requests or connects succeeded" >&2; exit 1; }
    awk -v ok="$ok" '/^summary:|^totals:/{printf "%.0f\n", $2/ok; exit}' "$dump"
    rm -f "$work"/cg.$side.*
}

for round in $(seq 1 "$ROUNDS"); do
    a=$(measure A 19750); b=$(measure B 19760)
    awk -v r="$round" -v a="$a" -v b="$b" -v m="$mode" \
        'BEGIN{printf "%s round %d: before %d, after %d instructions per %s: after/before %.3f\n", m, r, a, b, (m == "connect" ? "connect" : "request"), b/a}'
done
