"""Operating the bundled app `pushinator`: CLI, config errors, env overrides, the init-script verbs with the pidfile,
SIGHUP reload, and syslog (see issue 4). Every process started here is stopped by its PID; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from pushinator_support import (
    HASH,
    Pushinator,
    auth,
    base_settings,
    free_port,
    merge,
    require_binary,
    requires_app,
    seed_config_text,
    start_pushinator,  # noqa: F401 (fixture)
    wait_until,
    write_config,
)

pytestmark = requires_app

# node pushinator 1.5.4's pushinator.conf, byte for byte but for the pidfile (tabs, trailing commas, double quotes)
SEED_CONF = """module.exports = {
\tpidfile: './pushinator.pid',
\tadmin: {
\t\thost: 0,
\t\tport: 9600,
\t},
\tclient: {
\t\thost: 0,
\t\tport: 9601,
\t\tuseSSL: false,
\t\tsslKey: '/path/to/ssl.key',
\t\tsslCert: '/path/to.crt',
\t},
\tlog: {
\t\tdebug: false,
\t\tsyslog: {
\t\t\tenable: true,
\t\t\ttag: "pushinator",
\t\t\tfacility: "daemon",
\t\t\thostname: "127.0.0.1",
\t\t},
\t}
}
"""


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 40) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([str(require_binary()), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=full_env, stdin=subprocess.DEVNULL)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return data[data.rindex(")") + 2] != "Z"


def kill_pid(pid: int, timeout: float = 5.0) -> None:
    if not alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------------------------------------------------------------
# CLI basics
# ---------------------------------------------------------------------------------------------------------------------


def test_version():
    done = run_cli("--version")
    assert done.returncode == 0, done
    assert re.search(r"\d+\.\d+", done.stdout), done.stdout


def test_help():
    done = run_cli("--help")
    assert done.returncode == 0, done
    text = done.stdout + done.stderr
    for word in ("-c", "start", "stop", "status", "--admin-port"):
        assert word in text, f"{word!r} not in --help:\n{text}"


def test_unknown_verb_is_an_error(tmp_path):
    config = write_config(tmp_path)
    done = run_cli("frobnicate", "-c", str(config))
    assert done.returncode == 64, done  # EX_USAGE, from the argument parser


def test_seed_config_file_verbatim(tmp_path):
    """node pushinator's own pushinator.conf, unchanged, starts the app (with syslog on and /dev/log absent or not)."""
    (tmp_path / "pushinator.conf").write_text(SEED_CONF)
    app = Pushinator(tmp_path / "pushinator.conf", tmp_path).start()
    try:
        app.register(55866)
        assert app.post("/user/send", {"userId": 55866, "message": "Hey there!"}).json["result"] == "OK"
        assert app.admin.startswith("http://") and app.client.startswith("http://")
    finally:
        app.stop()


def test_listening_urls_are_connectable(tmp_path):
    """With `host: 0` (all interfaces) the LISTENING line still names a URL a client can use: 127.0.0.1."""
    write_config(tmp_path, {"admin": {"host": 0}, "client": {"host": 0}})
    app = Pushinator(tmp_path / "pushinator.conf", tmp_path).start()
    try:
        for kind in ("admin", "client"):
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", app.announced[kind]), app.announced
    finally:
        app.stop()


def test_plain_json_config(tmp_path):
    settings = base_settings(tmp_path)
    (tmp_path / "p.json").write_text(json.dumps(settings, indent=2))
    app = Pushinator(tmp_path / "p.json", tmp_path).start()
    try:
        app.assert_serving()
    finally:
        app.stop()


def test_relative_config_path(tmp_path):
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    write_config(conf_dir, name="relative.conf")
    app = Pushinator("etc/relative.conf", tmp_path).start()  # cwd is tmp_path
    try:
        app.assert_serving()
    finally:
        app.stop()


def test_legacy_transports_warn(start_pushinator):
    app = start_pushinator({"client": {"socketIoTransports": ["websocket", "flashsocket", "htmlfile", "xhr-polling",
                                                              "jsonp-polling"]}})
    text = app.stdout() + app.stderr()
    assert "flashsocket" in text and "htmlfile" in text, f"no warning about ignored transports:\n{text}"


