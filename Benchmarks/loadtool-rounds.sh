#!/usr/bin/env bash
# The load tool's figures (fan-out deliveries/s, WebSocket connects/s, bytes per idle connection) for several servers
# in one run: many short interleaved rounds, the median of the PER-ROUND ratios, and an A/A control.
#
#   Benchmarks/loadtool-rounds.sh LABEL=SPEC [LABEL=SPEC ...]
#     SPEC: BIN (a pushinator binary), BIN@JSON (the JSON deep-merged into its config, as in ab.sh), or `floor`
#   # before/after, the second `new` under another label as the A/A control:
#   ROUNDS=12 SIZES="1000 10000" Benchmarks/loadtool-rounds.sh new=/work/bins/s10/pushinator \
#       old=/work/bins/before-http/pushinator new2=/work/bins/s10/pushinator
#   # issue 18's "connect rate >= 1.0x the floor's in the same run", with a floor/floor A/A:
#   RATIOS="pushinator/floor floor2/floor" Benchmarks/loadtool-rounds.sh pushinator=BIN floor=floor floor2=floor
#
# For each N of SIZES, ROUNDS rounds; in a round every label runs once, in turn, so that labels of one round are seconds
# apart. The order turns by one label each round and runs backwards in every other block of as many rounds as labels
# (A B C, B C A, C A B, then C B A, A C B, B A C): over 2 x labels rounds every label runs in every position equally
# often, after each other label equally often. (Reversing alone, A B C / C B A, left B always in the middle: with
# the floor as B and again as C, the floor/floor "A/A" came out 0.72-0.90 for fan-out in three runs.) Use a ROUNDS
# that is a multiple of twice the number of labels. A run is a fresh server pinned to core 0 and one
# LoadTool run pinned to core 1 (as run.sh and ab.sh do): register N users, connect them over WebSocket (the connect
# rate), 2 s idle (memory), BROADCASTS broadcasts to all (fan-out; 0 = 500000/N), latency only if SCENARIOS has it.
# Why: the machine's speed drifts over tens of seconds (every label's rounds move together, by 20-40 %), so only a
# ratio between runs seconds apart is steady; a ratio of two medians taken further apart is what the drift decides.
# By default the run is in a session of its own at autogroup nice -20 (Benchmarks/raise-priority.sh; PRIORITY=0:
# without), since at ordinary priority other sessions' builds take the server's core away for seconds at a time.
#
# Output (stdout, Markdown), per N: one table, a row per label (medians over the rounds: fan-out deliveries/s,
# connects/s, bytes per idle connection, the server's CPU time per delivery and per connect from /proc, latency p99 if
# measured), then a row per ratio X/Y of RATIOS (default: every label / the first): the MEDIAN OF THE PER-ROUND RATIOS
# with their quartiles in brackets ([q1-q3]: the spread a single round has). Read a ratio against the A/A row's: a
# ratio is resolved only as far as the A/A lands from 1.000. Then each round's fan-out and connect figure per label.
# A run that lost deliveries or clients is reported on stderr and marked `!` in the per-round lines.
# Environment: ROUNDS (12), SIZES ("1000 10000"), SCENARIOS (connect,memory,fanout), BROADCASTS (0), LATENCY_RATE
# (10000), LATENCY_SECONDS (5), CONNECT_WINDOW (256), RATIOS ("B/A C/A"), PORT (21800: admin; clients PORT + 1),
# LOADTOOL, FLOOR (Benchmarks/Floor's release binary, built if absent), FLOOR_FLUSH_EVERY (tick), SERVER_CPUS (0),
# LOAD_CPUS (1), SUMMARY (write the medians and ratios as JSON there, for ab.sh), KEEP=1 (keep the raw files),
# PRIORITY (1). Needs python3, taskset, setsid.
set -euo pipefail
source "$(dirname "$0")/raise-priority.sh"  # a session of its own at autogroup nice -20 (PRIORITY=0: not)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
(($# > 0)) || { sed -n '2,12p' "$0" >&2; exit 2; }
ROUNDS=${ROUNDS:-12}; SIZES=${SIZES:-"1000 10000"}; SCENARIOS=${SCENARIOS:-connect,memory,fanout}
BROADCASTS=${BROADCASTS:-0}; PORT=${PORT:-21800}; CPORT=$((PORT + 1))
SERVER_CPUS=${SERVER_CPUS:-0}; LOAD_CPUS=${LOAD_CPUS:-1}
LOADTOOL=${LOADTOOL:-"$ROOT/Benchmarks/LoadTool/.build/release/LoadTool"}
FLOOR=${FLOOR:-"$ROOT/Benchmarks/Floor/.build/release/Floor"}
[[ -x "$LOADTOOL" ]] || (cd "$ROOT/Benchmarks/LoadTool" && swift build -c release >&2)
if [[ " $* " == *=floor\ * && ! -x "$FLOOR" ]]; then (cd "$ROOT/Benchmarks/Floor" && swift build -c release >&2); fi
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
OUT=$(mktemp -d /tmp/loadtool-rounds.XXXXXX)
log() { echo "[loadtool-rounds] $*" >&2; }
PID=""
stop() {
    [[ -n "$PID" ]] || return 0
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""
}
trap 'stop; [[ -n "${KEEP:-}" ]] && log "kept $OUT" || rm -rf "$OUT"' EXIT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {  # label spec -> PID
    local label=$1 spec=$2 bin extra=""
    if port_open "$PORT" || port_open "$CPORT"; then log "port $PORT or $CPORT busy"; exit 1; fi
    if [[ $spec == floor ]]; then
        taskset -c "$SERVER_CPUS" "$FLOOR" --admin-port "$PORT" --client-port "$CPORT" \
            --flush-every "${FLOOR_FLUSH_EVERY:-tick}" >"$OUT/server-$label.log" 2>&1 &
    else
        bin=$spec; [[ $spec == *@* ]] && { bin=${spec%%@*}; extra=${spec#*@}; }
        python3 "$ROOT/Benchmarks/pushinator-config.py" "$OUT/$label.json" "$PORT" "$extra"
        taskset -c "$SERVER_CPUS" "$bin" -c "$OUT/$label.json" >"$OUT/server-$label.log" 2>&1 &
    fi
    PID=$!
    for _ in $(seq 1 200); do port_open "$PORT" && port_open "$CPORT" && return 0; sleep 0.05; done
    log "$label did not start"; cat "$OUT/server-$label.log" >&2; exit 1
}

specs=("$@")
for n in $SIZES; do
    for round in $(seq 1 "$ROUNDS"); do
        count=${#specs[@]}; rotation=$(((round - 1) % count)); backwards=$((((round - 1) / count) % 2))
        for k in "${!specs[@]}"; do
            index=$(((k + rotation) % count)); ((backwards)) && index=$(((count - 1 - k + rotation) % count))
            label=${specs[$index]%%=*}; spec=${specs[$index]#*=}
            start "$label" "$spec"
            taskset -c "$LOAD_CPUS" "$LOADTOOL" --admin-port "$PORT" --client-port "$CPORT" --server-pid "$PID" -n "$n" \
                --scenarios "$SCENARIOS" --broadcasts "$BROADCASTS" --latency-rate "${LATENCY_RATE:-10000}" \
                --latency-seconds "${LATENCY_SECONDS:-5}" --connect-window "${CONNECT_WINDOW:-256}" --label "$label" \
                --json "$OUT/$label-$n-$round.json" >/dev/null 2>"$OUT/$label-$n-$round.log" ||
                log "N=$n round $round $label: the load tool failed ($(tail -1 "$OUT/$label-$n-$round.log"))"
            stop
            log "N=$n round $round $label: $(grep -E 'authenticated|fan-out' "$OUT/$label-$n-$round.log" | sed 's/.*\] //' | tr '\n' ' ')"
            sleep 0.3
        done
    done
done

python3 - "$OUT" "$ROUNDS" "$SIZES" "${RATIOS:-}" "${SUMMARY:-}" "${specs[@]}" <<'EOF'
import json, os, statistics, sys
out, rounds, sizes, ratios, summary = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split(), sys.argv[5]
labels = [s.split("=", 1)[0] for s in sys.argv[6:]]
ratios = [tuple(r.split("/")) for r in ratios] or [(label, labels[0]) for label in labels[1:]]
def cpu_us(part, count):  # the server's CPU time over the phase (percent of a core, LoadTool's /proc meter) per item
    return part["cpu"]["server"] / 100 * part["seconds"] / count * 1e6 if part and count and part["cpu"]["server"] >= 0 else None
FIGURES = [  # key, heading, value of one run, format
    ("fanout", "fan-out deliveries/s", lambda r: (r.get("fanout") or {}).get("deliveriesPerSecond"), "{:,.0f}"),
    ("connect", "connects/s (WebSocket)", lambda r: (r.get("connect") or {}).get("perSecond"), "{:,.0f}"),
    ("memory", "bytes per idle connection", lambda r: (r.get("memory") or {}).get("bytesPerConnection"), "{:,.0f}"),
    ("fanoutCPU", "server CPU µs per delivery", lambda r: cpu_us(r.get("fanout"), (r.get("fanout") or {}).get("delivered")), "{:.3f}"),
    ("connectCPU", "server CPU µs per connect", lambda r: cpu_us(r.get("connect"), (r.get("connect") or {}).get("authenticated")), "{:.1f}"),
    ("p99", "latency p99 ms", lambda r: (r.get("latency") or {}).get("p99Ms"), "{:.2f}"),
]
def quartiles(xs):
    if len(xs) < 2: return (xs[0], xs[0]) if xs else (float("nan"),) * 2
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[2]
result = {}
for n in sizes:
    runs = {}
    for label in labels:
        runs[label] = []
        for r in range(1, rounds + 1):
            p = f"{out}/{label}-{n}-{r}.json"
            runs[label].append(json.load(open(p)) if os.path.exists(p) else {})
    def bad(run):
        c, f = run.get("connect") or {}, run.get("fanout") or {}
        return not run or (c and c.get("failed", 0) > 0) or (f and f.get("lost", 0) > 0)
    figures = [f for f in FIGURES if any(f[2](run) is not None for label in labels for run in runs[label])]
    values = {label: {key: [get(run) for run in runs[label]] for key, _, get, _ in figures} for label in labels}
    med = lambda xs: statistics.median([x for x in xs if x is not None]) if any(x is not None for x in xs) else None
    fmt = lambda f, x: "–" if x is None else f.format(x)
    print(f"| {int(n):,} clients, {rounds} interleaved rounds | " + " | ".join(h for _, h, _, _ in figures) + " |")
    print("| --- |" + " ---: |" * len(figures))
    entry = {"medians": {}, "ratios": {}, "rounds": {}}
    for label in labels:
        print(f"| {label} (median) | " + " | ".join(fmt(f, med(values[label][k])) for k, _, _, f in figures) + " |")
        entry["medians"][label] = {k: med(values[label][k]) for k, _, _, _ in figures}
        entry["rounds"][label] = values[label]
    for x, y in ratios:
        cells, entry["ratios"][f"{x}/{y}"] = [], {}
        for k, _, _, _ in figures:
            per = [a / b for a, b in zip(values[x][k], values[y][k]) if a is not None and b]
            if not per: cells.append("–"); continue
            q1, q3 = quartiles(per)
            cells.append(f"**{statistics.median(per):.3f}** [{q1:.2f}-{q3:.2f}]")
            entry["ratios"][f"{x}/{y}"][k] = {"median": statistics.median(per), "q1": q1, "q3": q3, "rounds": per}
        print(f"| {x} / {y}, median of the per-round ratios [quartiles] | " + " | ".join(cells) + " |")
    print()
    for k, heading, _, _ in figures[:2]:
        print(f"{heading}, each round (k, `!` = lost deliveries or clients):")
        for label in labels:
            print(f"- {label}: " + " ".join("–" if v is None else f"{v / 1000:.1f}" + ("!" if bad(run) else "")
                                            for v, run in zip(values[label][k], runs[label])))
    print()
    result[n] = entry
if summary: json.dump(result, open(summary, "w"))
EOF
