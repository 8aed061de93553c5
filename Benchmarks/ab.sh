#!/usr/bin/env bash
# Before/after on the hot paths, two pushinator binaries side by side in one run, in short interleaved rounds of
# A (before), B (after) and A again (A2: the A/A control, what the run cannot resolve):
#
#   Benchmarks/ab.sh BEFORE_BIN AFTER_BIN [BEFORE_HTTP_BENCH_DIR AFTER_HTTP_BENCH_DIR]
#   ROUNDS=12 SIZES="1000 10000" Benchmarks/ab.sh /tmp/base/pushinator .build-bench/release/pushinator
#
# Three blocks, each of rounds in which A, B and A2 run seconds apart, the order changing from round to round:
# 1. the load tool's fan-out, connect (WebSocket), idle-memory and latency scenarios at each N, a fresh server per run
#    (Benchmarks/loadtool-rounds.sh, ROUNDS rounds per N);
# 2. with the two optional folders (the release bin paths of Benchmarks/HTTP built at each commit), wrk on
#    BenchPushinator's GET /hello, ROUNDS rounds;
# 3. the admin API's POST /user/send (Benchmarks/user-send-rounds.sh, SEND_ROUNDS rounds).
# The machine's speed drifts by 20-40 % over tens of seconds, so the figure to read is the MEDIAN OF THE PER-ROUND
# RATIOS after/before, beside the A/A's (A2/A) from the same rounds: a ratio is resolved only as far as the A/A lands
# from 1.000. The table gives each figure's medians for A and B, both per-round ratios and their quartiles; the
# blocks' own tables follow it. The whole run is in a session of its own at autogroup nice -20
# (Benchmarks/raise-priority.sh; PRIORITY=0 measures without). Server pinned to core 0, load on core 1, as in run.sh.
# Environment: ROUNDS (6; a multiple of 6 puts each side in each place equally often), SIZES ("1000 10000"),
# BROADCASTS (0 = 500000/N), SCENARIOS (connect,memory,fanout,latency; latency: 10,000 sends/s for LATENCY_SECONDS,
# 5), WRK_SECONDS (4, /hello),
# SEND_ROUNDS (10; 0 skips /user/send), SEND_SECONDS (3), PORT (19700: admin; client PORT + 1, /hello PORT + 10),
# LOADTOOL, KEEP=1 (keep the raw files), EXTRA_A / EXTRA_B (a JSON object deep-merged into that side's config, e.g.
# EXTRA_B='{"client": {"recovery": {...}}}'; the same binary on both sides with two configs compares a setting).
# The cost of the Prometheus metrics (issue 16: fan-out and /user/send within 3 % of no metrics, same run): one
# release binary on both sides, the metrics off on side B:
#   EXTRA_B='{"admin": {"metrics": false}}' Benchmarks/ab.sh .build-bench/release/pushinator .build-bench/release/pushinator
# then after/before is "metrics off / metrics on" (a ratio above 1 is what the metrics cost; see Benchmarks/README.md,
# "The metrics' cost on `/user/send` was the harness's (session 11)").
set -euo pipefail
source "$(dirname "$0")/raise-priority.sh"  # a session of its own at autogroup nice -20 (PRIORITY=0: not)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
A=${1:?before binary}; B=${2:?after binary}; HA=${3:-}; HB=${4:-}
ROUNDS=${ROUNDS:-6}; SIZES=${SIZES:-"1000 10000"}; WRK_SECONDS=${WRK_SECONDS:-4}
SEND_ROUNDS=${SEND_ROUNDS:-10}; SEND_SECONDS=${SEND_SECONDS:-3}
PORT=${PORT:-19700}; HPORT=$((PORT + 10))
OUT=$(mktemp -d)
log() { echo "[ab.sh] $*" >&2; }
PID=""
stop() { [[ -n "$PID" ]] || return 0; kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; }
trap 'stop; [[ -n "${KEEP:-}" ]] && log "kept $OUT" || rm -rf "$OUT"' EXIT
ea=${EXTRA_A:-'{}'}; eb=${EXTRA_B:-'{}'}

log "load tool: $ROUNDS rounds of A, B and A again per N (Benchmarks/loadtool-rounds.sh)"
SUMMARY="$OUT/load.json" ROUNDS=$ROUNDS SIZES=$SIZES SCENARIOS=${SCENARIOS:-connect,memory,fanout,latency} \
    LATENCY_SECONDS=${LATENCY_SECONDS:-5} PORT=$PORT RATIOS="B/A A2/A" \
    "$ROOT/Benchmarks/loadtool-rounds.sh" "A=$A@$ea" "B=$B@$eb" "A2=$A@$ea" >"$OUT/load.md"

