#!/usr/bin/env bash
# The project's single test command (CI runs it through .ci/run):
#   1. scripts/install-test-deps.sh     (skip with SKIP_INSTALL=1)
#   2. swift build --build-tests        (skip 2 and 3 with SKIP_SWIFT=1; instrumented for code coverage)
#   3. swift test --skip-build          (beside a throwaway PostgreSQL: scripts/with-postgres.sh;
#                                        then scripts/coverage-summary.sh prints the coverage of Sources/EngineIO
#                                        and Sources/PushinatorEventLoop and the state machines; informative)
#   4. python3 -m pytest Tests/Interop  (beside a throwaway PostgreSQL too; extra args: PYTEST_ARGS="-k browser -x"; server: INTEROP_SERVER=reference)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PYTHON:-python3}"
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi

section() { printf '\n======== %s ========\n' "$*"; }

if [[ "${SKIP_INSTALL:-0}" == 1 ]]; then
  section "1/4 install test dependencies: skipped (SKIP_INSTALL=1)"
else
  section "1/4 install test dependencies"
  scripts/install-test-deps.sh
fi

if [[ "${SKIP_SWIFT:-0}" == 1 ]]; then
  section "2/4 swift build: skipped (SKIP_SWIFT=1)"
  section "3/4 swift test: skipped (SKIP_SWIFT=1)"
else
  section "2/4 swift build --build-tests --enable-code-coverage"
  swift build --build-tests --enable-code-coverage
  section "3/4 swift test (with code coverage)"
  # beside a throwaway PostgreSQL server (PUSHINATOR_TEST_POSTGRES_URL) for the cluster transport's tests
  # --no-parallel: the timed tests (head and idle timeouts, heartbeats) share two cores and the cooperative pool
  # with the store and PostgreSQL suites; run side by side, their clients were starved past the timeouts
  scripts/with-postgres.sh swift test --skip-build --enable-code-coverage --no-parallel
  scripts/coverage-summary.sh
  # the servers the interop tests start are instrumented too: their profiles go to a small merge pool in .build
  export LLVM_PROFILE_FILE="${LLVM_PROFILE_FILE:-$PWD/.build/interop-profiles/%4m.profraw}"
  if [[ -z "${INTEROP_SERVER_BIN:-}" ]]; then
    INTEROP_SERVER_BIN="$(swift build --show-bin-path)/interop-server"
    export INTEROP_SERVER_BIN
  fi
fi

section "4/4 interop tests (server: ${INTEROP_SERVER:-swift})"
read -r -a extra <<<"${PYTEST_ARGS:-}"
status=0
# SIGINT (not TERM) on overrun, so pytest still runs its teardown and stops the servers and browsers it started
# beside a throwaway PostgreSQL too (the cluster tests: several pushinator nodes on one database)
scripts/with-postgres.sh timeout --signal=INT --kill-after=60 "${INTEROP_TIMEOUT:-2400}" \
  "$PY" -m pytest Tests/Interop -q -p no:cacheprovider -ra "${extra[@]}" || status=$?
if [[ $status -eq 5 ]]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "error: interop tests failed (pytest exit $status)" >&2
fi
exit $status
