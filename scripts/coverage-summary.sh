#!/usr/bin/env bash
# Prints the line coverage the Swift tests reach in Sources/EngineIO, Sources/PushinatorEventLoop and in the
# protocol state machines, after
# `swift test --enable-code-coverage` (scripts/test.sh runs it). Informative only: it never fails the build.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi
# The llvm-cov of the Swift toolchain reads the profiles it writes; another LLVM's (Debian's llvm-14) may not.
swift_bin="$(readlink -f "$(command -v swift)" 2>/dev/null || true)"
llvm_cov="$(dirname "${swift_bin:-/nonexistent}")/llvm-cov"
[[ -x "$llvm_cov" ]] || llvm_cov="$(command -v llvm-cov || true)"
[[ -n "$llvm_cov" ]] || { echo "coverage: llvm-cov not found, no summary"; exit 0; }

codecov_json="$(swift test --show-codecov-path 2>/dev/null)" || { echo "coverage: no codecov path"; exit 0; }
profdata="$(dirname "$codecov_json")/default.profdata"
bin_dir="$(swift build --show-bin-path 2>/dev/null)"
binary="$(find "$bin_dir" -maxdepth 1 -name '*PackageTests.xctest' | head -n 1)"
if [[ ! -f "$profdata" || -z "$binary" ]]; then
  echo "coverage: no profile data (run swift test --enable-code-coverage first)"
  exit 0
fi

files=(Sources/EngineIO Sources/PushinatorEventLoop)
while IFS= read -r file; do files+=("$file"); done < <(find Sources -name '*StateMachine.swift' -not -path 'Sources/EngineIO/*' | sort)

echo "Line coverage of the Swift tests (Sources/EngineIO, Sources/PushinatorEventLoop and the state machines):"
"$llvm_cov" report "$binary" -instr-profile="$profdata" "${files[@]}" \
  | sed -e "s#$PWD/##" | awk '{ print "  " $0 }' || echo "coverage: llvm-cov report failed"
exit 0
