#!/usr/bin/env bash
# Socket.IO benchmarks of issue 5: pushinator beside python-socketio and the floor server, in one run.
#
#   Benchmarks/run.sh                 # build (release), run 1k, 5k, 10k clients on every server, table + chart
#   SIZES="1000 5000 10000 19000" Benchmarks/run.sh
#   SERVERS="pushinator floor" Benchmarks/run.sh
#   Benchmarks/run.sh --smoke         # < 2 minutes: 50 clients, asserts every message was delivered, not how fast
#
# Each server gets a fresh process per N, pinned to core 0 (taskset); the load tool runs on core 1.
# Results: Benchmarks/results/<server>-<N>.json, summary.md, summary.json, socketio.png.
# Environment: SIZES, SERVERS, BROADCASTS (0 = 500000/N), LATENCY_RATE (10000), LATENCY_SECONDS (10),
# POLLING_CLIENTS (5000: the connect run over HTTP long-polling then the upgrade, as the official clients connect),
# FLOOR_FLUSH_EVERY (tick: like pushinator; or K broadcasts), PROCESSES (load-tool processes, 1; the smoke run uses 2 to exercise the worker protocol),
# SKIP_BUILD=1, NO_PIN=1, PUSHINATOR_BIN, QUIET_WAIT (s, 90), QUIET_IDLE (% idle, 85), SKIP_CEILING=1 (no
# ConnectCeiling/run.sh at the end: the machine's connect-rate ceiling beside pushinator and the floor),
# FLOOR_ROUNDS (0; N > 0: at the end, pushinator, the floor and the floor again in N short interleaved rounds at
# FLOOR_SIZES, "1000 10000", through Benchmarks/loadtool-rounds.sh: the median per-round ratios pushinator/floor and
# the floor/floor A/A, in results/floor-rounds.md and at the end of summary.md; about 40 s per round at 1k + 10k).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/Benchmarks"
RESULTS="$BENCH/results"
TMP="$RESULTS/tmp"
SMOKE=0
[[ "${1:-}" == "--smoke" ]] && SMOKE=1
CHECK_IDS=""  # the smoke run counts deliveries per message id (client and seq): a duplicate cannot hide a loss
[[ $SMOKE == 1 ]] && CHECK_IDS="--check-ids"

SIZES=${SIZES:-"1000 5000 10000"}
SERVERS=${SERVERS:-"pushinator python floor"}
BROADCASTS=${BROADCASTS:-0}
LATENCY_RATE=${LATENCY_RATE:-10000}
LATENCY_SECONDS=${LATENCY_SECONDS:-10}
FLOOR_FLUSH_EVERY=${FLOOR_FLUSH_EVERY:-tick}  # the same batching as pushinator: once per event-loop tick
PROCESSES=${PROCESSES:-1}
POLLING_CLIENTS=${POLLING_CLIENTS:-5000}  # clients of the polling-then-upgrade connect run (one per server)
CONFIG=${BUILD_CONFIG:-release}
if [[ $SMOKE == 1 ]]; then
    # debug builds (pushinator's is the one the test command built already): the smoke run checks deliveries
    SIZES=50; BROADCASTS=5; LATENCY_RATE=200; LATENCY_SECONDS=2; PROCESSES=2; CONFIG=${BUILD_CONFIG:-debug}
    POLLING_CLIENTS=50
    RESULTS="$TMP/smoke"
fi
mkdir -p "$RESULTS" "$TMP"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

SERVER_CPU="taskset -c 0"
CLIENT_CPU="taskset -c 1"
if [[ -n "${NO_PIN:-}" ]] || ! command -v taskset >/dev/null || [[ $(nproc) -lt 2 ]]; then
    SERVER_CPU=""; CLIENT_CPU=""
fi

log() { echo "[run.sh] $*" >&2; }

# --- build ------------------------------------------------------------------------------------------------
build() {  # directory, swift build arguments...: a failed build stops the run
    local dir=$1; shift
    local output
    if ! output=$(cd "$dir" && swift build -c "$CONFIG" "$@" 2>&1); then
        echo "$output" | tail -30 >&2; log "build failed in $dir"; exit 2
    fi
    echo "$output" | tail -1
}
if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building ($CONFIG)"
    build "$BENCH/LoadTool"
    build "$BENCH/Floor"
    if [[ " $SERVERS " == *" pushinator "* && -z "${PUSHINATOR_BIN:-}" ]]; then
        if [[ $CONFIG == release ]]; then
            # its own scratch path, so a release build never waits on (or invalidates) the debug builds in .build
            build "$ROOT" --product pushinator --scratch-path .build-bench
        else
            build "$ROOT" --product pushinator
        fi
    fi
fi
LOADTOOL="$BENCH/LoadTool/.build/$CONFIG/LoadTool"
FLOOR="$BENCH/Floor/.build/$CONFIG/Floor"
if [[ $CONFIG == release ]]; then DEFAULT_PUSHINATOR="$ROOT/.build-bench/release/pushinator"; else DEFAULT_PUSHINATOR="$ROOT/.build/$CONFIG/pushinator"; fi
PUSHINATOR=${PUSHINATOR_BIN:-$DEFAULT_PUSHINATOR}
python3 -c "import socketio, aiohttp" 2>/dev/null || pip install -q "python-socketio>=5,<6" aiohttp

