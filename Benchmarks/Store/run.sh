#!/usr/bin/env bash
# The user store's two numbers (issue 15): /user/register rate into the store (wrk, new user per request),
# and the time from start to listening with the users that run registered (>= 100k).
# Not run in CI. Usage: Benchmarks/Store/run.sh [pushinator binary] (default .build/release/pushinator)
#   DURATION (s, default 10), CONNECTIONS (default 64)
#   STORE=postgres: users.store on PostgreSQL (issue 13) at $PUSHINATOR_TEST_POSTGRES_URL, for example
#   scripts/with-postgres.sh env STORE=postgres Benchmarks/Store/run.sh (a throwaway server; fsync off there)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../../.build/release/pushinator}"
duration="${DURATION:-10}"
connections="${CONNECTIONS:-64}"
work="$(mktemp -d /tmp/pushinator-store-bench-XXXXXX)"
if [[ "${STORE:-sqlite}" == postgres ]]; then
  store="${PUSHINATOR_TEST_POSTGRES_URL:?STORE=postgres needs PUSHINATOR_TEST_POSTGRES_URL (scripts/with-postgres.sh)}"
  count_users() { python3 -c "import psycopg;print(psycopg.connect('$store').execute('select count(*) from pushinator_users').fetchone()[0])"; }
else
  store="sqlite:$work/users.db"
  count_users() { python3 -c "import sqlite3;print(sqlite3.connect('$work/users.db').execute('select count(*) from users').fetchone()[0])"; }
fi
admin_port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
client_port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat > "$work/pushinator.conf" <<CONF
module.exports = {
	pidfile: '$work/pushinator.pid',
	admin: { host: '127.0.0.1', port: $admin_port },
	client: { host: '127.0.0.1', port: $client_port },
	users: { store: '$store' },
};
CONF

start() {  # prints the milliseconds from exec to "LISTENING client"
  local started=$(date +%s%N)
  "$bin" -c "$work/pushinator.conf" > "$work/$1.log" 2>&1 &
  echo $! > "$work/pid"
  for _ in $(seq 1 6000); do
    grep -q "LISTENING client" "$work/$1.log" 2>/dev/null && break
    sleep 0.005
  done
  echo $(( ($(date +%s%N) - started) / 1000000 ))
}

start first > /dev/null; pid=$(cat "$work/pid")
wrk -t2 -c"$connections" -d"${duration}s" -s "$here/register.lua" "http://127.0.0.1:$admin_port" | tee "$work/wrk.txt"
kill "$pid"; wait "$pid" || true
users=$(count_users)
echo "registered users in the store: $users"
ms=$(start second); pid=$(cat "$work/pid")
grep "user store opened" "$work/second.log" || true
echo "start-up with $users users: $ms ms (exec to LISTENING client)"
kill "$pid"; wait "$pid" || true
rm -rf "$work"
