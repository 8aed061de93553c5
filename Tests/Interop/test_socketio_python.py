"""Interop with python-socketio 5 (Engine.IO v4 / Socket.IO v5) and raw Engine.IO over HTTP and WebSocket."""

from __future__ import annotations

import concurrent.futures
import json
import re
import select
import socket
import time

import pytest
import requests
import socketio
import websocket

from conftest import (
    IS_REFERENCE,
    TRANSPORTS,
    decode_polling_payload,
    parse_open_packet,
    reference_xfail,
    swift_only,
    ws_url,
)

BLOB = bytes(range(256))
EIO_PATH = "/socket.io/"

# ---------------------------------------------------------------------------------------------------------------------
# Connection and auth
# ---------------------------------------------------------------------------------------------------------------------


def test_connect_with_auth_gets_welcome(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport], auth={"token": "good", "n": 1})
    welcome = client.rec.wait("welcome")
    assert welcome == ({"sid": client.sio.get_sid("/"), "auth": {"token": "good", "n": 1}},)


def test_connect_without_auth_gets_empty_auth(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport])
    (welcome,) = client.rec.wait("welcome")
    assert welcome["auth"] == {}
    assert welcome["sid"] == client.sio.get_sid("/")


def test_client_uses_requested_transport(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport])
    client.rec.wait("welcome")
    expected = "polling" if transport == "polling" else "websocket"  # default: polling, then upgraded
    assert client.sio.transport() == expected


def test_bad_token_is_refused_with_connect_error(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport], connect=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server_url, TRANSPORTS[transport], auth={"token": "bad"})
    error = client.rec.wait("connect_error")
    assert error == ({"message": "unauthorized", "data": {"code": 401}},)
    assert client.rec.all("welcome") == []
    assert not client.sio.connected


# ---------------------------------------------------------------------------------------------------------------------
# Events, acks, binary
# ---------------------------------------------------------------------------------------------------------------------


def test_event_round_trip(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport])
    client.rec.wait("welcome")
    args = ("hello", {"a": [1, 2, None, True], "ü": "✓"}, 3.5, -7)
    client.emit("echo", *args)
    assert client.rec.wait("echo") == args


def test_many_events_arrive_in_order(server_url, transport, make_client, request):
    if IS_REFERENCE and transport == "polling":
        request.applymarker(
            pytest.mark.xfail(reason="reference server: python-engineio rejects a polling payload of > 16 packets")
        )
    client = make_client(server_url, TRANSPORTS[transport])
    client.rec.wait("welcome")
    for i in range(50):
        client.emit("echo", i)
    client.rec.wait("echo", count=50, timeout=10)
    assert [a[0] for a in client.rec.all("echo")] == list(range(50))


def test_client_ack(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport])
    client.rec.wait("welcome")
    assert client.call("ack-echo", "x", {"y": 1}) == ["x", {"y": 1}]


def test_server_ack(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport])
    client.rec.wait("welcome")
    client.emit("server-ack", {"q": 42})
    assert client.rec.wait("ask") == ({"q": 42},)
    assert client.rec.wait("ask-result") == ({"answer": {"q": 42}},)


@swift_only("asks where our event handler runs")
def test_event_handler_resumes_on_the_session_loop_after_awaiting(server_url, transport, make_client):
    # handlers prefer the session's event loop as their task executor: an await does not move them to the global pool
    client = make_client(server_url, TRANSPORTS[transport])
    client.rec.wait("welcome")
    assert client.call("resumes-on-loop") == [True]


def test_binary_from_client_is_echoed(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport])
    client.rec.wait("welcome")
    nested = {"nested": b"\x00\xff\x10", "list": [b"ab", 1, {"deep": BLOB}]}
    client.emit("echo", BLOB, nested)
    received = client.rec.wait("echo")
    assert received == (BLOB, nested)
    assert isinstance(received[0], bytes)
    assert isinstance(received[1]["list"][2]["deep"], bytes)


