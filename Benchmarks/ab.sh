#!/usr/bin/env bash
# Before/after on the hot paths, two pushinator binaries side by side in one run, interleaved rounds (A B B A ...):
#
#   Benchmarks/ab.sh BEFORE_BIN AFTER_BIN [BEFORE_HTTP_BENCH_DIR AFTER_HTTP_BENCH_DIR]
#   ROUNDS=3 SIZES="1000 10000" Benchmarks/ab.sh /tmp/base/pushinator .build-bench/release/pushinator
#
# Per round and binary: the load tool's fan-out, connect (WebSocket) and idle-memory scenarios at each N (a fresh
# server per N). With the two optional folders (the release bin paths of Benchmarks/HTTP built at each commit), also
# wrk on BenchPushinator's GET /hello. Then the admin API's POST /user/send in a block of its own
# (Benchmarks/user-send-rounds.sh: SEND_ROUNDS short rounds of A, B and A again, the last the A/A control). Prints the
# median of each figure per binary and the ratio after/before. Server pinned to core 0, load on core 1, as in run.sh.
# Environment: ROUNDS (3), SIZES ("1000 10000"), BROADCASTS (0 = 500000/N), WRK_SECONDS (8, /hello), SEND_ROUNDS
# (10; 0 skips /user/send), SEND_SECONDS (3), PORT (19700: admin; client PORT + 1, /hello PORT + 10), LOADTOOL,
# KEEP=1 (keep the raw files), EXTRA_A / EXTRA_B
# (a JSON object deep-merged into that side's config, e.g. EXTRA_B='{"client": {"recovery": {...}}}'; the same
# binary on both sides with two configs compares a setting, such as recovery on and off).
# The cost of the Prometheus metrics (issue 16: fan-out and /user/send within 3 % of no metrics, same run): one
# release binary on both sides, the metrics off on side B:
#   EXTRA_B='{"admin": {"metrics": false}}' Benchmarks/ab.sh .build-bench/release/pushinator .build-bench/release/pushinator
# then after/before is "metrics off / metrics on" (a ratio above 1 is what the metrics cost; see Benchmarks/README.md,
# "The metrics' cost on `/user/send` was the harness's (session 11)").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
A=${1:?before binary}; B=${2:?after binary}; HA=${3:-}; HB=${4:-}
ROUNDS=${ROUNDS:-3}; SIZES=${SIZES:-"1000 10000"}; BROADCASTS=${BROADCASTS:-0}; WRK_SECONDS=${WRK_SECONDS:-8}
SEND_ROUNDS=${SEND_ROUNDS:-10}; SEND_SECONDS=${SEND_SECONDS:-3}
LOADTOOL=${LOADTOOL:-"$ROOT/Benchmarks/LoadTool/.build/release/LoadTool"}
PORT=${PORT:-19700}; CPORT=$((PORT + 1)); HPORT=$((PORT + 10))
[[ -x "$LOADTOOL" ]] || (cd "$ROOT/Benchmarks/LoadTool" && swift build -c release >&2)
OUT=$(mktemp -d)
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
log() { echo "[ab.sh] $*" >&2; }
PID=""
stop() { [[ -n "$PID" ]] || return 0; kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; }
trap 'stop; [[ -n "${KEEP:-}" ]] && log "kept $OUT" || rm -rf "$OUT"' EXIT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {  # binary label -> PID; admin $PORT, client $PORT + 1
    local config="$OUT/$2.json" extra="${EXTRA_A:-}"
    [[ $2 == B ]] && extra="${EXTRA_B:-}"
    [[ -n "$extra" ]] || extra='{}'
    python3 - "$config" "$extra" "$PORT" <<'PY'
import json, sys
def merge(a, b):
    for k, v in b.items():
        a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
    return a
port = int(sys.argv[3])
base = {"admin": {"host": "127.0.0.1", "port": port}, "client": {"host": "127.0.0.1", "port": port + 1}, "log": {"debug": False}}
json.dump(merge(base, json.loads(sys.argv[2])), open(sys.argv[1], "w"))
PY
    taskset -c 0 "$1" -c "$config" >"$OUT/$2.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 200); do port_open "$PORT" && port_open "$CPORT" && return 0; sleep 0.05; done
    log "$2 did not start"; cat "$OUT/$2.log" >&2; exit 1
}

