"""`users.store: 'postgres'`: registrations and offline queues in PostgreSQL, shared by every node of a cluster.

Needs PUSHINATOR_TEST_POSTGRES_URL: scripts/test.sh runs the interop tests beside a throwaway PostgreSQL
(scripts/with-postgres.sh). Each test uses a channel prefix of its own and user ids of its own (random, so that a
rerun on the same database finds nothing of an earlier run).
"""

from __future__ import annotations

import hashlib
import os
import random
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from pushinator_support import (
    POSTGRES,
    HASH,
    Pushinator,
    auth,
    connect_user,
    free_port,
    requires_app,
    requires_postgres,
    require_binary,
    start_pushinator,  # noqa: F401 (fixture)
    wait_until,
    write_config,
)

pytestmark = [
    requires_app,
    requires_postgres,
]


def store_overrides(prefix: str, store: str = "postgres", cluster_url: str | None = None) -> dict[str, Any]:
    return {
        "users": {"store": store},
        "cluster": {
            "postgres": cluster_url or POSTGRES,
            "channelPrefix": prefix,
            "timeout": 2000,
            "heartbeatInterval": 300,
            "heartbeatTimeout": 1500,
        },
    }


def fresh_user() -> int:
    return random.randrange(10**12, 10**13)


def cluster_nodes(app: Pushinator) -> int:
    return app.request("GET", "/health").json.get("cluster", {}).get("nodes", 0)


def start_node(start_pushinator: Any, prefix: str, name: str, **kwargs: Any) -> Pushinator:
    return start_pushinator(store_overrides(prefix, **kwargs), name=name)


def wait_for_nodes(nodes: list[Pushinator]) -> None:
    wait_until(lambda: all(cluster_nodes(node) == len(nodes) for node in nodes), timeout=15, what="the nodes to see each other")


def messages(client: Any) -> list[Any]:
    return [args[0] for args in client.rec.all("message")]


def queued_rows(user: int) -> int:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        return connection.execute("SELECT count(*) FROM pushinator_offline_queue WHERE user_id = %s", (str(user),)).fetchone()[0]


def test_a_node_started_after_the_registration_accepts_the_user(start_pushinator: Any, make_client: Any) -> None:
    import psycopg

    prefix = f"s{random.getrandbits(32)}"
    first = start_node(start_pushinator, prefix, "a")
    user = fresh_user()
    first.register(user)
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        digest = connection.execute("SELECT digest FROM pushinator_users WHERE id = %s", (str(user),)).fetchone()[0]
    assert bytes(digest) == hashlib.sha256(HASH.encode()).digest()  # the digest, never the hash
    later = start_node(start_pushinator, prefix, "c")
    wait_for_nodes([first, later])
    connect_user(make_client, later, user, ["websocket"])

    # a registration this node never heard of (written by another node while its bus was away): read on the miss
    stranger = fresh_user()
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        # as Documentation/cluster.md shows it for a backend registering with plain SQL
        connection.execute("INSERT INTO pushinator_users (id, digest) VALUES (%s, sha256(%s::bytea))", (str(stranger), "other"))
    client = connect_user(make_client, later, stranger, ["websocket"], hash_="other")
    assert client.sio.connected
    refused = make_client(later.client, ["websocket"])
    assert auth(refused, fresh_user()).get("ok") is False  # unknown everywhere: refused as before


def test_a_queue_filled_through_one_node_is_delivered_once_in_order_on_another(start_pushinator: Any, make_client: Any) -> None:
    prefix = f"s{random.getrandbits(32)}"
    first = start_node(start_pushinator, prefix, "a")
    second = start_node(start_pushinator, prefix, "b")
    wait_for_nodes([first, second])
    user = fresh_user()
    first.register(user)
    for number in range(5):
        reply = first.send(user, number)
        assert reply.json["delivered"] == 0 and reply.json["queued"] == 1, reply
    assert queued_rows(user) == 5
    client = connect_user(make_client, second, user, ["websocket"], queued=5)
    client.rec.wait("message", count=5)
    assert messages(client) == ["0", "1", "2", "3", "4"]
    assert queued_rows(user) == 0
    # nothing is left for a tab on the first node, and nothing arrives twice
    other = connect_user(make_client, first, user, ["websocket"], queued=0)
    first.send(user, "end")
    client.rec.wait("message", count=6)
    other.rec.wait("message", count=1)
    assert messages(client) == ["0", "1", "2", "3", "4", '"end"'] and messages(other) == ['"end"']
    stats = second.post("/stats", {}).json
    assert stats["offlineQueue"]["messages"] == 0, stats


