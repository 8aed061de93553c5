"""Helpers for the end-to-end tests of the bundled app `pushinator` (test_pushinator_*.py).

The app is started with a config file in node pushinator's own format (`module.exports = {...};`) and
`--admin-port 0 --client-port 0`; it prints `LISTENING admin <url>` and `LISTENING client <url>` on stdout.

Environment:
    PUSHINATOR_BIN   the binary (default: next to INTEROP_SERVER_BIN when that is set, else .build/debug/pushinator)
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from conftest import IS_REFERENCE, REPO, START_TIMEOUT, STOP_TIMEOUT, _ACTIVE_SERVERS, read_logs

# The pushinator tests need the Swift app itself: there is no python reference for it.
requires_app = pytest.mark.skipif(IS_REFERENCE, reason="pushinator tests run only against the Swift app")

HASH = "7f81776793e31d71d1ed71038e78dbf5"  # the hash of node pushinator's examples/run.sh

POSTGRES = os.environ.get("PUSHINATOR_TEST_POSTGRES_URL")
"""The throwaway PostgreSQL server's URL that scripts/with-postgres.sh exports (None outside it)."""
requires_postgres = pytest.mark.skipif(
    not POSTGRES, reason="needs PUSHINATOR_TEST_POSTGRES_URL (run through scripts/with-postgres.sh)"
)


def chromium_with_pages(socket_io_js: Path) -> Iterator[tuple[Any, Any]]:
    """A started headless Chromium and a page server for `socket_io_js` (a module fixture's body: yields
    `(browser, pages)`, stops both after); a missing script or browser fails the test with a clear message."""
    from browser import BrowserError, Chromium, PageServer

    if not socket_io_js.is_file():
        pytest.fail(f"{socket_io_js} is missing: run scripts/install-test-deps.sh", pytrace=False)
    with PageServer(socket_io_js) as pages:
        try:
            browser = Chromium()
            browser.start()
        except BrowserError as exc:
            pytest.fail(str(exc), pytrace=False)
        try:
            yield browser, pages
        finally:
            browser.stop()


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stops a process a test started with `sig`, killing it if it has not exited after `timeout` seconds."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def stop_nginx(proc: subprocess.Popen[bytes] | None) -> None:
    """Stops a test's nginx gracefully (SIGQUIT: finish requests, then exit), killing it after 10 s."""
    stop_process(proc, signal.SIGQUIT)


