#!/usr/bin/env bash
# Before/after of the admin API's POST /user/send only (wrk, 64 connections), two pushinator binaries in interleaved
# rounds (A B A B ...), server on core 0 and wrk on core 1; prints one line per round and side. A quicker, narrower
# companion of ab.sh for changes to the admin path.
#
#   Benchmarks/user-send-ab.sh BEFORE_BIN AFTER_BIN [CONFIG_JSON]
#   ROUNDS=3 Benchmarks/user-send-ab.sh /tmp/before/pushinator .build/release/pushinator '{"users":{"offlineQueue":{"max":0}}}'
#
# The benchmark's user is registered and has no socket: with the offline queue on (the default) every send is queued.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
A=$1; B=$2; EXTRA=${3:-'{}'}; ROUNDS=${ROUNDS:-5}
cfg=$(mktemp /tmp/user-send-ab.XXXXXX.json)
trap 'rm -f "$cfg"' EXIT
python3 -c "
import json,sys
base={'admin':{'host':'127.0.0.1','port':19700},'client':{'host':'127.0.0.1','port':19701},'log':{'debug':False}}
base.update(json.loads(sys.argv[1])); json.dump(base,open(sys.argv[2],'w'))" "$EXTRA" "$cfg"
for r in $(seq 1 $ROUNDS); do for side in A B; do
  bin=$A; [[ $side == B ]] && bin=$B
  taskset -c 0 $bin -c $cfg >/dev/null 2>&1 & pid=$!
  for i in $(seq 1 100); do curl -sf -X POST http://127.0.0.1:19700/ping >/dev/null 2>&1 && break; sleep 0.05; done
  curl -sf -X POST http://127.0.0.1:19700/user/register -d '{"userId":"bench-user","hash":"h"}' >/dev/null
  taskset -c 1 wrk -t1 -c64 -d1s -s "$ROOT/Benchmarks/HTTP/user-send.lua" http://127.0.0.1:19700/user/send >/dev/null
  rps=$(taskset -c 1 wrk -t1 -c64 -d5s -s "$ROOT/Benchmarks/HTTP/user-send.lua" http://127.0.0.1:19700/user/send | awk '/Requests\/sec/{print $2}')
  echo "$side $r $rps"
  kill $pid; wait $pid 2>/dev/null || true
done; done
