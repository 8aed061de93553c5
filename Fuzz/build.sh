#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer and AddressSanitizer into Fuzz/.build-fuzz: release (a debug build
# runs 5-10x fewer executions per second) with `-enable-testing`, so that `@testable import` reaches the
# internal route table and WebSocket handlers.
set -euo pipefail
cd "$(dirname "$0")"
# SwiftPM keeps the planned build of a path dependency and misses source files added to or removed from the
# main package since; dropping the plan makes it look again (the compiled objects stay).
rm -f .build-fuzz/*.yaml .build-fuzz/*/release/description.json
exec swift build \
    --scratch-path .build-fuzz \
    -c release \
    -Xswiftc -enable-testing \
    -Xswiftc -sanitize=fuzzer,address \
    -Xswiftc -parse-as-library \
    "$@"