def test_two_nodes_taking_one_queue_at_once_deliver_each_message_once(start_pushinator: Any, make_client: Any) -> None:
    prefix = f"s{random.getrandbits(32)}"
    first = start_node(start_pushinator, prefix, "a")
    second = start_node(start_pushinator, prefix, "b")
    wait_for_nodes([first, second])
    user = fresh_user()
    first.register(user)
    total = 20
    for number in range(total):
        first.send(user, number)
    clients = [make_client(node.client, ["websocket"]) for node in (first, second)]
    answers: list[Any] = [None, None]

    def authenticate(index: int) -> None:
        answers[index] = auth(clients[index], user)

    threads = [threading.Thread(target=authenticate, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert all(answer and answer["ok"] for answer in answers), answers
    # each message went to exactly one of the two auths (the other got none of it), in order
    assert sum(answer["queued"] for answer in answers) == total, answers
    for client, answer in zip(clients, answers):
        if answer["queued"]:
            client.rec.wait("message", count=answer["queued"])
    received = [messages(client) for client in clients]
    assert sorted(int(m) for m in received[0] + received[1]) == list(range(total)), received
    for got in received:
        assert got == sorted(got, key=int), got


def test_after_kill_9_of_every_node_users_auth_without_registering_again(start_pushinator: Any, make_client: Any) -> None:
    prefix = f"s{random.getrandbits(32)}"
    nodes = [start_node(start_pushinator, prefix, f"n{index}") for index in range(2)]
    wait_for_nodes(nodes)
    users = [fresh_user() for _ in range(3)]
    for index, user in enumerate(users):
        nodes[index % 2].register(user)
    assert nodes[0].send(users[0], "kept").json["queued"] == 1
    for node in nodes:
        os.kill(node.pid, 9)
        node.proc.wait(timeout=10)
    restarted = [start_node(start_pushinator, prefix, f"r{index}") for index in range(2)]
    wait_for_nodes(restarted)
    client = connect_user(make_client, restarted[1], users[0], ["websocket"], queued=1)
    assert client.rec.wait("message")[0] == '"kept"'
    for user in users[1:]:
        connect_user(make_client, restarted[0], user, ["polling"])
    assert restarted[1].post("/user/list", {}).json["users"] == sorted(restarted[0].post("/user/list", {}).json["users"])


def test_a_rotation_or_unregistration_through_one_node_applies_on_all(start_pushinator: Any, make_client: Any) -> None:
    prefix = f"s{random.getrandbits(32)}"
    nodes = [start_node(start_pushinator, prefix, f"n{index}") for index in range(3)]
    wait_for_nodes(nodes)
    user = fresh_user()
    nodes[0].register(user)
    clients = [connect_user(make_client, node, user, ["websocket"]) for node in nodes[:2]]
    reply = nodes[1].post("/user/register", {"userId": user, "hash": "rotated"})
    assert reply.status == 200, reply
    for client in clients:
        client.rec.wait("disconnect")
    for node in nodes:
        stale = make_client(node.client, ["websocket"])
        assert auth(stale, user).get("ok") is False, node.admin
        connect_user(make_client, node, user, ["websocket"], hash_="rotated")
    assert nodes[2].post("/user/unregister", {"userId": user}).json["removed"] is True
    for node in nodes:
        gone = make_client(node.client, ["websocket"])
        assert auth(gone, user, "rotated").get("ok") is False, node.admin
        assert str(user) not in node.post("/user/list", {}).json["users"]


class TcpProxy:
    """A TCP relay to PostgreSQL on a port of its own, to cut a node from the database and bring it back."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()  # outside the ephemeral range: no outgoing connection takes it while it is stopped
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.start()

    def start(self) -> None:
        """Listens (again, on the same port after a stop) and relays."""
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.stopped = False
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.stopped:
                    downstream.close()
                    return
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                self.connections += [downstream, upstream]
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self.pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        """Closes the port (new connections are refused) and every relayed connection."""
        with self.lock:
            self.stopped = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the thread
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                connection.close()


def test_the_database_stopped_gives_503_on_register_and_cached_users_still_auth(start_pushinator: Any, make_client: Any) -> None:
    from urllib.parse import urlsplit

    assert POSTGRES
    target = urlsplit(POSTGRES)
    proxy = TcpProxy(target.port or 5432)
    try:
        through_proxy = POSTGRES.replace(f":{target.port}/", f":{proxy.port}/")
        prefix = f"s{random.getrandbits(32)}"
        node = start_node(start_pushinator, prefix, "a", store=through_proxy)
        user = fresh_user()
        node.register(user)
        proxy.stop()
        reply = node.post("/user/register", {"userId": fresh_user(), "hash": "x"})
        # which error says so depends on whether the pool saw its connection close before the write: a new
        # connection refused ("... postgres://... is unreachable") or the old one closed under the write
        reply.assert_error(503, prefix="User store unavailable: the user store ")
        assert "is unreachable" in reply.text or "serverClosedConnection" in reply.text, reply
        node.post("/user/unregister", {"userId": user}).assert_error(503)
        offline = fresh_user()
        proxy.start()
        node.register(offline)
        proxy.stop()
        node.post("/user/send", {"userId": offline, "message": "lost?"}).assert_error(503)  # not queued: said so
        client = connect_user(make_client, node, user, ["websocket"])  # from memory: still accepted
        assert client.sio.connected
        node.assert_serving()
        assert "user store write failed" in node.stdout()
        # the database back: the next write reconnects
        proxy.start()
        node.register(fresh_user())
        assert node.send(offline, "kept").json["queued"] == 1
        connect_user(make_client, node, offline, ["websocket"], queued=1)
    finally:
        proxy.stop()


def run_pushinator(tmp_path: Path, overrides: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    config = write_config(tmp_path, overrides)
    return subprocess.run(
        [str(require_binary()), "-c", str(config), "--admin-port", "0", "--client-port", "0"],
        capture_output=True, text=True, timeout=60,
    )


def test_a_postgres_store_without_a_database_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    result = run_pushinator(tmp_path, {"users": {"store": "postgres"}})
    assert result.returncode == 6, result
    assert "users.store 'postgres' uses the cluster's database, but cluster.postgres is not set" in result.stderr
    port = free_port()  # nothing listens there: outside the ephemeral range, never handed out twice
    result = run_pushinator(tmp_path, {"users": {"store": f"postgres://push:secret@127.0.0.1:{port}/push"}})
    assert result.returncode == 6, result
    assert f"pushinator: users.store: cannot open the user store postgres://push@127.0.0.1:{port}/push" in result.stderr, result.stderr
    assert "secret" not in result.stderr + result.stdout
    assert "LISTENING" not in result.stdout