for round in $(seq 1 "$ROUNDS"); do
    # A B in odd rounds, B A in even ones: whichever side runs second in a round measured fewer connects/s (an A/A
    # run of one binary gave 0.81x), so each side goes second equally often (use an even ROUNDS).
    order="A B"; (( round % 2 == 0 )) && order="B A"
    for side in $order; do
        bin=$A; [[ $side == B ]] && bin=$B
        for n in $SIZES; do
            start "$bin" "$side"
            taskset -c 1 "$LOADTOOL" --admin-port "$PORT" --client-port "$CPORT" --server-pid "$PID" -n "$n" \
                --broadcasts "$BROADCASTS" --latency-rate 10000 --latency-seconds 5 --connect-window 256 \
                --label "$side" --json "$OUT/$side-$n-$round.json" >/dev/null
            stop; sleep 1
        done
        dir=$HA; [[ $side == B ]] && dir=$HB
        if [[ -n "$dir" ]]; then
            taskset -c 0 "$dir/BenchPushinator" --port "$HPORT" >"$OUT/$side-hello.log" 2>&1 &
            PID=$!
            for _ in $(seq 1 200); do grep -q LISTENING "$OUT/$side-hello.log" && break; sleep 0.05; done
            taskset -c 1 wrk -t1 -c64 -d2s http://127.0.0.1:$HPORT/hello >/dev/null
            taskset -c 1 wrk -t1 -c64 -d"${WRK_SECONDS}s" http://127.0.0.1:$HPORT/hello \
                | awk '/^Requests\/sec:/ {print $2}' >"$OUT/$side-hello-$round.txt"
            stop; sleep 1
        fi
        log "round $round $side done"
    done
done

# /user/send in its own block of short rounds, the two sides back to back and side A twice (the A/A control): with
# the sends 20 s of load-tool runs apart, as they were, the machine's drift between them decided the ratio (issue 16's
# metrics on/off gave 1.434x in one run, 1.10-1.21x in others, where CPU time and instructions per request differ by
# < 1 %; Benchmarks/README.md, "The metrics' cost on /user/send was the harness's").
if ((SEND_ROUNDS > 0)); then
    log "POST /user/send: $SEND_ROUNDS rounds of A, B and A again (Benchmarks/user-send-rounds.sh)"
    ea=${EXTRA_A:-'{}'}; eb=${EXTRA_B:-'{}'}
    SUMMARY="$OUT/send.json" ROUNDS=$SEND_ROUNDS SECONDS_=$SEND_SECONDS PORT=$PORT "$ROOT/Benchmarks/user-send-rounds.sh" "$A" \
        "A=$A@$ea" "B=$B@$eb" "A2=$A@$ea" >"$OUT/send.md"
fi

python3 - "$OUT" "$ROUNDS" "$SIZES" <<'EOF'
import json, os, statistics, sys
out, rounds, sizes = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
def med(xs): return statistics.median(xs) if xs else float("nan")
def load(side, n, key, sub):
    xs = []
    for r in range(1, rounds + 1):
        p = f"{out}/{side}-{n}-{r}.json"
        if os.path.exists(p):
            v = json.load(open(p)).get(key) or {}
            if sub in v: xs.append(float(v[sub]))
    return xs
def txt(side, name):
    xs = []
    for r in range(1, rounds + 1):
        p = f"{out}/{side}-{name}-{r}.txt"
        if os.path.exists(p) and open(p).read().strip(): xs.append(float(open(p).read()))
    return xs
rows = []
for n in sizes:
    rows.append((f"fan-out deliveries/s, {int(n):,} clients", load("A", n, "fanout", "deliveriesPerSecond"), load("B", n, "fanout", "deliveriesPerSecond"), True))
    rows.append((f"connects/s (WebSocket), {int(n):,} clients", load("A", n, "connect", "perSecond"), load("B", n, "connect", "perSecond"), True))
    rows.append((f"bytes per idle connection, {int(n):,} clients", load("A", n, "memory", "bytesPerConnection"), load("B", n, "memory", "bytesPerConnection"), False))
    rows.append((f"latency p99 ms, {int(n):,} clients", load("A", n, "latency", "p99Ms"), load("B", n, "latency", "p99Ms"), False))
send = json.load(open(f"{out}/send.json")) if os.path.exists(f"{out}/send.json") else None
if txt("A", "hello"): rows.append(("HTTP GET /hello req/s (BenchPushinator)", txt("A", "hello"), txt("B", "hello"), True))
print(f"| figure (median of {rounds} interleaved rounds) | before | after | after/before |")
print("| --- | ---: | ---: | ---: |")
for name, a, b, _ in rows:
    ma, mb = med(a), med(b)
    print(f"| {name} | {ma:,.1f} | {mb:,.1f} | {mb / ma if ma else float('nan'):.3f} |")
if send:
    a, b, a2 = send["A"], send["B"], send["A2"]
    print(f"| admin POST /user/send req/s (median of {len(a['rounds'])} rounds; per-round ratio) | {a['reqPerSecond']:,.1f} | {b['reqPerSecond']:,.1f} | {b['reqPerSecond'] / a['reqPerSecond']:.3f} ({b['pairedRatio']:.3f}) |")
    print(f"| the same, A/A control (A2 / A: the noise) | {a['reqPerSecond']:,.1f} | {a2['reqPerSecond']:,.1f} | {a2['reqPerSecond'] / a['reqPerSecond']:.3f} ({a2['pairedRatio']:.3f}) |")
    print(f"| admin POST /user/send, server CPU µs per request | {a['cpuMicrosecondsPerRequest']:.2f} | {b['cpuMicrosecondsPerRequest']:.2f} | {b['cpuMicrosecondsPerRequest'] / a['cpuMicrosecondsPerRequest']:.3f} ({b['pairedCPURatio']:.3f}) |")
    print()
    print(open(f"{out}/send.md").read(), end="")
EOF