if [[ -n "$HA" ]]; then
    log "GET /hello: $ROUNDS rounds of A, B and A again"
    for round in $(seq 1 "$ROUNDS"); do
        # the order of loadtool-rounds.sh: turning by one each round, backwards in every other block of three
        orders=("A B A2" "B A2 A" "A2 A B" "A2 B A" "A A2 B" "B A A2")
        for side in ${orders[$(((round - 1) % 6))]}; do
            dir=$HA; [[ $side == B ]] && dir=$HB
            taskset -c 0 "$dir/BenchPushinator" --port "$HPORT" >"$OUT/$side-hello.log" 2>&1 &
            PID=$!
            for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$HPORT") 2>/dev/null && break; sleep 0.05; done
            taskset -c 1 wrk -t1 -c64 -d1s http://127.0.0.1:$HPORT/hello >/dev/null
            taskset -c 1 wrk -t1 -c64 -d"${WRK_SECONDS}s" http://127.0.0.1:$HPORT/hello \
                | awk '/^Requests\/sec:/ {print $2}' >"$OUT/$side-hello-$round.txt"
            stop; sleep 0.3
        done
    done
fi

# /user/send in its own block of short rounds: with the sends 20 s of load-tool runs apart, as they once were, the
# machine's drift between them decided the ratio (issue 16's metrics on/off gave 1.434x in one run, 1.10-1.21x in
# others, where CPU time and instructions per request differ by < 1 %; Benchmarks/README.md).
if ((SEND_ROUNDS > 0)); then
    log "POST /user/send: $SEND_ROUNDS rounds of A, B and A again (Benchmarks/user-send-rounds.sh)"
    SUMMARY="$OUT/send.json" ROUNDS=$SEND_ROUNDS SECONDS_=$SEND_SECONDS PORT=$PORT "$ROOT/Benchmarks/user-send-rounds.sh" "$A" \
        "A=$A@$ea" "B=$B@$eb" "A2=$A@$ea" >"$OUT/send.md"
fi

python3 - "$OUT" "$ROUNDS" <<'EOF'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def per_round(a, b):
    r = [y / x for x, y in zip(a, b) if x and y is not None]
    q = statistics.quantiles(r, n=4, method="inclusive") if len(r) > 1 else r * 3
    return statistics.median(r), q[0], q[2]
def cell(m): return f"**{m[0]:.3f}** [{m[1]:.2f}-{m[2]:.2f}]"
print("| figure (median of the rounds) | before (A) | after (B) | after/before, median of per-round ratios [quartiles] | A/A (A2/A) |")
print("| --- | ---: | ---: | ---: | ---: |")
if os.path.exists(f"{out}/load.json"):
    names = {"fanout": ("fan-out deliveries/s", "{:,.0f}"), "connect": ("connects/s (WebSocket)", "{:,.0f}"),
             "memory": ("bytes per idle connection", "{:,.0f}"), "fanoutCPU": ("server CPU µs per delivery", "{:.3f}"),
             "connectCPU": ("server CPU µs per connect", "{:.1f}"), "p99": ("latency p99 ms", "{:.2f}")}
    for n, entry in json.load(open(f"{out}/load.json")).items():
        for key, (name, f) in names.items():
            if key not in entry["medians"]["A"]: continue
            a, b = entry["medians"]["A"][key], entry["medians"]["B"][key]
            rb, ra = entry["ratios"]["B/A"].get(key), entry["ratios"]["A2/A"].get(key)
            if a is None or rb is None: continue
            print(f"| {name}, {int(n):,} clients | {f.format(a)} | {f.format(b)} | {cell((rb['median'], rb['q1'], rb['q3']))} | {cell((ra['median'], ra['q1'], ra['q3']))} |")
def txt(side):
    xs = []
    for r in range(1, rounds + 1):
        p = f"{out}/{side}-hello-{r}.txt"
        xs.append(float(open(p).read()) if os.path.exists(p) and open(p).read().strip() else None)
    return xs
if any(txt("A")):
    a, b, a2 = txt("A"), txt("B"), txt("A2")
    print(f"| HTTP GET /hello req/s (BenchPushinator) | {statistics.median(x for x in a if x):,.0f} | {statistics.median(x for x in b if x):,.0f} | {cell(per_round(a, b))} | {cell(per_round(a, a2))} |")
if os.path.exists(f"{out}/send.json"):
    send = json.load(open(f"{out}/send.json"))
    a, b, a2 = send["A"], send["B"], send["A2"]
    print(f"| admin POST /user/send req/s ({len(a['rounds'])} rounds) | {a['reqPerSecond']:,.0f} | {b['reqPerSecond']:,.0f} | **{b['pairedRatio']:.3f}** | **{a2['pairedRatio']:.3f}** |")
    print(f"| admin POST /user/send, server CPU µs per request | {a['cpuMicrosecondsPerRequest']:.2f} | {b['cpuMicrosecondsPerRequest']:.2f} | **{b['pairedCPURatio']:.3f}** | **{a2['pairedCPURatio']:.3f}** |")
print()
for block in ("load.md", "send.md"):
    if os.path.exists(f"{out}/{block}"): print(open(f"{out}/{block}").read(), end="\n")
EOF