# --- servers ----------------------------------------------------------------------------------------------
SERVER_PID=""
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {  # name admin-port client-port
    local name=$1 admin=$2 client=$3 out="$TMP/$1.out"
    if port_open "$admin" || port_open "$client"; then log "port $admin or $client busy: is an old server running?"; return 1; fi
    case $name in
        pushinator)
            cat > "$TMP/pushinator.json" <<EOF
{"admin": {"host": "127.0.0.1", "port": $admin}, "client": {"host": "127.0.0.1", "port": $client},
 "log": {"debug": false}}
EOF
            $SERVER_CPU "$PUSHINATOR" -c "$TMP/pushinator.json" --admin-port "$admin" --client-port "$client" >"$out" 2>&1 &
            ;;
        python)
            $SERVER_CPU python3 "$BENCH/peers/python_socketio_pushinator.py" --admin-port "$admin" --client-port "$client" >"$out" 2>&1 &
            ;;
        floor)
            $SERVER_CPU "$FLOOR" --admin-port "$admin" --client-port "$client" --flush-every "$FLOOR_FLUSH_EVERY" >"$out" 2>&1 &
            ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        if port_open "$admin" && port_open "$client"; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    log "$name did not start:"; cat "$out" >&2
    stop_server
    return 1
}

stop_server() {
    [[ -z "$SERVER_PID" ]] && return 0
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
trap stop_server EXIT

# The machine is shared (builds, other benchmarks): wait, bounded, until both cores are mostly idle.
wait_quiet() {
    local limit=${QUIET_WAIT:-90} waited=0 idle
    while :; do
        idle=$(python3 -c '
import time
def read():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return f[3] + f[4], sum(f)
a = read(); time.sleep(1); b = read()
print(int(100 * (b[0] - a[0]) / max(1, b[1] - a[1])))')
        waited=$((waited + 1))
        if (( idle >= ${QUIET_IDLE:-85} )); then log "machine ${idle}% idle"; return 0; fi
        if (( waited >= limit )); then log "machine still busy (${idle}% idle) after ${limit}s: running anyway"; return 0; fi
    done
}

ports_for() {  # name -> "admin client"
    case $1 in pushinator) echo "19600 19601" ;; python) echo "19610 19611" ;; floor) echo "19620 19621" ;; esac
}

