"""What Documentation/protocol-notes.md promises about Engine.IO and Socket.IO, end to end over raw HTTP and
WebSocket (issue 17): error codes 2 and 3, the 16-packet poll cap, `connectTimeout`, EIO3 heartbeats, leaving one
namespace while the session stays, a broadcast reaching every one of many members, and the library's
CORSMiddleware (the interop server's only CORS layer)."""

from __future__ import annotations

import json
import time

import pytest
import requests
import websocket

from conftest import IS_REFERENCE, decode_polling_payload, parse_open_packet, swift_only, ws_url

EIO_PATH = "/socket.io/"
POLL = {"EIO": "4", "transport": "polling"}


def _polling_session(url: str) -> tuple[requests.Session, dict[str, str]]:
    """A raw polling session joined to `/`, its CONNECT answer and welcome read; returns (HTTP session, query)."""
    http = requests.Session()
    sid = parse_open_packet(http.get(url + EIO_PATH, params=POLL, timeout=5).text)["sid"]
    query = {**POLL, "sid": sid}
    assert http.post(url + EIO_PATH, params=query, data="40", timeout=5).text == "ok"
    seen: list[str] = []
    deadline = time.monotonic() + 5
    while not any(p.startswith('42["welcome"') for p in seen) and time.monotonic() < deadline:
        seen += decode_polling_payload(http.get(url + EIO_PATH, params=query, timeout=5).text)
    assert seen[0].startswith("40{") and seen[-1].startswith('42["welcome"'), seen
    return http, query


# ---------------------------------------------------------------------------------------------------------------------
# HTTP error codes 2 and 3
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_handshake_by_post_or_put_is_400_code_2(server_url, method):
    r = requests.request(method, server_url + EIO_PATH, params=POLL, data="40", timeout=5)
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json() == {"code": 2, "message": "Bad handshake method"}


def test_websocket_transport_without_upgrade_is_400_code_3(server_url):
    r = requests.get(server_url + EIO_PATH, params={"EIO": "4", "transport": "websocket"}, timeout=5)
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json() == {"code": 3, "message": "Bad request"}


def test_polling_after_the_upgrade_is_400_code_3(server_url):
    http, query = _polling_session(server_url)
    ws = websocket.create_connection(
        ws_url(server_url) + EIO_PATH + f"?EIO=4&transport=websocket&sid={query['sid']}", timeout=5
    )
    try:
        ws.send("2probe")
        assert ws.recv() == "3probe"
        ws.send("5")
        ws.send('421["ack-echo","barrier"]')  # answered over the WebSocket once the upgrade is done
        deadline = time.monotonic() + 5
        while ws.recv() != '431["barrier"]' and time.monotonic() < deadline:
            pass
        r = http.get(server_url + EIO_PATH, params=query, timeout=5)
        assert r.status_code == 400, (r.status_code, r.text)
        assert r.json() == {"code": 3, "message": "Bad request"}
    finally:
        ws.close()


# ---------------------------------------------------------------------------------------------------------------------
# Polling: at most 16 packets per response
# ---------------------------------------------------------------------------------------------------------------------


def test_a_poll_carries_at_most_16_packets(server_url):
    count = 20
    body = "\x1e".join(f'42["echo",{n}]' for n in range(count))
    # The echoes are queued as the server handles the POST's packets: a GET sent before all 20 are queued carries
    # fewer, which proves nothing. Each attempt waits longer before its first GET, until one finds 16 or more.
    for pause in (0.3, 1.0, 3.0):
        http, query = _polling_session(server_url)
        assert http.post(server_url + EIO_PATH, params=query, data=body, timeout=5).text == "ok"
        time.sleep(pause)
        polls = [decode_polling_payload(http.get(server_url + EIO_PATH, params=query, timeout=5).text)]
        deadline = time.monotonic() + 5
        while sum(map(len, polls)) < count and time.monotonic() < deadline:
            polls.append(decode_polling_payload(http.get(server_url + EIO_PATH, params=query, timeout=5).text))
        assert [p for poll in polls for p in poll] == [f'42["echo",{n}]' for n in range(count)], polls
        assert max(map(len, polls)) <= 16, [len(poll) for poll in polls]
        if len(polls[0]) == 16:
            return
    raise AssertionError(f"the first GET never found the 20 echoes queued: {[len(poll) for poll in polls]}")