def test_binary_from_server(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport])
    client.rec.wait("welcome")
    client.emit("binary-request")
    blob, obj = client.rec.wait("binary")
    assert blob == BLOB and isinstance(blob, bytes)
    assert obj == {"nested": BLOB} and isinstance(obj["nested"], bytes)


def test_binary_ack(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport])
    client.rec.wait("welcome")
    assert client.call("ack-echo", BLOB, {"b": b"\x01\x02"}) == [BLOB, {"b": b"\x01\x02"}]


# ---------------------------------------------------------------------------------------------------------------------
# Namespaces and rooms
# ---------------------------------------------------------------------------------------------------------------------


def test_two_namespaces_on_one_connection(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport], namespaces=["/", "/admin"])
    (welcome,) = client.rec.wait("welcome")
    (admin,) = client.rec.wait("welcome-admin", namespace="/admin")
    assert welcome["sid"] == client.sio.get_sid("/")
    assert admin == {"sid": client.sio.get_sid("/admin")}
    assert admin["sid"] != welcome["sid"]  # one socket id per namespace

    client.emit("echo", "to-admin", namespace="/admin")
    assert client.rec.wait("echo", namespace="/admin") == ("to-admin",)
    client.rec.assert_none("echo", namespace="/", barrier=lambda: client.call("ack-echo", "barrier"))


def test_room_broadcast_reaches_members_only(server_url, transport, make_client):
    a = make_client(server_url, TRANSPORTS[transport])
    b = make_client(server_url, TRANSPORTS[transport])
    c = make_client(server_url, TRANSPORTS[transport])
    for client in (a, b, c):
        client.rec.wait("welcome")
    assert a.call("join", "r1") == ["joined"]
    assert b.call("join", "r1") == ["joined"]

    assert c.call("to-room", "r1", {"msg": "hi r1"}) == ["sent"]
    assert a.rec.wait("room-message") == ({"msg": "hi r1"},)
    assert b.rec.wait("room-message") == ({"msg": "hi r1"},)
    c.rec.assert_none("room-message", barrier=lambda: c.call("ack-echo", "barrier"))


def test_room_broadcast_includes_member_sender(server_url, transport, make_client):
    a = make_client(server_url, TRANSPORTS[transport])
    a.rec.wait("welcome")
    assert a.call("join", "r-self") == ["joined"]
    assert a.call("to-room", "r-self", [1, 2, 3]) == ["sent"]
    assert a.rec.wait("room-message") == ([1, 2, 3],)


def test_left_room_receives_nothing(server_url, transport, make_client):
    a = make_client(server_url, TRANSPORTS[transport])
    b = make_client(server_url, TRANSPORTS[transport])
    for client in (a, b):
        client.rec.wait("welcome")
        assert client.call("join", "r2") == ["joined"]
    assert b.call("leave", "r2") == ["left"]
    assert a.call("to-room", "r2", "after-leave") == ["sent"]
    assert a.rec.wait("room-message") == ("after-leave",)
    b.rec.assert_none("room-message", barrier=lambda: b.call("ack-echo", "barrier"))


