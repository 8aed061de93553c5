#!/usr/bin/env bash
# Install everything scripts/test.sh needs. Idempotent: each step checks first and does nothing when already done,
# so a second run takes a few seconds. apt-get update runs only when a Debian package is missing.
#
#   Debian:  chromium (headless browser for the JS client), wrk, zlib1g-dev, libssl-dev, curl, openssl, unzip,
#            gcc (the C connect-rate ceiling tool of the benchmark smoke run);
#            deployment (Templates/deploy, scripts/package.sh): systemd (systemd-analyze), nginx-light, haproxy,
#            prometheus (promtool), logrotate, lintian, dpkg-dev (dpkg-shlibdeps)
#            cluster: postgresql (the throwaway server of scripts/with-postgres.sh)
#   PyPI:    pytest, pytest-timeout, python-socketio 5 (+client extras), websocket-client, requests, aiohttp,
#            psycopg 3 and msgpack (pg_notify from Python in the postgres-emitter format, against the Swift
#            transport, and reading what it publishes as the Node adapter does)
#   venv:    Tests/Interop/.cache/venv-eio3 with python-socketio 4.6.1 / python-engineio 3.14.2 (Engine.IO v3)
#   file:    Tests/Interop/.cache/socket.io.min.js (socket.io JS client 4.8.x, taken from the nicegui wheel)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PYTHON:-python3}"
CACHE="Tests/Interop/.cache"
EIO3_VENV="$CACHE/venv-eio3"
NICEGUI_VERSION="3.18.0"  # ships nicegui/static/socket.io.min.js = socket.io client 4.8.1
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1 DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(chromium wrk zlib1g-dev libssl-dev curl openssl unzip ca-certificates gcc)
APT_PACKAGES+=(systemd nginx-light haproxy prometheus logrotate lintian dpkg-dev)  # deployment files and the .deb
APT_PACKAGES+=(postgresql)  # scripts/with-postgres.sh: the cluster transport's tests
PIP_PINS=(
  "python-socketio[client]==5.18.1"
  "python-engineio==4.15.1"
  "websocket-client==1.9.0"
  "requests>=2.31,<3"
  "aiohttp==3.13.2"
  "pytest>=8,<10"
  "pytest-timeout==2.4.0"
  "psycopg>=3.2,<4"
  "msgpack==1.1.0"
  "prometheus_client>=0.20,<1"
)
EIO3_PINS=(
  "python-socketio[client]==4.6.1"
  "python-engineio==3.14.2"
  "websocket-client==1.9.0"
  "requests>=2.31,<3"
  "aiohttp==3.13.2"
)

log() { printf '[install-test-deps] %s\n' "$*"; }

# -- Debian packages -------------------------------------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo -n"; fi
  log "apt: installing ${missing[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "apt: all present"
fi

# -- Python packages for the test runner -----------------------------------------------------------------------------
# Prints the pins that are not satisfied by what is installed (exact pins compare exactly, ranges by major version).
unsatisfied() {
  "$1" - "${@:2}" <<'PY'
import re, sys
from importlib.metadata import PackageNotFoundError, version
for spec in sys.argv[1:]:
    m = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?(.*)$", spec)
    name, cond = m.group(1), m.group(3)
    try:
        have = version(name)
    except PackageNotFoundError:
        print(spec); continue
    ok = True
    for part in filter(None, cond.split(",")):
        op, want = re.match(r"(==|>=|<)(.*)", part).groups()
        h = tuple(int(x) for x in re.findall(r"\d+", have)[:3])
        w = tuple(int(x) for x in re.findall(r"\d+", want)[:3])
        ok &= {"==": have == want, ">=": h >= w, "<": h < w}[op]
    if not ok:
        print(spec)
PY
}

PIP_EXTRA=()
if "$PY" -c 'import sys, sysconfig, os; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
  PIP_EXTRA=(--break-system-packages)  # a Debian-managed python3: PEP 668
fi
mapfile -t need < <(unsatisfied "$PY" "${PIP_PINS[@]}")
if ((${#need[@]})); then
  log "pip ($PY): installing ${need[*]}"
  "$PY" -m pip install -q "${PIP_EXTRA[@]}" "${PIP_PINS[@]}"
else
  log "pip ($PY): all present"
fi

# -- Engine.IO v3 client virtualenv ----------------------------------------------------------------------------------
mkdir -p "$CACHE"
if [[ -x "$EIO3_VENV/bin/python" ]] && "$EIO3_VENV/bin/python" -c 'import sys' 2>/dev/null; then
  mapfile -t need < <(unsatisfied "$EIO3_VENV/bin/python" "${EIO3_PINS[@]}")
else
  rm -rf "$EIO3_VENV"
  log "venv: creating $EIO3_VENV"
  "$PY" -m venv "$EIO3_VENV"
  need=("${EIO3_PINS[@]}")
fi
if ((${#need[@]})); then
  log "venv-eio3: installing ${need[*]}"
  "$EIO3_VENV/bin/python" -m pip install -q "${EIO3_PINS[@]}"
else
  log "venv-eio3: all present"
fi

# -- socket.io JS client 4.8.x ---------------------------------------------------------------------------------------
JS="$CACHE/socket.io.min.js"
js_ok() { [[ -s "$JS" ]] && head -c 200 "$JS" | grep -q "Socket.IO v4\.8\."; }
if ! js_ok; then
  log "socket.io client: extracting from nicegui==$NICEGUI_VERSION"
  mkdir -p "$CACHE/wheels"
  "$PY" -m pip download -q --no-deps "nicegui==$NICEGUI_VERSION" -d "$CACHE/wheels"
  "$PY" - "$CACHE/wheels/nicegui-$NICEGUI_VERSION-py3-none-any.whl" "$JS" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    data = wheel.read("nicegui/static/socket.io.min.js")
with open(sys.argv[2], "wb") as out:
    out.write(data)
PY
  js_ok || { log "error: $JS is not socket.io client 4.8.x: $(head -c 120 "$JS")"; exit 1; }
fi
log "socket.io client: $(head -c 200 "$JS" | grep -o 'Socket.IO v[0-9.]*')"

# -- Swift toolchain (cannot be installed from the registries: must come with the machine) ---------------------------
if ! command -v swift >/dev/null 2>&1 && [[ ! -x /opt/swift/usr/bin/swift ]]; then
  log "error: no swift toolchain on PATH or at /opt/swift/usr/bin"
  exit 1
fi
log "done"
