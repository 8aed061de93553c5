#!/usr/bin/env bash
# Benchmarks of the cluster bus (issue 13): pushinator nodes on one local PostgreSQL (a throwaway server from
# scripts/with-postgres.sh), driven by the LoadTool as the other benchmarks are.
#
#   Benchmarks/Cluster/run.sh              # release builds; 1,000 clients (per node); about 4 minutes plus the builds
#   Benchmarks/Cluster/run.sh --smoke      # debug builds, 50 clients, a few seconds per scenario (checks it works)
#   CLIENTS=1000 LATENCY_RATE=1000 BUS_RATE=20000 Benchmarks/Cluster/run.sh
#   PUSHINATOR_BIN=... LOADTOOL_BIN=... SKIP_BUILD=1 Benchmarks/Cluster/run.sh
#   PRIORITY=1 ...                         # the nodes, the tool and PostgreSQL at autogroup nice -20 (a shared machine)
#   PORT_BASE=19700 ...                    # the nodes' ports: A admin PORT_BASE, client +1; B +10, +11
#   CHECK_IDS= ...                         # a LoadTool without --check-ids (counted per message id by default)
#   TRACE=1 SCENARIOS=cross ...            # nodes log at debug level; trace.py then says where a cross-node
#                                          # message's milliseconds go (stage by stage; the trace costs CPU itself)
#
# Scenarios (each prints the LoadTool's table; results/cluster/*.json keep them, summary.md sums them up):
#   single       one node, no cluster: fan-out of /broadcast to CLIENTS clients (the baseline)
#   single-bus   the same node with `cluster.postgres` set (alone on the bus): the cost of cluster mode
#   cross        two nodes A and B, CLIENTS clients on EACH (user u on node u % 2); the /broadcast posts alternate
#                between A and B, so each broadcast reaches CLIENTS clients on its own node and CLIENTS across the
#                bus: fan-out deliveries/s (half of them cross-node, by construction); then /user/send at
#                LATENCY_RATE/s, each posted to the node the user is NOT on (both directions): p50/p99 across nodes
#   bus          the same two nodes at BUS_RATE sends/s, every send across the bus: what the bus carries, counted
#                by the nodes themselves (`cluster.receivedMessages` of /health on both, sampled every 0.25 s by
#                bus_sampler.py: each send is a counting SERVER_SIDE_EMIT to the other node and its answer back).
#                BUS_ADMIN_CONNECTIONS (64) admin connections to each node instead of the LoadTool's 4: each send
#                is answered after a round trip across the bus, and an admin connection carries one request at a
#                time, so 4 connections capped the sends offered (about 1,800/s of 20,000), not the bus.
#                Nothing pinned in this scenario (BUS_PIN=1: pinned as the others): the two nodes, PostgreSQL and the
#                tool share the two cores as the scheduler sees fit. Pinned, the two nodes shared core 0 at 100 % while
#                core 1 (PostgreSQL, the tool) stayed 40-50 % idle: the figure was the nodes' CPU on one core, not
#                what the bus carries (in a cluster each node has a machine of its own)
#
# Servers on core 0, the load tool on core 1 (taskset), PostgreSQL unpinned: on a two-core machine the database
# shares the cores with both (except in `bus`, above). The load average at the start of each scenario is printed and recorded.
# summary.py writes results/cluster/summary.md: the figures, and each of issue 13's targets with the figure beside it
# and whether it was met. Exit status 1 when a delivery was lost or doubled, a send failed or a scenario did not run
# (a target missed is not a failure of the run).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/Benchmarks"
# PRIORITY=1: the whole run in a session of its own at autogroup nice -20 (Benchmarks/raise-priority.sh), PostgreSQL's
# too (pg_ctl starts it in a session of its own, raised below): with the kernel's autogroups, other sessions' builds
# then take the cores only when the benchmark leaves them idle. Off by default here.
PRIORITY=${PRIORITY:-0}
source "$BENCH/raise-priority.sh"
if [[ -z "${PUSHINATOR_TEST_POSTGRES_URL:-}" ]]; then
    exec "$ROOT/scripts/with-postgres.sh" "$0" "$@"