def test_room_keeps_its_members_whatever_order_they_leave_in(server_url, transport, make_client):
    # the room keeps its members in an array and fills the gap a leaver leaves with the last member: leave the
    # first, drop one in the middle, shrink to one member and grow again; every broadcast reaches exactly the rest
    room = "r-order"
    members = [make_client(server_url, TRANSPORTS[transport]) for _ in range(5)]
    sender = make_client(server_url, TRANSPORTS[transport])
    for client in (*members, sender):
        client.rec.wait("welcome")
    for client in members:
        assert client.call("join", room) == ["joined"]
    assert sender.call("room-size", room) == [5]

    assert members[0].call("leave", room) == ["left"]
    members[2].close()  # a disconnect takes the socket out of every room
    deadline = time.monotonic() + 5
    while sender.call("room-size", room) != [3] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sender.call("to-room-count", room, "a") == [3]
    for index in (1, 3, 4):
        assert members[index].rec.wait("room-message") == ("a",)

    assert members[1].call("leave", room) == ["left"]
    assert members[4].call("leave", room) == ["left"]
    assert sender.call("to-room-count", room, "b") == [1]
    assert members[3].rec.wait("room-message", count=2)[-1] == "b"

    assert members[0].call("join", room) == ["joined"]
    assert sender.call("to-room-count", room, "c") == [2]
    assert members[0].rec.wait("room-message") == ("c",)
    assert members[3].rec.wait("room-message", count=3)[-1] == "c"
    # and nothing else arrived anywhere meanwhile (each member's barrier: an ack asked for after the broadcasts)
    for client in (sender, *members[:2], *members[3:]):
        client.call("ack-echo", "barrier")
    sender.rec.assert_none("room-message", barrier=lambda: None)
    assert [m[0] for m in members[0].rec.all("room-message")] == ["c"]
    assert [m[0] for m in members[3].rec.all("room-message")] == ["a", "b", "c"]
    for index in (1, 4):
        assert [m[0] for m in members[index].rec.all("room-message")] == ["a"]


# ---------------------------------------------------------------------------------------------------------------------
# Disconnects and reconnection
# ---------------------------------------------------------------------------------------------------------------------


def test_server_side_disconnect(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport], reconnection=True)
    client.rec.wait("welcome")
    client.emit("disconnect-me")
    (reason,) = client.rec.wait("disconnect")
    assert reason == client.sio.reason.SERVER_DISCONNECT
    # a namespace disconnect by the server is final: the client must not reconnect
    time.sleep(1.0)
    assert len(client.rec.all("connect")) == 1
    assert len(client.rec.all("welcome")) == 1


def test_reconnect_after_transport_drop(server_url, transport, make_client):
    client = make_client(server_url, TRANSPORTS[transport], reconnection=True)
    (first,) = client.rec.wait("welcome")
    client.emit("drop-transport")
    (reason,) = client.rec.wait("disconnect", timeout=10)
    assert reason != client.sio.reason.SERVER_DISCONNECT, "a dropped transport is not a namespace disconnect"
    (second,) = client.rec.wait("welcome", count=2, timeout=15)
    assert second["sid"] != first["sid"]
    assert second["sid"] == client.sio.get_sid("/")
    client.emit("echo", "after-reconnect")
    assert client.rec.wait("echo") == ("after-reconnect",)


# ---------------------------------------------------------------------------------------------------------------------
# Heartbeat
# ---------------------------------------------------------------------------------------------------------------------

PING_INTERVAL_MS = 1000  # whole seconds: python-engineio truncates pingInterval to seconds in its OPEN packet
PING_TIMEOUT_MS = 500
HEARTBEAT_SLACK = 2.0  # seconds allowed on top of pingInterval + pingTimeout


@pytest.fixture
def fast_ping_server(start_server):
    return start_server("--ping-interval", str(PING_INTERVAL_MS), "--ping-timeout", str(PING_TIMEOUT_MS))


def test_open_packet_announces_heartbeat(fast_ping_server):
    r = requests.get(
        fast_ping_server.url + EIO_PATH, params={"EIO": "4", "transport": "polling"}, timeout=5
    )
    assert r.status_code == 200
    handshake = parse_open_packet(r.text)
    assert handshake["pingInterval"] == PING_INTERVAL_MS
    assert handshake["pingTimeout"] == PING_TIMEOUT_MS
    assert handshake["upgrades"] == ["websocket"]
    assert isinstance(handshake["sid"], str) and handshake["sid"]
    assert handshake["maxPayload"] == 1_000_000