def wait_for_proxy(proc: subprocess.Popen[bytes] | None, session: Any, url: str, log: Any, what: str) -> None:
    """Waits until a proxy a test started answers `GET url/health` with 200 through `session`; fails with the
    proxy's `log()` if it exits first."""
    def ready() -> bool:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{log()}")
        try:
            return session.get(url + "/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(ready, timeout=20, what=f"{what} answering /health")


def proxied_cluster(start_pushinator: Any, tmp_path: Path, name: str, proxy_type: Any) -> Iterator[tuple[list[Pushinator], Any]]:
    """Three nodes on the test database behind a round-robin proxy of `proxy_type` (made with its work folder and
    the nodes' client ports, started, stopped at the end): the body of the balancer tests' fixtures."""
    nodes = start_three_nodes(start_pushinator)
    work = tmp_path / name
    work.mkdir()
    proxy = proxy_type(work, node_client_ports(nodes))
    try:
        yield nodes, proxy.start()
    finally:
        proxy.stop()


def browser_connect_and_auth(url: str, user: Any, options: str = "{ reconnection: false }", hash_: str = HASH) -> str:
    """The page script (for browser.py's evaluate) that connects the official client to `url` with `options`, keeps
    the socket in `window.__socket`, collects its `message` events in `window.__messages` and answers the auth ack."""
    return f"""(async () => {{
  const s = __track(io({json.dumps(url)}, {options}));
  window.__socket = s;
  window.__messages = [];
  s.on("message", (m) => window.__messages.push(m));
  await __within(8000, "connect", (ok, fail) => {{
    s.once("connect", ok);
    s.once("connect_error", (e) => fail(new Error("connect_error: " + e.message)));
  }});
  return await __within(5000, "auth ack", (ok) => s.emit("auth", {user}, {json.dumps(hash_)}, ok));
}})()"""


def pushinator_binary() -> Path:
    explicit = os.environ.get("PUSHINATOR_BIN")
    if explicit:
        return Path(explicit)
    interop = os.environ.get("INTEROP_SERVER_BIN")
    if interop:
        return Path(interop).parent / "pushinator"
    return REPO / ".build" / "debug" / "pushinator"


def require_binary() -> Path:
    binary = pushinator_binary()
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(
            f"{binary} not found: run `swift build --product pushinator` (or set PUSHINATOR_BIN)", pytrace=False
        )
    return binary


# ---------------------------------------------------------------------------------------------------------------------
# Config files in node pushinator's format
# ---------------------------------------------------------------------------------------------------------------------


def js_literal(value: Any, indent: int = 0) -> str:
    """Render `value` the way node pushinator's config file is written: unquoted keys, single-quoted strings,
    trailing commas, tabs."""
    pad = "\t" * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = ["{"]
        for key, item in value.items():
            name = key if key.isidentifier() else "'" + key + "'"
            lines.append(f"{pad}\t{name}: {js_literal(item, indent + 1)},")
        lines.append(pad + "}")
        return "\n".join(lines)
    if isinstance(value, list):
        return "[" + ", ".join(js_literal(v, indent) for v in value) + ",]" if value else "[]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def base_settings(tmp: Path) -> dict[str, Any]:
    """The seed's settings (node pushinator's pushinator.conf), with the pidfile in `tmp` and syslog off."""
    return {
        "pidfile": str(tmp / "pushinator.pid"),
        "admin": {"host": "127.0.0.1", "port": 9600},
        "client": {
            "host": 0,
            "port": 9601,
            "useSSL": False,
            "sslKey": "/path/to/ssl.key",
            "sslCert": "/path/to.crt",
        },
        "log": {
            "debug": False,
            "syslog": {"enable": False, "tag": "pushinator", "facility": "daemon", "hostname": "127.0.0.1"},
        },
    }


def seed_config_text(settings: dict[str, Any]) -> str:
    """A config file in the seed's format, with both comment styles and trailing commas."""
    return (
        "/* pushinator configuration (node pushinator 1.5.4 format) */\n"
        "// read by `pushinator -c FILE`\n"
        f"module.exports = {js_literal(settings)};\n"
    )


def write_config(tmp: Path, overrides: dict[str, Any] | None = None, name: str = "pushinator.conf") -> Path:
    path = tmp / name
    path.write_text(seed_config_text(merge(base_settings(tmp), overrides or {})))
    return path


_HANDED_OUT: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port that was free a moment ago (for daemons, which cannot report an ephemeral port), never the same one twice
    in a run. Picked below the kernel's ephemeral range: a port there can be taken by any outgoing connection (other
    tests, benchmarks, PostgreSQL clients on a busy machine) between this check and the daemon's bind, or after a
    restart on the same port; outside it, only an explicit bind can."""
    low, _ = _ephemeral_range()
    first = 20000 if low > 21000 else 1024
    for _ in range(200):
        port = random.randint(first, low - 1) if low - 1 > first else 0
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise AssertionError("no free port found for a daemon")


# ---------------------------------------------------------------------------------------------------------------------
# The app in the foreground
# ---------------------------------------------------------------------------------------------------------------------


class Pushinator:
    """`pushinator -c FILE --admin-port 0 --client-port 0` in the foreground; URLs from its LISTENING lines."""

    def __init__(
        self,
        config: Path | str | None,
        work_dir: Path,
        name: str = "pushinator",
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        ephemeral_ports: bool = True,
        cpus: set[int] | None = None,
    ) -> None:
        self.config = config
        self.cpus = cpus  # CPU affinity of the server process (as `taskset` would set it)
        self.work_dir = work_dir
        self.args = ([] if config is None else ["-c", str(config)]) + (
            ["--admin-port", "0", "--client-port", "0"] if ephemeral_ports else []
        ) + (extra_args or [])
        self.env = env
        self.stdout_path = work_dir / f"{name}.stdout.log"
        self.stderr_path = work_dir / f"{name}.stderr.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.admin = ""
        self.client = ""
        self.announced: dict[str, str] = {}  # the LISTENING lines' URLs, as printed

    def start(self, timeout: float = START_TIMEOUT) -> "Pushinator":
        cmd = [str(require_binary()), *self.args]
        env = dict(os.environ)
        env.update(self.env or {})
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            cpus = self.cpus
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=self.work_dir, env=env,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus is not None else None,
            )
        _ACTIVE_SERVERS.append(self)  # type: ignore[arg-type]  (conftest attaches logs of failing tests)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.stdout_path.read_text(errors="replace").splitlines():
                parts = line.strip().split()
                if len(parts) == 3 and parts[0] == "LISTENING" and parts[1] in ("admin", "client"):
                    self.announced[parts[1]] = parts[2]
                    # a wildcard address is not a URL to connect to: use loopback (test_listening_urls checks it)
                    setattr(self, parts[1], parts[2].rstrip("/").replace("://0.0.0.0:", "://127.0.0.1:"))
            if self.admin and self.client:
                return self
            if self.proc.poll() is not None:
                pytest.fail(f"pushinator exited with status {self.proc.returncode} before listening: {cmd}\n{self.logs()}")
            time.sleep(0.02)
        self.stop()
        pytest.fail(f"pushinator printed no `LISTENING admin/client` lines within {timeout}s: {cmd}\n{self.logs()}")

    def stop(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        if self in _ACTIVE_SERVERS:
            _ACTIVE_SERVERS.remove(self)  # type: ignore[arg-type]

    def event_loop_threads(self) -> int:
        """The number of SwiftNIO event-loop threads (named `NIO-ELT-...`) the server runs."""
        count = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                count += (task / "comm").read_text().startswith("NIO-ELT")
            except OSError:
                continue  # a thread that just ended
        return count

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def logs(self, limit: int = 6000) -> str:
        return read_logs((self.stdout_path, self.stderr_path), limit)

    # -- admin API ----------------------------------------------------------------------------------------------------

    def post(self, path: str, body: Any = None, *, raw: bytes | str | None = None, **kwargs: Any) -> "AdminReply":
        """POST `body` as JSON (or `raw` bytes as they are) to the admin API."""
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        kwargs.setdefault("timeout", 10)
        return AdminReply(requests.post(self.admin + path, data=data, **kwargs))

    def request(self, method: str, path: str, **kwargs: Any) -> "AdminReply":
        kwargs.setdefault("timeout", 10)
        return AdminReply(requests.request(method, self.admin + path, **kwargs))

    def register(self, user_id: Any, hash_: str = HASH) -> None:
        reply = self.post("/user/register", {"userId": user_id, "hash": hash_})
        assert reply.status == 200, reply
        assert reply.json["result"] == "OK", reply

    def send(self, user_id: Any, message: Any) -> "AdminReply":
        reply = self.post("/user/send", {"userId": user_id, "message": message})
        assert reply.status == 200, reply
        return reply

    def assert_serving(self) -> None:
        """The app is alive and still answers `/ping`."""
        assert self.running, f"pushinator died:\n{self.logs()}"
        reply = self.post("/ping", {})
        assert reply.status == 200 and reply.json.get("result") == "pong", reply


class AdminReply:
    """An admin API response: status, headers, text, JSON (dict) and the JSON object's keys in order."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self.status = response.status_code
        self.headers = response.headers
        self.text = response.text
        try:
            self.pairs: Any = json.loads(self.text, object_pairs_hook=lambda pairs: pairs)
            self.json: Any = json.loads(self.text)
        except ValueError:
            self.pairs = None
            self.json = None

    @property
    def keys(self) -> list[str]:
        assert isinstance(self.pairs, list), f"not a JSON object: {self.text!r}"
        return [k for k, _ in self.pairs]

    def assert_error(self, status: int, error: str | None = None, prefix: str | None = None) -> None:
        """A JSON error object with `error` and `"status": status` as its last key."""
        assert self.status == status, self
        assert self.headers.get("Content-Type", "").startswith("application/json"), self
        assert isinstance(self.json, dict), self
        if error is not None:
            assert self.json.get("error") == error, self
        if prefix is not None:
            assert str(self.json.get("error", "")).startswith(prefix), self
        assert self.keys[-1] == "status", f"'status' is not the last key: {self.text}"
        assert self.json["status"] == status, self

    def __repr__(self) -> str:
        return f"<{self.status} {dict(self.headers)} {self.text[:500]!r}>"


