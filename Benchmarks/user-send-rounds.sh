#!/usr/bin/env bash
# Admin `POST /user/send` only, several configurations of one or more binaries in one run, many short interleaved
# rounds, with an A/A control: the wall-clock check of a setting's cost (issue 16: the metrics within 3 % of none).
#
#   Benchmarks/user-send-rounds.sh BIN LABEL=JSON [LABEL=JSON ...]      # LABEL=BIN@JSON runs another binary
#   ROUNDS=10 SECONDS_=3 Benchmarks/user-send-rounds.sh BIN on='{}' off='{"admin":{"metrics":false}}' on2='{}'
#
# Each LABEL's JSON is deep-merged into the base config of ab.sh (admin on PORT, client on PORT + 1, the offline queue
# on: the user has no socket, so every send is queued). Repeat the first configuration under another label (on2
# above) for the A/A control: the spread between two labels of one configuration is what the run cannot resolve.
# Per round the labels run in turn, the order turning by one label each round and backwards in every other block of
# as many rounds as labels (A B C, B C A, C A B, C B A, A C B, B A C: each label in each place equally often; until
# session 11 it was A B C, C B A, which kept B always in the middle); each run is a fresh
# server pinned to core 0, the user registered, wrk -t1 -c64 (HTTP/user-send.lua) pinned to core 1 for WARMUP_ s,
# then SECONDS_ s measured. Per label it prints the median req/s and, from the server's threads' /proc schedstat
# over the measured seconds, the CPU time per request (user + system: what the server spends, which the other load
# on the machine moves far less than req/s), how long its threads waited for a CPU, how often they slept, and the
# time the host took core 0 away from this VM (steal, /proc/stat).
#
# PRIORITY=1 (default) runs the measurement in a session of its own at autogroup nice -20 (Benchmarks/raise-priority.sh,
# shared with ab.sh and loadtool-rounds.sh): with the kernel's autogroups, `nice` alone does nothing against other
# sessions' builds, and on the shared 2-core machine the server thread then ran 0.2-0.8 s of every 3 s and waited
# 1-2 s for the CPU (req/s A/A 0.55-1.15). At -20 it runs ~2.8 s of 3 and waits ~15 ms. PRIORITY=0 measures without
# it. Other environment: PORT (21700), WARMUP_ (1), SUMMARY (a JSON file the figures are written to, for ab.sh), SERVER_CPUS (0) and WRK_CPUS (1) for
# taskset (SERVER_CPUS=0,1 gives the server two event loops), KEEP=1 (keep the raw files). Needs wrk, curl, python3,
# taskset, setsid. The machine's speed drifts over tens of seconds (every label's rounds slow down together), so the
# median of the per-round ratios (labels run seconds apart) is the steadier figure of the two ratios printed.
set -euo pipefail
source "$(dirname "$0")/raise-priority.sh"  # a session of its own at autogroup nice -20 (PRIORITY=0: not)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:?binary}; shift
(($# > 0)) || { echo "usage: $0 BIN LABEL=JSON [LABEL=JSON ...]" >&2; exit 2; }
ROUNDS=${ROUNDS:-10}; DURATION=${SECONDS_:-3}; WARMUP=${WARMUP_:-1}; PORT=${PORT:-21700}
SERVER_CPUS=${SERVER_CPUS:-0}; WRK_CPUS=${WRK_CPUS:-1}
OUT=$(mktemp -d /tmp/user-send-rounds.XXXXXX)
PID=""
stop() { [[ -n "$PID" ]] || return 0; kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; }
trap 'stop; [[ -n "${KEEP:-}" ]] && echo "[user-send-rounds] kept $OUT" >&2 || rm -rf "$OUT"' EXIT
threads() {  # pid -> one line per thread: tid run_ns wait_ns voluntary_switches
    local t
    for t in /proc/"$1"/task/*; do
        echo "${t##*/} $(cut -d' ' -f1,2 "$t/schedstat" 2>/dev/null) $(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status" 2>/dev/null)"
    done
}
specs=("$@")
for round in $(seq 1 "$ROUNDS"); do
    count=${#specs[@]}; rotation=$(((round - 1) % count)); backwards=$((((round - 1) / count) % 2))
    for k in "${!specs[@]}"; do  # the order of loadtool-rounds.sh: every label in every place equally often
        index=$(((k + rotation) % count)); ((backwards)) && index=$(((count - 1 - k + rotation) % count))
        spec=${specs[$index]}; label=${spec%%=*}; extra=${spec#*=}; bin=$BIN
        if [[ $extra == *@* && $extra != \{* ]]; then bin=${extra%%@*}; extra=${extra#*@}; fi
        python3 "$ROOT/Benchmarks/pushinator-config.py" "$OUT/config.json" "$PORT" "$extra"
        taskset -c "$SERVER_CPUS" "$bin" -c "$OUT/config.json" >"$OUT/server-$label.log" 2>&1 &
        PID=$!
        for _ in $(seq 1 200); do curl -sf -X POST "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break; sleep 0.05; done
        curl -sf -X POST "http://127.0.0.1:$PORT/user/register" -d '{"userId":"bench-user","hash":"h"}' >/dev/null
        taskset -c "$WRK_CPUS" wrk -t1 -c64 -d"${WARMUP}s" -s "$ROOT/Benchmarks/HTTP/user-send.lua" "http://127.0.0.1:$PORT/user/send" >/dev/null
        threads "$PID" >"$OUT/$label-$round.t0"; grep '^cpu0 ' /proc/stat >>"$OUT/$label-$round.t0"
        taskset -c "$WRK_CPUS" wrk -t1 -c64 -d"${DURATION}s" --latency -s "$ROOT/Benchmarks/HTTP/user-send.lua" \
            "http://127.0.0.1:$PORT/user/send" >"$OUT/$label-$round.wrk"
        threads "$PID" >"$OUT/$label-$round.t1"; grep '^cpu0 ' /proc/stat >>"$OUT/$label-$round.t1"
        stop
        grep -q "Non-2xx" "$OUT/$label-$round.wrk" && { echo "non-2xx answers ($label):"; cat "$OUT/$label-$round.wrk"; exit 1; }
        echo "[user-send-rounds] round $round $label $(awk '/^Requests\/sec:/ {print $2}' "$OUT/$label-$round.wrk") req/s" >&2
        sleep 0.3
    done
done
python3 - "$OUT" "$ROUNDS" "${SUMMARY:-}" "${specs[@]}" <<'EOF'
import json, re, statistics, sys
out, rounds, summary, labels = sys.argv[1], int(sys.argv[2]), sys.argv[3], [s.split("=", 1)[0] for s in sys.argv[4:]]
def threads(path):
    rows = {}
    for line in open(path):
        x = line.split()
        if len(x) == 4: rows[x[0]] = tuple(int(v) for v in x[1:])
        if x[0] == "cpu0": steal = int(x[8])
    return rows, steal
stats = {}
for label in labels:
    runs = []
    for r in range(1, rounds + 1):
        text = open(f"{out}/{label}-{r}.wrk").read()
        requests = int(re.search(r"(\d+) requests in", text).group(1))
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
        (a, s0), (b, s1) = threads(f"{out}/{label}-{r}.t0"), threads(f"{out}/{label}-{r}.t1")
        d = [sum(b[t][i] - a[t][i] for t in b if t in a) for i in range(3)]
        runs.append((rps, d[0] / requests / 1000, d[1] / 1e6, d[2], (s1 - s0) * 10))
    stats[label] = runs
med = lambda xs: statistics.median(xs)
# rounds are adjacent in time, and the machine's speed drifts over tens of seconds: the median of the per-round ratios
paired = lambda label, k=0: med(stats[label][i][k] / stats[labels[0]][i][k] for i in range(rounds))
first = labels[0]
r0, c0 = med(x[0] for x in stats[first]), med(x[1] for x in stats[first])
print(f"| /user/send, {rounds} interleaved rounds | req/s (median) | / {first} | median of the per-round ratios | CPU µs per request (median) | / {first} (per round) | wait for CPU, ms per run | sleeps per run | core 0 stolen by the host, ms per run | req/s of each round |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
if summary:
    json.dump({label: {"reqPerSecond": med(x[0] for x in stats[label]), "rounds": [x[0] for x in stats[label]],
                       "pairedRatio": paired(label), "cpuMicrosecondsPerRequest": med(x[1] for x in stats[label]),
                       "pairedCPURatio": paired(label, 1)}
               for label in labels}, open(summary, "w"))
for label in labels:
    xs = stats[label]
    rps, cpu = med(x[0] for x in xs), med(x[1] for x in xs)
    print(f"| {label} | {rps:,.0f} | {rps / r0:.3f} | {paired(label):.3f} | {cpu:.2f} | {cpu / c0:.3f} ({paired(label, 1):.3f}) | {med(x[2] for x in xs):,.0f} | {med(x[3] for x in xs):,.0f} | {med(x[4] for x in xs):,.0f} (max {max(x[4] for x in xs):,}) | {' '.join(f'{x[0] / 1000:.1f}k' for x in xs)} |")
EOF