def _raw_ws_connect(url: str) -> tuple[websocket.WebSocket, dict]:
    ws = websocket.create_connection(ws_url(url) + EIO_PATH + "?EIO=4&transport=websocket", timeout=5)
    handshake = parse_open_packet(ws.recv())
    ws.send("40")
    reply = ws.recv()
    assert reply.startswith("40"), reply
    return ws, handshake


def test_silent_websocket_client_is_closed_after_ping_timeout(fast_ping_server):
    ws, _ = _raw_ws_connect(fast_ping_server.url)
    start = time.monotonic()
    limit = (PING_INTERVAL_MS + PING_TIMEOUT_MS) / 1000 + HEARTBEAT_SLACK
    received = []
    ws.settimeout(0.2)
    closed = False
    try:
        while time.monotonic() - start < limit + 3:
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                closed = True
                break
            if frame in ("", None):
                closed = True
                break
            received.append(frame)
            if frame == "1":  # Engine.IO CLOSE
                closed = True
                break
    finally:
        ws.close()
    elapsed = time.monotonic() - start
    assert "2" in received, f"server never pinged: {received}"
    assert closed, f"server kept a client that never pongs for {elapsed:.1f}s"
    assert elapsed <= limit, f"closed after {elapsed:.1f}s, limit {limit:.1f}s"


def test_silent_polling_client_session_expires(fast_ping_server):
    url = fast_ping_server.url + EIO_PATH
    r = requests.get(url, params={"EIO": "4", "transport": "polling"}, timeout=5)
    sid = parse_open_packet(r.text)["sid"]
    r = requests.post(url, params={"EIO": "4", "transport": "polling", "sid": sid}, data="40", timeout=5)
    assert r.status_code == 200 and r.text.lower() == "ok"
    # never poll again, so never pong
    time.sleep((PING_INTERVAL_MS + PING_TIMEOUT_MS) / 1000 + HEARTBEAT_SLACK)
    r = requests.get(url, params={"EIO": "4", "transport": "polling", "sid": sid}, timeout=5)
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json() == {"code": 1, "message": "Session ID unknown"}


PATIENT_PING_TIMEOUT_MS = 2000  # a pong from a python client on a loaded machine can take more than 500 ms


def test_client_answering_pings_stays_connected(start_server, transport, make_client):
    # Pings every second, each answered within a generous timeout: over two whole heartbeats (ping interval plus
    # timeout) a server that ignored the pongs would have closed the connection.
    server = start_server("--ping-interval", str(PING_INTERVAL_MS), "--ping-timeout", str(PATIENT_PING_TIMEOUT_MS))
    client = make_client(server.url, TRANSPORTS[transport])
    client.rec.wait("welcome")
    time.sleep(2 * (PING_INTERVAL_MS + PATIENT_PING_TIMEOUT_MS) / 1000)
    assert client.rec.all("disconnect") == []
    client.emit("echo", "still-here")
    assert client.rec.wait("echo") == ("still-here",)


# ---------------------------------------------------------------------------------------------------------------------
# Raw Engine.IO over HTTP: errors, CORS
# ---------------------------------------------------------------------------------------------------------------------


def test_unknown_sid_is_400_code_1(server_url):
    r = requests.get(
        server_url + EIO_PATH, params={"EIO": "4", "transport": "polling", "sid": "no-such-sid"}, timeout=5
    )
    assert r.status_code == 400
    assert r.json() == {"code": 1, "message": "Session ID unknown"}


def test_unknown_transport_is_400_code_0(server_url):
    r = requests.get(server_url + EIO_PATH, params={"EIO": "4", "transport": "carrier-pigeon"}, timeout=5)
    assert r.status_code == 400
    assert r.json() == {"code": 0, "message": "Transport unknown"}


@pytest.mark.parametrize("eio", [None, "99"], ids=["missing", "99"])
def test_unsupported_protocol_is_400_code_5(server_url, eio):
    params = {"transport": "polling"}
    if eio is not None:
        params["EIO"] = eio
    r = requests.get(server_url + EIO_PATH, params=params, timeout=5)
    assert r.status_code == 400
    assert r.json() == {"code": 5, "message": "Unsupported protocol version"}