# --- run --------------------------------------------------------------------------------------------------
rm -f "$RESULTS"/*-*.json  # the per-server results and connect-polling-<server>.json
echo "{\"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"commit\": \"$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && git diff --quiet -- . ':(exclude)Benchmarks/results' 2>/dev/null || echo '+dirty')\", \"machine\": \"$(nproc) cores, $(uname -r), server on core 0, load tool on core 1\"}" > "$RESULTS/meta.json"
FAILED=0
for n in $SIZES; do
    for server in $SERVERS; do
        if [[ $server == pushinator && ! -x "$PUSHINATOR" ]]; then log "no pushinator binary: skipped"; continue; fi
        read -r admin client < <(ports_for "$server")
        [[ $SMOKE == 1 ]] || wait_quiet
        log "$server N=$n"
        start_server "$server" "$admin" "$client" || { FAILED=1; continue; }
        window=256
        if ! $CLIENT_CPU "$LOADTOOL" --admin-port "$admin" --client-port "$client" --server-pid "$SERVER_PID" \
            -n "$n" --broadcasts "$BROADCASTS" --latency-rate "$LATENCY_RATE" --latency-seconds "$LATENCY_SECONDS" \
            --connect-window "$window" --processes "$PROCESSES" --label "$server" --json "$RESULTS/$server-$n.json" \
            $CHECK_IDS; then
            log "$server N=$n: loadtool reported lost deliveries or failed clients"
            FAILED=1
        fi
        stop_server
        sleep 1
    done
done

# Connect rate the way the official clients connect by default: the Engine.IO handshake and the namespace connect
# over HTTP long-polling, then the upgrade to WebSocket and `auth` (the floor does not speak polling).
for server in $SERVERS; do
    [[ $server == floor ]] && continue
    if [[ $server == pushinator && ! -x "$PUSHINATOR" ]]; then continue; fi
    read -r admin client < <(ports_for "$server")
    [[ $SMOKE == 1 ]] || wait_quiet
    log "$server: $POLLING_CLIENTS clients over polling, then the upgrade"
    start_server "$server" "$admin" "$client" || { FAILED=1; continue; }
    if ! $CLIENT_CPU "$LOADTOOL" --admin-port "$admin" --client-port "$client" --server-pid "$SERVER_PID" \
        -n "$POLLING_CLIENTS" --scenarios connect --connect-transport polling --connect-window 256 --label "$server" \
        --json "$RESULTS/connect-polling-$server.json"; then
        log "$server: the polling connect failed"
        FAILED=1
    fi
    stop_server
    sleep 1
done

if [[ $SMOKE == 1 ]]; then
    # every server must have a result with every client connected and every message delivered
    FAILED=$FAILED python3 - "$RESULTS" $SERVERS <<'EOF'
import json, os, sys
results, servers = sys.argv[1], sys.argv[2:]
ok = os.environ.get("FAILED", "0") == "0"
for server in servers:
    path = os.path.join(results, f"{server}-50.json")
    if not os.path.exists(path):
        print(f"{server}: no result (did it start?) FAILED")
        ok = False
        continue
    r = json.load(open(path))
    c, f, l = r.get("connect") or {}, r.get("fanout") or {}, r.get("latency") or {}
    # every (client, broadcast) and every per-user message exactly once: distinct ids, no duplicates
    good = (c.get("authenticated") == r["clients"] and f.get("expected", 0) > 0 and f.get("lost", 1) == 0
            and f.get("distinct") == f.get("expected") == f.get("delivered") and f.get("duplicates") == 0
            and l.get("sent", 0) > 0 and l.get("distinct") == l.get("sent") == l.get("delivered")
            and l.get("duplicates") == 0)
    print(f"{server}: connected {c.get('authenticated')}/{r['clients']}, fan-out {f.get('distinct')}/{f.get('expected')} "
          f"distinct ids ({f.get('duplicates')} duplicates), latency {l.get('distinct')}/{l.get('sent')} distinct ids "
          f"({l.get('duplicates')} duplicates)", "ok" if good else "FAILED")
    ok &= good
for server in servers:
    if server == "floor":
        continue
    path = os.path.join(results, f"connect-polling-{server}.json")
    c = json.load(open(path)).get("connect") or {} if os.path.exists(path) else {}
    good = c.get("transport") == "polling" and c.get("authenticated") == c.get("clients") == 50
    print(f"{server}: connected over polling then WebSocket {c.get('authenticated')}/{c.get('clients')}", "ok" if good else "FAILED")
    ok &= good
sys.exit(0 if ok else 1)
EOF
    FAILED=$?
    # the connect-rate ceiling tool: its C client and server, against each other and against pushinator
    if [[ " $SERVERS " == *" pushinator "* ]]; then
        N=50 ROUNDS=1 SERVERS="ceiling pushinator" CLIENTS=c SKIP_BUILD=1 PUSHINATOR_BIN="$PUSHINATOR" \
            RESULTS_DIR="$RESULTS" "$BENCH/ConnectCeiling/run.sh" || FAILED=1
    fi
    exit $FAILED
fi
# The machine's connect-rate ceiling beside pushinator and the floor (C client and server on epoll): what the
# connect-rate target is measured against. SKIP_CEILING=1 leaves it out; it needs two cores.
rm -f "$RESULTS/connect-ceiling.md"
if [[ -z "${SKIP_CEILING:-}" && -n "$SERVER_CPU" && $CONFIG == release ]]; then
    log "connect-rate ceiling (ConnectCeiling/run.sh)"
    SKIP_BUILD=1 PUSHINATOR_BIN="$PUSHINATOR" "$BENCH/ConnectCeiling/run.sh" >/dev/null || FAILED=1
fi
# Pushinator against the floor in short interleaved rounds, the floor twice (the A/A control), each figure as the median
# of the per-round ratios (issue 18: "connect rate >= 1.0x the floor's in the same run"; one pass each, as above, is
# what the machine's drift over tens of seconds decides). FLOOR_ROUNDS=0 (the default) leaves it out.
rm -f "$RESULTS/floor-rounds.md"
if (( ${FLOOR_ROUNDS:-0} > 0 )) && [[ " $SERVERS " == *" pushinator "* && -x "$PUSHINATOR" && -n "$SERVER_CPU" && $CONFIG == release ]]; then
    log "pushinator against the floor: $FLOOR_ROUNDS interleaved rounds (loadtool-rounds.sh)"
    if ROUNDS=$FLOOR_ROUNDS SIZES=${FLOOR_SIZES:-"1000 10000"} PORT=19630 LOADTOOL="$LOADTOOL" FLOOR="$FLOOR" \
        FLOOR_FLUSH_EVERY="$FLOOR_FLUSH_EVERY" RATIOS="pushinator/floor floor2/floor" \
        "$BENCH/loadtool-rounds.sh" "pushinator=$PUSHINATOR" floor=floor floor2=floor >"$TMP/floor-rounds.md"; then
        { echo "Pushinator against the floor in $FLOOR_ROUNDS interleaved rounds, the floor twice (floor2/floor: the A/A"
          echo "control), \`Benchmarks/loadtool-rounds.sh\` at autogroup nice -20:"; echo; cat "$TMP/floor-rounds.md"; } >"$RESULTS/floor-rounds.md"
    else
        FAILED=1
    fi
fi
python3 "$BENCH/report.py"
exit $FAILED
