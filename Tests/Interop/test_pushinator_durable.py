"""Durable registrations, the offline queue and delivery acks of pushinator (issue 15), with real clients.

users.store 'sqlite:...' survives kill -9; the offline queue hands messages over at the next auth, in order,
within its limits; /user/send with "ack" counts the clients that called back; stores that cannot be used stop
the start with exit code 6.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from pushinator_support import (
    HASH,
    Pushinator,
    app,  # noqa: F401 (fixture)
    auth,
    connect_user,
    free_port,
    new_user,
    pushinator_app,  # noqa: F401 (fixture)
    require_binary,
    requires_app,
    start_pushinator,  # noqa: F401 (fixture)
    wait_until,
    write_config,
)

pytestmark = requires_app


def _messages(client) -> list:
    return [json.loads(args[0]) for args in client.rec.all("message")]


def _reauthing_client(make_client, app: Pushinator, user: int):
    """A reconnecting client that emits auth (with an ack) on every connect, as client.html does."""
    client = make_client(app.client, ["websocket"], reconnection=True, connect=False)

    def on_connect() -> None:
        client.rec.record("/", "connect", ())
        client.sio.emit("auth", (user, HASH), callback=lambda *a: client.rec.record("/", "auth-ack", a))

    client.sio.on("connect", on_connect)
    client.connect(app.client, ["websocket"])
    assert client.rec.wait("auth-ack")[0]["ok"] is True
    return client


# ---------------------------------------------------------------------------------------------------------------------
# SQLite store: kill -9 and restart
# ---------------------------------------------------------------------------------------------------------------------


def test_sqlite_store_survives_kill_9(tmp_path: Path, make_client):
    ports = {"admin": {"port": free_port()}, "client": {"port": free_port()}}
    config = write_config(tmp_path, {**ports, "users": {"store": f"sqlite:{tmp_path}/users.db"}})
    first = Pushinator(config, tmp_path, name="before", ephemeral_ports=False).start()
    online, offline = new_user(), new_user()
    first.register(online)
    first.register(offline, "offline-hash")
    client = _reauthing_client(make_client, first, online)
    for number in range(3):
        reply = first.send(offline, {"n": number})
        assert reply.json["queued"] == 1 and reply.json["delivered"] == 0, reply
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    client.rec.wait("disconnect", timeout=10)

    second = Pushinator(config, tmp_path, name="after", ephemeral_ports=False).start()
    try:
        # the same client reconnects by itself and its auth succeeds: nobody registered it again
        answer = client.rec.wait("auth-ack", count=2, timeout=20)
        assert answer == ({"ok": True, "queued": 0},), answer
        assert second.send(online, "after restart").json["delivered"] == 1
        assert json.loads(client.rec.wait("message")[0]) == "after restart"
        # the queue survived too, in order
        late = connect_user(make_client, second, offline, ["websocket"], hash_="offline-hash", queued=3)
        late.rec.wait("message", count=3)
        assert _messages(late) == [{"n": 0}, {"n": 1}, {"n": 2}]
    finally:
        second.stop()


def test_sqlite_file_holds_no_hashes(start_pushinator, tmp_path: Path):
    db = tmp_path / "users.db"
    app = start_pushinator({"users": {"store": f"sqlite:{db}"}})
    app.register(1, "a-recognizable-secret")
    app.stop()
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT id, digest FROM users").fetchall()
    assert [(row[0], len(row[1])) for row in rows] == [("1", 32)]
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("users.db*"))
    assert b"a-recognizable-secret" not in stored


def _pipelined(app, calls: list[tuple[str, dict]], timeout: float = 20) -> list[dict]:
    """Sends `calls` on one keep-alive connection in one write (pipelined), the last with `Connection: close`;
    returns the JSON answers in the order they came."""
    from urllib.parse import urlsplit

    url = urlsplit(app.admin)
    payload = b""
    for index, (path, body) in enumerate(calls):
        data = json.dumps(body).encode()
        close = "Connection: close\r\n" if index == len(calls) - 1 else ""
        payload += (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n{close}\r\n"
        ).encode() + data
    received = b""
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        sock.sendall(payload)
        for _ in range(10_000):  # bounded: until the server closes after the last answer
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    answers = []
    for _ in range(len(calls)):  # Content-Length framed answers, in order
        head, _, rest = received.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
        answers.append(json.loads(rest[:length]))
        received = rest[length:]
    return answers


def test_a_send_pipelined_behind_a_registration_sees_it(start_pushinator, tmp_path: Path):
    """admin-api.md: a /user/register waits for the answers before it and the calls behind it wait for its own, so
    a /user/send pipelined right behind the registration of its (offline) user queues the message for that user,
    although the registration counts only once it is committed to the SQLite file."""
    app = start_pushinator({"users": {"store": f"sqlite:{tmp_path}/users.db"}})
    users = [f"pipelined-{n}" for n in range(20)]
    calls: list[tuple[str, dict]] = []
    for user in users:
        calls += [("/user/register", {"userId": user, "hash": HASH}), ("/user/send", {"userId": user, "message": user})]
    answers = _pipelined(app, calls)
    assert [answer["status"] for answer in answers] == [200] * len(calls), answers
    sends = answers[1::2]
    assert [send["queued"] for send in sends] == [1] * len(users), sends


# ---------------------------------------------------------------------------------------------------------------------
# Stores that cannot be used
# ---------------------------------------------------------------------------------------------------------------------


def _start_fails(config: Path, work: Path, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(require_binary()), "-c", str(config), "--admin-port", "0", "--client-port", "0"],
        cwd=work, capture_output=True, text=True, timeout=30, preexec_fn=preexec,
    )


@pytest.mark.parametrize(
    "case,expected",
    [
        ("missing-folder", "its folder must exist"),
        ("not-a-database", "not an SQLite database"),
        ("read-only", "read-only"),
    ],
)
def test_unusable_store_stops_the_start_with_exit_code_6(tmp_path: Path, case: str, expected: str):
    work = Path(tempfile.mkdtemp(prefix="pushinator-store-"))
    os.chmod(work, 0o755)
    db = work / ("no-such-folder/users.db" if case == "missing-folder" else "users.db")
    config = write_config(work, {"users": {"store": f"sqlite:{db}"}})
    os.chmod(config, 0o644)
    holder = None
    preexec = None
    if case == "not-a-database":
        db.write_bytes(b"this is not an SQLite database\n" * 100)
    elif case == "locked":
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("CREATE TABLE other (x)")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO other VALUES (1)")
    elif case == "read-only":
        sqlite3.connect(db).close()
        os.chmod(db, 0o444)
        os.chmod(work, 0o1777)  # the folder stays writable (pidfile): only the file is read-only
        if os.geteuid() == 0:  # root writes anyway: run the server as nobody, the file stays root's
            preexec = lambda: (os.setgroups([]), os.setgid(65534), os.setuid(65534))  # noqa: E731
    before = db.read_bytes() if db.exists() else None
    try:
        result = _start_fails(config, work, preexec)
    finally:
        if holder is not None:
            holder.rollback() if holder.in_transaction else None
            holder.close()
    assert result.returncode == 6, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert "LISTENING" not in result.stdout
    assert f"users.store: cannot open the user store {db}" in result.stderr, result.stderr
    assert expected in result.stderr, result.stderr
    if before is not None and case != "locked":
        assert db.read_bytes() == before  # left as it was


def test_write_failure_at_run_time_is_a_503_and_keeps_what_was_stored(start_pushinator, tmp_path: Path, make_client):
    db = tmp_path / "users.db"
    app = start_pushinator({"users": {"store": f"sqlite:{db}"}})
    app.register(1, "one")
    holder = sqlite3.connect(db, isolation_level=None, timeout=5)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        reply = app.post("/user/register", {"userId": 2, "hash": "two"}, timeout=30)
        reply.assert_error(503, prefix="User store unavailable: the user store could not write")
        reply = app.post("/user/send", {"userId": 1, "message": "kept?"}, timeout=30)
        reply.assert_error(503)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    app.assert_serving()
    assert "user store write failed" in app.stdout()
    app.register(2, "two")
    connect_user(make_client, app, 1, ["websocket"], hash_="one")
    connect_user(make_client, app, 2, ["websocket"], hash_="two")
    assert app.post("/user/list", {}).json["users"] == ["1", "2"]


# ---------------------------------------------------------------------------------------------------------------------
# Offline queue
# ---------------------------------------------------------------------------------------------------------------------


def test_offline_queue_order_queued_counts_and_newer_after(start_pushinator, make_client):
    app = start_pushinator()
    a, b = new_user(), new_user()
    app.register(a)
    app.register(b)
    for number in range(1, 4):
        reply = app.post("/user/send", {"userIds": [a, b, "nobody"], "message": number})
        assert reply.status == 200 and reply.json["delivered"] == 0 and reply.json["queued"] == 2, reply
    client = connect_user(make_client, app, a, ["websocket"], queued=3)
    reply = app.send(a, 4)
    assert reply.json["delivered"] == 1 and reply.json["queued"] == 0, reply
    client.rec.wait("message", count=4)
    assert _messages(client) == [1, 2, 3, 4]
    again = connect_user(make_client, app, a, ["polling"], queued=0)  # handed over once
    client_b = connect_user(make_client, app, b, ["polling"], queued=3)
    client_b.rec.wait("message", count=3)
    assert _messages(client_b) == [1, 2, 3]
    assert app.post("/stats", {}).json["offlineQueue"]["messages"] == 0
    assert again.rec.all("message") == []


def test_offline_queue_limits_drop_the_oldest_and_count(start_pushinator, make_client):
    app = start_pushinator({"users": {"offlineQueue": {"max": 2, "ttl": 60000, "maxBytes": 30}}})
    a, b = new_user(), new_user()
    app.register(a)
    app.register(b)
    for number in range(1, 5):
        assert app.send(a, number).json["queued"] == 1
    stats = app.post("/stats", {}).json["offlineQueue"]
    assert stats == {"messages": 2, "bytes": 2, "dropped": 2, "expired": 0}, stats
    assert app.send(b, "x" * 40).json["queued"] == 0  # over maxBytes by itself
    assert app.send(b, "y" * 27).json["queued"] == 1  # 29 bytes, 31 in all: pushes the oldest of all (a's 3) out
    client = connect_user(make_client, app, a, ["websocket"], queued=1)
    client.rec.wait("message")
    assert _messages(client) == [4]
    assert app.post("/stats", {}).json["offlineQueue"]["dropped"] == 4


def test_offline_queue_ttl(start_pushinator, make_client):
    app = start_pushinator({"users": {"offlineQueue": {"ttl": 500}}})
    user = new_user()
    app.register(user)
    # connected first, so that only the auth comes between the fresh message and the hand-over (a connection can take
    # longer than the ttl on a busy machine: the fresh message expired too)
    client = make_client(app.client, ["websocket"])
    assert app.send(user, "stale").json["queued"] == 1
    time.sleep(0.6)
    assert app.send(user, "fresh").json["queued"] == 1
    assert auth(client, user) == {"ok": True, "queued": 1}
    client.rec.wait("message")
    assert _messages(client) == ["fresh"]
    assert app.post("/stats", {}).json["offlineQueue"]["expired"] == 1


def test_offline_queue_off(start_pushinator, make_client):
    app = start_pushinator({"users": {"offlineQueue": {"max": 0}}})
    user = new_user()
    app.register(user)
    assert app.send(user, "gone").json == {"result": "OK", "delivered": 0, "queued": 0, "status": 200}
    connect_user(make_client, app, user, ["websocket"], queued=0)


# ---------------------------------------------------------------------------------------------------------------------
# Delivery acks
# ---------------------------------------------------------------------------------------------------------------------


def test_acks_are_counted_from_acking_and_silent_clients(start_pushinator, make_client):
    app = start_pushinator()
    user = new_user()
    app.register(user)
    acking = [connect_user(make_client, app, user, [t]) for t in ("websocket", "polling")]
    hold = threading.Event()
    silent = make_client(app.client, ["websocket"], connect=False)

    def on_message(*args):
        silent.rec.record("/", "message", args)
        hold.wait(10)  # answers only after the deadline

    silent.sio.on("message", on_message)
    silent.connect(app.client, ["websocket"])
    assert auth(silent, user)["ok"] is True
    started = time.monotonic()
    reply = app.post("/user/send", {"userId": user, "message": "ack me", "ack": {"timeout": 1500}}, timeout=30)
    elapsed = time.monotonic() - started
    hold.set()
    assert reply.status == 200, reply
    assert reply.keys == ["result", "delivered", "queued", "acked", "status"], reply
    assert reply.json["delivered"] == 3 and reply.json["acked"] == 2 and reply.json["queued"] == 0, reply
    assert elapsed < 10, elapsed  # the deadline holds (generous: a loaded machine)
    for client in acking + [silent]:
        assert json.loads(client.rec.wait("message")[0]) == "ack me"
    wait_until(lambda: app.post("/stats", {}).json["pendingAcks"] == 0, what="pending acks released")
    # without ack: immediate, no acked field
    reply = app.send(user, "plain")
    assert "acked" not in reply.json


@pytest.mark.parametrize(
    "ack",
    [5000, "5000", True, [], {}, {"timeout": 0}, {"timeout": -1}, {"timeout": 60001}, {"timeout": "5"},
     {"timeout": 1.5}, {"timeout": 5, "extra": 1}, {"timout": 5}],
)
def test_bad_ack_values_are_a_400(app: Pushinator, make_client, ack):
    user = new_user()
    app.register(user)
    client = connect_user(make_client, app, user, ["websocket"])
    reply = app.post("/user/send", {"userId": user, "message": "never", "ack": ack})
    reply.assert_error(400, prefix="ack must be {\"timeout\": milliseconds from 1 to 60000}")
    assert app.send(user, "barrier").json["delivered"] == 1
    client.rec.wait("message")
    assert _messages(client) == ["barrier"]