def test_cors_reflects_origin_with_credentials(server_url):
    origin = "http://client.example.test:8080"
    r = requests.get(
        server_url + EIO_PATH, params={"EIO": "4", "transport": "polling"}, headers={"Origin": origin}, timeout=5
    )
    assert r.status_code == 200
    assert r.headers.get("Access-Control-Allow-Origin") == origin
    assert r.headers.get("Access-Control-Allow-Credentials") == "true"


def test_cors_preflight(server_url):
    origin = "http://client.example.test:8080"
    r = requests.options(
        server_url + EIO_PATH,
        params={"EIO": "4", "transport": "polling"},
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=5,
    )
    assert r.status_code in (200, 204)
    assert r.headers.get("Access-Control-Allow-Origin") == origin
    assert r.headers.get("Access-Control-Allow-Credentials") == "true"
    assert "post" in r.headers.get("Access-Control-Allow-Methods", "").lower()


def test_polling_round_trip_raw(server_url):
    """Handshake, CONNECT, event and its echo over raw HTTP long-polling."""
    url = server_url + EIO_PATH
    s = requests.Session()
    sid = parse_open_packet(s.get(url, params={"EIO": "4", "transport": "polling"}, timeout=5).text)["sid"]
    q = {"EIO": "4", "transport": "polling", "sid": sid}
    assert s.post(url, params=q, data="40", timeout=5).text.lower() == "ok"
    packets: list[str] = []
    deadline = time.monotonic() + 5
    while not any(p.startswith('42["welcome"') for p in packets) and time.monotonic() < deadline:
        packets += decode_polling_payload(s.get(url, params=q, timeout=5).text)
    assert any(p.startswith("40{") for p in packets), packets
    assert s.post(url, params=q, data='42["echo","raw",1]', timeout=5).text.lower() == "ok"
    echoed: list[str] = []
    while not echoed and time.monotonic() < deadline:
        echoed = [p for p in decode_polling_payload(s.get(url, params=q, timeout=5).text) if p.startswith("42")]
    assert [json.loads(p[2:]) for p in echoed] == [["echo", "raw", 1]]


