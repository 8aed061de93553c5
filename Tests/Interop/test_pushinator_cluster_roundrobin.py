"""No sticky sessions: three pushinator nodes on one PostgreSQL behind nginx with plain round-robin (no `ip_hash`, no
upstream keep-alive, so consecutive requests of one client reach different nodes). A polling request or a WebSocket
upgrade that reaches a node without its Engine.IO session is forwarded to the node that owns it (the `sid` names it),
at the address the owner advertises in its heartbeats (`cluster.advertise`).

Needs PUSHINATOR_TEST_POSTGRES_URL (scripts/with-postgres.sh) and nginx (scripts/install-test-deps.sh).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from conftest import CACHE
from pushinator_support import (
    Pushinator,
    auth,
    check_official_js_client,
    check_python_client_over_polling,
    chromium_with_pages,
    free_port,
    new_user,
    proxied_cluster,
    requires_app,
    requires_postgres,
    start_pushinator,  # noqa: F401 (fixture)
    stop_nginx,
    wait_for_proxy,
    wait_until,
)

pytestmark = [
    requires_app,
    requires_postgres,
]

SOCKET_IO_JS = Path(os.environ.get("SOCKET_IO_JS", str(CACHE / "socket.io.min.js")))


class RoundRobinNginx:
    """nginx in the foreground: one upstream with the nodes' client ports, plain round-robin, a new upstream
    connection per request; the access log names the node each request went to."""

    def __init__(self, work: Path, ports: list[int]) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            pytest.fail("nginx not found: scripts/install-test-deps.sh installs nginx-light", pytrace=False)
        self.binary = binary
        self.work = work
        self.port = free_port()
        servers = "".join(f"    server 127.0.0.1:{port};\n" for port in ports)
        user = "user root root;\n" if os.geteuid() == 0 else ""
        (work / "nginx.conf").write_text(
            f"{user}daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/error.log info;\n"
            "events { worker_connections 512; }\n"
            "http {\n"
            "  log_format routed '$request_uri $upstream_addr $status';\n"
            f"  access_log {work}/access.log routed;\n"
            f"  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;\n"
            "  map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n"
            f"  upstream pushinator {{\n{servers}  }}\n"
            "  server {\n"
            f"    listen 127.0.0.1:{self.port};\n"
            "    location / {\n"
            "      proxy_pass http://pushinator;\n"
            "      proxy_http_version 1.1;\n"
            "      proxy_set_header Upgrade $http_upgrade;\n"
            "      proxy_set_header Connection $connection_upgrade;\n"
            "      proxy_set_header Host $host;\n"
            "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "      proxy_buffering off;\n"
            "      proxy_read_timeout 120s;\n"
            "    }\n"
            "  }\n"
            "}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> "RoundRobinNginx":
        config = str(self.work / "nginx.conf")
        checked = subprocess.run([self.binary, "-t", "-q", "-p", str(self.work), "-c", config],
                                 capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert checked.returncode == 0, checked.stderr
        self.proc = subprocess.Popen([self.binary, "-p", str(self.work), "-c", config],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        session = requests.Session()
        session.trust_env = False
        wait_for_proxy(self.proc, session, self.url, self.log, "nginx")
        return self

    def stop(self) -> None:
        stop_nginx(self.proc)

    def log(self) -> str:
        path = self.work / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        return session

    def upgrade_routes(self) -> list[str]:
        """The node each WebSocket upgrade went to (nginx logs an upgrade once its connection closed)."""
        path = self.work / "access.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return [line.split()[1] for line in lines if "transport=websocket" in line]

    def nodes_by_sid(self) -> dict[str, Counter[str]]:
        """For each Engine.IO session seen in the access log, how many of its requests went to each node."""
        routed: dict[str, Counter[str]] = {}
        path = self.work / "access.log"
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            parts = line.split()
            match = re.search(r"[?&]sid=([A-Za-z0-9_-]+)", parts[0]) if len(parts) == 3 else None
            if match:
                routed.setdefault(match.group(1), Counter())[parts[1]] += 1
        return routed


@pytest.fixture
def cluster_behind_nginx(start_pushinator: Any, tmp_path: Path) -> Iterator[tuple[list[Pushinator], RoundRobinNginx]]:
    yield from proxied_cluster(start_pushinator, tmp_path, "nginx", RoundRobinNginx)


def test_python_client_over_polling_behind_round_robin(cluster_behind_nginx, make_client) -> None:
    nodes, proxy = cluster_behind_nginx
    check_python_client_over_polling(nodes, proxy, make_client)


def test_a_client_of_a_killed_node_gets_session_id_unknown_and_reconnects(cluster_behind_nginx, make_client) -> None:
    nodes, proxy = cluster_behind_nginx
    user = new_user()
    nodes[0].register(user)
    client = make_client(proxy.url, ["polling"], reconnection=True)
    assert auth(client, user) == {"ok": True, "queued": 0}
    owner = next(node for node in nodes if node.post("/stats", {}).json["connections"] == 1)
    others = [node for node in nodes if node is not owner]
    old_sid = client.sio.eio.sid
    os.kill(owner.pid, signal.SIGKILL)
    owner.proc.wait(timeout=10)
    # once the others no longer count it, its sid is unknown to them: the client's next poll gets 400, it reconnects
    wait_until(lambda: all(node.request("GET", "/health").json["cluster"]["nodes"] == 2 for node in others),
               timeout=10, what="the others to notice the node died")
    client.rec.wait("connect", count=2, timeout=20)
    assert client.sio.eio.sid != old_sid
    assert auth(client, user) == {"ok": True, "queued": 0}
    reply = others[0].send(user, "after")
    assert reply.status == 200 and reply.json["delivered"] == 1, reply
    assert client.rec.wait("message")[0] == '"after"'
    answer = requests.get(f"{proxy.url}/socket.io/?EIO=4&transport=polling&sid={old_sid}", timeout=5)
    assert answer.status_code == 400 and answer.json() == {"code": 1, "message": "Session ID unknown"}, answer.text


@pytest.fixture(scope="module")
def chromium_page():
    yield from chromium_with_pages(SOCKET_IO_JS)


@pytest.mark.parametrize("transports", ['["polling", "websocket"]', '["polling"]'], ids=["default", "polling"])
def test_official_js_client_behind_round_robin(cluster_behind_nginx, chromium_page, transports) -> None:
    nodes, proxy = cluster_behind_nginx
    browser, pages = chromium_page
    check_official_js_client(nodes, proxy, browser, pages.url, transports)
