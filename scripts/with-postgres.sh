#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server, then stops the server (also when the command fails or is
# interrupted) and deletes its data folder:
#
#   scripts/with-postgres.sh swift test --skip-build
#
# The server (Debian's `postgresql` package, installed by scripts/install-test-deps.sh) gets a new data folder under
# $TMPDIR, a free port on 127.0.0.1 only, trust authentication, and runs as the `postgres` user when we are root.
# The command sees PUSHINATOR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:<port>/postgres; the tests that need
# a database read it. PUSHINATOR_TEST_POSTGRES_RESTART names a script that restarts the server (`pg_ctl restart -m
# fast`, the same port and options) and returns once it accepts connections. The exit status is the command's.
set -euo pipefail

PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
if [[ -z "$PG_BIN" || ! -x "$PG_BIN/initdb" ]]; then
  echo "with-postgres: no PostgreSQL server binaries under /usr/lib/postgresql (run scripts/install-test-deps.sh)" >&2
  exit 2
fi

DATA="$(mktemp -d "${TMPDIR:-/tmp}/pushinator-pg.XXXXXX")"
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres:postgres "$DATA"
  as_owner=(runuser -u postgres --)
fi
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

stop() {
  "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$DATA/db" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${as_owner[@]}" "$PG_BIN/initdb" -D "$DATA/db" -U postgres -A trust -E UTF8 --no-sync >"$DATA/initdb.log" 2>&1 \
  || { cat "$DATA/initdb.log" >&2; echo "with-postgres: initdb failed" >&2; exit 2; }
"${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$DATA/db" -l "$DATA/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c max_connections=50" start >/dev/null \
  || { cat "$DATA/server.log" >&2; echo "with-postgres: the server did not start" >&2; exit 2; }

export PUSHINATOR_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
# a test may restart the server (same port, options and log; waits until it accepts connections again)
cat >"$DATA/restart.sh" <<RESTART
#!/bin/sh
exec ${as_owner[*]} "$PG_BIN/pg_ctl" -D "$DATA/db" -l "$DATA/server.log" -m fast -w -t 60 restart >/dev/null
RESTART
chmod 755 "$DATA/restart.sh"
export PUSHINATOR_TEST_POSTGRES_RESTART="$DATA/restart.sh"
echo "with-postgres: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (data $DATA)" >&2
# The command runs in the background so that a TERM or INT sent to this script is handled at once (bash runs a
# trap only after a foreground command ends): the command is stopped first, then PostgreSQL (the EXIT trap).
status=0
"$@" <&0 &  # keeps stdin (an asynchronous command would get /dev/null)
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 130' INT
trap 'kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 143' TERM
wait "$child" || status=$?
exit $status
