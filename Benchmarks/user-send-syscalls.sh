#!/usr/bin/env bash
# System calls, futex calls and context switches per admin `POST /user/send`, counted by the kernel (`perf stat`
# tracepoints on the server's pid, and each thread's voluntary/involuntary switches from /proc): figures that the load
# of a shared machine barely moves, unlike requests per second. The server and wrk are pinned as in ab.sh (server on
# core 0, wrk -t1 -c64 on core 1) and configured as ab.sh does (its base config, the offline queue on: the user has no
# socket, so every send is queued). Each config is measured ROUNDS times (interleaved); one line per run.
#
#   Benchmarks/user-send-syscalls.sh BIN ['{"admin":{"metrics":false}}' ...]     # one run per config JSON (default '{}')
#   ROUNDS=2 SECONDS_=5 Benchmarks/user-send-syscalls.sh .build-release/release/pushinator '{}' '{"admin":{"metrics":false}}'
#
# Needs perf (kernel.perf_event_paranoid <= 1 or root), wrk, python3, curl.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$1; shift
CONFIGS=("$@"); [[ ${#CONFIGS[@]} -gt 0 ]] || CONFIGS=('{}')
ROUNDS=${ROUNDS:-2}; DURATION=${SECONDS_:-5}; PORT=${PORT:-19760}
OUT=$(mktemp -d /tmp/user-send-syscalls.XXXXXX)
PID=""
stop() { [[ -n "$PID" ]] || return 0; kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; }
trap 'stop; rm -rf "$OUT"' EXIT
switches() {  # pid -> "voluntary involuntary" summed over the threads
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2} END {print v+0, n+0}'
}
printf '%-34s %5s %9s %9s %9s %9s %9s %7s\n' config round requests syscalls/r futex/r vol.cs/r invol.cs/r threads
for round in $(seq 1 "$ROUNDS"); do
    for extra in "${CONFIGS[@]}"; do
        python3 - "$OUT/config.json" "$extra" "$PORT" <<'PY'
import json, sys
def merge(a, b):
    for k, v in b.items():
        a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
    return a
port = int(sys.argv[3])
base = {"admin": {"host": "127.0.0.1", "port": port}, "client": {"host": "127.0.0.1", "port": port + 1}, "log": {"debug": False}}
json.dump(merge(base, json.loads(sys.argv[2])), open(sys.argv[1], "w"))
PY
        taskset -c 0 "$BIN" -c "$OUT/config.json" >"$OUT/server.log" 2>&1 &
        PID=$!
        for _ in $(seq 1 200); do curl -sf -X POST "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break; sleep 0.05; done
        curl -sf -X POST "http://127.0.0.1:$PORT/user/register" -d '{"userId":"bench-user","hash":"h"}' >/dev/null
        taskset -c 1 wrk -t1 -c64 -d2s -s "$ROOT/Benchmarks/HTTP/user-send.lua" "http://127.0.0.1:$PORT/user/send" >/dev/null
        threads=$(ls /proc/"$PID"/task | wc -l)
        read -r v0 n0 < <(switches "$PID")
        perf stat -x, -o "$OUT/perf.csv" -e raw_syscalls:sys_enter,syscalls:sys_enter_futex -p "$PID" &
        perf=$!
        sleep 0.2
        taskset -c 1 wrk -t1 -c64 -d"${DURATION}s" -s "$ROOT/Benchmarks/HTTP/user-send.lua" \
            "http://127.0.0.1:$PORT/user/send" >"$OUT/wrk.txt"
        kill -INT "$perf"; wait "$perf" 2>/dev/null || true
        read -r v1 n1 < <(switches "$PID")
        stop
        requests=$(awk '/requests in/ {print $1}' "$OUT/wrk.txt")
        grep -q "Non-2xx" "$OUT/wrk.txt" && { echo "non-2xx answers:"; cat "$OUT/wrk.txt"; exit 1; }
        sys=$(awk -F, '/raw_syscalls:sys_enter/ {print $1}' "$OUT/perf.csv")
        futex=$(awk -F, '/syscalls:sys_enter_futex/ {print $1}' "$OUT/perf.csv")
        python3 -c "
import sys
r, s, f, v, n = (float(x) for x in sys.argv[1:6])
print('%-34s %5s %9d %9.3f %9.4f %9.4f %9.4f %7s' % (sys.argv[6][:34], sys.argv[7], r, s / r, f / r, v / r, n / r, sys.argv[8]))
" "$requests" "$sys" "$futex" "$((v1 - v0))" "$((n1 - n0))" "$extra" "$round" "$threads"
        sleep 0.5
    done
done
