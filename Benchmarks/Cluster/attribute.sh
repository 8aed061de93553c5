#!/usr/bin/env bash
# Attributes the cost of cluster mode to one node's fan-out with counts the machine's load does not move much:
# CPU seconds of the node and of the PostgreSQL server processes, system calls, writev calls and context switches,
# per /broadcast and per delivery, for one node without a cluster (`single`) and the same node alone on the bus
# (`single-bus`; `single-bus-wait`: with `cluster.waitForLog`, each answer after its publish committed), at the same
# admin concurrency.
#
#   Benchmarks/Cluster/attribute.sh                       # release builds from .build-bench (as run.sh), 1,000 clients
#   PUSHINATOR_BIN=... LOADTOOL_BIN=... Benchmarks/Cluster/attribute.sh
#   MODES="single single-bus" CLIENTS=1000 BROADCASTS=2000 ADMIN="--admin-connections 4 --admin-depth 8" Benchmarks/Cluster/attribute.sh
#   MODES=cross-send SENDS=10000 SEND_RATE=2000 Benchmarks/Cluster/attribute.sh   # two nodes: CPU and syscalls per cross-node send
#   PORT_BASE=19700 ...    # the nodes' ports: A admin PORT_BASE, client +1; B +10, +11
#
# Each mode runs twice on a fresh node: the LoadTool connecting CLIENTS clients only, then connecting them and posting
# BROADCASTS broadcasts; the counts of the first run are subtracted from the second's, so what is left is the fan-out
# alone (registration, connects, start-up and teardown cancel). The node runs under `perf stat` (task-clock,
# context-switches, raw_syscalls:sys_enter, syscalls:sys_enter_writev), the PostgreSQL processes by utime+stime of
# /proc/PID/stat (the run's postmaster and its children). Needs perf with tracepoints (perf_event_paranoid <= 2 as root).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/Benchmarks"
if [[ -z "${PUSHINATOR_TEST_POSTGRES_URL:-}" ]]; then
    exec "$ROOT/scripts/with-postgres.sh" "$0" "$@"
fi
POSTGRES="$PUSHINATOR_TEST_POSTGRES_URL"
CLIENTS=${CLIENTS:-1000}
BROADCASTS=${BROADCASTS:-2000}
MODES=${MODES:-"single single-bus"}
ADMIN=${ADMIN:-"--admin-connections 4 --admin-depth 8"}
LOADTOOL=${LOADTOOL_BIN:-$BENCH/LoadTool/.build/release/LoadTool}
PUSHINATOR=${PUSHINATOR_BIN:-$ROOT/.build-bench/release/pushinator}
PORT_BASE=${PORT_BASE:-19700}  # node A: admin PORT_BASE, client +1; node B (cross-send): +10, +11
A_ADMIN=$PORT_BASE; A_CLIENT=$((PORT_BASE + 1)); B_ADMIN=$((PORT_BASE + 10)); B_CLIENT=$((PORT_BASE + 11))
TMP="$BENCH/results/tmp/cluster-attribute"
mkdir -p "$TMP"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
log() { echo "[attribute] $*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

NODE_PID=""
PERF_PID=""
cleanup() {
    [[ -n "$NODE_PID" ]] && { kill "$NODE_PID" 2>/dev/null || true; }
    [[ -n "$PERF_PID" ]] && { wait "$PERF_PID" 2>/dev/null || true; }
    PERF_PID=""; NODE_PID=""
}
trap 'cleanup; stop_two' EXIT

start_node() {  # mode
    local cluster=""
    case $1 in
        single-bus) cluster=", \"cluster\": {\"postgres\": \"$POSTGRES\", \"channelPrefix\": \"attr$RANDOM\"}" ;;
        single-bus-wait) cluster=", \"cluster\": {\"postgres\": \"$POSTGRES\", \"channelPrefix\": \"attr$RANDOM\", \"waitForLog\": true}" ;;
    esac
    cat >"$TMP/node.json" <<EOF
{"admin": {"host": "127.0.0.1", "port": $A_ADMIN}, "client": {"host": "127.0.0.1", "port": $A_CLIENT}, "log": {"debug": false}$cluster}
EOF
    # perf stat launches the node, so that every thread it ever has is counted (start-up and shutdown cancel out)
    perf stat -x, -e "$EVENTS" -o "$TMP/perf.csv" -- taskset -c 0 "$PUSHINATOR" -c "$TMP/node.json" >"$TMP/node.out" 2>&1 &
    PERF_PID=$!
    for _ in $(seq 1 50); do
        NODE_PID=$(pgrep -P "$PERF_PID" || true)
        [[ -n "$NODE_PID" ]] && break
        sleep 0.1
    done
    for _ in $(seq 1 300); do
        port_open $A_ADMIN && port_open $A_CLIENT && { sleep 1; return 0; }  # 1 s: the bus's first heartbeat and pool
        sleep 0.1
    done
    log "the node did not start"; cat "$TMP/node.out" >&2; return 1
}