def test_no_config_uses_embedded_defaults(tmp_path):
    if Path("/etc/pushinator.conf").exists():
        pytest.skip("/etc/pushinator.conf exists on this machine")
    app = Pushinator(None, tmp_path).start()
    try:
        app.assert_serving()
        assert app.admin.startswith("http://127.0.0.1:"), app.admin
        assert "embedded defaults" in app.stdout(), app.stdout()
    finally:
        app.stop()


def test_sigterm_stops_the_foreground_app(start_pushinator):
    app = start_pushinator()
    app.proc.send_signal(signal.SIGTERM)
    assert app.proc.wait(timeout=10) == 0


# ---------------------------------------------------------------------------------------------------------------------
# Config errors
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,key",
    [
        ({"admin": {"port": "abc"}}, "admin.port"),
        ({"admin": {"port": 70000}}, "admin.port"),
        ({"client": {"port": [9601]}}, "client.port"),
        ({"client": {"useSSL": "perhaps"}}, "client.useSSL"),
        ({"log": {"debug": {"yes": True}}}, "log.debug"),
        ({"log": {"syslog": {"enable": True, "facility": "LOG_NOPE"}}}, "log.syslog.facility"),
        ({"client": {"messageEncoding": "xml"}}, "client.messageEncoding"),
        ({"client": {"socketIoTransports": ["carrier-pigeon"]}}, "client.socketIoTransports"),
        ({"users": {"idleTimeout": -1}}, "users.idleTimeout"),
        ({"pidfile": 12}, "pidfile"),
        ({"threads": -1}, "threads"),
        ({"threads": "many"}, "threads"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_wrong_type_is_an_error_naming_key_and_file(tmp_path, overrides, key):
    config = write_config(tmp_path, overrides)
    done = run_cli("-c", str(config), "--admin-port", "0", "--client-port", "0", cwd=tmp_path, timeout=20)
    assert done.returncode == 6, done
    assert key in done.stderr, f"stderr does not name {key}: {done.stderr!r}"
    assert str(config) in done.stderr, f"stderr does not name the file: {done.stderr!r}"
    assert "LISTENING" not in done.stdout


def test_syntax_error_names_file_and_line(tmp_path):
    config = tmp_path / "broken.conf"
    config.write_text("module.exports = {\n\tadmin: {\n\t\tport: 9600;\n\t},\n};\n")
    done = run_cli("-c", str(config), "--admin-port", "0", "--client-port", "0", timeout=20)
    assert done.returncode == 6
    assert f"{config}:3:" in done.stderr, done.stderr


def test_missing_config_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope" / "pushinator.conf"
    done = run_cli("-c", str(missing), "--admin-port", "0", "--client-port", "0", timeout=20)
    assert done.returncode == 6
    assert str(missing) in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "Fatal error" not in done.stderr


def test_env_override_of_a_port(tmp_path):
    port = free_port()
    config = write_config(tmp_path)
    app = Pushinator(config, tmp_path, extra_args=["--client-port", "0"], env={"PUSHINATOR_ADMIN_PORT": str(port)},
                     ephemeral_ports=False).start()
    try:
        assert app.admin == f"http://127.0.0.1:{port}", app.admin
        app.assert_serving()
    finally:
        app.stop()


def test_env_override_of_a_nested_key(tmp_path):
    config = write_config(tmp_path)
    app = Pushinator(config, tmp_path, env={"PUSHINATOR_CLIENT_MESSAGE_ENCODING": "raw"}).start()
    try:
        import socketio  # noqa: F401

        from conftest import Client

        client = Client(namespaces=["/"])
        try:
            client.connect(app.client, ["websocket"])
            app.register(3)
            assert auth(client, 3) == {"ok": True, "queued": 0}
            app.send(3, {"raw": True})
            assert client.rec.wait("message")[0] == {"raw": True}
        finally:
            client.close()
    finally:
        app.stop()


def test_threads_key_sets_the_event_loops(tmp_path):
    config = write_config(tmp_path, {"threads": 3})
    app = Pushinator(config, tmp_path).start()
    try:
        app.assert_serving()
        assert app.event_loop_threads() == 3, app.logs()
        assert "server.threads=3" in app.stdout()
    finally:
        app.stop()


def test_default_threads_follow_the_cpu_affinity(tmp_path):
    # pinned to one processor (as `taskset -c N` does), one event loop: not one per core of the machine on one core
    one = {min(os.sched_getaffinity(0))}
    app = Pushinator(write_config(tmp_path), tmp_path, cpus=one).start()
    try:
        app.assert_serving()
        assert app.event_loop_threads() == 1, app.logs()
    finally:
        app.stop()
    unpinned = Pushinator(write_config(tmp_path), tmp_path, name="unpinned").start()
    try:
        # one per allowed processor, fewer under a cgroup CPU quota
        assert 1 <= unpinned.event_loop_threads() <= len(os.sched_getaffinity(0)), unpinned.logs()
    finally:
        unpinned.stop()


def test_bad_env_value_names_the_variable(tmp_path):
    config = write_config(tmp_path)
    done = run_cli("-c", str(config), "--client-port", "0", env={"PUSHINATOR_ADMIN_PORT": "abc"}, timeout=20)
    assert done.returncode == 6
    assert "PUSHINATOR_ADMIN_PORT" in done.stderr, done.stderr


# ---------------------------------------------------------------------------------------------------------------------
# Daemon: start / status / stop / restart with the pidfile
# ---------------------------------------------------------------------------------------------------------------------


class Daemon:
    """A config with fixed free ports, a pidfile and a log file in a tmp dir; runs init verbs."""

    def __init__(self, tmp: Path, overrides: dict[str, Any] | None = None) -> None:
        self.tmp = tmp
        self.admin_port = free_port()
        self.client_port = free_port()
        while self.client_port == self.admin_port:
            self.client_port = free_port()
        self.pidfile = tmp / "run" / "pushinator.pid"
        self.pidfile.parent.mkdir(exist_ok=True)
        self.log_file = tmp / "pushinator.log"
        self.settings = merge(
            base_settings(tmp),
            {
                "pidfile": str(self.pidfile),
                "admin": {"host": "127.0.0.1", "port": self.admin_port},
                "client": {"host": "127.0.0.1", "port": self.client_port},
                "log": {"file": str(self.log_file)},
            },
        )
        self.settings = merge(self.settings, overrides or {})
        self.config = tmp / "pushinator.conf"
        self.write()
        self.pids: set[int] = set()
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        self.client = f"http://127.0.0.1:{self.client_port}"

    def write(self, overrides: dict[str, Any] | None = None) -> None:
        if overrides:
            self.settings = merge(self.settings, overrides)
        self.config.write_text(seed_config_text(self.settings))

    def run(self, verb: str, timeout: float = 40) -> subprocess.CompletedProcess[str]:
        done = run_cli(verb, "-c", str(self.config), cwd=self.tmp, timeout=timeout)
        pid = self.pid()
        if pid:
            self.pids.add(pid)
        return done

    def pid(self) -> int | None:
        try:
            text = self.pidfile.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def ping(self) -> bool:
        try:
            return requests.post(self.admin + "/ping", data="{}", timeout=3).json().get("result") == "pong"
        except (requests.RequestException, ValueError):
            return False

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def cleanup(self) -> None:
        pid = self.pid()
        if pid:
            self.pids.add(pid)
        for pid in self.pids:
            kill_pid(pid)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path)
    yield d
    d.cleanup()


def test_start_status_stop(daemon: Daemon):
    assert daemon.run("status").returncode == 3
    done = daemon.run("start")
    assert done.returncode == 0, done
    pid = daemon.pid()
    assert pid and alive(pid), f"no live pid in {daemon.pidfile}: {done}"
    wait_until(daemon.ping, timeout=15, what="the daemon's admin port")
    status = daemon.run("status")
    assert status.returncode == 0, status
    assert str(pid) in status.stdout, status.stdout

    # the daemon detached: own session, not our child, stdio not ours
    assert os.getsid(pid) == pid, "the daemon should lead its own session (setsid)"

    stopped = daemon.run("stop")
    assert stopped.returncode == 0, stopped
    assert not alive(pid), "the daemon still runs after stop"
    assert not daemon.pidfile.exists(), "stop left the pidfile behind"
    assert daemon.run("status").returncode == 3
    assert daemon.run("stop").returncode == 0  # stopping a stopped daemon is fine (LSB)


def test_start_twice_reports_running(daemon: Daemon):
    assert daemon.run("start").returncode == 0
    pid = daemon.pid()
    again = daemon.run("start")
    assert again.returncode == 0, again  # LSB: start on a running service succeeds
    assert "running" in again.stdout + again.stderr, again
    assert daemon.pid() == pid, "a second start replaced the daemon"
    assert alive(pid)
    # the foreground app cannot take the daemon's ports either, and the daemon survives it
    fg = run_cli("-c", str(daemon.config), cwd=daemon.tmp, timeout=20)
    assert fg.returncode == 1, fg  # a port in use stops start-up (as it fails `start`, operations.md)
    assert alive(pid) and daemon.ping()
    assert daemon.run("stop").returncode == 0


def test_start_fails_when_a_port_is_taken(daemon: Daemon):
    """The pidfile is written once both ports are bound: `start` cannot report a daemon that then fails to listen."""
    for port in (daemon.admin_port, daemon.client_port):
        taken = socket.socket()
        try:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            taken.bind(("127.0.0.1", port))
            taken.listen()
            done = daemon.run("start")
            assert done.returncode == 1, done
            assert "failed to start" in done.stdout + done.stderr, done
            assert not daemon.pidfile.exists(), f"a daemon that could not bind {port} left its pidfile"
            assert daemon.run("status").returncode == 3
        finally:
            taken.close()
    # with the ports free again it starts
    assert daemon.run("start").returncode == 0
    wait_until(daemon.ping, timeout=15, what="the daemon's admin port")
    assert daemon.run("stop").returncode == 0


def test_status_with_stale_pidfile(daemon: Daemon):
    dead = subprocess.Popen(["true"])
    dead.wait(timeout=10)
    daemon.pidfile.write_text(f"{dead.pid}\n")
    status = daemon.run("status")
    assert status.returncode == 1, status
    # start replaces a stale pidfile
    assert daemon.run("start").returncode == 0
    pid = daemon.pid()
    assert pid and pid != dead.pid and alive(pid)
    assert daemon.run("stop").returncode == 0


def test_restart_and_try_restart(daemon: Daemon):
    assert daemon.run("try-restart").returncode == 0
    assert daemon.pid() is None, "try-restart must not start a stopped daemon"
    assert daemon.run("start").returncode == 0
    first = daemon.pid()
    wait_until(daemon.ping, timeout=15, what="the daemon's admin port")
    done = daemon.run("restart")
    assert done.returncode == 0, done
    second = daemon.pid()
    assert second and second != first and alive(second) and not alive(first)
    wait_until(daemon.ping, timeout=15, what="the restarted daemon's admin port")
    done = daemon.run("try-restart")
    assert done.returncode == 0, done
    third = daemon.pid()
    assert third and third != second and alive(third)
    assert daemon.run("stop").returncode == 0
    assert daemon.run("force-reload").returncode == 7  # LSB: not running


def test_stop_waits_for_graceful_drain(daemon: Daemon, make_client):
    assert daemon.run("start").returncode == 0
    wait_until(daemon.ping, timeout=15, what="the daemon's admin port")
    requests.post(daemon.admin + "/user/register", data=json.dumps({"userId": 1, "hash": HASH}), timeout=5)
    client = make_client(daemon.client, ["websocket"])
    assert auth(client, 1) == {"ok": True, "queued": 0}
    pid = daemon.pid()
    started = time.monotonic()
    assert daemon.run("stop").returncode == 0
    assert time.monotonic() - started < 10, "stop needed the KILL escalation"
    assert not alive(pid)
    client.rec.wait("disconnect", timeout=10)


def test_force_reload_keeps_clients_and_applies_log_debug(daemon: Daemon, make_client):
    assert daemon.run("start").returncode == 0
    pid = daemon.pid()
    wait_until(daemon.ping, timeout=15, what="the daemon's admin port")
    requests.post(daemon.admin + "/user/register", data=json.dumps({"userId": 21, "hash": HASH}), timeout=5)
    clients = [make_client(daemon.client, transports) for transports in (["websocket"], ["polling"])]
    for client in clients:
        assert auth(client, 21) == {"ok": True, "queued": 0}
    requests.post(daemon.admin + "/ping", data="{}", timeout=5)
    time.sleep(0.3)
    assert not re.search(r"^\S+ debug ", daemon.log(), re.M), f"debug lines with log.debug false:\n{daemon.log()}"

    daemon.write({"log": {"debug": True}})
    done = daemon.run("force-reload")
    assert done.returncode == 0, done
    wait_until(lambda: "reloaded" in daemon.log(), timeout=10, what="a reload line in the log file")
    assert daemon.pid() == pid and alive(pid), "force-reload must not restart the process"

    reply = requests.post(daemon.admin + "/user/send", data=json.dumps({"userId": 21, "message": "after reload"}),
                          timeout=5).json()
    assert reply["delivered"] == 2, reply
    for client in clients:
        assert json.loads(client.rec.wait("message")[0]) == "after reload"
        assert not client.rec.all("disconnect"), "a client was dropped by the reload"
    wait_until(lambda: re.search(r"^\S+ debug ", daemon.log(), re.M), timeout=5,
               what="debug lines after reloading with log.debug true")
    assert HASH not in daemon.log(), "the log file contains a hash"
    assert daemon.run("stop").returncode == 0


def test_reload_warns_that_threads_change_only_on_restart(daemon: Daemon):
    assert daemon.run("start").returncode == 0
    pid = daemon.pid()
    wait_until(daemon.ping, timeout=15, what="the daemon's admin port")
    daemon.write({"threads": 3})
    assert daemon.run("force-reload").returncode == 0
    wait_until(lambda: "reload: threads changes only on restart" in daemon.log(), timeout=10,
               what="the warning that threads need a restart")
    assert daemon.pid() == pid and alive(pid) and daemon.ping()
    assert daemon.run("stop").returncode == 0


def test_reload_with_a_broken_config_keeps_running(daemon: Daemon):
    assert daemon.run("start").returncode == 0
    pid = daemon.pid()
    wait_until(daemon.ping, timeout=15, what="the daemon's admin port")
    daemon.config.write_text("module.exports = { admin: { port: 'not a port' } };\n")
    # the verb itself reads the config first: it refuses, naming the key, and leaves the daemon alone
    refused = daemon.run("force-reload")
    assert refused.returncode == 6 and "admin.port" in refused.stderr, refused
    assert alive(pid) and daemon.ping()
    # a SIGHUP from elsewhere (kill -HUP, systemctl reload) with the broken file: the daemon keeps its config
    os.kill(pid, signal.SIGHUP)
    wait_until(lambda: "reload failed" in daemon.log() or "admin.port" in daemon.log(), timeout=10,
               what="the failed reload in the log")
    assert alive(pid) and daemon.ping()
    # restore a good config so the verbs can read the pidfile path again
    daemon.write()
    assert daemon.run("stop").returncode == 0


# ---------------------------------------------------------------------------------------------------------------------
# syslog, through a socket of the test's own (log.syslog.path)
# ---------------------------------------------------------------------------------------------------------------------

FACILITIES = {"daemon": 3, "user": 1, "local0": 16, "local3": 19, "local7": 23}


class DevLog:
    """A unix datagram socket of the test's own, collecting what pushinator sends to syslog (`log.syslog.path`):
    no /dev/log, no system logger and no root needed."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="syslog-", dir="/tmp")  # short: a socket path has at most 107 bytes
        self.PATH = os.path.join(self.dir, "log")
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.PATH)
        self.sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def settings(self, **syslog: Any) -> dict[str, Any]:
        """The config's `log.syslog` section sending to this socket."""
        return {"syslog": {"enable": True, "path": self.PATH, **syslog}}

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.lines.append(data.decode("utf-8", errors="replace"))

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def dev_log() -> Iterator[DevLog]:
    sink = DevLog()
    try:
        yield sink
    finally:
        sink.close()


SYSLOG_LINE = re.compile(r"^<(\d+)>(.*?)(\S+)\[(\d+)\]: (.*)$", re.S)


def parse_syslog(lines: list[str]) -> list[tuple[int, str, int, str]]:
    """(priority, tag, pid, message) of each datagram: `<PRI>Mmm dd hh:mm:ss tag[pid]: message` (syslog(3)'s format)."""
    parsed = []
    for line in lines:
        match = SYSLOG_LINE.match(line)
        assert match, f"not a syslog datagram: {line!r}"
        parsed.append((int(match.group(1)), match.group(3), int(match.group(4)), match.group(5)))
    return parsed


def exercise_with_hash(admin: str, client_url: str, make_client) -> None:
    """Register, authenticate (right and wrong hash) and send, so that a careless logger would print the hash."""
    requests.post(admin + "/user/register", data=json.dumps({"userId": 31, "hash": HASH}), timeout=5)
    good = make_client(client_url, ["websocket"])
    assert auth(good, 31) == {"ok": True, "queued": 0}
    bad = make_client(client_url, ["websocket"])
    bad.call("auth", 31, HASH[::-1])
    requests.post(admin + "/user/send", data=json.dumps({"userId": 31, "message": {"hash": "not-it"}}), timeout=5)
    requests.post(admin + "/user/register", data=json.dumps({"userId": 31}), timeout=5)


def test_syslog_tag_facility_and_no_hash(dev_log: DevLog, start_pushinator, make_client):
    app = start_pushinator({"log": {"debug": True, **dev_log.settings(tag="pushtest", facility="local3")}})
    exercise_with_hash(app.admin, app.client, make_client)
    # info and debug lines both reached the test's socket (datagrams can arrive a while after the requests)
    wait_until(lambda: {6, 7} <= {priority & 7 for priority, *_ in parse_syslog(dev_log.snapshot())}, timeout=10,
               what="info and debug syslog datagrams on the test's socket")
    records = parse_syslog(dev_log.snapshot())
    for priority, tag, pid, message in records:
        assert tag == "pushtest", (tag, message)
        assert pid == app.pid
        assert priority >> 3 == FACILITIES["local3"], f"facility of <{priority}> is not local3: {message}"
    severities = {priority & 7 for priority, *_ in records}
    assert 6 in severities, f"no info lines: {records}"  # LOG_INFO
    assert 7 in severities, f"no debug lines with log.debug true: {records}"  # LOG_DEBUG
    for line in dev_log.snapshot():
        assert HASH not in line and HASH[::-1] not in line, f"a hash reached syslog: {line!r}"
    text = app.stdout() + app.stderr()
    assert HASH not in text and HASH[::-1] not in text, "a hash reached stdout/stderr"


def test_syslog_from_the_daemon(dev_log: DevLog, tmp_path: Path, make_client):
    daemon = Daemon(tmp_path, {"log": {"file": "", **dev_log.settings(tag="pushd", facility="daemon")}})
    try:
        assert daemon.run("start").returncode == 0
        pid = daemon.pid()
        wait_until(daemon.ping, timeout=15, what="the daemon's admin port")
        exercise_with_hash(daemon.admin, daemon.client, make_client)
        wait_until(lambda: any(r[2] == pid for r in parse_syslog(dev_log.snapshot())), timeout=10,
                   what="a syslog line from the daemon")
        records = [r for r in parse_syslog(dev_log.snapshot()) if r[2] == pid]
        assert all(tag == "pushd" and priority >> 3 == FACILITIES["daemon"] for priority, tag, _, _ in records), records
        assert all(HASH not in message and HASH[::-1] not in message for *_, message in records)
        assert daemon.run("stop").returncode == 0
    finally:
        daemon.cleanup()


def test_no_syslog_when_disabled(dev_log: DevLog, start_pushinator):
    app = start_pushinator({"log": {"syslog": {"enable": False, "path": dev_log.PATH}}})
    app.assert_serving()
    time.sleep(0.5)
    assert not [r for r in parse_syslog(dev_log.snapshot()) if r[2] == app.pid]


def test_foreground_logs_to_stdout_without_hash(start_pushinator, make_client):
    app = start_pushinator({"log": {"debug": True}})
    exercise_with_hash(app.admin, app.client, make_client)
    wait_until(lambda: re.search(r"^\S+ debug ", app.stdout(), re.M), timeout=10,
               what="debug lines on stdout with log.debug true")
    out = app.stdout()
    assert HASH not in out + app.stderr() and HASH[::-1] not in out + app.stderr()


# ---------------------------------------------------------------------------------------------------------------------
# Operations under systemd and logrotate (issue 16)
# ---------------------------------------------------------------------------------------------------------------------


def log_lines(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_sighup_reopens_the_log_file_after_a_rename(start_pushinator, tmp_path):
    log_file = tmp_path / "pushinator.log"
    app = start_pushinator({"log": {"file": str(log_file)}})
    wait_until(lambda: "configuration loaded" in log_file.read_text(), what="the first log lines")
    rotated = tmp_path / "pushinator.log.1"
    log_file.rename(rotated)  # what logrotate does (without copytruncate)
    app.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: log_file.exists() and "configuration reloaded" in log_file.read_text(), timeout=10,
               what="the reload's log line in a new file under the old name")
    assert "configuration reloaded" not in rotated.read_text(), "the line went to the renamed file"
    app.register(77)  # still serving, and still logging to the new file
    app.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: len(log_lines(log_file.read_text(), "configuration reloaded")) == 2, timeout=10,
               what="a second reload line in the same new file")


