#!/usr/bin/env bash
# Runs every libFuzzer target for a given time and prints a summary (target, executions, crashes).
#
#   Fuzz/run.sh [seconds-per-target]          # default 60
#   FUZZ_TARGETS="FuzzJSON FuzzWebSocket" Fuzz/run.sh 600
#   FUZZ_RUNS=10000000 Fuzz/run.sh 3600       # stop each target after 10 million executions
#   FUZZ_SKIP_BUILD=1 Fuzz/run.sh 30          # use the binaries already in Fuzz/.build-fuzz
#   Fuzz/run.sh --summary                     # only print the summary of the last runs (from the logs)
#   FUZZ_JOBS=2 Fuzz/run.sh 600               # run two targets at a time
#   FUZZ_TIMEOUT=900 Fuzz/run.sh 3600         # an input running longer is a hang (default 10 s; raise it when the
#                                             # run may be paused with SIGSTOP, e.g. while benchmarks run)
#   FUZZ_WORKERS=2 FUZZ_RUNS=10000000 FUZZ_TARGETS=FuzzWebSocket Fuzz/run.sh 7200
#                                             # one target in 2 processes sharing its corpus (libFuzzer's -jobs idea):
#                                             # each runs FUZZ_RUNS/2, the summary adds their executions up
#
# Seeds come from Fuzz/Corpus/<target> (kept small, in git); the growing corpus, logs and crash artifacts are
# in Fuzz/.build-fuzz/{corpus,logs,artifacts}/<target> (ignored). A crash input becomes a regression test in
# Tests/<Module>Tests; reproduce one with `SWIFT_BACKTRACE=enable=no Fuzz/.build-fuzz/release/<target> <crash-file>`.
set -uo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${1:-60}"
ALL_TARGETS="FuzzJSON FuzzConfigFile FuzzEngineIOPacket FuzzEngineIOPolling FuzzSocketIODecoder FuzzHTTPRequest FuzzWebSocket FuzzMessagePack FuzzClusterMessage"
TARGETS="${FUZZ_TARGETS:-$ALL_TARGETS}"
JOBS="${FUZZ_JOBS:-1}"
WORK=.build-fuzz

SUMMARY_ONLY=0
if [ "$SECONDS_PER_TARGET" = "--summary" ]; then SUMMARY_ONLY=1; fi

if [ "$SUMMARY_ONLY" = 0 ] && [ -z "${FUZZ_SKIP_BUILD:-}" ]; then
    ./build.sh >"$WORK.build.log" 2>&1 || { tail -40 "$WORK.build.log"; echo "fuzz build failed" >&2; exit 2; }
fi
BIN="$(./build.sh --show-bin-path 2>/dev/null)"

WORKERS="${FUZZ_WORKERS:-1}"

# Runs one process of `target`; its log is logs/<target>.log, or logs/<target>.w<N>.log for worker N.
run_process() {
    local target="$1" name="$2" runs="$3"
    local extra=()
    [ -n "$runs" ] && extra+=("-runs=$runs")
    # -timeout: an input taking longer is a hang (inputs over 10 s are reported as slow units either way); -rss_limit_mb: a leak or blow-up is a crash
    # Swift's own backtracer deadlocks with ASan's signal handling: let libFuzzer report crashes alone
    SWIFT_BACKTRACE=enable=no timeout -s KILL $((SECONDS_PER_TARGET + 120)) \
    "$BIN/$target" "$WORK/corpus/$target" "Corpus/$target" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$target/" "${extra[@]}" \
        >"$WORK/logs/$name.log" 2>&1
    echo $? >"$WORK/logs/$name.status"
}

run_target() {
    local target="$1"
    mkdir -p "$WORK/corpus/$target" "$WORK/artifacts/$target" "$WORK/logs"
    rm -f "$WORK/logs/$target.log" "$WORK/logs/$target.status" "$WORK/logs/$target".w*.log "$WORK/logs/$target".w*.status
    if [ "$WORKERS" -le 1 ]; then
        run_process "$target" "$target" "${FUZZ_RUNS:-}"
        return
    fi
    local runs=""
    [ -n "${FUZZ_RUNS:-}" ] && runs=$(( (FUZZ_RUNS + WORKERS - 1) / WORKERS ))
    for worker in $(seq 1 "$WORKERS"); do run_process "$target" "$target.w$worker" "$runs" & done
    wait
}

running=0
[ "$SUMMARY_ONLY" = 1 ] && TARGETS_TO_RUN="" || TARGETS_TO_RUN="$TARGETS"
for target in $TARGETS_TO_RUN; do
    run_target "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

printf '%-26s %14s %10s %8s %s\n' target executions exec/s crashes status
failed=0
for target in $TARGETS; do
    # one log per process: <target>.log, or <target>.w1.log, <target>.w2.log... for workers (summed)
    logs=$(ls "$WORK/logs/$target.log" "$WORK/logs/$target".w*.log 2>/dev/null)
    runs=0; speed=0; processes=0; status=0
    for log in $logs; do
        processes=$((processes + 1))
        runs=$((runs + $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || echo 0)))
        speed=$((speed + $(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || echo 0)))
        code=$(cat "${log%.log}.status" 2>/dev/null || echo '?')
        [ "$code" = 0 ] || status=$code
    done
    [ "$processes" -gt 0 ] || { runs='?'; speed='?'; status='?'; }
    crashes=$(find "$WORK/artifacts/$target" -type f 2>/dev/null \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    [ "$status" = 0 ] && [ "$crashes" = 0 ] || failed=1
    label="$target"; [ "$processes" -gt 1 ] && label="$target (x$processes)"
    printf '%-26s %14s %10s %8s %s\n' "$label" "$runs" "$speed" "$crashes" "$( [ "$status" = 0 ] && echo ok || echo "exit $status")"
done
exit "$failed"
