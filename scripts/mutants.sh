#!/usr/bin/env bash
# Mutation testing (issue 17): applies small faults to the product's hot and protocol paths, one at a time, to a
# scratch copy of the tree; rebuilds; runs the tests meant to catch the fault; reports each mutant killed (a test
# failed) or surviving (every test passed). Slow (one incremental build per mutant): not part of CI.
#
#   scripts/mutants.sh              every mutant (a baseline run of the same tests on the unmutated copy first)
#   scripts/mutants.sh ID...        only these mutants
#   scripts/mutants.sh --check      only check that every mutation still applies to this tree (no build)
#   scripts/mutants.sh --list       list the mutants
#
# Environment: MUTANTS_DIR (scratch directory, default /tmp/pushinator-mutants; wiped first), MUTANTS_JOBS (build
# jobs, default 1), MUTANTS_TEST_TIMEOUT (seconds per mutant's tests, default 600), MUTANTS_REPORT (also write the
# result table to this file), MUTANTS_COMMIT (the commit named in the report, when git cannot tell).
#
# The product source is never touched. The tree (without .git) is copied to $MUTANTS_DIR/src with a copy of .build.
# As root, builds and tests run in a private mount namespace where the copy is mounted over this checkout's path,
# so the copied .build stays valid (only what a mutant changes is rebuilt); otherwise the copy builds at its own path
# (a full build first). Every mutation names an exact text (the anchor) that must occur exactly once in Sources/ and
# Examples/ (*.swift): a mutation that no longer applies fails loudly instead of being skipped.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${MUTANTS_DIR:-/tmp/pushinator-mutants}"
JOBS="${MUTANTS_JOBS:-1}"
TEST_TIMEOUT="${MUTANTS_TEST_TIMEOUT:-600}"
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi

# ---------------------------------------------------------------------------------------------------------------------
# The mutants: mutant ID PRODUCT 'PYTEST ARGS' 'WHAT' <<'EOF' (the anchor, a line `=>`, the replacement)
# ---------------------------------------------------------------------------------------------------------------------

IDS=() PRODUCTS=() TESTS=() WHATS=() PATCHES=()
mutant() {
  IDS+=("$1") PRODUCTS+=("$2") TESTS+=("$3") WHATS+=("$4")
  PATCHES+=("$(cat)")
}

mutant broadcast-drops-every-10th interop-server \
  'Tests/Interop/test_socketio_documented.py -k every_one_of_many_members' \
  'a broadcast skips every 10th recipient (and still counts it)' <<'EOF'
            SocketIOWire.deliver(SocketIOWire.encode(packet), to: recipients)
=>
            SocketIOWire.deliver(SocketIOWire.encode(packet), to: recipients.enumerated().filter { $0.offset % 10 != 9 }.map(\.element))
EOF

mutant poll-cap-off-by-one interop-server \
  'Tests/Interop/test_socketio_documented.py -k at_most_16_packets' \
  'a poll carries 17 packets, not 16' <<'EOF'
batch.count < configuration.maxPacketsPerPoll
=>
batch.count <= configuration.maxPacketsPerPoll
EOF

mutant no-heartbeat-ping interop-server \
  'Tests/Interop/test_socketio_python.py -k silent_websocket_client_is_closed_after_ping_timeout' \
  'the server never sends the heartbeat ping' <<'EOF'
            enqueue(.control(.ping), into: &actions)
=>
            _ = 0
EOF

mutant eio3-no-pong interop-server \
  'Tests/Interop/test_socketio_documented.py -k eio3_server_answers_pings' \
  'an EIO3 ping is not answered' <<'EOF'
            enqueue(.control(.pong, text: packet.text ?? ""), into: &actions)
=>
            _ = packet.text
EOF