class PushinatorFactory:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.apps: list[Pushinator] = []

    def __call__(
        self,
        overrides: dict[str, Any] | None = None,
        *,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        name: str | None = None,
    ) -> Pushinator:
        name = name or f"pushinator{len(self.apps)}"
        work = self.tmp / name
        work.mkdir(parents=True, exist_ok=True)
        config = write_config(work, overrides)
        app = Pushinator(config, work, name=name, extra_args=extra_args, env=env)
        self.apps.append(app)
        return app.start()

    def stop_all(self) -> None:
        for app in self.apps:
            app.stop()


@pytest.fixture
def start_pushinator(tmp_path: Path) -> Iterator[PushinatorFactory]:
    """`app = start_pushinator({'client': {'messageEncoding': 'raw'}})`: a fresh app for one test."""
    factory = PushinatorFactory(tmp_path)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def pushinator_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushinator]:
    """One app with the seed's config for a whole module (each test uses its own user ids)."""
    factory = PushinatorFactory(tmp_path_factory.mktemp("pushinator"))
    app = factory(name="shared")
    yield app
    factory.stop_all()


@pytest.fixture
def app(pushinator_app: Pushinator) -> Pushinator:
    if not pushinator_app.running:
        pytest.fail(f"the shared pushinator died:\n{pushinator_app.logs()}")
    return pushinator_app