# ---------------------------------------------------------------------------------------------------------------------
# Socket.IO: connectTimeout, leaving one namespace
# ---------------------------------------------------------------------------------------------------------------------

CONNECT_TIMEOUT_MS = 600


@swift_only("the reference server has no --connect-timeout-ms")
def test_a_client_that_joins_no_namespace_is_closed_after_connect_timeout(start_server):
    server = start_server("--connect-timeout-ms", str(CONNECT_TIMEOUT_MS))
    url = server.url + EIO_PATH
    joined = requests.Session()  # joins in time: kept
    sid_joined = parse_open_packet(joined.get(url, params=POLL, timeout=5).text)["sid"]
    assert joined.post(url, params={**POLL, "sid": sid_joined}, data="40", timeout=5).text == "ok"
    idle = requests.Session()  # never joins
    started = time.monotonic()
    sid = parse_open_packet(idle.get(url, params=POLL, timeout=5).text)["sid"]
    answer = idle.get(url, params={**POLL, "sid": sid}, timeout=10)  # parked until the session closes
    elapsed = time.monotonic() - started
    assert answer.status_code == 200 and decode_polling_payload(answer.text) == ["1"], answer.text
    assert elapsed >= CONNECT_TIMEOUT_MS / 1000 * 0.9, elapsed  # not before the timeout (a lower bound only)
    gone = idle.get(url, params={**POLL, "sid": sid}, timeout=5)
    assert gone.status_code == 400 and gone.json() == {"code": 1, "message": "Session ID unknown"}
    kept = decode_polling_payload(joined.get(url, params={**POLL, "sid": sid_joined}, timeout=5).text)
    assert kept and kept[0].startswith("40{"), kept


def test_leaving_one_namespace_keeps_the_session_and_the_other_namespace(server_url):
    ws = websocket.create_connection(ws_url(server_url) + EIO_PATH + "?EIO=4&transport=websocket", timeout=5)
    try:
        parse_open_packet(ws.recv())
        ws.send("40")
        ws.send("40/admin,")
        frames = []
        while not (any(f.startswith('42["welcome"') for f in frames) and any(f.startswith('42/admin,["welcome-admin"') for f in frames)):
            frames.append(ws.recv())
        ws.send("41/admin,")
        ws.send('42/admin,["echo","after-leaving"]')  # to a namespace the client left: ignored
        ws.send('421["ack-echo","still-here"]')  # barrier: its answer comes after any answer to the line above
        after = []
        while True:
            frame = ws.recv()
            if frame == "2":
                ws.send("3")
                continue
            after.append(frame)
            if frame == '431["still-here"]':
                break
        assert after == ['431["still-here"]'], after
        ws.send("40/admin,")  # the session is the same: joining again works on it
        rejoined = ws.recv()
        assert rejoined.startswith("40/admin,{"), rejoined
        assert ws.recv().startswith('42/admin,["welcome-admin"')
    finally:
        ws.close()


def test_a_room_broadcast_reaches_every_one_of_many_members(server_url, make_client):
    members = [make_client(server_url, ["websocket"]) for _ in range(12)]
    for client in members:
        client.rec.wait("welcome")
        assert client.call("join", "r-many") == ["joined"]
    assert members[0].call("to-room-count", "r-many", "to-all") == [12]
    for index, client in enumerate(members):
        assert client.rec.wait("room-message", timeout=5) == ("to-all",), index


# ---------------------------------------------------------------------------------------------------------------------
# Engine.IO v3 heartbeat: the client pings, the server pongs
# ---------------------------------------------------------------------------------------------------------------------

V3_PING_INTERVAL_MS, V3_PING_TIMEOUT_MS = 400, 300


