#!/usr/bin/env bash
# Load-tests three HTTP servers with identical routes, one at a time: Pushinator, Hummingbird 2 and a bare
# NIOHTTP1 server. Each server runs pinned to core 0, wrk pinned to core 1:
#   taskset -c 1 wrk -t1 -c64 -d10s --latency http://127.0.0.1:PORT/PATH
# Prints requests/s, p99 latency and the ratio of each server to bare NIO.
# Usage: Benchmarks/HTTP/run.sh [duration, default 10s]
# ROUNDS=N runs the servers N times in turn and keeps each one's best round (less noise on a busy machine).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
duration="${1:-10s}"
rounds="${ROUNDS:-1}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "taskset is required (util-linux)" >&2; exit 1; }

swift build -c release --package-path "$here" >&2
bin="$(swift build -c release --package-path "$here" --show-bin-path)"

declare -A rps p99
servers=(BenchNIO BenchPushinator BenchHummingbird)
paths=(/hello /users/42/posts/7)
port=18080
pid=""
cleanup() { if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

for round in $(seq 1 "$rounds"); do
for server in "${servers[@]}"; do
    port=$((port + 1))
    log="$(mktemp)"
    taskset -c 0 "$bin/$server" --port "$port" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 200); do grep -q LISTENING "$log" && break; sleep 0.05; done
    grep -q LISTENING "$log" || { echo "$server did not start:" >&2; cat "$log" >&2; exit 1; }
    for path in "${paths[@]}"; do
        curl -sf "http://127.0.0.1:$port$path" >/dev/null || { echo "$server: $path failed" >&2; exit 1; }
        taskset -c 1 wrk -t1 -c64 -d2s "http://127.0.0.1:$port$path" >/dev/null  # warm-up
        out="$(taskset -c 1 wrk -t1 -c64 -d"$duration" --latency "http://127.0.0.1:$port$path")"
        this_rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
        if [[ -z "${rps[$server$path]:-}" ]] || awk -v a="$this_rps" -v b="${rps[$server$path]}" 'BEGIN {exit !(a > b)}'; then
            rps[$server$path]="$this_rps"
            p99[$server$path]="$(awk '$1 == "99%" {print $2}' <<<"$out")"
        fi
        errors="$(awk '/Non-2xx|Socket errors/' <<<"$out")"
        [[ -z "$errors" ]] || echo "$server $path: $errors" >&2
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    rm -f "$log"
done
done

printf '%-18s %-20s %12s %10s %10s\n' server path "req/s" p99 "vs NIO"
for server in "${servers[@]}"; do
    for path in "${paths[@]}"; do
        ratio="$(awk -v a="${rps[$server$path]}" -v b="${rps[BenchNIO$path]}" 'BEGIN {printf "%.2fx", a / b}')"
        printf '%-18s %-20s %12s %10s %10s\n' "$server" "$path" "${rps[$server$path]}" "${p99[$server$path]}" "$ratio"
    done
done