_user_counter = iter(range(1000, 10**9))


def new_user() -> int:
    """A user id no other test uses."""
    return next(_user_counter)


def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.05, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------------------------------
# Socket.IO clients of the client port (conftest's `make_client`)
# ---------------------------------------------------------------------------------------------------------------------


def auth(client: Any, user_id: Any, hash_: str = HASH, timeout: float = 5.0) -> Any:
    """`socket.emit('auth', userId, hash, ack)`; returns the ack's first argument."""
    result = client.call("auth", user_id, hash_, timeout=timeout)
    assert len(result) == 1, f"auth ack should have one argument: {result}"
    return result[0]


def connect_user(make_client: Any, app: Pushinator, user_id: Any, transports: list[str] | None = None,
                 hash_: str = HASH, queued: int | None = 0, **kwargs: Any) -> Any:
    """A client of `app`'s client port, authenticated as `user_id` (with an ack, so the auth is done on return).
    `queued`: how many offline-queued messages the auth ack must announce (None: any number)."""
    client = make_client(app.client, transports, **kwargs)
    answer = auth(client, user_id, hash_)
    assert answer.get("ok") is True and set(answer) == {"ok", "queued"}, answer
    if queued is not None:
        assert answer["queued"] == queued, answer
    client.auth_answer = answer
    return client


