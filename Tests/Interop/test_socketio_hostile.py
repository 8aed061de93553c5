"""Hostile input over raw sockets: each attack gets the spec'd error while a legitimate client keeps receiving.

Complements the malformed-packet, oversize-POST and handshake-flood tests in test_socketio_python.py.
"""

from __future__ import annotations

import socket
from pathlib import Path
import time

import pytest
import websocket

from conftest import IS_REFERENCE, parse_open_packet, ws_url

EIO_PATH = "/socket.io/"

pytestmark = pytest.mark.skipif(IS_REFERENCE, reason="exact error behaviour is specified for the Swift server")


def _connect(url: str) -> websocket.WebSocket:
    ws = websocket.create_connection(ws_url(url) + EIO_PATH + "?EIO=4&transport=websocket", timeout=5)
    parse_open_packet(ws.recv())
    ws.send("40")
    assert ws.recv().startswith("40")
    ws.recv()  # welcome
    return ws


def _wait_closed(ws: websocket.WebSocket, seconds: float = 5) -> tuple[bool, int | None, list]:
    """Reads until the server closes; returns (closed, close status, frames seen)."""
    ws.settimeout(0.2)
    seen: list = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            continue
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return True, None, seen
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            status = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            return True, status, seen
        seen.append(data)
    return False, None, seen


def _still_served(make_client, server_url, tag: str) -> None:
    good = make_client(server_url, None)
    good.rec.wait("welcome")
    good.emit("echo", tag)
    assert good.rec.wait("echo") == (tag,)


def test_malformed_engineio_packet_closes_only_that_client(server_url, make_client):
    good = make_client(server_url, None)
    good.rec.wait("welcome")
    ws = _connect(server_url)
    ws.send("9unknown-type")
    closed, _, _ = _wait_closed(ws)
    assert closed, "an unknown Engine.IO packet type must close the session"
    good.emit("echo", "unaffected")
    assert good.rec.wait("echo") == ("unaffected",)


def test_oversize_websocket_message_closes_with_1009(start_server, make_client):
    server = start_server("--max-payload", "1000")
    ws = _connect(server.url)
    ws.send('42["echo","' + "x" * 5000 + '"]')
    closed, status, seen = _wait_closed(ws)
    assert closed and status == 1009, (closed, status)
    assert not any(b"xxxxx" in frame for frame in seen), "the oversize event was processed"
    _still_served(make_client, server.url, "after-oversize")


def test_binary_placeholder_without_attachment_closes_client(server_url, make_client):
    ws = _connect(server_url)
    # announces one attachment but the placeholder points at attachment 3
    ws.send('451-["echo",{"_placeholder":true,"num":3}]')
    ws.send_binary(b"\x01\x02")
    closed, _, seen = _wait_closed(ws)
    assert closed, "a placeholder that matches no attachment must close the client"
    assert not any(frame.startswith(b"42") or frame.startswith(b"45") for frame in seen)
    _still_served(make_client, server_url, "after-placeholder")


def test_binary_frame_without_announcement_closes_client(server_url, make_client):
    ws = _connect(server_url)
    ws.send_binary(b"\x00\x01\x02")
    closed, _, _ = _wait_closed(ws)
    assert closed, "an attachment nobody announced must close the client"
    _still_served(make_client, server_url, "after-stray-binary")


