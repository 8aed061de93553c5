#!/usr/bin/env bash
# Load-tests three HTTP servers with identical routes, one at a time: Pushinator, Hummingbird 2 and a bare
# NIOHTTP1 server. Each server runs pinned to core 0, wrk pinned to core 1:
#   taskset -c 1 wrk -t1 -c64 -d10s --latency http://127.0.0.1:PORT/PATH
# Prints requests/s, p99 latency and the ratio of each server to bare NIO.
# Usage: Benchmarks/HTTP/run.sh [duration, default 10s]
# ROUNDS=N (default 5) runs the servers N times in turn (NIO, Pushinator, Hummingbird, NIO, ...) and reports each
# one's median round: the machine is shared, and a run-to-run spread of 10 % is common, so single rounds mislead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
duration="${1:-10s}"
rounds="${ROUNDS:-5}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "taskset is required (util-linux)" >&2; exit 1; }

# SwiftPM keeps the planned build of a path dependency and misses source files added to or removed from the
# main package since; dropping the plan makes it look again (the compiled objects stay).
rm -f "$here"/.build/*.yaml "$here"/.build/*/release/description.json
swift build -c release --package-path "$here" >&2
bin="$(swift build -c release --package-path "$here" --show-bin-path)"
# pushinator's admin API (POST /user/send, JSON in and out, behind the admin middleware) unless ADMIN=0
root="$(cd "$here/../.." && pwd)"
if [[ "${ADMIN:-1}" == 1 ]]; then
    (cd "$root" && swift build -c release --product pushinator --scratch-path .build-bench >&2)
    pushinator="$root/.build-bench/release/pushinator"
fi

declare -A rps p99 all
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
        this_p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
        all[$server$path]="${all[$server$path]:-}$this_rps $this_p99"$'\n'
        errors="$(awk '/Non-2xx|Socket errors/' <<<"$out")"
        [[ -z "$errors" ]] || echo "$server $path: $errors" >&2
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    rm -f "$log"
done
if [[ -n "${pushinator:-}" ]]; then
    # a registered user with no socket connected: the emit finds an empty room, so this measures the HTTP path
    port=$((port + 2))
    log="$(mktemp)"
    config="$(mktemp --suffix=.json)"
    echo "{\"admin\": {\"host\": \"127.0.0.1\", \"port\": $port}, \"client\": {\"host\": \"127.0.0.1\", \"port\": $((port + 1))}}" >"$config"
    taskset -c 0 "$pushinator" -c "$config" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 200); do grep -q LISTENING "$log" && break; sleep 0.05; done
    url="http://127.0.0.1:$port"
    curl -sf -X POST "$url/user/register" -d '{"userId":"bench-user","hash":"h"}' >/dev/null || { echo "pushinator did not start:" >&2; cat "$log" >&2; exit 1; }
    curl -sf -X POST "$url/user/send" -d '{"userId":"bench-user","message":"m"}' >/dev/null
    taskset -c 1 wrk -t1 -c64 -d2s -s "$here/user-send.lua" "$url/user/send" >/dev/null
    out="$(taskset -c 1 wrk -t1 -c64 -d"$duration" --latency -s "$here/user-send.lua" "$url/user/send")"
    all[PushinatorAdmin/user/send]="${all[PushinatorAdmin/user/send]:-}$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") $(awk '$1 == "99%" {print $2}' <<<"$out")"$'\n'
    errors="$(awk '/Non-2xx|Socket errors/' <<<"$out")"
    [[ -z "$errors" ]] || echo "pushinator /user/send: $errors" >&2
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    rm -f "$log" "$config"
fi
done

# the median round of each server and path (by req/s), with that round's p99
for key in "${!all[@]}"; do
    read -r "rps[$key]" "p99[$key]" < <(sort -n <<<"${all[$key]}" | sed '/^$/d' | awk '{rows[NR] = $0} END {print rows[int((NR + 1) / 2)]}')
done
printf '%-18s %-20s %12s %10s %10s   %s\n' server path "req/s" p99 "vs NIO" "rounds (req/s)"
for server in "${servers[@]}"; do
    for path in "${paths[@]}"; do
        ratio="$(awk -v a="${rps[$server$path]}" -v b="${rps[BenchNIO$path]}" 'BEGIN {printf "%.2fx", a / b}')"
        rounds_list="$(awk 'NF {printf "%s%d", sep, $1; sep = " "}' <<<"${all[$server$path]}")"
        printf '%-18s %-20s %12s %10s %10s   %s\n' "$server" "$path" "${rps[$server$path]}" "${p99[$server$path]}" "$ratio" "$rounds_list"
    done
done
if [[ -n "${all[PushinatorAdmin/user/send]:-}" ]]; then
    ratio="$(awk -v a="${rps[PushinatorAdmin/user/send]}" -v b="${rps[BenchNIO/hello]}" 'BEGIN {printf "%.2fx", a / b}')"
    rounds_list="$(awk 'NF {printf "%s%d", sep, $1; sep = " "}' <<<"${all[PushinatorAdmin/user/send]}")"
    printf '%-18s %-20s %12s %10s %10s   %s\n' pushinator-admin "POST /user/send" "${rps[PushinatorAdmin/user/send]}" \
        "${p99[PushinatorAdmin/user/send]}" "$ratio" "$rounds_list (ratio: to bare NIO /hello)"
fi