def test_descriptor_limit_warnings(tmp_path):
    """Under a low open-file limit: a warning at start naming the limit and LimitNOFILE=, and one warning (not one
    per connection) when connections are refused at the cap."""
    import resource
    write_config(tmp_path, {"client": {"host": "127.0.0.1"}})

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    app = Pushinator(tmp_path / "pushinator.conf", tmp_path)
    cmd = [str(require_binary()), *app.args]
    with open(app.stdout_path, "wb") as out, open(app.stderr_path, "wb") as err:
        app.proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    preexec_fn=low_limit)
    sockets: list[socket.socket] = []
    try:
        port = int(wait_until(lambda: re.search(r"LISTENING client http://127\.0\.0\.1:(\d+)", app.stdout()),
                              timeout=30, what="the client port").group(1))
        start = log_lines(app.stdout(), "the open-file limit caps the connections")
        assert len(start) == 1, app.stdout()
        assert "LimitNOFILE=" in start[0] and "process.nofile.soft=256" in start[0], start[0]
        # 256 descriptors leave 224 connections per port: 240 connections are refused 16 times or more
        for _ in range(240):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        wait_until(lambda: log_lines(app.stdout(), "connections refused at the connection limit"), timeout=10,
                   what="the warning about refused connections")
        time.sleep(0.5)
        refused = log_lines(app.stdout(), "connections refused at the connection limit")
        assert len(refused) == 1 and " warning " in refused[0], refused
    finally:
        for s in sockets:
            s.close()
        app.stop()