class _RawHTTP:
    """One keep-alive HTTP/1.1 connection over a plain socket: a request can be sent without waiting for anything."""

    def __init__(self, server_url: str) -> None:
        host, port = server_url.split("://", 1)[1].rsplit(":", 1)
        self.host = host
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.pending = b""

    @staticmethod
    def get_bytes(path: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n".encode()

    def response(self) -> tuple[int, str]:
        data = self.pending
        while b"\r\n\r\n" not in data:
            data += self.sock.recv(65536) or b""
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(body) < length:
            body += self.sock.recv(65536) or b""
        self.pending = body[length:]
        return int(head.split(b" ", 2)[1]), body[:length].decode()

    def get(self, path: str) -> tuple[int, str]:
        self.sock.sendall(self.get_bytes(path))
        return self.response()

    def close(self) -> None:
        self.sock.close()


def _open(server_url: str, http: _RawHTTP) -> tuple[str, websocket.WebSocket]:
    """A polling session opened over `http` (a keep-alive connection) and a WebSocket for it, not yet probed."""
    status, text = http.get(EIO_PATH + "?EIO=4&transport=polling")
    assert status == 200, text
    sid = parse_open_packet(text)["sid"]
    ws = websocket.create_connection(ws_url(server_url) + EIO_PATH + f"?EIO=4&transport=websocket&sid={sid}", timeout=5)
    return sid, ws


def _frame(text: str) -> bytes:
    return websocket.ABNF.create_frame(text, websocket.ABNF.OPCODE_TEXT).format()


@pytest.mark.skipif(IS_REFERENCE, reason="the reference server answers such a GET when it wins the race")
def test_poll_after_upgrade_is_refused_even_when_it_overtakes_the_upgrade(server_url):
    # As the official Engine.IO suite does: `2probe` and `5` at once, then a GET over the keep-alive connection that
    # opened the session (read on the session's event loop). New connections land on the loops in turn, so the
    # WebSocket is often read on another loop and its packets are handed over: the GET may reach the session
    # before the probe and the `5` do. It must still be 400, and the WebSocket must carry the session.
    # The 400 waits until 20 ms after the upgrade, so that `3probe` reaches the client well before it (the suite's
    # Node client reads them in the wrong order when they land in one turn of its event loop).
    for attempt in range(20):
        http = _RawHTTP(server_url)
        sid, ws = _open(server_url, http)
        try:
            poll = http.get_bytes(EIO_PATH + f"?EIO=4&transport=polling&sid={sid}")
            # The clock starts before `5` is sent: the server's 20 ms run from its upgrade, which comes after that
            # however the two sides are scheduled. (Started after the send, a client descheduled for a while
            # measured 1 ms: the upgrade, and most of the 20 ms, had happened before its clock started.)
            sent = time.monotonic()
            ws.sock.sendall(_frame("2probe") + _frame("5"))
            http.sock.sendall(poll)
            status, text = http.response()
            elapsed = time.monotonic() - sent
            assert status == 400, (attempt, status, text)
            assert json.loads(text) == {"code": 3, "message": "Bad request"}, (attempt, text)
            if not IS_REFERENCE:  # our refinement (python-socketio answers at once)
                # a lower bound only: a slow machine adds to it and never takes from it
                assert elapsed >= 0.015, f"attempt {attempt}: the 400 came after {elapsed * 1000:.0f} ms, not 20 ms after the upgrade"
                assert select.select([ws.sock], [], [], 0)[0], attempt  # `3probe` was there before the 400
            assert ws.recv() == "3probe"
            ws.send("40")
            assert ws.recv().startswith("40{"), attempt
        finally:
            ws.close()
            http.close()


@pytest.mark.parametrize("sent", ["before-the-probe", "after-the-probe"])
def test_poll_during_upgrade_is_released_with_a_noop(server_url, sent):
    # The client pauses polling during an upgrade: the GET it has waiting at the server when it probes, or one it
    # had in flight that arrives after the probe, is answered with a noop so that it can send `5`; the WebSocket
    # then carries the session.
    http = _RawHTTP(server_url)
    sid, ws = _open(server_url, http)
    poll = http.get_bytes(EIO_PATH + f"?EIO=4&transport=polling&sid={sid}")
    try:
        if sent == "before-the-probe":
            http.sock.sendall(poll)
            time.sleep(0.2)  # the GET is pending now
        ws.send("2probe")
        assert ws.recv() == "3probe"
        started = time.monotonic()
        if sent == "after-the-probe":
            http.sock.sendall(poll)
        assert http.response() == (200, "6")
        assert time.monotonic() - started < 2
        ws.send("5")
        ws.send("40")
        assert ws.recv().startswith("40{")
    finally:
        ws.close()
        http.close()


# ---------------------------------------------------------------------------------------------------------------------
# Hostile input
# ---------------------------------------------------------------------------------------------------------------------


@reference_xfail("python-socketio logs and ignores a malformed packet instead of closing the connection")
def test_malformed_packet_closes_only_that_client(server_url, make_client):
    good = make_client(server_url, None)
    good.rec.wait("welcome")

    ws, _ = _raw_ws_connect(server_url)
    ws.settimeout(0.2)
    ws.send('42["echo", {broken json')
    closed = False
    deadline = time.monotonic() + 5
    try:
        while time.monotonic() < deadline:
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                closed = True
                break
            if frame in ("", None, "1"):
                closed = True
                break
    finally:
        ws.close()

    good.emit("echo", "unaffected")
    assert good.rec.wait("echo") == ("unaffected",)
    assert closed, "the server kept a connection that sent a malformed Socket.IO packet"


def test_oversize_post_is_rejected(start_server, make_client):
    server = start_server("--max-payload", "1000")
    url = server.url + EIO_PATH
    good = make_client(server.url, ["polling"])
    good.rec.wait("welcome")

    s = requests.Session()
    sid = parse_open_packet(s.get(url, params={"EIO": "4", "transport": "polling"}, timeout=5).text)["sid"]
    q = {"EIO": "4", "transport": "polling", "sid": sid}
    assert s.post(url, params=q, data="40", timeout=5).text.lower() == "ok"
    r = s.post(url, params=q, data='42["echo","' + "x" * 5000 + '"]', timeout=5)
    # protocol-notes: 413 for a POST body over maxPayload, and the session is closed (so its echo can never be sent)
    if not IS_REFERENCE:  # the exact answer is this server's (protocol-notes)
        assert r.status_code == 413, (r.status_code, r.text)
        assert r.json() == {"code": 3, "message": "Payload too large"}, r.text
    poll = s.get(url, params=q, timeout=5)
    if poll.status_code == 200:  # a poll that raced the close gets the close packet, never the echo
        assert decode_polling_payload(poll.text)[-1:] == ["1"], poll.text
    else:
        assert poll.status_code == 400 and poll.json() == {"code": 1, "message": "Session ID unknown"}, poll.text

    good.emit("echo", "still-working")
    assert good.rec.wait("echo") == ("still-working",)


def test_handshake_flood_then_normal_client(server_url, make_client):
    url = server_url + EIO_PATH

    def handshake(_: int) -> int:
        r = requests.get(url, params={"EIO": "4", "transport": "polling"}, timeout=10)
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(handshake, range(200)))
    assert statuses.count(200) == 200, {s: statuses.count(s) for s in set(statuses)}

    client = make_client(server_url, None)
    client.rec.wait("welcome")
    client.emit("echo", "after-flood")
    assert client.rec.wait("echo") == ("after-flood",)