PG_PORT=${POSTGRES##*:}; PG_PORT=${PG_PORT%%/*}
postgres_ticks() {  # utime+stime of this run's PostgreSQL (its postmaster and children; other servers on the machine are not counted), in clock ticks
    local total=0 pid fields postmaster pids
    postmaster=$(pgrep -f "postgres.* -p $PG_PORT" | head -1 || true)
    if [[ -n "$postmaster" ]]; then pids="$postmaster $(pgrep -P "$postmaster" | tr '\n' ' ')"; else pids=$(pgrep -x postgres); fi
    for pid in $pids; do
        fields=$(cut -d')' -f2 "/proc/$pid/stat" 2>/dev/null) || continue
        set -- $fields
        total=$((total + ${12} + ${13}))
    done
    echo "$total"
}

EVENTS=task-clock,context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_writev,syscalls:sys_enter_write,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_wait
one_run() {  # mode scenarios broadcasts -> prints "event value" lines
    local mode=$1 scenarios=$2 broadcasts=$3
    start_node "$mode"
    local pg_before; pg_before=$(postgres_ticks)
    # shellcheck disable=SC2086
    taskset -c 1 "$LOADTOOL" --admin-port $A_ADMIN --client-port $A_CLIENT -n "$CLIENTS" --scenarios "$scenarios" \
        --broadcasts "$broadcasts" --label "$mode" $ADMIN >"$TMP/loadtool.out" 2>&1 || { cat "$TMP/loadtool.out" >&2; return 1; }
    local pg_after; pg_after=$(postgres_ticks)
    grep -E "deliveries/s|fan-out" "$TMP/loadtool.out" | head -3 >&2 || true
    kill "$NODE_PID"; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=""; NODE_PID=""
    awk -F, '$1 ~ /^[0-9.]+$/ { print $3, $1 }' "$TMP/perf.csv"
    echo "postgres-ms $(( (pg_after - pg_before) * 1000 / $(getconf CLK_TCK) ))"
}

# cross-send: two nodes A and B on the bus, CLIENTS clients on each, SENDS /user/send each posted to the node its user
# is not on (as run.sh's `bus` scenario, at SEND_RATE/s over 64 admin connections per node); counted per send, both
# nodes together (each under perf stat) and PostgreSQL.
SEND_RATE=${SEND_RATE:-2000}
SENDS=${SENDS:-10000}
TWO_PIDS=()
TWO_PERFS=()
start_two() {  # prefix
    local name admin client
    for name in a b; do
        if [[ $name == a ]]; then admin=$A_ADMIN; client=$A_CLIENT; else admin=$B_ADMIN; client=$B_CLIENT; fi
        printf '{"admin": {"host": "127.0.0.1", "port": %s}, "client": {"host": "127.0.0.1", "port": %s}, "log": {"debug": false}, "cluster": {"postgres": "%s", "channelPrefix": "%s"}}\n' \
            "$admin" "$client" "$POSTGRES" "$1" >"$TMP/node-$name.json"
        perf stat -x, -e "$EVENTS" -o "$TMP/perf-$name.csv" -- taskset -c 0 "$PUSHINATOR" -c "$TMP/node-$name.json" >"$TMP/node-$name.out" 2>&1 &
        TWO_PERFS+=($!)
        for _ in $(seq 1 300); do port_open "$admin" && port_open "$client" && break; sleep 0.1; done
        TWO_PIDS+=("$(pgrep -P "${TWO_PERFS[-1]}")")
    done
    sleep 2  # the nodes see each other (initial heartbeats)
}
stop_two() {
    local pid
    for pid in "${TWO_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${TWO_PERFS[@]}"; do wait "$pid" 2>/dev/null || true; done
    TWO_PIDS=(); TWO_PERFS=()
}
two_run() {  # scenarios -> "event value" lines, both nodes summed
    start_two "attr$RANDOM"
    local pg_before; pg_before=$(postgres_ticks)
    taskset -c 1 "$LOADTOOL" --admin-port $A_ADMIN --client-port $A_CLIENT --admin-ports $A_ADMIN,$B_ADMIN --client-ports $A_CLIENT,$B_CLIENT --cross-sends -n $((2 * CLIENTS)) \
        --scenarios "$1" --latency-rate "$SEND_RATE" --latency-seconds "$(python3 -c "print($SENDS / $SEND_RATE)")" \
        --admin-connections 64 --label cross-send >"$TMP/loadtool.out" 2>&1 || { cat "$TMP/loadtool.out" >&2; stop_two; return 1; }
    local pg_after; pg_after=$(postgres_ticks)
    grep -E "latency:" "$TMP/loadtool.out" >&2 || true
    # the sends made (the tool may fall behind the rate): "latency: <delivered>/<sent> delivered"
    sed -n 's|.*latency: [0-9]*/\([0-9]*\) delivered.*|\1|p' "$TMP/loadtool.out" | tail -1 >"$TMP/cross-send.sent"
    stop_two
    awk -F, '$1 ~ /^[0-9.]+$/ { sum[$3] += $1 } END { for (e in sum) print e, sum[e] }' "$TMP/perf-a.csv" "$TMP/perf-b.csv"
    echo "postgres-ms $(( (pg_after - pg_before) * 1000 / $(getconf CLK_TCK) ))"
}
if [[ " $MODES " == *" cross-send "* ]]; then
    log "cross-send: connect only"
    two_run connect >"$TMP/cross-send.base"
    sleep 1
    log "cross-send: connect + $SENDS sends at $SEND_RATE/s"
    two_run connect,latency >"$TMP/cross-send.full"
    sent=$(cat "$TMP/cross-send.sent")
    echo "== cross-send: per /user/send across the bus (nodes A and B together), $sent sends made of $SENDS at $SEND_RATE/s"
    awk -v n="$sent" '
        NR == FNR { base[$1] = $2; next }
        { d = $2 - base[$1]
          if ($1 == "task-clock") printf "  nodes CPU ms         %10.4f per send\n", d / n
          else if ($1 == "postgres-ms") printf "  PostgreSQL CPU ms    %10.4f per send\n", d / n
          else printf "  %-20s %10.2f per send\n", $1, d / n }
    ' "$TMP/cross-send.base" "$TMP/cross-send.full"
    MODES=${MODES//cross-send/}
fi

for mode in $MODES; do
    log "$mode: connect only"
    one_run "$mode" connect 0 >"$TMP/$mode.base"
    sleep 1
    log "$mode: connect + $BROADCASTS broadcasts ($ADMIN)"
    one_run "$mode" connect,fanout "$BROADCASTS" >"$TMP/$mode.full"
    sleep 1
    echo "== $mode: per broadcast (and per delivery, $CLIENTS clients), $BROADCASTS broadcasts, $ADMIN"
    awk -v n="$BROADCASTS" -v c="$CLIENTS" '
        NR == FNR { base[$1] = $2; next }
        { d = $2 - base[$1]
          if ($1 == "task-clock") printf "  node CPU ms          %10.4f per broadcast  %8.3f us per delivery\n", d / n, d * 1000 / n / c
          else if ($1 == "postgres-ms") printf "  PostgreSQL CPU ms    %10.4f per broadcast\n", d / n
          else printf "  %-20s %10.2f per broadcast  %8.4f per delivery\n", $1, d / n, d / n / c }
    ' "$TMP/$mode.base" "$TMP/$mode.full"
done
