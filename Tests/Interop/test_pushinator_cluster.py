"""Several pushinator nodes on one PostgreSQL (`cluster.postgres`): python-socketio clients on different nodes,
messages sent through each node's admin API, the database connections cut in the middle of a run of sends.

Needs PUSHINATOR_TEST_POSTGRES_URL: scripts/test.sh runs the interop tests beside a throwaway PostgreSQL
(scripts/with-postgres.sh). Each test uses a channel prefix of its own, so that its nodes hear only each other.
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pushinator_support import (
    POSTGRES,
    Pushinator,
    connect_user,
    free_port,
    new_user,
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


def cluster_overrides(prefix: str) -> dict[str, Any]:
    # short heartbeats so that a node killed with -9 is noticed quickly; the count deadline covers a reconnection
    return {
        "cluster": {
            "postgres": POSTGRES,
            "channelPrefix": prefix,
            "timeout": 3000,
            "heartbeatInterval": 300,
            "heartbeatTimeout": 1500,
        }
    }


def cluster_status(app: Pushinator) -> dict[str, Any]:
    return app.request("GET", "/health").json.get("cluster", {})


def start_nodes(start_pushinator: Any, count: int, prefix: str | None = None) -> list[Pushinator]:
    prefix = prefix or f"t{random.getrandbits(32)}"
    nodes = [start_pushinator(cluster_overrides(prefix), name=f"node{i}") for i in range(count)]
    wait_until(
        lambda: all(cluster_status(node).get("nodes") == count for node in nodes),
        timeout=15,
        what=f"{count} nodes to see each other",
    )
    return nodes


def register_everywhere(nodes: list[Pushinator], user: int) -> None:
    # users.store is per node: the backend registers a user on every node it may connect to
    for node in nodes:
        node.register(user)


def messages(client: Any) -> list[Any]:
    return [args[0] for args in client.rec.all("message")]


def test_sends_through_each_node_reach_the_users_connections_on_every_node_once(start_pushinator: Any, make_client: Any) -> None:
    prefix = f"t{random.getrandbits(32)}"
    nodes = start_nodes(start_pushinator, 3, prefix)
    user = new_user()
    nodes[1].register(user)  # replicated: every node accepts the user's auth
    clients = [connect_user(make_client, node, user, ["websocket"]) for node in nodes]
    for index, node in enumerate(nodes):
        reply = node.send(user, {"from": index})
        assert reply.json["delivered"] == 3, reply
        assert reply.json["queued"] == 0 and "partial" not in reply.json, reply
    for client in clients:
        client.rec.wait("message", count=3)
    # a last message through node 0 is the barrier: anything duplicated would have arrived before it
    nodes[0].send(user, "end")
    for client in clients:
        client.rec.wait("message", count=4)
        assert messages(client) == ['{"from":0}', '{"from":1}', '{"from":2}', '"end"'], messages(client)

    other = new_user()
    nodes[0].register(other)
    listener = connect_user(make_client, nodes[2], other, ["polling"])

    # a backend without the admin API: pg_notify in the socket.io emitter's format, to the room user:<userId>
    import json

    import psycopg

    emitted = {"uid": "emitter", "type": 3, "data": {
        "packet": {"type": 2, "data": ["message", json.dumps({"text": "from sql"})], "nsp": "/"},
        "opts": {"rooms": [f"user:{other}"], "except": [], "flags": {}}}}
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute("SELECT pg_notify(%s, %s)", (f"{prefix}#/", json.dumps(emitted)))
    assert listener.rec.wait("message")[0] == '{"text": "from sql"}'
    reply = nodes[1].post("/broadcast", {"message": "to all"})
    assert reply.status == 200 and reply.json["delivered"] == 4, reply
    assert listener.rec.wait("message", count=2)[0] == '"to all"'
    for client in clients:
        client.rec.wait("message", count=5)

    stats = nodes[0].post("/stats", {}).json
    assert stats["connections"] == 1 and stats["cluster"]["connections"] == 4, stats
    assert stats["cluster"]["nodes"] == 3 and stats["cluster"]["connected"] is True, stats
    metrics = nodes[0].request("GET", "/metrics").text
    assert "pushinator_cluster_nodes 3" in metrics and "pushinator_cluster_connected 1" in metrics, metrics

    # /user/unregister through node 0 disconnects the user's connections on every node
    assert nodes[0].post("/user/unregister", {"userId": user}).status == 200
    for client in clients:
        client.rec.wait("disconnect")
    assert listener.sio.connected
    for node in nodes:
        users = node.post("/user/list", {}).json["users"]
        assert str(user) not in users and str(other) in users, users

    # a node killed with -9 is noticed by the others within the heartbeat timeout
    os.kill(nodes[2].pid, 9)
    nodes[2].proc.wait(timeout=10)
    wait_until(lambda: cluster_status(nodes[0]).get("nodes") == 2, timeout=10, what="node 0 to notice node 2 died")
    reply = nodes[1].send(other, "nobody there")
    assert reply.json["delivered"] == 0 and reply.json["queued"] == 1, reply


def sends_survive(start_pushinator: Any, make_client: Any, cut: Any) -> None:
    """40 sends through one node with `cut()` (the database made unreachable for a moment) after the fifth: every
    send answers 200 and each message arrives once at the user's clients on both nodes."""
    sender, receiver = start_nodes(start_pushinator, 2)
    user = new_user()
    register_everywhere([sender, receiver], user)
    local = connect_user(make_client, sender, user, ["websocket"])
    remote = connect_user(make_client, receiver, user, ["websocket"])
    total = 40
    replies: list[Any] = []

    def send_all() -> None:
        for number in range(total):
            replies.append(sender.post("/user/send", {"userId": user, "message": number}, timeout=60))

    thread = threading.Thread(target=send_all)
    thread.start()
    wait_until(lambda: len(replies) >= 5, timeout=30, what="the first sends")
    cut()
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert all(reply.status == 200 for reply in replies), [r for r in replies if r.status != 200]
    local.rec.wait("message", count=total)
    remote.rec.wait("message", count=total, timeout=30)
    sender.send(user, "end")
    local.rec.wait("message", count=total + 1)
    remote.rec.wait("message", count=total + 1, timeout=30)
    expected = [str(number) for number in range(total)] + ['"end"']
    assert messages(local) == expected
    assert sorted(messages(remote)[:-1], key=int) == expected[:-1], messages(remote)  # each once
    assert messages(remote)[-1] == '"end"'
    wait_until(lambda: cluster_status(sender).get("connected") and cluster_status(receiver).get("connected"), timeout=15)


