#!/usr/bin/env bash
# Renders Templates/PushApp, a starter Swift package for a push app on the Pushinator toolkit.
#
#   scripts/new-app.sh NAME DIR     # e.g. scripts/new-app.sh NewsPush ../news-push
#
# NAME must be a Swift identifier (it names the package, the executable and its modules). The package depends on
# this checkout by path (its absolute path is written into DIR/Package.swift). Then:
#   cd DIR && swift build && swift test && swift run NAME
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATE="$ROOT/Templates/PushApp"

usage() { echo "usage: $0 NAME DIR" >&2; exit 64; }
[[ $# -eq 2 ]] || usage
NAME="$1"
DIR="$2"
[[ "$NAME" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "error: NAME must be a Swift identifier: '$NAME'" >&2; exit 64; }
if [[ -e "$DIR" && -n "$(ls -A "$DIR" 2>/dev/null)" ]]; then
  echo "error: $DIR exists and is not empty" >&2
  exit 73
fi
PACKAGE="$(basename "$ROOT" | tr '[:upper:]' '[:lower:]')"  # SwiftPM names a path dependency after its folder
LOWER="$(printf '%s' "$NAME" | tr '[:upper:]' '[:lower:]')"
UPPER="$(printf '%s' "$NAME" | sed -E 's/([a-z0-9])([A-Z])/\1_\2/g' | tr '[:lower:]' '[:upper:]')"

mkdir -p "$DIR"
while IFS= read -r -d '' source; do
  relative="${source#"$TEMPLATE"/}"
  target="$DIR/${relative//__NAME__/$NAME}"
  mkdir -p "$(dirname "$target")"
  # plain substitution; the longer placeholders first
  sed -e "s|__PUSHINATOR_PATH__|$ROOT|g" -e "s|__PUSHINATOR_PACKAGE__|$PACKAGE|g" -e "s|__NAME_UPPER__|$UPPER|g" -e "s|__NAME_LOWER__|$LOWER|g" \
    -e "s|__NAME__|$NAME|g" "$source" >"$target"
done < <(find "$TEMPLATE" -type f -print0)
echo "rendered $NAME into $DIR (depends on $ROOT); next: cd $DIR && swift build && swift test"
