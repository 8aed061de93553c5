"""Connection state recovery with python-socketio 5 playing a client that keeps its `pid` and last offset.

python-socketio does not implement recovery itself, so the test does what the official JS client does: it reads the
private id (here from the interop server's `recovery-state` event, as the JS client reads it from the CONNECT
answer), keeps the last argument of each event as the offset, and reconnects with `auth={"pid", "offset"}`.
The official client in Chromium is in test_socketio_browser.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from conftest import TRANSPORTS, swift_only

pytestmark = swift_only("connection state recovery is a feature of the Swift server's --recovery-ms")

AWAY = 50


@pytest.fixture
def recovery_server(start_server):
    return start_server("--recovery-ms", "5000")


def bursts(client, label: str) -> list[Any]:
    return [args for args in client.rec.all("burst") if args and args[0] == label]


def away_and_back(make_client, url: str, transports, *, with_offset: bool, quiet: bool = False):
    """Connect, join "r", drop the transport from the server, send AWAY events to "r" from another client, reconnect
    with the session's pid (and offset). Returns (first state, second client, its state)."""
    first = make_client(url, transports, auth={"quiet": True} if quiet else None)
    assert first.call("join", "r") == ["joined"]
    first.call("set-data", {"user": 5})
    state = first.call("recovery-state")[0]
    assert state["recovered"] is False and isinstance(state["pid"], str)
    offset = None
    if with_offset:
        sender = make_client(url, transports)
        assert sender.call("burst", "r", 3, "before") == [3]
        first.rec.wait("burst", count=3)
        offset = bursts(first, "before")[-1][-1]  # the last argument of the last event
        assert isinstance(offset, str)
    first.emit("drop-transport")
    first.rec.wait("disconnect")
    sender = make_client(url, transports)
    assert sender.call("burst", "r", AWAY, "away") == [AWAY]
    auth = {"pid": state["pid"]} | ({"offset": offset} if offset is not None else {})
    second = make_client(url, transports, auth=auth)
    return state, second, second.call("recovery-state")[0]  # the ack comes after the replay: a barrier


def assert_all_away_exactly_once_in_order(client) -> None:
    away = bursts(client, "away")
    assert [args[1] for args in away] == list(range(AWAY))
    offsets = [args[2] for args in away]
    assert len(set(offsets)) == AWAY and all(isinstance(o, str) for o in offsets)


def test_recovers_id_rooms_data_and_missed_events(recovery_server, make_client, transport):
    state, second, restored = away_and_back(make_client, recovery_server.url, TRANSPORTS[transport], with_offset=True)
    assert restored["recovered"] is True
    assert restored["id"] == state["id"] and restored["pid"] == state["pid"]
    assert "r" in restored["rooms"] and restored["data"] == {"user": 5}
    assert_all_away_exactly_once_in_order(second)
    assert bursts(second, "before") == []  # received before the drop: not replayed


def test_pid_without_offset_replays_everything_since_the_session_started(recovery_server, make_client, transport):
    # a client that received no event has no offset to send (socket.io refuses it: issues #4888, #5538)
    state, second, restored = away_and_back(
        make_client, recovery_server.url, TRANSPORTS[transport], with_offset=False, quiet=True
    )
    assert restored["recovered"] is True and restored["id"] == state["id"]
    assert_all_away_exactly_once_in_order(second)


def test_a_live_event_after_the_replay_is_not_replayed_again(recovery_server, make_client):
    state, second, restored = away_and_back(make_client, recovery_server.url, ["websocket"], with_offset=True)
    assert restored["recovered"] is True
    sender = make_client(recovery_server.url, ["websocket"])
    assert sender.call("burst", "r", 1, "live") == [1]
    second.rec.wait("burst", count=AWAY + 1)
    assert [args[1] for args in bursts(second, "live")] == [0]
    assert_all_away_exactly_once_in_order(second)


def test_an_unknown_pid_or_offset_gets_a_fresh_session(recovery_server, make_client):
    client = make_client(recovery_server.url, ["websocket"], auth={"pid": "nobody", "offset": "zzzz1"})
    state = client.call("recovery-state")[0]
    assert state["recovered"] is False and state["pid"] != "nobody"


def test_a_client_back_before_its_old_connection_dropped_takes_it_over(recovery_server, make_client, transport):
    # a client whose network failed comes back before the server noticed (a polling client: at the next heartbeat):
    # the old connection is dropped and its session taken back, with everything after the client's offset
    first = make_client(recovery_server.url, TRANSPORTS[transport])
    assert first.call("join", "t") == ["joined"]
    state = first.call("recovery-state")[0]
    offset = first.rec.wait("welcome")[-1]
    sender = make_client(recovery_server.url, TRANSPORTS[transport])
    assert sender.call("burst", "t", AWAY, "away") == [AWAY]
    second = make_client(recovery_server.url, TRANSPORTS[transport], auth={"pid": state["pid"], "offset": offset})
    restored = second.call("recovery-state")[0]
    assert restored["recovered"] is True and restored["id"] == state["id"] and "t" in restored["rooms"]
    assert_all_away_exactly_once_in_order(second)
    first.rec.wait("disconnect")  # the old connection was dropped