def refused_auth_barrier(client: Any) -> Any:
    """A barrier (see conftest's `Recorder.assert_none`) for a socket that never authenticated: an `auth` without
    arguments is answered `{"ok": false}` on the same connection (and the socket is then disconnected), so anything
    the server sent it before has arrived when this returns."""

    def barrier() -> None:
        answer = client.call("auth")
        assert answer and answer[0].get("ok") is False, answer

    return barrier


def message_barrier(app: Pushinator, user_id: Any, client: Any) -> Any:
    """A barrier for a socket authenticated as `user_id`: a message sent to it afterwards arrives (the test then
    checks that it is the only message)."""

    def barrier() -> None:
        count = len(client.rec.all("message")) + 1
        assert app.send(user_id, "barrier").json["delivered"] >= 1
        client.rec.wait("message", count=count)  # a late unwanted message makes the test's own check fail

    return barrier


# ---------------------------------------------------------------------------------------------------------------------
# Three cluster nodes behind a round-robin balancer without stickiness (test_pushinator_cluster_roundrobin.py runs
# them behind nginx, test_pushinator_cluster_haproxy.py behind HAProxy). A balancer object has `url`,
# `nodes_by_sid()` (for each Engine.IO session in its log, how many of its requests went to each node address) and
# `upgrade_routes()` (the node address of each WebSocket upgrade in its log, logged once the upgrade closed).
# ---------------------------------------------------------------------------------------------------------------------


def start_three_nodes(start_pushinator: Any) -> list[Pushinator]:
    """Three pushinator nodes on the throwaway PostgreSQL (a channel prefix of their own), listening on every
    interface and advertising 127.0.0.1 to each other, trusting a proxy on 127.0.0.1; returns once each sees 3."""
    prefix = f"t{random.getrandbits(32)}"
    overrides = {
        "client": {"host": 0, "trustedProxies": ["127.0.0.1"]},  # every interface: the address is advertised
        "cluster": {"postgres": POSTGRES, "channelPrefix": prefix, "timeout": 3000, "heartbeatInterval": 300,
                    "heartbeatTimeout": 1500, "advertise": "127.0.0.1"},
    }
    nodes = [start_pushinator(overrides, name=f"node{i}") for i in range(3)]
    wait_until(lambda: all(node.request("GET", "/health").json.get("cluster", {}).get("nodes") == 3 for node in nodes),
               timeout=15, what="3 nodes to see each other")
    return nodes


def node_client_ports(nodes: list[Pushinator]) -> list[int]:
    return [int(node.client.rsplit(":", 1)[1]) for node in nodes]


def forwarding_metrics(nodes: list[Pushinator]) -> Counter[str]:
    """The forwarding gauges of /metrics, added up over the nodes."""
    total: Counter[str] = Counter()
    for node in nodes:
        for line in node.request("GET", "/metrics").text.splitlines():
            match = re.match(r"pushinator_cluster_(forwarded_requests|forwarded_upgrades|forwarding_failures) (\d+)", line)
            if match:
                total[match.group(1)] += int(match.group(2))
    return total


def assert_spread(balancer: Any, nodes: list[Pushinator], close_upgraded: Any = None) -> None:
    """The client's requests went to more than one node, and the nodes forwarded them to its session's owner; with
    `close_upgraded` (closes the upgraded client), the upgrade was forwarded exactly when the balancer sent it to
    another node than the session's."""
    routed = balancer.nodes_by_sid()
    assert routed, "no request with a sid in the balancer's log"
    assert any(len(addresses) >= 2 for addresses in routed.values()), routed
    metrics = forwarding_metrics(nodes)
    assert metrics["forwarded_requests"] > 0 and metrics["forwarding_failures"] == 0, metrics
    if close_upgraded:
        owner = next(node for node in nodes if node.post("/stats", {}).json["connections"] == 1)
        owner_address = "127.0.0.1:" + owner.client.rsplit(":", 1)[1]
        close_upgraded()
        wait_until(lambda: len(balancer.upgrade_routes()) == 1, timeout=10, what="the upgrade in the balancer's log")
        upgrade_to = balancer.upgrade_routes()
        assert metrics["forwarded_upgrades"] == (0 if upgrade_to[0] == owner_address else 1), (metrics, upgrade_to, owner_address)
    else:
        assert metrics["forwarded_upgrades"] == 0, metrics


