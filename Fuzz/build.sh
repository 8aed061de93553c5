#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer and AddressSanitizer into Fuzz/.build-fuzz (debug, so that
# `@testable import` reaches the internal route table and WebSocket handlers).
set -euo pipefail
cd "$(dirname "$0")"
exec swift build \
    --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address \
    -Xswiftc -parse-as-library \
    "$@"