def test_a_session_an_allow_recovery_check_refuses_gets_a_fresh_one(recovery_server, make_client):
    # the interop server's check refuses sessions whose data says {"refuseRecovery": true}
    first = make_client(recovery_server.url, ["websocket"])
    assert first.call("join", "refused") == ["joined"]
    first.call("set-data", {"refuseRecovery": True})
    state = first.call("recovery-state")[0]
    offset = first.rec.wait("welcome")[-1]
    first.emit("drop-transport")
    first.rec.wait("disconnect")
    sender = make_client(recovery_server.url, ["websocket"])
    assert sender.call("burst", "refused", 3, "away") == [3]
    second = make_client(recovery_server.url, ["websocket"], auth={"pid": state["pid"], "offset": offset})
    restored = second.call("recovery-state")[0]
    assert restored["recovered"] is False and restored["id"] != state["id"]
    assert "refused" not in restored["rooms"] and restored["data"] is None
    assert bursts(second, "away") == []  # nothing of the refused session is replayed


def test_after_max_disconnection_duration_it_is_a_fresh_session(start_server, make_client):
    server = start_server("--recovery-ms", "300")
    first = make_client(server.url, ["websocket"])
    state = first.call("recovery-state")[0]
    offset = first.rec.wait("welcome")[-1]
    first.emit("drop-transport")
    first.rec.wait("disconnect")
    time.sleep(0.6)  # twice the duration: the session has expired
    second = make_client(server.url, ["websocket"], auth={"pid": state["pid"], "offset": offset})
    restored = second.call("recovery-state")[0]
    assert restored["recovered"] is False and restored["id"] != state["id"]


def test_events_carry_an_offset_but_volatile_events_and_acks_do_not(recovery_server, make_client):
    client = make_client(recovery_server.url, ["websocket"])
    assert client.rec.wait("welcome")[-1] != client.rec.wait("welcome")[0]  # [welcome data, offset]
    client.call("join", "v")
    client.call("volatile-to-room", "v", "plain")
    client.call("to-room", "v", "buffered")
    messages = client.rec.all("room-message")
    assert messages[0] == ("plain",)
    assert messages[1][0] == "buffered" and isinstance(messages[1][1], str)
    assert client.call("ack-echo", 1) == [1]  # acks never carry an offset


def test_opting_out_keeps_fixed_signature_handlers_working(recovery_server, make_client, transport):
    # python-socketio calls handlers with the event's arguments: an offset would be a TypeError for `def h(data)`
    got: list[Any] = []
    errors: list[BaseException] = []
    done = threading.Event()
    client = make_client(recovery_server.url, TRANSPORTS[transport], auth={"recovery": False}, connect=False)

    def on_room_message(data):
        got.append(data)
        if len(got) == 3:
            done.set()

    client.sio.on("room-message", on_room_message)
    client.connect(recovery_server.url, TRANSPORTS[transport], auth={"recovery": False})
    assert client.call("join", "fixed") == ["joined"]
    for text in ("a", "b", "c"):
        try:
            client.call("to-room", "fixed", text)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
    assert done.wait(5), f"handler got {got}"
    assert got == ["a", "b", "c"] and not errors
    state = client.call("recovery-state")[0]
    assert state["pid"] is None  # no private id: nothing to recover, nothing buffered for it


def test_handlers_that_accept_the_offset(recovery_server, make_client):
    # the client guide's Python handler: `def on_message(data, *_)`
    got: list[Any] = []
    done = threading.Event()
    client = make_client(recovery_server.url, ["websocket"], connect=False)

    def on_room_message(data, *_):
        got.append(data)
        done.set()

    client.sio.on("room-message", on_room_message)
    client.connect(recovery_server.url, ["websocket"])
    client.call("join", "guide")
    client.call("to-room", "guide", "hello")
    assert done.wait(5) and got == ["hello"]


def test_broadcast_with_acks_counts_answers_from_a_room(recovery_server, make_client):
    answering = make_client(recovery_server.url, ["websocket"])  # the Client helper answers "ask"
    silent = make_client(recovery_server.url, ["websocket"], connect=False)
    silent.sio.on("ask", lambda *args: None)  # python-socketio acks with no arguments
    silent.connect(recovery_server.url, ["websocket"])
    for client in (answering, silent):
        client.call("join", "acks")
    result = answering.call("acks-from-room", "acks", 2000)[0]
    assert result["expected"] == 2
    assert [{"answer": "tally"}] in result["responses"]  # each response is the list of its arguments