def send_through_each_node(nodes: list[Pushinator], user: int) -> list[str]:
    """A message to `user` through each node's admin API (each must be delivered once); the JSON texts sent."""
    sent = []
    for index, node in enumerate(nodes):
        reply = node.send(user, {"via": index})
        assert reply.status == 200 and reply.json["delivered"] == 1, reply
        sent.append(json.dumps({"via": index}, separators=(",", ":")))
    return sent


def check_python_client_over_polling(nodes: list[Pushinator], balancer: Any, make_client: Any, **client: Any) -> None:
    """python-socketio over long-polling through the balancer: authenticates, gets a message sent through each node
    once and in order; its requests were spread and forwarded; a sid of no live node (or a forged one) gets 400."""
    user = new_user()
    nodes[0].register(user)  # replicated to the other nodes
    socket_client = make_client(balancer.url, ["polling"], **client)
    assert auth(socket_client, user) == {"ok": True, "queued": 0}
    sent = send_through_each_node(nodes, user)
    socket_client.rec.wait("message", count=3)
    nodes[1].send(user, "end")  # the barrier: a duplicate would arrive before it
    socket_client.rec.wait("message", count=4)
    assert [args[0] for args in socket_client.rec.all("message")] == sent + ['"end"']
    assert_spread(balancer, nodes)
    session = balancer.session()
    for sid in ("ZZZZ" + "A" * 16, "not-a-session"):
        answer = session.get(f"{balancer.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=5)
        assert answer.status_code == 400 and answer.json() == {"code": 1, "message": "Session ID unknown"}, answer.text


def check_official_js_client(nodes: list[Pushinator], balancer: Any, browser: Any, pages_url: str,
                             transports: str, url: str | None = None) -> None:
    """The official JS client in Chromium through the balancer (`transports`: the client's option as JS, such as
    '["polling", "websocket"]', its default): authenticates, upgrades when WebSocket is allowed, gets a message sent
    through each node once and in order, on the expected transport; the requests were spread and forwarded."""
    browser.open(pages_url + "/index.html")
    user = new_user()
    nodes[2].register(user)
    options = "{ reconnection: false }" if "websocket" in transports else f"{{ reconnection: false, transports: {transports} }}"
    ack = browser.evaluate(browser_connect_and_auth(url or balancer.url, user, options), timeout=20)
    assert ack == {"ok": True, "queued": 0}
    if "websocket" in transports:  # the upgrade went through the balancer to any node, then on to the session's owner
        upgraded = browser.evaluate(
            """__within(8000, "upgrade", (ok) => {
  const check = () => window.__socket.io.engine.transport.name === "websocket" ? ok(true) : setTimeout(check, 20);
  check();
})""",
            timeout=15,
        )
        assert upgraded is True
    sent = send_through_each_node(nodes, user)
    nodes[0].send(user, "end")
    received = browser.evaluate(
        """__within(8000, "messages", (ok) => {
  const poll = () => window.__messages.length >= 4 ? ok(window.__messages) : setTimeout(poll, 20);
  poll();
}).then((ms) => new Promise((ok) => setTimeout(() => ok({ ms: window.__messages, connected: window.__socket.connected,
  transport: window.__socket.io.engine.transport.name }), 200)))""",
        timeout=15,
    )
    assert received["ms"] == sent + ['"end"'], received
    assert received["connected"] is True
    assert received["transport"] == ("websocket" if "websocket" in transports else "polling")
    close = lambda: browser.evaluate("window.__closeAll(); true", timeout=5)  # noqa: E731
    assert_spread(balancer, nodes, close if "websocket" in transports else None)
    close()
