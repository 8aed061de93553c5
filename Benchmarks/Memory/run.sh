#!/usr/bin/env bash
# Memory per idle connection of a pushinator binary, as Benchmarks/run.sh measures it (the LoadTool's `memory`
# scenario): register N users, take the server's VmRSS, connect and `auth` N Socket.IO clients over WebSocket (256 in
# handshake at once), wait 2 s, take VmRSS again: (connected - registered) / N. Memory barely depends on the
# machine's load, so this can run beside other work; it runs no fan-out. Builds nothing.
#
#   Benchmarks/Memory/run.sh PUSHINATOR_BIN [N ...]                      # recovery on (pushinator's default)
#   CLIENT_JSON='"recovery": {"maxDisconnectionDuration": 0}' Benchmarks/Memory/run.sh PUSHINATOR_BIN 1000 10000
#
# LOADTOOL_BIN (default Benchmarks/LoadTool/.build/release/LoadTool), PORT (admin port, 19301; client port + 1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin=$1; shift
sizes=("${@:-1000}")
loadtool=${LOADTOOL_BIN:-$here/../LoadTool/.build/release/LoadTool}
[[ -x $loadtool ]] || { echo "no LoadTool at $loadtool: swift build -c release --package-path Benchmarks/LoadTool" >&2; exit 2; }
admin=${PORT:-19301}; client=$((admin + 1))
work=$(mktemp -d /tmp/idle-memory.XXXXXX)
pid=""
cleanup() { if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
printf '{"admin": {"host": "127.0.0.1", "port": %s}, "client": {"host": "127.0.0.1", "port": %s%s}, "log": {"debug": false}}\n' \
    "$admin" "$client" "${CLIENT_JSON:+, $CLIENT_JSON}" >"$work/config.json"
for n in "${sizes[@]}"; do
    "$bin" -c "$work/config.json" >"$work/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do port_open "$admin" && port_open "$client" && break; sleep 0.1; done
    "$loadtool" --admin-port "$admin" --client-port "$client" --server-pid "$pid" -n "$n" --scenarios connect,memory \
        --connect-window 256 --json "$work/result.json" >"$work/loadtool.log" 2>&1 || { cat "$work/loadtool.log" >&2; exit 1; }
    python3 - "$work/result.json" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); m = r["memory"]
print(f'{sys.argv[2]} clients ({r["connect"]["authenticated"]} authenticated): {m["bytesPerConnection"]:.0f} bytes per idle connection '
      f'({m["bytesPerConnectionInclUser"]:.0f} with the user record), RSS {m["connectedRSS"] / 1048576:.1f} MiB')
PY
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
