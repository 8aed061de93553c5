#!/usr/bin/env bash
# What each idle connection holds, by owner: the server under valgrind's massif (the heap, by allocation stack), a
# detailed snapshot before the users are registered and one with N clients connected and authenticated (the LoadTool
# is stopped with SIGSTOP while they are connected), then attribute.py sorts the difference into owners.
#
#   Benchmarks/Memory/attribute.sh PUSHINATOR_BIN [N] [PUSHINATOR_BIN_B]        # N: 2000; a table per binary
#
# Release binaries built with DWARF 5 debug info are copied without it first (valgrind 3.19 cannot read it); function
# symbols stay. Needs valgrind, gcc, python3, swift-demangle. KEEP=1 keeps the snapshots. CLIENT_JSON as in run.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
n=${2:-2000}
bins=("$1"); [[ -n ${3:-} ]] && bins+=("$3")
loadtool=${LOADTOOL_BIN:-$here/../LoadTool/.build/release/LoadTool}
admin=${PORT:-19311}; client=$((admin + 1))
work=$(mktemp -d /tmp/idle-attribution.XXXXXX)
pid="" tool=""
cleanup() {
    if [[ -n $tool ]]; then kill -9 "$tool" 2>/dev/null || true; fi
    if [[ -n $pid ]]; then kill -9 "$pid" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    if [[ -z ${KEEP:-} ]]; then rm -rf "$work"; else echo "snapshots kept in $work" >&2; fi
}
trap cleanup EXIT
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
gcc -shared -fPIC -O2 -o "$work/no_sigsuspend.so" "$here/../Instructions/no_sigsuspend.c"
printf '{"admin": {"host": "127.0.0.1", "port": %s}, "client": {"host": "127.0.0.1", "port": %s%s}, "log": {"debug": false}}\n' \
    "$admin" "$client" "${CLIENT_JSON:+, $CLIENT_JSON}" >"$work/config.json"
sides=()
for index in "${!bins[@]}"; do
    side="$work/side$index"; sides+=("$side")
    if port_open "$admin" || port_open "$client"; then echo "port $admin or $client busy: is an old server running?" >&2; exit 1; fi
    objcopy --strip-debug "${bins[$index]}" "$side.bin"
    LD_PRELOAD="$work/no_sigsuspend.so" valgrind --tool=massif --threshold=0.05 --depth=40 \
        --massif-out-file="$side.final" "$side.bin" -c "$work/config.json" >"$side.server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do port_open "$admin" && port_open "$client" && break; sleep 0.2; done
    sleep 2
    vgdb --pid="$pid" detailed_snapshot "$side.before" >/dev/null
    # the memory scenario waits 2 s after the connects: the LoadTool is stopped in that window, clients connected
    "$loadtool" --admin-port "$admin" --client-port "$client" --server-pid "$pid" -n "$n" --scenarios connect,memory --connect-window 64 \
        >"$side.loadtool.log" 2>&1 &
    tool=$!
    for _ in $(seq 1 2400); do
        grep -q authenticated "$side.loadtool.log" && break
        kill -0 "$tool" 2>/dev/null || { echo "the LoadTool ended early:" >&2; cat "$side.loadtool.log" >&2; exit 1; }
        sleep 0.25
    done
    kill -STOP "$tool"
    grep authenticated "$side.loadtool.log" >&2
    sleep 3
    vgdb --pid="$pid" detailed_snapshot "$side.connected" >/dev/null
    kill -9 "$tool"; tool=""
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
python3 "$here/attribute.py" "$n" "${sides[@]}"
