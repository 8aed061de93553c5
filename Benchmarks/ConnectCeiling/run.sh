#!/usr/bin/env bash
# The connect-rate ceiling of this machine, beside pushinator and the floor (issue 5, connect-rate target).
#
#   Benchmarks/ConnectCeiling/run.sh            # 10,000 clients per run, 3 interleaved rounds
#   N=5000 ROUNDS=5 Benchmarks/ConnectCeiling/run.sh
#
# Every pair of (server, client) below connects and authenticates N clients over WebSocket (upgrade, `0` open,
# `40`, `421["auth",...]` -> `431[{"ok":true}]`), 256 in flight, the server pinned to core 0 and the client to core 1:
#   servers: ceiling (connect_ceiling.c: plain C on epoll, no work beyond the kernel's), floor, pushinator
#   clients: c (connect_ceiling.c's client), loadtool (the Swift/NIO load tool of Benchmarks/run.sh)
# and reports, per pair, the median rate and the CPU time each side spent per connect (/proc/PID/stat, so a side
# near 1 core per (1/rate) is the one that saturated). The C pair is the most this machine does for this exchange.
# Prints a markdown table; writes it to Benchmarks/results/connect-ceiling.md. Needs a C compiler (cc, clang or $CC),
# python3 and taskset.
# Environment: N, ROUNDS, SERVERS, CLIENTS, SKIP_BUILD=1, PUSHINATOR_BIN, RESULTS_DIR (Benchmarks/results), NO_PIN=1
# (no taskset; also on a one-core machine). `Benchmarks/run.sh --smoke` runs it with 50 clients to prove it works.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
N=${N:-10000}
ROUNDS=${ROUNDS:-3}
SERVERS=${SERVERS:-"ceiling floor pushinator"}
CLIENTS=${CLIENTS:-"c loadtool"}
results=${RESULTS_DIR:-$root/Benchmarks/results}
tmp=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
log() { echo "[connect-ceiling] $*" >&2; }
compiler=${CC:-$(command -v cc || command -v clang || true)}  # clang: the one the Swift toolchain ships
[[ -n "$compiler" ]] || { log "a C compiler is required (cc, clang or CC=...)"; exit 1; }
command -v python3 >/dev/null || { log "python3 is required"; exit 1; }
server_cpu="taskset -c 0"
client_cpu="taskset -c 1"
if [[ -n "${NO_PIN:-}" ]] || ! command -v taskset >/dev/null || [[ $(nproc) -lt 2 ]]; then server_cpu=""; client_cpu=""; fi
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$results"

"$compiler" -O2 -Wall -o "$tmp/connect_ceiling" "$here/connect_ceiling.c"
if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building (release)"
    (cd "$root/Benchmarks/LoadTool" && swift build -c release >/dev/null)
    (cd "$root/Benchmarks/Floor" && swift build -c release >/dev/null)
    [[ -n "${PUSHINATOR_BIN:-}" ]] || (cd "$root" && swift build -c release --product pushinator --scratch-path .build-bench >/dev/null)
fi
loadtool="$root/Benchmarks/LoadTool/.build/release/LoadTool"
floor="$root/Benchmarks/Floor/.build/release/Floor"
pushinator=${PUSHINATOR_BIN:-$root/.build-bench/release/pushinator}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {  # name admin-port client-port
    if port_open "$2" || port_open "$3"; then log "port $2 or $3 is busy: is an old server running?"; exit 2; fi
    case $1 in
        ceiling) $server_cpu "$tmp/connect_ceiling" server "$2" "$3" >"$tmp/server.log" 2>&1 & ;;
        floor) $server_cpu "$floor" --admin-port "$2" --client-port "$3" >"$tmp/server.log" 2>&1 & ;;
        pushinator)
            printf '{"admin":{"host":"127.0.0.1","port":%d},"client":{"host":"127.0.0.1","port":%d},"log":{"debug":false}}\n' \
                "$2" "$3" >"$tmp/pushinator.json"
            $server_cpu "$pushinator" -c "$tmp/pushinator.json" >"$tmp/server.log" 2>&1 &
            ;;
    esac
    server_pid=$!
    for _ in $(seq 100); do
        if port_open "$3"; then return 0; fi
        sleep 0.1
    done
    log "$1 did not start:"; cat "$tmp/server.log" >&2; exit 2
}

stop_server() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

# One run: prints "rate server_us_per_connect client_us_per_connect".
run_pair() {  # server client port
    local server=$1 client=$2 admin=$3 clientPort=$(($3 + 1))
    start_server "$server" "$admin" "$clientPort"
    case $client in
        c)
            local output
            output=$($client_cpu "$tmp/connect_ceiling" client "$admin" "$clientPort" "$N" 256 8 "$server_pid") \
                || { log "C client failed against $server"; exit 2; }
            awk '{print $6, $10, $8}' <<<"$output"
            ;;
        loadtool)
            $client_cpu "$loadtool" --admin-port "$admin" --client-port "$clientPort" --server-pid "$server_pid" -n "$N" \
                --scenarios connect --connect-window 256 --json "$tmp/lt.json" >/dev/null 2>"$tmp/lt.log" \
                || { log "load tool failed:"; tail -5 "$tmp/lt.log" >&2; exit 2; }
            python3 - "$tmp/lt.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["connect"]
seconds = c["seconds"]; n = c["authenticated"]
# cpu.server / cpu.client are % of one core over the connect phase
print(round(c["perSecond"]), round(c["cpu"]["server"] / 100 * seconds / n * 1e6), round(c["cpu"]["client"] / 100 * seconds / n * 1e6))
EOF
            ;;
    esac
    stop_server
}

declare -A rates serverUs clientUs
port=19800
for round in $(seq "$ROUNDS"); do
    for server in $SERVERS; do
        for client in $CLIENTS; do
            port=$((port + 2))
            run_pair "$server" "$client" "$port" >"$tmp/pair.out"
            read -r rate sus cus <"$tmp/pair.out"
            log "round $round: $server <- $client: $rate/s, server $sus us, client $cus us per connect"
            rates[$server,$client]+="$rate "; serverUs[$server,$client]+="$sus "; clientUs[$server,$client]+="$cus "
            sleep 1
        done
    done
done

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
{
    echo "Connect rate, $N clients per run, median of $ROUNDS interleaved rounds, $(date -u +%Y-%m-%dT%H:%MZ), commit $(cd "$root" && git rev-parse --short HEAD)"
    echo
    echo "| server <- client | clients/s | server CPU per connect | client CPU per connect |"
    echo "|---|---|---|---|"
    for server in $SERVERS; do
        for client in $CLIENTS; do
            echo "| $server <- $client | $(median "${rates[$server,$client]}") | $(median "${serverUs[$server,$client]}") us | $(median "${clientUs[$server,$client]}") us |"
        done
    done
} | tee "$results/connect-ceiling.md"
