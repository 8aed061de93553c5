#!/usr/bin/env bash
# Builds pushinator for installation: a release binary with the Swift runtime linked in statically, a tarball,
# and a Debian package.
#
#   scripts/package.sh                 # build, then package into dist/
#   OUT=/tmp/dist scripts/package.sh   # another output folder
#   SKIP_BUILD=1 scripts/package.sh    # package the release binary already built (.build/release/pushinator)
#   SCRATCH_PATH=.build-release scripts/package.sh   # build in another folder than .build
#   MAINTAINER='Name <you@example.org>' scripts/package.sh  # the .deb's Maintainer field
#
# Output (VERSION is what `pushinator --version` prints, ARCH is dpkg's name for this machine):
#   dist/pushinator_VERSION_ARCH.deb              /usr/bin/pushinator, /etc/pushinator.conf (conffile), the systemd
#                                                 unit, logrotate, docs and deployment templates; postinst creates
#                                                 the system user `pushinator`
#   dist/pushinator-VERSION-linux-ARCH.tar.gz     the same files under pushinator-VERSION/ (bin/, etc/, share/)
#   dist/pushinator.needs                         the shared libraries the binary still loads (ldd) and their packages
#
# The binary needs only the C runtime from the system: glibc (libc, libm), libstdc++ and libgcc_s (the Swift
# runtime's C++ parts), and zlib (compress-nio). TLS needs no libssl: swift-nio-ssl links BoringSSL in.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi

OUT="${OUT:-dist}"
MAINTAINER="${MAINTAINER:-Pushinator maintainers <maintainers@pushinator.example.org>}"  # the .deb's Maintainer
SWIFT_FLAGS=(-c release)
if [[ -n "${SCRATCH_PATH:-}" ]]; then SWIFT_FLAGS+=(--scratch-path "$SCRATCH_PATH"); fi
log() { printf '[package] %s\n' "$*"; }
die() { printf '[package] error: %s\n' "$*" >&2; exit 1; }

# -- 1. the release binary -------------------------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  log "swift build ${SWIFT_FLAGS[*]} --product pushinator --static-swift-stdlib"
  swift build "${SWIFT_FLAGS[@]}" --product pushinator --static-swift-stdlib
fi
BIN="$(swift build "${SWIFT_FLAGS[@]}" --show-bin-path)/pushinator"
[[ -x "$BIN" ]] || die "no release binary at $BIN (run without SKIP_BUILD=1)"
if ldd "$BIN" | grep -q 'libswiftCore\.so'; then
  die "$BIN loads libswiftCore.so: it was not built with --static-swift-stdlib"
fi

VERSION="$("$BIN" --version)"
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "unexpected version '$VERSION' from $BIN --version"
ARCH="$(dpkg --print-architecture)"
MACHINE="$(uname -m)"
log "pushinator $VERSION for $ARCH"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

# -- 2. what the binary still needs from the system ------------------------------------------------------------------
# Each library ldd resolves, and the Debian package that ships it.
: >"$OUT/pushinator.needs"
while read -r name path; do
  package="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1 || true)"
  [[ -n "$package" ]] || package="$(dpkg -S "$path" 2>/dev/null | head -n1 | cut -d: -f1 || true)"
  printf '%s %s %s\n' "$name" "$path" "${package:-?}" >>"$OUT/pushinator.needs"