def test_foreground_writes_the_configured_pidfile_so_status_works(tmp_path):
    pidfile = tmp_path / "run" / "pushinator.pid"
    pidfile.parent.mkdir()
    config = write_config(tmp_path, {"pidfile": str(pidfile)})
    app = Pushinator(config, tmp_path).start()
    try:
        assert pidfile.read_text().strip() == str(app.pid)
        status = run_cli("status", "-c", str(config))
        assert status.returncode == 0 and str(app.pid) in status.stdout, status
    finally:
        app.stop()
    assert app.proc.returncode == 0
    assert not pidfile.exists(), "the pidfile outlived a clean exit"


def test_foreground_without_a_pidfile_key_writes_none(tmp_path):
    settings = base_settings(tmp_path)
    del settings["pidfile"]
    (tmp_path / "p.conf").write_text(seed_config_text(settings))
    app = Pushinator(tmp_path / "p.conf", tmp_path).start()
    try:
        app.assert_serving()
        assert "pidfile" not in app.stdout()
    finally:
        app.stop()


def test_reload_warns_about_every_key_it_cannot_change(start_pushinator):
    app = start_pushinator({"client": {"host": "127.0.0.1"}})
    config = Path(app.config)
    settings = merge(base_settings(config.parent), {"client": {"host": "127.0.0.1"}})
    changed = merge(settings, {
        "threads": 3, "client": {"cors": ["https://a.example"], "socketIoTransports": ["websocket"]},
        "log": {"syslog": {"tag": "other"}},
    })
    config.write_text(seed_config_text(changed))
    app.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "configuration reloaded" in app.stdout(), timeout=10, what="the reload")
    out = app.stdout()
    for key in ("threads", "client.cors", "client.socketIoTransports", "log.syslog.tag"):
        assert len(log_lines(out, f"reload: {key} changes only on restart")) == 1, f"{key}:\n{out}"
    assert "admin.port changes" not in out, "a key that did not change was named"  # --admin-port 0 on both