fi
POSTGRES="$PUSHINATOR_TEST_POSTGRES_URL"
if [[ "${PRIORITY:-}" == 1 ]]; then
    pg_port=${POSTGRES##*:}; pg_port=${pg_port%%/*}
    for pid in $(pgrep -f "postgres.* -p $pg_port" || true); do echo -20 >"/proc/$pid/autogroup" 2>/dev/null || true; done
fi

SMOKE=0
[[ "${1:-}" == "--smoke" ]] && SMOKE=1
CLIENTS=${CLIENTS:-1000}
# 2,000 broadcasts: fan-out windows of 2-3 s at 1,000 clients. With 500 (0.5-0.7 s) the work the connects leave
# behind in cluster mode (session rows written every 100 ms, each auth's notice to the other nodes) still ran in the
# first part of single-bus's fan-out, and one round's ratio moved by +-10 % (Benchmarks/README, "Session 14").
BROADCASTS=${BROADCASTS:-2000}
LATENCY_RATE=${LATENCY_RATE:-1000}
LATENCY_SECONDS=${LATENCY_SECONDS:-10}
BUS_RATE=${BUS_RATE:-20000}
BUS_SECONDS=${BUS_SECONDS:-5}
BUS_ADMIN_CONNECTIONS=${BUS_ADMIN_CONNECTIONS:-64}
SCENARIOS=${SCENARIOS:-"single single-bus cross bus"}
PORT_BASE=${PORT_BASE:-19700}  # node A: admin PORT_BASE, client +1; node B: +10, +11
A_ADMIN=$PORT_BASE; A_CLIENT=$((PORT_BASE + 1)); B_ADMIN=$((PORT_BASE + 10)); B_CLIENT=$((PORT_BASE + 11))
CONFIG=${BUILD_CONFIG:-release}
RESULTS="$BENCH/results/cluster"
if [[ $SMOKE == 1 ]]; then
    CLIENTS=${CLIENTS_SMOKE:-50}; BROADCASTS=5; LATENCY_RATE=200; LATENCY_SECONDS=2; BUS_RATE=500; BUS_SECONDS=2
    CONFIG=${BUILD_CONFIG:-debug}
    RESULTS="$BENCH/results/tmp/cluster-smoke"
fi
TMP="$BENCH/results/tmp/cluster-nodes"  # node configurations and logs, bus samples (not kept in git)
mkdir -p "$RESULTS" "$TMP"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

SERVER_CPU="taskset -c 0"
CLIENT_CPU="taskset -c 1"
if [[ -n "${NO_PIN:-}" ]] || ! command -v taskset >/dev/null || [[ $(nproc) -lt 2 ]]; then
    SERVER_CPU=""; CLIENT_CPU=""
fi
PINNED_SERVER_CPU=$SERVER_CPU; PINNED_CLIENT_CPU=$CLIENT_CPU  # each scenario starts from these

log() { echo "[cluster] $*" >&2; }

build() {  # directory, swift build arguments...
    local dir=$1; shift
    local output
    if ! output=$(cd "$dir" && swift build -c "$CONFIG" "$@" 2>&1); then
        echo "$output" | tail -30 >&2; log "build failed in $dir"; exit 2
    fi
}
if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building ($CONFIG)"
    [[ -n "${LOADTOOL_BIN:-}" ]] || build "$BENCH/LoadTool"
    if [[ -z "${PUSHINATOR_BIN:-}" ]]; then
        if [[ $CONFIG == release ]]; then build "$ROOT" --product pushinator --scratch-path .build-bench; else build "$ROOT" --product pushinator; fi
    fi
fi
LOADTOOL=${LOADTOOL_BIN:-$BENCH/LoadTool/.build/$CONFIG/LoadTool}
if [[ $CONFIG == release ]]; then DEFAULT_PUSHINATOR="$ROOT/.build-bench/release/pushinator"; else DEFAULT_PUSHINATOR="$ROOT/.build/$CONFIG/pushinator"; fi
PUSHINATOR=${PUSHINATOR_BIN:-$DEFAULT_PUSHINATOR}

DEBUG_LOG=false
[[ -n "${TRACE:-}" ]] && DEBUG_LOG=true
PIDS=()
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

NODE_PID=""
start_node() {  # name admin-port client-port [channel-prefix]: a node, on the bus when a prefix is given (NODE_PID)
    local name=$1 admin=$2 client=$3 prefix=${4:-} cluster=""
    if port_open "$admin" || port_open "$client"; then log "port $admin or $client busy: is an old server running?"; return 1; fi
    [[ -n "$prefix" ]] && cluster=", \"cluster\": {\"postgres\": \"$POSTGRES\", \"channelPrefix\": \"$prefix\"}"
    cat >"$TMP/$name.json" <<EOF
{"admin": {"host": "127.0.0.1", "port": $admin}, "client": {"host": "127.0.0.1", "port": $client},
 "log": {"debug": $DEBUG_LOG}$cluster}
EOF
    $SERVER_CPU "$PUSHINATOR" -c "$TMP/$name.json" --admin-port "$admin" --client-port "$client" >"$TMP/$name.out" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    NODE_PID=$pid
    for _ in $(seq 1 300); do
        if port_open "$admin" && port_open "$client"; then return 0; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    log "$name did not start:"; cat "$TMP/$name.out" >&2
    return 1
}

stop_nodes() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap stop_nodes EXIT

health() {  # admin-port field: a member of /health's cluster object
    python3 -c '
import json, sys, urllib.request
try:
    body = urllib.request.urlopen("http://127.0.0.1:%s/health" % sys.argv[1], timeout=10).read()
except urllib.error.HTTPError as error:  # 503 DEGRADED still has the body
    body = error.read()
print(json.loads(body).get("cluster", {}).get(sys.argv[2], ""))' "$1" "$2"
}

wait_nodes() {  # admin-port count
    for _ in $(seq 1 150); do
        [[ "$(health "$1" nodes)" == "$2" ]] && return 0
        sleep 0.2
    done
    log "the nodes did not see each other"; return 1
}

load() { cut -d' ' -f1 /proc/loadavg; }

loadtool() {  # label admin-port client-port server-pid clients scenarios extra...
    local label=$1 admin=$2 client=$3 pid=$4 clients=$5 scenarios=$6; shift 6
    log "$label: load average $(load)"
    echo "$(load)" >"$RESULTS/$label.load"
    $CLIENT_CPU "$LOADTOOL" --admin-port "$admin" --client-port "$client" --server-pid "$pid" -n "$clients" \
        --first-user "${FIRST_USER:-1}" --broadcasts "$BROADCASTS" --scenarios "$scenarios" --label "$label" \
        --json "$RESULTS/$label.json" ${CHECK_IDS---check-ids} --latency-drain-timeout 30 "$@"
}

SAMPLER_PID=""
stop_sampler() {
    if [[ -n "$SAMPLER_PID" ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""; fi
}
trap 'stop_sampler; stop_nodes' EXIT

# Two nodes, CLIENTS clients on each (user u on node u % 2), the admin calls spread over both nodes, each
# /user/send posted to the node its user is not on.
TWO_NODES=(--admin-ports $A_ADMIN,$B_ADMIN --client-ports $A_CLIENT,$B_CLIENT --cross-sends)

rm -f "$RESULTS"/*.json "$RESULTS"/*.load "$RESULTS"/bus.txt "$TMP"/bus.samples
FAILED=0
PREFIX="bench$RANDOM"
for scenario in $SCENARIOS; do
    SERVER_CPU=$PINNED_SERVER_CPU; CLIENT_CPU=$PINNED_CLIENT_CPU
    case $scenario in
        single)
            start_node single $A_ADMIN $A_CLIENT || { FAILED=1; stop_nodes; continue; }
            loadtool single $A_ADMIN $A_CLIENT "$NODE_PID" "$CLIENTS" connect,fanout || FAILED=1
            ;;
        single-bus)
            start_node single-bus $A_ADMIN $A_CLIENT "$PREFIX-single" || { FAILED=1; stop_nodes; continue; }
            wait_nodes $A_ADMIN 1 || FAILED=1
            loadtool single-bus $A_ADMIN $A_CLIENT "$NODE_PID" "$CLIENTS" connect,fanout || FAILED=1
            ;;
        cross)
            start_node node-a $A_ADMIN $A_CLIENT "$PREFIX-cross" || { FAILED=1; stop_nodes; continue; }
            start_node node-b $B_ADMIN $B_CLIENT "$PREFIX-cross" || { FAILED=1; stop_nodes; continue; }
            wait_nodes $A_ADMIN 2 || FAILED=1
            loadtool cross $A_ADMIN $A_CLIENT "$NODE_PID" $((2 * CLIENTS)) connect,fanout,latency "${TWO_NODES[@]}" \
                --latency-rate "$LATENCY_RATE" --latency-seconds "$LATENCY_SECONDS" || FAILED=1
            if [[ -n "${TRACE:-}" ]]; then python3 "$BENCH/Cluster/trace.py" "$TMP/node-a.out" "$TMP/node-b.out" | tee "$RESULTS/cross-trace.txt" >&2; fi
            ;;
        bus)
            if [[ -z "${BUS_PIN:-}" ]]; then SERVER_CPU=""; CLIENT_CPU=""; fi  # unpinned (the scenario's comment)
            start_node node-a $A_ADMIN $A_CLIENT "$PREFIX-bus" || { FAILED=1; stop_nodes; continue; }
            start_node node-b $B_ADMIN $B_CLIENT "$PREFIX-bus" || { FAILED=1; stop_nodes; continue; }
            wait_nodes $A_ADMIN 2 || FAILED=1
            python3 "$BENCH/Cluster/bus_sampler.py" "$TMP/bus.samples" $A_ADMIN $B_ADMIN &
            SAMPLER_PID=$!
            loadtool bus $A_ADMIN $A_CLIENT "$NODE_PID" $((2 * CLIENTS)) latency "${TWO_NODES[@]}" \
                --latency-rate "$BUS_RATE" --latency-seconds "$BUS_SECONDS" --admin-connections "$BUS_ADMIN_CONNECTIONS" || FAILED=1
            sleep 0.5
            stop_sampler
            read -r rate count seconds < <(python3 "$BENCH/Cluster/bus_sampler.py" rate "$TMP/bus.samples" "$BUS_SECONDS")
            {
                echo "bus messages received by the two nodes together: $count in their busiest $seconds s ($rate/s); bus lag after: A $(health $A_ADMIN busLag) ms, B $(health $B_ADMIN busLag) ms"
                echo "BUS_RATE $rate"
            } >"$RESULTS/bus.txt"
            cat "$RESULTS/bus.txt" >&2
            ;;
        *) log "unknown scenario $scenario"; FAILED=1 ;;
    esac
    stop_nodes
    sleep 1
done

python3 "$BENCH/Cluster/summary.py" "$RESULTS" "$LATENCY_RATE" | tee "$RESULTS/summary.md"
[[ ${PIPESTATUS[0]} == 0 ]] || FAILED=1
exit $FAILED
