"""Fixtures for the interop suite: start the server under test, python-socketio clients, raw Engine.IO helpers.

Server under test (env):
    INTEROP_SERVER=swift (default)   the Swift binary; path from INTEROP_SERVER_BIN, default .build/debug/interop-server
    INTEROP_SERVER=reference         Tests/Interop/reference_server.py (python-socketio), to validate the tests
    INTEROP_START_TIMEOUT=seconds    how long to wait for the LISTENING line (default 30)
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE = HERE / ".cache"
EIO3_PYTHON = CACHE / "venv-eio3" / "bin" / "python"  # python-socketio 4.x (Engine.IO v3), see install-test-deps.sh

SERVER_KIND = os.environ.get("INTEROP_SERVER", "swift").strip().lower() or "swift"
if SERVER_KIND not in ("swift", "reference"):
    raise RuntimeError(f"INTEROP_SERVER must be 'swift' or 'reference', not {SERVER_KIND!r}")
IS_REFERENCE = SERVER_KIND == "reference"
START_TIMEOUT = float(os.environ.get("INTEROP_START_TIMEOUT", "30"))
STOP_TIMEOUT = 5.0
DEFAULT_TEST_TIMEOUT = 120  # seconds, per test (pytest-timeout), unless a test says otherwise

# Servers running while the current test runs; their logs are attached to a failing test's report.
_ACTIVE_SERVERS: list["ServerProcess"] = []


def reference_xfail(reason: str) -> pytest.MarkDecorator:
    """Mark a check that the python-socketio reference server is known to fail (never applies to the Swift server)."""
    return pytest.mark.xfail(IS_REFERENCE, reason=f"reference server: {reason}", strict=False)


def swift_only(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(IS_REFERENCE, reason=f"not testable against the reference server: {reason}")


# ---------------------------------------------------------------------------------------------------------------------
# Server processes
# ---------------------------------------------------------------------------------------------------------------------


def server_command(args: list[str]) -> list[str]:
    if IS_REFERENCE:
        # python-socketio 5 cannot serve EIO3 clients; the 4.x in the eio3 virtualenv can (and only them)
        python = str(EIO3_PYTHON) if "--eio3" in args else sys.executable
        return [python, str(HERE / "reference_server.py"), *args]
    binary = Path(os.environ.get("INTEROP_SERVER_BIN", str(REPO / ".build" / "debug" / "interop-server")))
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(
            f"server binary {binary} not found: run `swift build` first (or set INTEROP_SERVER_BIN, "
            "or INTEROP_SERVER=reference to validate the tests against the python reference server)",
            pytrace=False,
        )
    return [str(binary), *args]


class ServerProcess:
    """One server under test, started with `--port 0`; its URL comes from its first stdout line."""

    def __init__(self, args: list[str], log_dir: Path, name: str) -> None:
        self.args = ["--port", "0", "--host", "127.0.0.1", *args]
        self.stdout_path = log_dir / f"{name}.stdout.log"
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = START_TIMEOUT) -> str:
        cmd = server_command(self.args)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            first = self.stdout_path.read_text(errors="replace").split("\n", 1)
            if len(first) == 2:  # a complete first line
                line = first[0].strip()
                if not line.startswith("LISTENING "):
                    self.stop()
                    pytest.fail(f"server's first stdout line is not `LISTENING <url>`: {line!r}\n{self.logs()}")
                self.url = line.split(" ", 1)[1].strip().rstrip("/")
                return self.url
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with status {self.proc.returncode} before listening: {cmd}\n{self.logs()}")
            time.sleep(0.02)
        self.stop()
        pytest.fail(f"server printed no LISTENING line within {timeout}s: {cmd}\n{self.logs()}")

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self, limit: int = 6000) -> str:
        return read_logs((self.stdout_path, self.stderr_path), limit)


def read_logs(paths: "tuple[Path, ...]", limit: int = 6000) -> str:
    """The tails of a process's log files, for failure reports."""
    parts = []
    for path in paths:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            text = ""
        if len(text) > limit:
            text = "...\n" + text[-limit:]
        parts.append(f"--- {path} ---\n{text}")
    return "\n".join(parts)


class ServerFactory:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.servers: list[ServerProcess] = []

    def __call__(self, *args: str) -> ServerProcess:
        server = ServerProcess(list(args), self.log_dir, f"server{len(self.servers)}")
        self.servers.append(server)
        _ACTIVE_SERVERS.append(server)
        server.start()
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()
            if server in _ACTIVE_SERVERS:
                _ACTIVE_SERVERS.remove(server)