def test_unknown_key_is_reported_with_the_closest_known_key(tmp_path):
    config = write_config(tmp_path, {"users": {"idleTimeot": 30}, "client": {"prot": 1}})
    checked = run_cli("--check", "-c", str(config))
    assert checked.returncode == 0, checked
    assert "unknown configuration key users.idleTimeot (did you mean users.idleTimeout?)" in checked.stderr, checked
    assert "unknown configuration key client.prot (did you mean client.port?)" in checked.stderr, checked
    app = Pushinator(config, tmp_path).start()
    try:
        assert log_lines(app.stdout(), "unknown configuration key users.idleTimeot"), app.stdout()
    finally:
        app.stop()


def test_check_refuses_a_broken_config_with_status_6(tmp_path):
    config = write_config(tmp_path, {"admin": {"port": "nope"}})
    checked = run_cli("--check", "-c", str(config))
    assert checked.returncode == 6 and "admin.port" in checked.stderr, checked
    good = run_cli("--check", "-c", str(write_config(tmp_path)))
    assert good.returncode == 0 and "configuration OK" in good.stdout, good


def test_a_pidfile_naming_a_directory_means_pushinator_pid_inside(tmp_path):
    """The seed README's sample says `pidfile: '/tmp/'`."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    daemon = Daemon(tmp_path, {"pidfile": str(run_dir) + "/"})
    daemon.pidfile = run_dir / "pushinator.pid"
    try:
        started = daemon.run("start")
        assert started.returncode == 0, started
        assert "is a directory: using" in started.stderr + started.stdout or "is a directory" in daemon.log(), daemon.log()
        assert daemon.pid() and alive(daemon.pid())
        assert daemon.run("status").returncode == 0
        assert daemon.run("stop").returncode == 0
    finally:
        daemon.cleanup()


def test_daemon_verbs_exit_6_on_configuration_problems(tmp_path):
    daemon = Daemon(tmp_path, {"client": {"useSSL": True, "sslKey": str(tmp_path / "missing.key"),
                                          "sslCert": str(tmp_path / "missing.crt")}})
    try:
        started = daemon.run("start")  # the files are read by the daemon: it exits 6, and so does `start`
        assert started.returncode == 6, started
        daemon.write({"client": {"useSSL": True, "sslKey": ""}})
        for verb in ("start", "status", "stop", "force-reload"):
            done = daemon.run(verb)
            assert done.returncode == 6 and "client.useSSL" in done.stderr, (verb, done)
    finally:
        daemon.cleanup()


def test_health_on_the_client_port_and_details_on_the_admin_port(start_pushinator):
    app = start_pushinator({"admin": {"token": "s3cret"}})
    health = requests.get(app.client + "/health", timeout=5)
    assert health.status_code == 200 and health.json() == {"status": "ok"}, health.text
    assert requests.get(app.admin + "/health", timeout=5).status_code == 401  # the admin one keeps its guard
    details = requests.get(app.admin + "/health", headers={"Authorization": "Bearer s3cret"}, timeout=5).json()
    assert details["result"] == "OK" and details["status"] == 200
    assert re.match(r"^\d+\.\d+\.\d+", details["version"]) and details["uptime"] >= 0
    assert details["connections"] == 0 and details["users"] == 0