mutant oversize-post-accepted interop-server \
  'Tests/Interop/test_socketio_python.py -k oversize_post_is_rejected' \
  'a polling POST over maxPayload is processed' <<'EOF'
        guard body.readableBytes <= configuration.maxPayload else {
=>
        guard true || body.readableBytes <= configuration.maxPayload else {
EOF

mutant eio-code-2-is-3 interop-server \
  'Tests/Interop/test_socketio_documented.py -k code_2' \
  'a handshake by POST answers code 3, not 2' <<'EOF'
code: 2, message: "Bad handshake method"
=>
code: 3, message: "Bad handshake method"
EOF

mutant eio-code-3-is-0 interop-server \
  'Tests/Interop/test_socketio_documented.py -k code_3' \
  'a bad request answers code 0, not 3' <<'EOF'
code: 3, message: "Bad request"
=>
code: 0, message: "Bad request"
EOF

mutant no-connect-timeout interop-server \
  'Tests/Interop/test_socketio_documented.py -k connect_timeout' \
  'a client that joins no namespace is never closed' <<'EOF'
            guard connectedSockets.isEmpty else { return [] }
=>
            guard connectedSockets.isEmpty, Bool(false) else { return [] }
EOF

mutant namespace-leave-closes-session interop-server \
  'Tests/Interop/test_socketio_documented.py -k leaving_one_namespace' \
  'leaving one namespace closes the whole session' <<'EOF'
            return .actions([.remove(socket, .clientNamespaceDisconnect)])
=>
            var all: [Action] = [.remove(socket, .clientNamespaceDisconnect)]; removeAll(reason: .clientNamespaceDisconnect, into: &all); return .actions(all + [.closeConnection(.transportClose)])
EOF

mutant slow-consumer-not-1008 interop-server \
  'Tests/Interop/test_hardening.py -k slow_consumer_gets_close_1008' \
  'a WebSocket slow consumer is closed with 1000, not 1008' <<'EOF'
            close(code: .policyViolation)
            return false
=>
            close(code: .normalClosure)
            return false
EOF

mutant cors-allows-unlisted-origins interop-server \
  'Tests/Interop/test_socketio_documented.py -k cors_middleware_answers_listed' \
  'CORSMiddleware allows origins that are not listed' <<'EOF'
            case .list(let origins): origins.contains(origin)
=>
            case .list(let origins): origins.contains(origin) || !origin.isEmpty
EOF

mutant room-leave-ignored interop-server \
  'Tests/Interop/test_socketio_python.py -k "left_room_receives_nothing and websocket"' \
  'leaving a room does nothing' <<'EOF'
    public func leave(_ room: String) { namespace.adapter.leave(self, room: room) }
=>
    public func leave(_ room: String) { _ = room }
EOF

mutant pong-ignored interop-server \
  'Tests/Interop/test_socketio_python.py -k "client_answering_pings_stays_connected and websocket"' \
  'a pong does not count as an answer to the ping' <<'EOF'
            guard configuration.version == .v4 else { return .actions([]) }
=>
            guard configuration.version == .v4, Bool(false) else { return .actions([]) }
EOF

mutant server-ack-answer-lost interop-server \
  'Tests/Interop/test_socketio_python.py -k "test_server_ack and websocket"' \
  'an ack from the client resolves with no arguments' <<'EOF'
            expectAck(id) { result in continuation.resume(with: result) }
=>
            expectAck(id) { _ in continuation.resume(with: .success([])) }
EOF

mutant body-limit-plus-one-announced pushinator \
  'Tests/Interop/test_pushinator_admin.py -k "announced_over_2_mib and one-byte-over"' \
  'a body announced one byte over the limit is read (the 413 waits for the body)' <<'EOF'
        if let length = contentLength.flatMap({ Int($0) }), length > limits.maxRequestBodySize {
=>
        if let length = contentLength.flatMap({ Int($0) }), length > limits.maxRequestBodySize + 1 {
EOF

mutant body-limit-plus-one-streamed pushinator \
  'Tests/Interop/test_pushinator_admin.py -k "2_mib_is_accepted and chunked"' \
  'a chunked body one byte over the limit is accepted' <<'EOF'
            if body!.readableBytes > limits.maxRequestBodySize {
=>
            if body!.readableBytes > limits.maxRequestBodySize + 1 {
EOF

mutant body-over-limit-answers-200 pushinator \
  'Tests/Interop/test_pushinator_admin.py -k announced_over_2_mib' \
  'a body announced over the limit is answered 200 instead of 413' <<'EOF'
        if let length = contentLength.flatMap({ Int($0) }), length > limits.maxRequestBodySize {
            return refuse(.contentTooLarge, "Request body is larger than \(limits.maxRequestBodySize) bytes")
=>
        if let length = contentLength.flatMap({ Int($0) }), length > limits.maxRequestBodySize {
            return refuse(.ok, "Request body is larger than \(limits.maxRequestBodySize) bytes")
EOF

mutant auth-skips-hash-check pushinator \
  'Tests/Interop/test_pushinator_clients.py -k "failed_auth_with_ack and websocket"' \
  'auth accepts any hash of a registered user' <<'EOF'
            guard users.verify(userID, hash: hash) else {
                throttle.recordFailure(address, user: userID)
=>
            guard users.verify(userID, hash: hash) || true else {
                throttle.recordFailure(address, user: userID)
EOF

mutant hash-compare-length-only pushinator \
  'Tests/Interop/test_pushinator_documented.py -k throttled' \
  'the hash comparison looks only at the length' <<'EOF'
        return difference == 0 && lhs.count == rhs.count
=>
        return difference == difference && lhs.count == rhs.count
EOF

mutant auth-throttle-off pushinator \
  'Tests/Interop/test_pushinator_documented.py -k throttled' \
  'failed auths are never throttled' <<'EOF'
            guard throttle.allows(
=>
            guard true || throttle.allows(
EOF

mutant second-auth-keeps-old-room pushinator \
  'Tests/Interop/test_pushinator_clients.py -k "second_auth_moves and websocket"' \
  'a second auth forgets to leave the first user'"'"'s room' <<'EOF'
                socket.leave(PushApp.room(of: previous))
=>
                _ = previous
EOF

mutant unregister-keeps-sockets pushinator \
  'Tests/Interop/test_pushinator_clients.py -k "unregister_disconnects and websocket"' \
  '/user/unregister leaves the user'"'"'s sockets connected' <<'EOF'
                await clients.to(PushApp.room(of: userID)).disconnectSockets()  // on every node of a cluster
=>
                _ = clients.to(PushApp.room(of: userID))
EOF

mutant admin-token-ignored pushinator \
  'Tests/Interop/test_pushinator_admin.py -k test_admin_token' \
  'the admin token is not checked' <<'EOF'
            guard HashDigest.constantTimeEquals(Array(presented.utf8), Array("Bearer \(token)".utf8)) else {
=>
            guard true || HashDigest.constantTimeEquals(Array(presented.utf8), Array("Bearer \(token)".utf8)) else {
EOF

mutant raw-encoding-ignored pushinator \
  'Tests/Interop/test_pushinator_clients.py -k "raw_message_encoding and websocket"' \
  'client.messageEncoding raw still sends JSON.stringify(message)' <<'EOF'
settings.withLock { $0.messageEncoding } == .raw ? message : .string(message.jsonString)
=>
settings.withLock { $0.messageEncoding } == .raw ? .string(message.jsonString) : .string(message.jsonString)
EOF

mutant admin-origin-unchecked pushinator \
  'Tests/Interop/test_pushinator_admin.py -k foreign_origin_is_refused' \
  'a request from a foreign Origin reaches the admin API' <<'EOF'
        if let origin = request.headers[.origin], !allowedOrigins.contains(origin) {
=>
        if let origin = request.headers[.origin], !allowedOrigins.contains(origin), origin.isEmpty {
EOF

mutant auth-refusal-logs-the-hash pushinator \
  'Tests/Interop/test_pushinator_ops.py -k syslog_tag_facility_and_no_hash' \
  'a refused auth logs the hash it was given' <<'EOF'
                    "auth refused",
                    metadata: ["sio.sid": "\(socket.id)", "push.user": "\(userID)", "push.address": "\(address)"]
=>
                    "auth refused",
                    metadata: ["sio.sid": "\(socket.id)", "push.user": "\(userID)", "push.address": "\(address)", "push.hash": "\(hash)"]
EOF

mutant reload-applies-nothing pushinator \
  'Tests/Interop/test_pushinator_documented.py -k reload_applies' \
  'a SIGHUP reload keeps the old settings' <<'EOF'
                settings = Self.applyingLive(fresh, to: settings)
=>
                _ = fresh
EOF

mutant trusted-proxies-not-exempt pushinator \
  'Tests/Interop/test_hardening.py -k trusted_proxy_is_exempt' \
  'client.trustedProxies are not exempt from the per-address connection limit' <<'EOF'
        clientLimits.connectionLimitExempt + trustedProxies.entries.compactMap(AddressRange.init)
=>
        clientLimits.connectionLimitExempt
EOF

mutant websocket-message-not-charged interop-server \
  'Tests/Interop/test_hardening.py -k memory_budget_refuses' \
  'WebSocket frames being reassembled are not charged to the memory budget' <<'EOF'
            guard charge.add(frame.length) else {
=>
            guard charge.add(0) else {
EOF

mutant polling-queue-not-charged interop-server \
  'Tests/Interop/test_hardening.py -k polling_queue' \
  'the queue of a polling client that does not poll is not charged to the memory budget' <<'EOF'
        case .none: if queueCharge == 0, machine.queuedBytes > maxBufferedBytes / 2 { chargeQueue() }
=>
        case .none: break
EOF

# ---------------------------------------------------------------------------------------------------------------------

SRC="$WORK/src"
PRISTINE="$WORK/pristine"

# apply ROOT PATCH: replaces the anchor (exactly one occurrence in ROOT's Sources/ and Examples/) with the replacement;
# prints the mutated file:line. Exit status 3 when the anchor is missing or ambiguous.
apply_patch() {
  python3 - "$1" "$2" <<'PY'
import pathlib, sys
root, patch = pathlib.Path(sys.argv[1]), sys.argv[2]
anchor, sep, replacement = patch.partition("\n=>\n")
if not sep:
    sys.exit("mutation has no '=>' line")
hits = []
for folder in ("Sources", "Examples"):
    for path in sorted((root / folder).rglob("*.swift")):
        text = path.read_text()
        count = text.count(anchor)
        if count:
            hits.append((path, text, count))
total = sum(c for _, _, c in hits)
if total != 1:
    where = ", ".join(f"{p.relative_to(root)} x{c}" for p, _, c in hits) or "nowhere"
    print(f"anchor found {total} times ({where}):\n{anchor}", file=sys.stderr)
    sys.exit(3)
path, text, _ = hits[0]
line = text[: text.index(anchor)].count("\n") + 1
path.write_text(text.replace(anchor, replacement))
print(f"{path.relative_to(root)}:{line}")
PY
}

if [[ "${1:-}" == "--list" ]]; then
  for i in "${!IDS[@]}"; do printf '%-32s %-15s %s\n' "${IDS[$i]}" "${PRODUCTS[$i]}" "${WHATS[$i]}"; done
  exit 0
fi

if [[ "${1:-}" == "--check" ]]; then
  check="$(mktemp -d)"
  trap 'rm -rf "$check"' EXIT
  status=0
  for i in "${!IDS[@]}"; do
    rm -rf "$check/Sources" "$check/Examples"
    cp -a "$REPO/Sources" "$REPO/Examples" "$check/"
    if where="$(apply_patch "$check" "${PATCHES[$i]}")"; then
      printf 'applies  %-32s %s\n' "${IDS[$i]}" "$where"
    else
      printf 'BROKEN   %s\n' "${IDS[$i]}"
      status=1
    fi
  done
  exit $status
fi

selected=("$@")
want() {
  [[ ${#selected[@]} -eq 0 ]] && return 0
  local id
  for id in "${selected[@]}"; do [[ "$id" == "$1" ]] && return 0; done
  return 1
}
for id in "${selected[@]}"; do
  found=0
  for known in "${IDS[@]}"; do [[ "$known" == "$id" ]] && found=1; done
  [[ $found -eq 1 ]] || { echo "unknown mutant: $id (see --list)" >&2; exit 2; }
done

# ---- the scratch copy -----------------------------------------------------------------------------------------------

if [[ -z "${MUTANTS_INSIDE:-}" ]]; then
  case "$WORK" in /tmp/*) ;; *) echo "MUTANTS_DIR must be under /tmp (it is wiped): $WORK" >&2; exit 2 ;; esac
  echo "scratch copy: $SRC"
  rm -rf "$WORK"
  mkdir -p "$SRC" "$PRISTINE"
  tar -C "$REPO" --exclude=./.git --exclude=.build --exclude='.build-*' -cf - . | tar -C "$SRC" -xf -
  cp -a "$SRC/Sources" "$SRC/Examples" "$PRISTINE/"
  commit="${MUTANTS_COMMIT:-$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
  dirty="$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null | head -1 || true)"
  echo "$commit${dirty:+ (with uncommitted changes)}" >"$WORK/commit"
  if [[ $EUID -eq 0 ]] && command -v unshare >/dev/null && [[ -d "$REPO/.build" ]]; then
    echo "copying .build (the copy is mounted over $REPO in a private mount namespace)"
    cp -a "$REPO/.build" "$SRC/.build"
    exec unshare -m bash -c 'mount --bind "$1" "$2" && MUTANTS_INSIDE="$2" exec bash "$2/scripts/mutants.sh" "${@:3}"' \
      mutants "$SRC" "$REPO" "$@"
  fi
  MUTANTS_INSIDE="$SRC" exec bash "$SRC/scripts/mutants.sh" "$@"
fi

# ---- inside: $MUTANTS_INSIDE is the copy (at its own path, or mounted over the checkout's path) -----------------------

TREE="$MUTANTS_INSIDE"
cd "$TREE"
LOGS="$WORK/logs"
mkdir -p "$LOGS"
BIN="$TREE/.build/debug"
export INTEROP_SERVER_BIN="$BIN/interop-server" PUSHINATOR_BIN="$BIN/pushinator"

# SwiftPM locks a build directory with a file in $TMPDIR named after its path: the copy mounted over the checkout's
# path would wait for (and hold up) every build of that path on the machine. Its own TMPDIR gives it its own lock.
mkdir -p "$WORK/tmp"
build() {  # build PRODUCT LOG
  TMPDIR="$WORK/tmp" swift build -j "$JOBS" --product "$1" >>"$2" 2>&1
}

run_tests() {  # run_tests 'PYTEST ARGS' LOG -> pytest's exit status
  local args
  eval "args=($1)"
  timeout --signal=INT --kill-after=30 "$TEST_TIMEOUT" \
    python3 -m pytest "${args[@]}" -x -q -p no:cacheprovider -p no:randomly >>"$2" 2>&1
}

restore() {
  rm -rf "$TREE/Sources" "$TREE/Examples"
  cp -a "$PRISTINE/Sources" "$PRISTINE/Examples" "$TREE/"
}

# every mutation must apply before anything is built
for i in "${!IDS[@]}"; do
  want "${IDS[$i]}" || continue
  restore
  apply_patch "$TREE" "${PATCHES[$i]}" >/dev/null || { echo "mutant ${IDS[$i]} no longer applies" >&2; exit 3; }
done
restore

echo "baseline: unmutated build, every selected test must pass"
for product in interop-server pushinator; do
  build "$product" "$LOGS/baseline.log" || { echo "baseline build failed: $LOGS/baseline.log" >&2; exit 1; }
done
for i in "${!IDS[@]}"; do
  want "${IDS[$i]}" || continue
  if ! run_tests "${TESTS[$i]}" "$LOGS/baseline.log"; then
    echo "baseline: ${TESTS[$i]} fails without a mutant (see $LOGS/baseline.log)" >&2
    exit 1
  fi
done

rows=()
survivors=0 errors=0
for i in "${!IDS[@]}"; do
  id="${IDS[$i]}"
  want "$id" || continue
  log="$LOGS/$id.log"
  restore
  where="$(apply_patch "$TREE" "${PATCHES[$i]}")"
  started=$SECONDS
  printf '%-32s %-45s ' "$id" "$where"
  if ! build "${PRODUCTS[$i]}" "$log"; then
    result="ERROR (does not build)"
    errors=$((errors + 1))
  else
    set +e
    run_tests "${TESTS[$i]}" "$log"
    status=$?
    set -e
    case $status in
      0) result="SURVIVED"; survivors=$((survivors + 1)) ;;
      1) result="killed" ;;
      124 | 130 | 2) result="killed (timed out)" ;;
      *) result="ERROR (pytest exit $status)"; errors=$((errors + 1)) ;;
    esac
  fi
  echo "$result ($((SECONDS - started)) s)"
  rows+=("| \`$id\` | ${WHATS[$i]} | \`$where\` | \`${TESTS[$i]}\` | $result |")
done
restore
for product in interop-server pushinator; do build "$product" "$LOGS/restore.log" || true; done

{
  echo "Mutants run $(date -u '+%Y-%m-%d %H:%M UTC') on $(cat "$WORK/commit"): ${#rows[@]} mutants, $survivors surviving, $errors errors."
  echo
  echo "| mutant | fault | where | tests | result |"
  echo "| --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
} | tee "$WORK/report.md"
[[ -n "${MUTANTS_REPORT:-}" ]] && cp "$WORK/report.md" "$MUTANTS_REPORT"
[[ $survivors -eq 0 && $errors -eq 0 ]]