# ---------------------------------------------------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.fail("openssl is required (scripts/install-test-deps.sh installs it)")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_tls_connect_and_echo(start_server, tls_files, transport):
    """python-socketio's asyncio client over https/wss.

    The threaded client is not used here: its read and write threads call SSL_read and SSL_write on the same
    socket at once, which OpenSSL does not allow; under load the client then drops its own connection
    ("WebSocket connection was closed") with nothing wrong on the server side.
    """
    import asyncio
    import ssl

    import aiohttp

    cert, key = tls_files
    server = start_server("--tls-cert", str(cert), "--tls-key", str(key))
    assert server.url.startswith("https://127.0.0.1:")

    async def scenario() -> tuple:
        context = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context), trust_env=False) as http:
            client = socketio.AsyncClient(reconnection=False, http_session=http)
            welcome: asyncio.Future = asyncio.get_running_loop().create_future()
            echo: asyncio.Future = asyncio.get_running_loop().create_future()
            client.on("welcome", lambda data: welcome.done() or welcome.set_result(data))
            client.on("echo", lambda *args: echo.done() or echo.set_result(args))
            await client.connect(server.url, transports=TRANSPORTS[transport], wait_timeout=10)
            try:
                await asyncio.wait_for(welcome, 5)
                await client.emit("echo", ("over-tls", BLOB))
                result = await asyncio.wait_for(echo, 5)
                return result, client.transport()
            finally:
                await client.disconnect()

    result, used = asyncio.run(scenario())
    assert result == ("over-tls", BLOB)
    if TRANSPORTS[transport] is not None:
        assert used == TRANSPORTS[transport][0]
    r = requests.get(server.url + EIO_PATH, params={"EIO": "4", "transport": "polling"}, verify=str(cert), timeout=5)
    assert r.status_code == 200 and r.text.startswith("0{")