def test_nothing_is_lost_when_the_database_connections_are_cut_while_sending(start_pushinator: Any, make_client: Any) -> None:
    import psycopg

    def terminate() -> None:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            killed = connection.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND datname = current_database()"
            ).fetchone()[0]
        assert killed >= 2, "each node holds a listening connection at least"

    sends_survive(start_pushinator, make_client, terminate)


RESTART = os.environ.get("PUSHINATOR_TEST_POSTGRES_RESTART")


@pytest.mark.skipif(not RESTART, reason="needs PUSHINATOR_TEST_POSTGRES_RESTART (scripts/with-postgres.sh)")
def test_nothing_is_lost_when_postgresql_restarts_while_sending(start_pushinator: Any, make_client: Any) -> None:
    import psycopg

    def started() -> Any:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            return connection.execute("SELECT pg_postmaster_start_time()").fetchone()[0]

    def restart() -> None:
        # pg_ctl restart -m fast: every connection is closed, the server is down for a moment, then accepts again
        before = started()
        subprocess.run([RESTART], check=True, timeout=90)
        assert started() > before, "the server restarted"

    sends_survive(start_pushinator, make_client, restart)


def test_a_database_unreachable_at_start_up_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: outside the ephemeral range, never handed out twice
    config = write_config(tmp_path, {"cluster": {"postgres": f"postgres://push:secret@127.0.0.1:{port}/push"}})
    result = subprocess.run(
        [str(require_binary()), "-c", str(config), "--admin-port", "0", "--client-port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 6, result
    assert f"pushinator: cluster: cannot start on postgres://push@127.0.0.1:{port}/push" in result.stderr, result.stderr
    assert "secret" not in result.stderr + result.stdout
    assert "LISTENING" not in result.stdout


def test_what_one_node_queued_is_handed_over_when_the_user_connects_to_another(start_pushinator: Any, make_client: Any) -> None:
    first, second = start_nodes(start_pushinator, 2)
    user = new_user()
    first.register(user)
    for number in range(3):
        reply = first.send(user, number)
        assert reply.json["delivered"] == 0 and reply.json["queued"] == 1, reply
    client = connect_user(make_client, second, user, ["websocket"], queued=0)  # the ack counts this node's queue
    client.rec.wait("message", count=3)
    assert messages(client) == ["0", "1", "2"]
    assert first.post("/stats", {}).json["offlineQueue"]["messages"] == 0
    second.send(user, "end")  # barrier: nothing handed over twice
    client.rec.wait("message", count=4)
    assert messages(client) == ["0", "1", "2", '"end"']