@pytest.fixture
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """Start a server with extra CLI args for one test: `server = start_server("--ping-interval", "300")`."""
    factory = ServerFactory(tmp_path_factory.mktemp("server-logs"))
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    factory = ServerFactory(tmp_path_factory.mktemp("server-logs"))
    server = factory()
    yield server
    factory.stop_all()


@pytest.fixture
def server_url(module_server: ServerProcess) -> str:
    """URL of a module-wide server with the default options (restarted if a test killed it)."""
    if not module_server.running:
        pytest.fail(f"the shared server died:\n{module_server.logs()}")
    return module_server.url


# ---------------------------------------------------------------------------------------------------------------------
# pytest hooks
# ---------------------------------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "transport: python-socketio client transports")


def pytest_report_header(config: pytest.Config) -> str:
    return f"interop server under test: {SERVER_KIND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.pluginmanager.hasplugin("timeout"):
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(DEFAULT_TEST_TIMEOUT))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]):
    outcome = yield
    report = outcome.get_result()
    if report.failed and not getattr(report, "wasxfail", None):
        for server in list(_ACTIVE_SERVERS):
            report.sections.append((f"server log ({' '.join(server.args)})", server.logs()))


# ---------------------------------------------------------------------------------------------------------------------
# python-socketio clients
# ---------------------------------------------------------------------------------------------------------------------

TRANSPORTS = {
    "polling": ["polling"],
    "websocket": ["websocket"],
    "default": None,  # polling, then upgrade to websocket
}


