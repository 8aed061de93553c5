#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer and AddressSanitizer into Fuzz/.build-fuzz: release (a debug build
# runs 5-10x fewer executions per second) with `-enable-testing`, so that `@testable import` reaches the
# internal route table and WebSocket handlers.
set -euo pipefail
cd "$(dirname "$0")"
exec swift build \
    --scratch-path .build-fuzz \
    -c release \
    -Xswiftc -enable-testing \
    -Xswiftc -sanitize=fuzzer,address \
    -Xswiftc -parse-as-library \
    "$@"
