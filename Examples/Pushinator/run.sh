#!/usr/bin/env bash
# Registers a user and sends it a message through pushinator's admin API (node pushinator's examples/run.sh).
# Start pushinator first (`swift run pushinator`), open client.html, then run this script.
#   ADMIN=http://127.0.0.1:9600 USER_ID=55866 HASH=7f81776793e31d71d1ed71038e78dbf5 ./run.sh
set -euo pipefail
ADMIN="${ADMIN:-http://127.0.0.1:9600}"
USER_ID="${USER_ID:-55866}"
HASH="${HASH:-7f81776793e31d71d1ed71038e78dbf5}"
AUTH=()
if [[ -n "${TOKEN:-}" ]]; then AUTH=(-H "Authorization: Bearer $TOKEN"); fi   # when admin.token is set

post() { curl -sS --max-time 5 "${AUTH[@]}" -d "$2" "$ADMIN$1"; echo; }

echo "Registering user $USER_ID with hash $HASH:"
post /user/register "{\"userId\":$USER_ID,\"hash\":\"$HASH\"}"

if [[ -t 0 ]]; then read -r -p "Open client.html?user=$USER_ID&hash=$HASH in your browser, then press Enter " _; fi

echo "Sending \"Hey there!\" to user $USER_ID:"
post /user/send "{\"userId\":$USER_ID,\"message\":{\"text\":\"Hey there!\"}}"
