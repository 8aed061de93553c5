#!/usr/bin/env bash
# The user store's two numbers (issue 15): /user/register rate into the store (wrk, new user per request), and the
# time from start to listening with STARTUP_USERS registered users (default 100000; SQLite: the users wrk
# registered, topped up with rows written straight into the file, each the SHA-256 digest of its hash).
# Not run in CI. Usage: Benchmarks/Store/run.sh [pushinator binary]
#   Without a binary it builds the release one (swift build -c release --product pushinator) and uses it.
#   DURATION (s, default 10), CONNECTIONS (default 64), STARTUP_USERS (default 100000), STARTS (default 3: the
#   start-up is timed that many times)
#   STORE=postgres: users.store on PostgreSQL (issue 13) at $PUSHINATOR_TEST_POSTGRES_URL, for example
#   scripts/with-postgres.sh env STORE=postgres Benchmarks/Store/run.sh (a throwaway server; fsync off there);
#   the start-up then has the users wrk registered (no top-up)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ $# -ge 1 ]]; then
  bin="$1"
else
  (cd "$root" && swift build -c release --product pushinator >&2)
  bin="$(cd "$root" && swift build -c release --show-bin-path)/pushinator"
fi
[[ -x "$bin" ]] || { echo "no pushinator binary at $bin" >&2; exit 2; }
duration="${DURATION:-10}"
connections="${CONNECTIONS:-64}"
startup_users="${STARTUP_USERS:-100000}"
starts="${STARTS:-3}"
work="$(mktemp -d /tmp/pushinator-store-bench-XXXXXX)"
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
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

cpu_ms() {  # the CPU time (user + system) process $1 has used, in milliseconds: what the load of the machine
  # changes least (the wall-clock figures depend on how busy it is)
  awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"
}

start() {  # starts pushinator (pid in $pid); $started_ms: milliseconds from exec to "LISTENING client"
  local started=$(date +%s%N)
  "$bin" -c "$work/pushinator.conf" > "$work/$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 15000); do
    grep -q "LISTENING client" "$work/$1.log" 2>/dev/null && break
    sleep 0.002
  done
  grep -q "LISTENING client" "$work/$1.log" || { echo "pushinator did not start:" >&2; cat "$work/$1.log" >&2; exit 1; }
  started_ms=$(( ($(date +%s%N) - started) / 1000000 ))
}

stop() { kill "$pid"; wait "$pid" || true; pid=""; }

echo "binary: $bin, store: ${STORE:-sqlite}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) processors)"
start first
idle_cpu=$(cpu_ms "$pid")
wrk -t2 -c"$connections" -d"${duration}s" -s "$here/register.lua" "http://127.0.0.1:$admin_port" | tee "$work/wrk.txt"
busy_cpu=$(( $(cpu_ms "$pid") - idle_cpu ))
stop
registered=$(count_users)
rate=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
echo "registrations: $registered users in the store after ${duration} s, wrk: $rate requests/s (target >= 20000)"
echo "server CPU time for them: $busy_cpu ms, $(( busy_cpu * 1000000 / (registered > 0 ? registered : 1) )) ns per registration" \
  "(what one core could do: $(( registered * 1000 / (busy_cpu > 0 ? busy_cpu : 1) ))/s)"
if grep -q "Non-2xx" "$work/wrk.txt"; then echo "WARNING: some registrations were not answered 200:"; grep "Non-2xx" "$work/wrk.txt"; fi

if [[ "${STORE:-sqlite}" != postgres ]]; then
  # Top the file up to STARTUP_USERS users (one transaction), as registrations would have written them.
  python3 - "$work/users.db" "$startup_users" <<'PY'
import hashlib, sqlite3, sys
db, wanted = sys.argv[1], int(sys.argv[2])
connection = sqlite3.connect(db)
have = connection.execute("select count(*) from users").fetchone()[0]
rows = ((f"seeded-{n}", hashlib.sha256(f"hash-seeded-{n}".encode()).digest()) for n in range(max(0, wanted - have)))
with connection:
    connection.executemany("insert into users(id, digest) values (?, ?)", rows)
PY
fi
users=$(count_users)
for n in $(seq 1 "$starts"); do
  start "start$n"
  grep -o "store.users=[0-9]*" "$work/start$n.log" | head -1 | sed "s/^/  /" || true
  echo "start-up $n with $users users: $started_ms ms (exec to LISTENING client; target <= 1000), $(cpu_ms "$pid") ms of CPU"
  stop
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
