"""Connection state recovery across the nodes of a cluster: a client whose node was killed with `kill -9` comes
back on another node with its `pid` and last offset, and gets its session (id, rooms, user) and every message sent
meanwhile, once and in order, from the cluster log and the session table in PostgreSQL.

python-socketio does not recover by itself: the test keeps the `pid` of the CONNECT answer and the offset (the last
argument of each event) and connects again with `auth={"pid", "offset"}`, as the official client does.
Needs PUSHINATOR_TEST_POSTGRES_URL (scripts/with-postgres.sh).
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

from pushinator_support import (
    POSTGRES,
    auth,
    new_user,
    requires_app,
    requires_postgres,
    start_pushinator,  # noqa: F401 (fixture)
    wait_until,
)
from test_pushinator_cluster import start_nodes

pytestmark = [
    requires_app,
    requires_postgres,
]


def keeping_pid(make_client: Any, url: str, auth_: Any = None) -> Any:
    """A websocket client that records the `pid` of its CONNECT answer (python-socketio drops it)."""
    client = make_client(url, ["websocket"], connect=False)
    original = client.sio._handle_connect

    def capture(namespace: Any, data: Any) -> Any:
        client.pid = (data or {}).get("pid")
        return original(namespace, data)

    client.sio._handle_connect = capture
    client.connect(url, ["websocket"], auth=auth_)
    return client


def session_row(pid: str) -> Any:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as db:
        return db.execute("SELECT sid, rooms, storage FROM pushinator_recovery_sessions WHERE pid = %s", (pid,)).fetchone()


def test_a_client_whose_node_was_killed_recovers_on_another_node(start_pushinator: Any, make_client: Any) -> None:
    nodes = start_nodes(start_pushinator, 3, f"t{random.getrandbits(32)}")
    a, b, c = nodes
    user = new_user()
    a.register(user)  # replicated to b and c
    client = keeping_pid(make_client, a.client)
    assert auth(client, user) == {"ok": True, "queued": 0}
    sid = client.sio.namespaces["/"]
    assert isinstance(client.pid, str) and sid

    assert c.send(user, {"n": 0}).json["delivered"] == 1
    message, offset = client.rec.wait("message")
    assert message == '{"n":0}' and isinstance(offset, str)
    # the session (with the user's room) is in PostgreSQL before the node dies: written behind, not at disconnect
    wait_until(
        lambda: (row := session_row(client.pid)) is not None and f"user:{user}" in row[1],
        timeout=10,
        what="the session row with the user's room",
    )
    assert session_row(client.pid)[0] == sid

    os.kill(a.pid, 9)
    a.proc.wait(timeout=10)
    client.sio.eio.disconnect(abort=True)  # the client notices at once (a browser would at its next ping)
    # sent through b and c while the client is away: nobody reached, queued on the node that took the call
    sent = []
    for n, node in enumerate([b, c, b, b, c, b], start=1):
        reply = node.send(user, {"n": n})
        assert reply.json["delivered"] == 0 and reply.json["queued"] == 1, reply
        sent.append(f'{{"n":{n}}}')

    back = keeping_pid(make_client, b.client, {"pid": client.pid, "offset": offset})
    assert back.sio.namespaces["/"] == sid and back.pid == client.pid  # the same session
    back.rec.wait("message", count=len(sent))
    # still in its user's room and authenticated, without a new auth; the send is the barrier for duplicates
    reply = c.send(user, "after")
    assert reply.json["delivered"] == 1 and reply.json["queued"] == 0, reply
    back.rec.wait("message", count=len(sent) + 1)
    received = back.rec.all("message")
    assert [args[0] for args in received] == sent + ['"after"'], received
    offsets = [args[1] for args in received]
    assert all(isinstance(o, str) for o in offsets) and len(set(offsets[len(sent):])) == 1, offsets
    # the queued copies on b (this node) and c (told by the recovery) are gone: another tab's auth gets none
    wait_until(
        lambda: auth(make_client(c.client, ["websocket"]), user) == {"ok": True, "queued": 0},
        timeout=5,
        what="c's queued copies to be dropped",
    )
    tab = make_client(b.client, ["websocket"])
    assert auth(tab, user) == {"ok": True, "queued": 0}
    # nothing handed over from another node after all
    assert c.send(user, "last").json["delivered"] == 3
    back.rec.wait("message", count=len(sent) + 2)
    assert [args[0] for args in back.rec.all("message")][-2:] == ['"after"', '"last"']


# The official JS client in Chromium, through a TCP relay that sends new connections to another node once the first
# one is dead (what a load balancer does).
from test_pushinator_recovery import Relay, come_back, page, tab, wait_for_messages  # noqa: E402,F401 (fixture)
from test_socketio_browser import chromium, pages, socket_io_js  # noqa: E402,F401 (fixtures)


def user_session_rows(user: int) -> int:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as db:
        return db.execute(
            "SELECT count(*) FROM pushinator_recovery_sessions WHERE rooms LIKE %s", (f'%"user:{user}"%',)
        ).fetchone()[0]


def test_the_official_client_recovers_on_another_node_after_its_node_was_killed(start_pushinator: Any, page: Any) -> None:
    a, b, c = start_nodes(start_pushinator, 3, f"t{random.getrandbits(32)}")
    relay = Relay(a.client)
    try:
        user = new_user()
        a.register(user)
        assert tab(page, relay.url, user, "websocket") == {"ok": True, "queued": 0}
        c.send(user, {"n": -1})
        assert wait_for_messages(page, relay.url, 1) == [-1]  # the client has an offset now
        wait_until(lambda: user_session_rows(user) == 1, timeout=10, what="the tab's session row")

        host, port = b.client.rsplit("//", 1)[1].rsplit(":", 1)
        relay.target = (host, int(port))  # the balancer's next choice
        os.kill(a.pid, 9)
        a.proc.wait(timeout=10)
        reason = page('return await __within(8000, "disconnect", (ok) => gone.then(ok));', relay.url)
        assert reason == "transport close", reason
        for n in range(20):
            (b if n % 2 else c).send(user, {"n": n})
        result = come_back(page, relay.url, user)  # connects again (to b) with its pid and offset, then auths again
        assert result["recovered"] is True and result["id"] == result["firstId"], result
        assert result["again"] == {"ok": True, "queued": 0}  # b's queued copies went with the replay
        c.send(user, {"n": 20})  # live again through another node, in its user's room
        assert wait_for_messages(page, relay.url, 22) == [-1, *range(21)]  # exactly once, in order
        assert b.send(user, "barrier").json["delivered"] == 1
    finally:
        relay.close()
