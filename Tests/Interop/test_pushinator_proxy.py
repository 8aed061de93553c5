"""pushinator behind a reverse proxy: `client.trustedProxies` (the client address from X-Forwarded-For only when the
connection comes from a trusted proxy), the auth throttle per (address, user), and the real nginx from Debian with
Templates/deploy/nginx.conf terminating TLS in front of pushinator, with the official JS client in Chromium over
WebSocket and long-polling, and python-socketio through it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from browser import Chromium, PageServer
from conftest import CACHE, REPO
from pushinator_support import (
    HASH,
    Pushinator,
    auth,
    free_port,
    requires_app,
    start_pushinator,  # noqa: F401 (fixture)
    stop_nginx,
    wait_for_proxy,
    wait_until,
    write_config,
)

pytestmark = requires_app

DEPLOY = REPO / "Templates" / "deploy"


def connect_from(make_client, url: str, forwarded_for: str | None) -> Any:
    """A python-socketio client whose handshake carries `X-Forwarded-For: forwarded_for`."""
    client = make_client(url, ["websocket"], connect=False)
    client.sio.connect(url, transports=["websocket"], namespaces=["/"], wait_timeout=10,
                       headers={"X-Forwarded-For": forwarded_for} if forwarded_for else {})
    return client


def failed_auth(make_client, url: str, user: int, forwarded_for: str | None) -> Any:
    client = connect_from(make_client, url, forwarded_for)
    answer = client.call("auth", user, "wrong-hash", timeout=5)[0]
    assert answer["ok"] is False, answer
    return answer["error"]


def test_forwarded_for_is_used_only_from_a_trusted_proxy(start_pushinator, make_client):
    trusting = start_pushinator({"client": {"host": "127.0.0.1", "trustedProxies": ["127.0.0.1", "::1"]}})
    failed_auth(make_client, trusting.client, 501, "198.51.100.7")
    wait_until(lambda: "push.address=198.51.100.7" in trusting.stdout(), what="the forwarded address in the log")

    distrusting = start_pushinator({"client": {"host": "127.0.0.1", "trustedProxies": ["10.0.0.0/8"]}})
    failed_auth(make_client, distrusting.client, 501, "198.51.100.7")
    wait_until(lambda: "push.address=127.0.0.1" in distrusting.stdout(), what="the peer's address in the log")
    assert "198.51.100.7" not in distrusting.stdout(), "a header from an untrusted peer was believed"


def test_throttle_counts_per_address_and_user(start_pushinator, make_client):
    """20 failures lock out (address, user) only: not the same user from another address, nor another user behind
    the same proxy address."""
    app = start_pushinator({"client": {"host": "127.0.0.1", "trustedProxies": ["127.0.0.1"]}})
    app.register(601)
    app.register(602)
    for _ in range(20):
        assert failed_auth(make_client, app.client, 601, "203.0.113.1") == "Unknown user or wrong hash"
    assert failed_auth(make_client, app.client, 601, "203.0.113.1") == "Too many failed attempts, try again later"
    # the same user from another address, and another user from the same address, are not locked out
    for user, address in ((601, "203.0.113.2"), (602, "203.0.113.1")):
        client = connect_from(make_client, app.client, address)
        assert auth(client, user) == {"ok": True, "queued": 0}, (user, address)
    # a browser cannot escape the lock by writing its own X-Forwarded-For: the proxy appends the address it saw
    assert failed_auth(make_client, app.client, 601, "6.6.6.6, 203.0.113.1") == "Too many failed attempts, try again later"


# ---------------------------------------------------------------------------------------------------------------------
# The real nginx with Templates/deploy/nginx.conf, TLS terminated by it
# ---------------------------------------------------------------------------------------------------------------------


def substitute(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"Templates/deploy/nginx.conf no longer contains {old!r}"
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx in the foreground with the deployment template, its ports, certificate and upstream moved."""

    def __init__(self, work: Path, upstream_port: int) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            pytest.fail("nginx not found: scripts/install-test-deps.sh installs nginx-light", pytrace=False)
        self.binary = binary
        self.work = work
        self.https_port = free_port()
        self.http_port = free_port()
        cert, key = work / "cert.pem", work / "key.pem"
        self.cert = cert
        made = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert made.returncode == 0, made.stderr
        site = substitute((DEPLOY / "nginx.conf").read_text(), {
            "server 127.0.0.1:9601;": f"server 127.0.0.1:{upstream_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{self.https_port} ssl;",
            "listen [::]:443 ssl;": "",
            "listen 80;": f"listen 127.0.0.1:{self.http_port};",
            "listen [::]:80;": "",
            "/etc/letsencrypt/live/push.example.com/fullchain.pem": str(cert),
            "/etc/letsencrypt/live/push.example.com/privkey.pem": str(key),
        })
        (work / "site.conf").write_text(site)
        user = "user root root;\n" if hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0 else ""
        (work / "nginx.conf").write_text(
            f"{user}daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/error.log info;\n"
            "events { worker_connections 512; }\n"
            f"http {{ access_log {work}/access.log; client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;\n"
            f"  include {work}/site.conf; }}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"https://127.0.0.1:{self.https_port}"

    def start(self) -> "Nginx":
        checked = subprocess.run([self.binary, "-t", "-q", "-p", str(self.work), "-c", str(self.work / "nginx.conf")],
                                 capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert checked.returncode == 0, checked.stderr
        self.proc = subprocess.Popen([self.binary, "-p", str(self.work), "-c", str(self.work / "nginx.conf")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        wait_for_proxy(self.proc, self.session(), self.url, self.log, "nginx over TLS")
        return self

    def session(self) -> requests.Session:
        """An HTTP session that trusts the test's certificate (and not the environment's CA bundle variables)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.cert)
        return session

    def stop(self) -> None:
        stop_nginx(self.proc)

    def log(self) -> str:
        path = self.work / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@pytest.fixture
def behind_nginx(tmp_path: Path) -> Iterator[tuple[Pushinator, Nginx]]:
    work = tmp_path / "app"
    work.mkdir()
    config = write_config(work, {"client": {"host": "127.0.0.1", "trustedProxies": ["127.0.0.1"]}, "log": {"debug": True}})
    app = Pushinator(config, work).start()
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    proxy = Nginx(nginx_dir, int(app.client.rsplit(":", 1)[1]))
    try:
        yield app, proxy.start()
    finally:
        proxy.stop()
        app.stop()


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]], ids=["websocket", "polling"])
def test_python_client_through_nginx_over_tls(behind_nginx, transports):
    """python-socketio's asyncio client: the threaded one's read and write threads use one SSL socket at once, which
    OpenSSL does not allow, and under load it drops its own connection (a `wss` test failed so once in CI)."""
    import asyncio
    import ssl

    import aiohttp
    import socketio

    app, proxy = behind_nginx
    app.register(701)

    async def scenario() -> None:
        context = ssl.create_default_context(cafile=str(proxy.cert))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context), trust_env=False) as http:
            client = socketio.AsyncClient(reconnection=False, http_session=http)
            message: asyncio.Future = asyncio.get_running_loop().create_future()
            client.on("message", lambda data, *_: message.done() or message.set_result(data))  # *_: the offset
            await client.connect(proxy.url, transports=transports, wait_timeout=10)
            try:
                assert client.transport() == transports[0]
                assert await client.call("auth", (701, HASH), timeout=5) == {"ok": True, "queued": 0}
                assert (await asyncio.to_thread(app.send, 701, {"via": "nginx"})).json["delivered"] == 1
                assert await asyncio.wait_for(message, 5) == '{"via":"nginx"}'
            finally:
                await client.disconnect()
                await client.wait()  # its polling loop done before the session closes (else it opens one of its own)
            # nginx replaces the X-Forwarded-For a browser sends with the address it saw
            spoofer = socketio.AsyncClient(reconnection=False, http_session=http)
            await spoofer.connect(proxy.url, transports=transports, wait_timeout=10, headers={"X-Forwarded-For": "6.6.6.6"})
            try:
                assert (await spoofer.call("auth", (701, "wrong"), timeout=5))["ok"] is False
            finally:
                await spoofer.disconnect()
                await spoofer.wait()

    asyncio.run(scenario())
    wait_until(lambda: "push.address=127.0.0.1" in app.stdout(), what="the auth refusal with nginx's peer address")
    assert "6.6.6.6" not in app.stdout()
    health = proxy.session().get(proxy.url + "/health", timeout=5)
    assert health.status_code == 200 and health.json() == {"status": "ok"}


def test_official_js_client_in_chromium_through_nginx_over_tls(behind_nginx):
    """Both transports from an http page to wss/https through nginx; then the client snippet of
    Documentation/deployment.md re-authenticates after a server-side disconnect."""
    app, proxy = behind_nginx
    app.register(702)
    js = CACHE / "socket.io.min.js"
    if not js.exists():
        pytest.fail(f"{js} is missing: run scripts/install-test-deps.sh", pytrace=False)
    url = f"https://localhost:{proxy.https_port}"
    with PageServer(js) as pages, Chromium() as browser:
        browser.send("Security.setIgnoreCertificateErrors", {"ignore": True})
        browser.open(pages.url + "/index.html")
        for transport in ("websocket", "polling"):
            result = browser.evaluate(f"""
              new Promise((resolve, reject) => {{
                const timer = setTimeout(() => reject(new Error("timeout: {transport} auth")), 15000);
                const socket = window.__track(io({url!r}, {{ transports: ["{transport}"], forceNew: true }}));
                window.__last = socket;
                socket.on("connect_error", (e) => {{ clearTimeout(timer); reject(new Error("connect_error: " + e.message)); }});
                socket.on("connect", () => socket.emit("auth", 702, {HASH!r}, (r) => {{ clearTimeout(timer); resolve(r); }}));
              }})""", timeout=20)
            assert result == {"ok": True, "queued": 0}, (transport, result)
            waiting = browser.evaluate("""
              (window.__got = new Promise((resolve, reject) => {
                const timer = setTimeout(() => reject(new Error("timeout: message")), 15000);
                window.__last.once("message", (data) => { clearTimeout(timer);
                  resolve({ data, transport: window.__last.io.engine.transport.name }); });
              }), true)""")
            assert waiting is True
            assert app.send(702, {"transport": transport}).json["delivered"] >= 1
            got = browser.evaluate("window.__got", timeout=20)
            assert got == {"data": f'{{"transport":"{transport}"}}', "transport": transport}, got
            browser.evaluate("window.__closeAll(), true")

        snippet = deployment_client_snippet()
        app.register(703)
        browser.evaluate(snippet + f"""
          ; window.__pushed = [];
          window.__snippet = connectPush({url!r}, async () => ({{ userId: 703, hash: {HASH!r} }}),
                                         (message) => window.__pushed.push(message));
          true""")
        wait_until(lambda: app.send(703, "first").json["delivered"] == 1, timeout=15, what="the snippet's auth")
        wait_until(lambda: browser.evaluate("window.__pushed.length") >= 1, timeout=10, what="the first message")
        # a server-side disconnect (the backend unregisters, then registers the user again)
        assert app.post("/user/unregister", {"userId": 703}).status == 200
        app.register(703)
        wait_until(lambda: app.send(703, "second").json["delivered"] == 1, timeout=20,
                   what="the snippet reconnecting and authenticating again")
        wait_until(lambda: "second" in browser.evaluate("window.__pushed"), timeout=10, what="the second message")
        browser.evaluate("window.__snippet.disconnect(), true")


def deployment_client_snippet() -> str:
    """The JavaScript block of Documentation/deployment.md that defines connectPush."""
    text = (REPO / "Documentation" / "deployment.md").read_text()
    blocks = re.findall(r"```js\n(.*?)```", text, re.S)
    found = [b for b in blocks if "function connectPush" in b]
    assert len(found) == 1, "Documentation/deployment.md has no connectPush snippet"
    return found[0]