@swift_only("the python-socketio 4.x reference is covered by test_socketio_eio3.py")
def test_eio3_server_answers_pings_and_closes_a_silent_client(start_server):
    server = start_server("--eio3", "--ping-interval", str(V3_PING_INTERVAL_MS), "--ping-timeout", str(V3_PING_TIMEOUT_MS))
    ws = websocket.create_connection(ws_url(server.url) + EIO_PATH + "?EIO=3&transport=websocket", timeout=5)
    try:
        opened = parse_open_packet(ws.recv())
        assert (opened["pingInterval"], opened["pingTimeout"]) == (V3_PING_INTERVAL_MS, V3_PING_TIMEOUT_MS)
        assert ws.recv() == "40"  # protocol v4: connected to / without asking
        assert ws.recv().startswith('42["welcome"')
        # ping for three times interval + timeout: each ping is answered with its data, and the session stays
        received: list[str] = []
        deadline = time.monotonic() + 3 * (V3_PING_INTERVAL_MS + V3_PING_TIMEOUT_MS) / 1000
        n = 0
        while time.monotonic() < deadline:
            n += 1
            ws.send(f"2beat{n}")
            last_ping = time.monotonic()
            received.append(ws.recv())
            time.sleep(V3_PING_INTERVAL_MS / 1000 / 2)
        assert received == [f"3beat{i}" for i in range(1, n + 1)], received  # and the server never pinged
        # then silence: closed interval + timeout after the last ping
        ws.settimeout(5)
        closing = []
        try:
            while True:
                frame = ws.recv()
                if not frame:
                    break
                closing.append(frame)
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            pass
        elapsed = time.monotonic() - last_ping
        assert closing in ([], ["1"]), closing
        assert elapsed < (V3_PING_INTERVAL_MS + V3_PING_TIMEOUT_MS) / 1000 + 2, elapsed
        assert elapsed >= (V3_PING_INTERVAL_MS + V3_PING_TIMEOUT_MS) / 1000 * 0.9, elapsed
    finally:
        ws.close()


# ---------------------------------------------------------------------------------------------------------------------
# CORS: the library's CORSMiddleware, as the interop server uses it
# ---------------------------------------------------------------------------------------------------------------------

ALLOWED = "http://app.example.test:8080"
FOREIGN = "http://evil.example.test"


@swift_only("the reference server has no --cors-origins")
def test_cors_middleware_answers_listed_origins_only(start_server):
    server = start_server("--cors-origins", f"{ALLOWED},http://other.example.test")
    url = server.url + EIO_PATH
    allowed = requests.get(url, params=POLL, headers={"Origin": ALLOWED}, timeout=5)
    assert allowed.status_code == 200
    assert allowed.headers.get("Access-Control-Allow-Origin") == ALLOWED
    assert allowed.headers.get("Access-Control-Allow-Credentials") == "true"
    assert "Origin" in allowed.headers.get("Vary", "")
    foreign = requests.get(url, params=POLL, headers={"Origin": FOREIGN}, timeout=5)
    assert foreign.status_code == 200  # served: it is the browser that blocks a page without the header
    assert "Access-Control-Allow-Origin" not in foreign.headers, dict(foreign.headers)
    assert "Access-Control-Allow-Credentials" not in foreign.headers
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = requests.options(url, params=POLL, headers={"Origin": ALLOWED, **preflight}, timeout=5)
    assert ok.status_code == 204, ok.status_code
    assert ok.headers.get("Access-Control-Allow-Origin") == ALLOWED
    assert ok.headers.get("Access-Control-Allow-Methods") == "GET, POST, OPTIONS"
    assert ok.headers.get("Access-Control-Allow-Headers") == "content-type"
    refused = requests.options(url, params=POLL, headers={"Origin": FOREIGN, **preflight}, timeout=5)
    assert refused.status_code == 204 and "Access-Control-Allow-Origin" not in refused.headers, dict(refused.headers)
    # error answers carry the headers too (the middleware is the router's first)
    error = requests.get(url, params={"EIO": "4", "transport": "pigeon"}, headers={"Origin": ALLOWED}, timeout=5)
    assert error.status_code == 400 and error.headers.get("Access-Control-Allow-Origin") == ALLOWED


@swift_only("the reference server's CORS is python-engineio's")
def test_cors_middleware_reflects_any_origin_by_default(server_url):
    for origin in (ALLOWED, FOREIGN):
        r = requests.get(server_url + EIO_PATH, params=POLL, headers={"Origin": origin}, timeout=5)
        assert r.headers.get("Access-Control-Allow-Origin") == origin
        assert r.headers.get("Access-Control-Allow-Credentials") == "true"
    r = requests.get(server_url + EIO_PATH, params=POLL, timeout=5)  # no Origin: no CORS headers
    assert "Access-Control-Allow-Origin" not in r.headers