@pytest.fixture(params=list(TRANSPORTS), ids=list(TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


# The wire position of the Engine.IO message being handled by this thread (see _number_messages_in_wire_order).
_wire = threading.local()


def _number_messages_in_wire_order(eio: Any) -> None:
    """python-engineio hands every message to a thread of its own (`run_async`), so two messages that arrived in
    order can be handled, and recorded, in the other order on a busy machine (a test saw [2, 1, 3, 4]). Number each
    message in the reading thread, in the order it arrived, and let its handler thread carry the number: the
    Recorder keeps its log in arrival order. Handlers still run as before (one thread each, never blocked)."""
    from engineio import packet as eio_packet

    receive = eio._receive_packet
    numbers = itertools.count()

    def receive_in_order(pkt: Any) -> Any:
        handler = eio.handlers.get("message")
        if pkt.packet_type != eio_packet.MESSAGE or handler is None:
            return receive(pkt)
        number = next(numbers)

        def handle(data: Any) -> None:
            _wire.number = number
            try:
                handler(data)
            finally:
                _wire.number = None

        eio.start_background_task(handle, pkt.data)
        return None

    eio._receive_packet = receive_in_order


class Recorder:
    """Thread-safe log of everything a client received: (namespace, event, args), in the order the messages arrived
    on the wire (for a python-socketio Client), whatever order their handler threads ran in."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.events: list[tuple[str, str, tuple[Any, ...]]] = []
        self._keys: list[tuple[int, int]] = []  # (wire number, arrival), parallel to events
        self._arrivals = itertools.count()
        self._last_number = -1

    def record(self, namespace: str, event: str, args: tuple[Any, ...]) -> None:
        number = getattr(_wire, "number", None)
        with self._cond:
            if number is None:  # not from a numbered message (a disconnect): after what was recorded so far
                number = self._last_number
            self._last_number = max(self._last_number, number)
            key = (number, next(self._arrivals))
            index = bisect.bisect_right(self._keys, key)
            self._keys.insert(index, key)
            self.events.insert(index, (namespace, event, args))
            self._cond.notify_all()

    def all(self, event: str, namespace: str = "/") -> list[tuple[Any, ...]]:
        with self._cond:
            return [a for (ns, e, a) in self.events if ns == namespace and e == event]

    def wait(self, event: str, namespace: str = "/", timeout: float = 5.0, count: int = 1) -> tuple[Any, ...]:
        """Wait until `event` was received `count` times; return the args of the count-th one."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [a for (ns, e, a) in self.events if ns == namespace and e == event]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(ns, e) for (ns, e, _) in self.events]
                    raise AssertionError(
                        f"no {event!r} #{count} on {namespace!r} within {timeout}s; received: {seen}"
                    )
                self._cond.wait(left)

    def assert_none(
        self, event: str, namespace: str = "/", *, barrier: Callable[[], Any] | None = None, within: float = 3.0
    ) -> None:
        """Assert that `event` was not received.

        `barrier` makes the server send this client something that can only arrive after the unwanted event would
        have (an ack asked for after the emit that must not reach it, on the same connection): it returns when that
        arrived, so the check means "never", not "not yet". Without a barrier, wait `within` seconds (3 s: several
        times what a delivery takes on a loaded two-core machine)."""
        if barrier is None:
            time.sleep(within)
        else:
            barrier()
        got = self.all(event, namespace)
        assert not got, f"unexpected {event!r} on {namespace!r}: {got}"


class Client:
    """A python-socketio 5 client that records every event, disconnect and connect_error."""

    def __init__(self, *, namespaces: list[str], reconnection: bool = False, **kwargs: Any) -> None:
        import socketio

        self.namespaces = namespaces
        self.rec = Recorder()
        self.sio = socketio.Client(
            reconnection=reconnection,
            reconnection_delay=0.2,
            reconnection_delay_max=0.5,
            randomization_factor=0.0,
            **kwargs,
        )
        _number_messages_in_wire_order(self.sio.eio)
        for ns in namespaces:
            self._register(ns)

    def _register(self, ns: str) -> None:
        rec = self.rec

        def on_any(event: str, *args: Any) -> None:
            rec.record(ns, event, args)

        def on_connect() -> None:
            rec.record(ns, "connect", ())

        def on_disconnect(reason: Any = None) -> None:
            rec.record(ns, "disconnect", (reason,))

        def on_connect_error(*data: Any) -> None:
            rec.record(ns, "connect_error", data)

        def on_ask(*args: Any) -> Any:
            rec.record(ns, "ask", args)
            return {"answer": args[0] if args else None}

        self.sio.on("*", on_any, namespace=ns)
        self.sio.on("connect", on_connect, namespace=ns)
        self.sio.on("disconnect", on_disconnect, namespace=ns)
        self.sio.on("connect_error", on_connect_error, namespace=ns)
        self.sio.on("ask", on_ask, namespace=ns)

    def connect(self, url: str, transports: list[str] | None, auth: Any = None, timeout: float = 10.0) -> "Client":
        self.sio.connect(
            url,
            transports=transports,
            namespaces=self.namespaces,
            auth=auth,
            wait_timeout=timeout,
        )
        return self

    def emit(self, event: str, *args: Any, namespace: str = "/") -> None:
        self.sio.emit(event, args, namespace=namespace)

    def call(self, event: str, *args: Any, namespace: str = "/", timeout: float = 5.0) -> list[Any]:
        """Emit with an ack; return the ack's arguments as a list."""
        result: list[Any] = []
        done = threading.Event()

        def on_ack(*ack_args: Any) -> None:
            result.extend(ack_args)
            done.set()

        self.sio.emit(event, args, namespace=namespace, callback=on_ack)
        assert done.wait(timeout), f"no ack for {event!r} within {timeout}s"
        return result

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:  # noqa: BLE001 (teardown must go on)
            pass


@pytest.fixture
def make_client() -> Iterator[Callable[..., Client]]:
    """`make_client(url, transports, auth=None, namespaces=['/'], reconnection=False)` -> connected Client."""
    clients: list[Client] = []

    def make(
        url: str,
        transports: list[str] | None,
        auth: Any = None,
        namespaces: list[str] | None = None,
        reconnection: bool = False,
        connect: bool = True,
        **kwargs: Any,
    ) -> Client:
        client = Client(namespaces=namespaces or ["/"], reconnection=reconnection, **kwargs)
        clients.append(client)
        if connect:
            client.connect(url, transports, auth=auth)
        return client

    yield make
    closers = [threading.Thread(target=c.close, daemon=True) for c in clients]
    for t in closers:
        t.start()
    for t in closers:
        t.join(10)


# ---------------------------------------------------------------------------------------------------------------------
# Raw Engine.IO helpers
# ---------------------------------------------------------------------------------------------------------------------


def ws_url(url: str) -> str:
    return "ws" + url[len("http") :]


def parse_open_packet(text: str) -> dict[str, Any]:
    assert text.startswith("0"), f"not an Engine.IO OPEN packet: {text!r}"
    return json.loads(text[1:])


def decode_polling_payload(body: str) -> list[str]:
    """EIO4 polling payload: packets separated by the record separator \\x1e."""
    return body.split("\x1e") if body else []
