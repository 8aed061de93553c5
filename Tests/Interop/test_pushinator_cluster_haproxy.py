"""No sticky sessions behind HAProxy: three pushinator nodes on one PostgreSQL behind Debian's HAProxy, configured
from Templates/deploy/haproxy.cfg (TLS terminated at HAProxy, its timeouts, its X-Forwarded-For, its health check)
with the one `server` line replaced by the three nodes, in HAProxy's default plain round-robin (no `balance source`,
no stick table, no cookie): each request is balanced on its own, so one session's requests reach several nodes, which
forward them to the session's owner (see test_pushinator_cluster_roundrobin.py for the same behind nginx).

Needs PUSHINATOR_TEST_POSTGRES_URL (scripts/with-postgres.sh) and haproxy (scripts/install-test-deps.sh).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from conftest import CACHE, REPO
from pushinator_support import (
    Pushinator,
    check_official_js_client,
    check_python_client_over_polling,
    chromium_with_pages,
    free_port,
    proxied_cluster,
    requires_app,
    requires_postgres,
    start_pushinator,  # noqa: F401 (fixture)
    stop_process,
    wait_for_proxy,
)

pytestmark = [requires_app, requires_postgres]

SOCKET_IO_JS = Path(os.environ.get("SOCKET_IO_JS", str(CACHE / "socket.io.min.js")))
TEMPLATE = REPO / "Templates" / "deploy" / "haproxy.cfg"
LOG_FORMAT = 'log-format "%HU %si:%sp %ST"'  # the request's URI, the node it went to, the status


def haproxy_binary() -> str:
    path = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy", "/sbin/haproxy") if Path(p).exists()), None)
    if path is None:
        pytest.fail("haproxy not found: scripts/install-test-deps.sh installs it", pytrace=False)
    return path


def replace(text: str, old: str, new: str) -> str:
    """`text` with the line(s) `old` (stripped) replaced by `new`; the template must contain them."""
    lines = text.splitlines()
    found = [i for i, line in enumerate(lines) if line.strip() == old]
    assert found, f"Templates/deploy/haproxy.cfg has no line {old!r}: update the test with the template"
    for i in found:
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        lines[i] = "\n".join(indent + part if part else "" for part in new.splitlines()) if new else ""
    return "\n".join(lines) + "\n"


def derived_config(pem: Path, https_port: int, http_port: int, node_ports: list[int]) -> str:
    """Templates/deploy/haproxy.cfg for this machine: the listeners on 127.0.0.1 and free ports (IPv4 only), the
    test's certificate, the log on stdout (one line per request, naming the node), no user switch (the test's user
    runs it), and the three nodes in place of the template's one server. Everything else is the template's."""
    text = TEMPLATE.read_text()
    text = replace(text, "log /dev/log local0", "log stdout format raw local0")
    text = replace(text, "maxconn 60000", "maxconn 1000")  # the test's open-file limit
    text = replace(text, "user haproxy", "")
    text = replace(text, "group haproxy", "")
    text = replace(text, "option httplog", LOG_FORMAT)
    text = replace(text, "bind :80", f"bind 127.0.0.1:{http_port}")
    text = replace(text, "bind [::]:80", "")
    text = replace(text, "bind :443 ssl crt /etc/haproxy/certs/push.example.com.pem alpn http/1.1",
                   f"bind 127.0.0.1:{https_port} ssl crt {pem} alpn http/1.1")
    text = replace(text, "bind [::]:443 ssl crt /etc/haproxy/certs/push.example.com.pem alpn http/1.1", "")
    servers = "\n".join(f"server push{i + 1} 127.0.0.1:{port} check inter 5s" for i, port in enumerate(node_ports))
    text = replace(text, "server push1 127.0.0.1:9601 check inter 5s", servers)
    return text


class RoundRobinHAProxy:
    """HAProxy in the foreground (`-db`) with the derived template; its log (stdout) names each request's node."""

    def __init__(self, work: Path, node_ports: list[int]) -> None:
        self.binary = haproxy_binary()
        self.work = work
        cert, key = work / "cert.pem", work / "key.pem"
        made = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert made.returncode == 0, made.stderr
        self.cert = cert
        pem = work / "push.pem"
        pem.write_text(cert.read_text() + key.read_text())
        self.https_port, self.http_port = free_port(), free_port()
        self.config = work / "haproxy.cfg"
        self.config.write_text(derived_config(pem, self.https_port, self.http_port, node_ports))
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.log_path = work / "haproxy.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def check(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.binary, "-c", "-f", str(self.config)], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)

    def start(self) -> "RoundRobinHAProxy":
        checked = self.check()
        assert checked.returncode == 0, checked.stdout + checked.stderr
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([self.binary, "-db", "-f", str(self.config)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)

        wait_for_proxy(self.proc, self.session(), self.url, self.log, "haproxy over TLS")
        return self

    def stop(self) -> None:
        stop_process(self.proc)  # SIGTERM: HAProxy stops at once

    def session(self) -> requests.Session:
        """An HTTP session that trusts the test's certificate (and not the environment's CA bundle variables)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.cert)
        return session

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def requests_logged(self) -> list[list[str]]:
        """[uri, node address, status] of each request HAProxy logged (LOG_FORMAT)."""
        lines = self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        return [parts for parts in (line.split() for line in lines) if len(parts) == 3 and parts[0].startswith("/")]

    def nodes_by_sid(self) -> dict[str, Counter[str]]:
        routed: dict[str, Counter[str]] = {}
        for uri, node, _ in self.requests_logged():
            match = re.search(r"[?&]sid=([A-Za-z0-9_-]+)", uri)
            if match:
                routed.setdefault(match.group(1), Counter())[node] += 1
        return routed

    def upgrade_routes(self) -> list[str]:
        """The node each WebSocket upgrade went to (HAProxy logs an upgrade once its tunnel closed)."""
        return [node for uri, node, _ in self.requests_logged() if "transport=websocket" in uri]


@pytest.fixture
def cluster_behind_haproxy(start_pushinator: Any, tmp_path: Path) -> Iterator[tuple[list[Pushinator], RoundRobinHAProxy]]:
    yield from proxied_cluster(start_pushinator, tmp_path, "haproxy", RoundRobinHAProxy)


def test_the_derived_config_keeps_the_templates_settings(tmp_path) -> None:
    """What the test runs is the template with only its addresses, certificate, log and servers changed."""
    pem = tmp_path / "push.pem"
    pem.write_text("")  # not read here: the fixture runs `haproxy -c` on the config it starts with
    derived = derived_config(pem, 8443, 8080, [9601, 9602, 9603])
    for line in ("timeout client 75s", "timeout server 75s", "timeout tunnel 75s", "option httpchk GET /health",
                 "http-request set-header X-Forwarded-For %[src]", "backend pushinator"):
        assert line in derived, line
    directives = [line.split("#")[0].split() for line in derived.splitlines() if line.split("#")[0].strip()]
    # plain round-robin (HAProxy's default): no balance algorithm set, no stick table, no cookie
    assert not [d for d in directives if d[0] in ("balance", "stick", "stick-table", "cookie", "hash-type")], directives
    assert not [d for d in directives if d[0] == "server" and "cookie" in d], directives
    assert derived.count(" check inter 5s") == 3


def test_python_client_over_polling_behind_haproxy(cluster_behind_haproxy, make_client) -> None:
    nodes, proxy = cluster_behind_haproxy
    check_python_client_over_polling(nodes, proxy, make_client, http_session=proxy.session())
    # HAProxy replaced the X-Forwarded-For and sent /health (no token, no details) to a node
    health = proxy.session().get(proxy.url + "/health", timeout=5)
    assert health.status_code == 200 and health.json() == {"status": "ok"}


@pytest.fixture(scope="module")
def chromium_page():
    for browser, pages in chromium_with_pages(SOCKET_IO_JS):
        browser.send("Security.setIgnoreCertificateErrors", {"ignore": True})  # the test's self-signed certificate
        yield browser, pages


@pytest.mark.parametrize("transports", ['["polling", "websocket"]', '["polling"]'], ids=["default", "polling"])
def test_official_js_client_behind_haproxy(cluster_behind_haproxy, chromium_page, transports) -> None:
    nodes, proxy = cluster_behind_haproxy
    browser, pages = chromium_page
    check_official_js_client(nodes, proxy, browser, pages.url, transports, url=f"https://localhost:{proxy.https_port}")