done < <(ldd "$BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 } $1 ~ /^\// { print $1, $1 }')
log "needs: $(awk '{ print $1 }' "$OUT/pushinator.needs" | tr '\n' ' ')"

# -- 3. the file tree (shared by the .deb and the tarball) -----------------------------------------------------------
ROOT="$WORK/root"
DOC="$ROOT/usr/share/doc/pushinator"
install -d "$ROOT/usr/bin" "$ROOT/etc/logrotate.d" "$ROOT/lib/systemd/system" "$DOC/examples" "$ROOT/DEBIAN"
install -m 0755 "$BIN" "$ROOT/usr/bin/pushinator"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$ROOT/usr/bin/pushinator"
install -m 0644 Templates/deploy/pushinator.conf "$ROOT/etc/pushinator.conf"
install -m 0644 Templates/deploy/pushinator.service "$ROOT/lib/systemd/system/pushinator.service"
install -m 0644 Templates/deploy/logrotate "$ROOT/etc/logrotate.d/pushinator"
for f in nginx.conf haproxy.cfg prometheus.yml pushinator-alerts.yml grafana-dashboard.json; do
  install -m 0644 "Templates/deploy/$f" "$DOC/examples/$f"
done
install -m 0644 README.md "$DOC/README.md"
for f in Documentation/*.md; do install -m 0644 "$f" "$DOC/$(basename "$f")"; done
install -m 0644 Examples/Pushinator/client.html "$DOC/examples/client.html"
gzip -9n "$DOC"/*.md
gzip -9n "$DOC/examples/grafana-dashboard.json"
cat >"$DOC/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pushinator
Comment: The pushinator binary links in, statically, the Swift standard library and Foundation (Apache-2.0 with
 Runtime Library Exception), SwiftNIO, swift-nio-extras, swift-nio-ssl, swift-http-types, swift-log,
 swift-service-lifecycle, swift-argument-parser (Apache-2.0), BoringSSL (ISC, OpenSSL and Apache-2.0
 licenses) and compress-nio (Apache-2.0).

Files: *
Copyright: the pushinator authors
License: unstated
 The pushinator sources do not state a license yet; ask the authors before redistributing.
EOF
CHANGES="$WORK/changelog"
cat >"$CHANGES" <<EOF
pushinator ($VERSION) unstable; urgency=medium

  * Release $VERSION, built from $(git rev-parse --short HEAD 2>/dev/null || echo "a source tree") with
    scripts/package.sh.

 -- $MAINTAINER  $(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
EOF
gzip -9nc "$CHANGES" >"$DOC/changelog.gz"

# -- 4. the tarball ---------------------------------------------------------------------------------------------------
TREE="$WORK/pushinator-$VERSION"
install -d "$TREE/bin" "$TREE/etc/systemd" "$TREE/share"
cp "$ROOT/usr/bin/pushinator" "$TREE/bin/"
cp "$ROOT/etc/pushinator.conf" "$TREE/etc/"
cp "$ROOT/lib/systemd/system/pushinator.service" "$TREE/etc/systemd/"
cp "$ROOT/etc/logrotate.d/pushinator" "$TREE/etc/logrotate"
cp -r "$ROOT/usr/share/doc/pushinator" "$TREE/share/doc"
cp "$OUT/pushinator.needs" "$TREE/share/doc/NEEDS"
TARBALL="$OUT/pushinator-$VERSION-linux-$MACHINE.tar.gz"
tar -C "$WORK" --owner=0 --group=0 --numeric-owner -czf "$TARBALL" "pushinator-$VERSION"
log "wrote $TARBALL"

# -- 5. the Debian package --------------------------------------------------------------------------------------------
# Depends: from the shared libraries the binary loads (dpkg-shlibdeps wants a debian/control to read).
install -d "$WORK/src/debian"
printf 'Source: pushinator\n\nPackage: pushinator\nArchitecture: any\n' >"$WORK/src/debian/control"
SHLIBS="$(cd "$WORK/src" && dpkg-shlibdeps -O "$ROOT/usr/bin/pushinator" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
[[ -n "$SHLIBS" ]] || die "dpkg-shlibdeps found no dependencies for the binary"
SIZE="$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)"
cat >"$ROOT/DEBIAN/control" <<EOF
Package: pushinator
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $SIZE
Depends: adduser, $SHLIBS
Section: net
Priority: optional
Description: push server for browsers over Socket.IO
 pushinator pushes messages from a web application's backend to browsers in
 real time. The backend registers users and sends messages over a small HTTP
 admin API; browsers connect with the official socket.io client. It reads
 node pushinator's configuration file and speaks its admin API.
EOF
printf '/etc/pushinator.conf\n/etc/logrotate.d/pushinator\n' >"$ROOT/DEBIAN/conffiles"
cat >"$ROOT/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    if ! getent passwd pushinator >/dev/null; then
        adduser --system --group --quiet --home /var/lib/pushinator --no-create-home \
            --gecos "pushinator push server" pushinator
    fi
fi
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
    if deb-systemd-helper debian-installed 'pushinator.service'; then
        deb-systemd-helper update-state 'pushinator.service' >/dev/null || true
    else
        deb-systemd-helper enable 'pushinator.service' >/dev/null || true
    fi
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        if [ -n "$2" ]; then
            deb-systemd-invoke try-restart 'pushinator.service' >/dev/null || true
        else
            deb-systemd-invoke start 'pushinator.service' >/dev/null || true
        fi
    fi
fi
exit 0
EOF
cat >"$ROOT/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    deb-systemd-invoke stop 'pushinator.service' >/dev/null || true
fi
exit 0
EOF
cat >"$ROOT/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "remove" ]; then
    if [ -x "/usr/bin/deb-systemd-helper" ]; then
        deb-systemd-helper mask 'pushinator.service' >/dev/null || true
    fi
fi
if [ "$1" = "purge" ]; then
    if [ -x "/usr/bin/deb-systemd-helper" ]; then
        deb-systemd-helper purge 'pushinator.service' >/dev/null || true
        deb-systemd-helper unmask 'pushinator.service' >/dev/null || true
    fi
    rm -rf /var/lib/pushinator /var/log/pushinator
fi
exit 0
EOF
chmod 0755 "$ROOT/DEBIAN/postinst" "$ROOT/DEBIAN/prerm" "$ROOT/DEBIAN/postrm"
find "$ROOT" -type d -exec chmod 0755 {} +
DEB="$OUT/pushinator_${VERSION}_$ARCH.deb"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
log "wrote $DEB"