def test_unmasked_websocket_frame_is_a_protocol_error(server_url, make_client):
    host, port = server_url.split("//", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    data = b""
    deadline = time.monotonic() + 5
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        data += sock.recv(4096)
    assert data.startswith(b"HTTP/1.1 101"), data[:80]
    sock.sendall(b"\x81\x02" + b"40")  # FIN + text, no mask bit
    received = b""
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            break
        received += chunk
    sock.close()
    # the server's close frame (opcode 8) carries 1002
    index = received.find(b"\x88\x02")
    assert index >= 0 and received[index + 2 : index + 4] == (1002).to_bytes(2, "big"), received[-40:]
    _still_served(make_client, server_url, "after-unmasked")


def test_unanswered_server_ack_does_not_hurt(server_url, make_client):
    """A client that never answers `ask` gets the timeout result while others keep being served."""
    ws = _connect(server_url)
    ws.send('42["server-ack",{"q":1}]')
    ws.settimeout(8)
    frames = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
            continue
        frames.append(frame)
        if frame.startswith('42["ask-result"'):
            break
    assert frames[-1] == '42["ask-result",{"error":"timeout"}]', frames
    _still_served(make_client, server_url, "after-unanswered-ack")


def test_handshake_cookie_carries_the_session_id(start_server):
    import requests

    server = start_server("--cookie")
    r = requests.get(server.url + EIO_PATH, params={"EIO": "4", "transport": "polling"}, timeout=5)
    sid = parse_open_packet(r.text)["sid"]
    cookie = r.headers.get("Set-Cookie", "")
    assert cookie.startswith(f"io={sid};") and "Path=/" in cookie and "HttpOnly" in cookie, cookie


def test_allow_request_hook_refuses_with_403_code_4(start_server, make_client):
    import requests

    server = start_server("--refuse-origin", "https://evil.example")
    url = server.url + EIO_PATH
    refused = requests.get(url, params={"EIO": "4", "transport": "polling"}, headers={"Origin": "https://evil.example"}, timeout=5)
    assert refused.status_code == 403
    assert refused.json() == {"code": 4, "message": "Origin not allowed"}
    allowed = requests.get(url, params={"EIO": "4", "transport": "polling"}, headers={"Origin": "https://good.example"}, timeout=5)
    assert allowed.status_code == 200 and allowed.text.startswith("0{")
    _still_served(make_client, server.url, "after-refusal")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


_TEN_ATTACHMENTS = '4510-["echo",' + ",".join('{"_placeholder":true,"num":%d}' % n for n in range(10)) + "]"


def _send_quietly(ws: websocket.WebSocket, frames: list[bytes]) -> None:
    """Sends attachments until the server cuts the connection (it refuses some of them on purpose)."""
    for frame in frames:
        try:
            ws.send_binary(frame)
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return


def test_unfinished_binary_packets_are_bounded(start_server, make_client):
    """Many connections each announce 10 attachments and send 9: the server-wide budget refuses most of them at
    once, the reassembly timeout the rest, memory stays bounded, and a normal client is still served."""
    server = start_server(
        "--max-payload", "200000",
        "--max-pending-binary-bytes", "1000000",
        "--max-pending-binary-bytes-total", "2000000",
        "--binary-attachment-timeout-ms", "3000",
    )
    pid = server.proc.pid
    warm = make_client(server.url, None)
    warm.rec.wait("welcome")
    warm.emit("echo", b"\x01" * 1000)
    assert warm.rec.wait("echo") == (b"\x01" * 1000,)
    before = _rss_kib(pid)

    attachment = b"\x07" * 100_000
    attackers = [_connect(server.url) for _ in range(24)]
    for ws in attackers:  # 24 x 900 KB announced and held back: 21.6 MB without limits
        ws.send(_TEN_ATTACHMENTS)
        _send_quietly(ws, [attachment] * 9)
    results = [_wait_closed(ws, seconds=10) for ws in attackers]
    assert all(closed for closed, _, _ in results), "every unfinished binary packet must end its connection"
    grown_kib = _rss_kib(pid) - before
    assert grown_kib < 10_000, f"the server kept {grown_kib} KiB for 24 unfinished binary packets"

    logs = server.logs(limit=200_000)
    assert "server-wide budget for unfinished binary packets is spent" in logs, logs[-2000:]
    assert "binary packet attachments did not arrive in time" in logs, logs[-2000:]
    # the budget is given back: a normal client's binary event still goes through
    good = make_client(server.url, None)
    good.rec.wait("welcome")
    good.emit("echo", b"\x02" * 150_000)
    assert good.rec.wait("echo") == (b"\x02" * 150_000,)


def test_unfinished_binary_packet_over_the_connection_limit_is_refused(start_server, make_client):
    server = start_server("--max-payload", "200000", "--max-pending-binary-bytes", "1000000")
    ws = _connect(server.url)
    ws.send(_TEN_ATTACHMENTS)
    _send_quietly(ws, [b"\x07" * 150_000] * 8)  # 1.2 MB before the 10th attachment
    closed, _, seen = _wait_closed(ws)
    assert closed, "an unfinished binary packet over the per-connection limit must end the connection"
    assert not any(frame.startswith(b"45") for frame in seen), "the oversize binary event was processed"
    assert "exceeds the per-connection limit" in server.logs(limit=200_000)
    _still_served(make_client, server.url, "after-binary-limit")
