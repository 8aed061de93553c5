"""Interop with python-socketio 4.x (Engine.IO v3 / Socket.IO v4) against a server started with `--eio3`.

The 4.x client runs as a subprocess in its own virtualenv (Tests/Interop/.cache/venv-eio3) and prints JSON.
Against the reference server, the server side is python-socketio 4.x from the same virtualenv.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import requests

from conftest import EIO3_PYTHON, TRANSPORTS, ServerFactory, swift_only

CLIENT_SCRIPT = r'''
import json, sys, threading
import socketio

url, transport, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
transports = None if transport == "default" else [transport]
out = {"socketio": socketio.__version__}
received = {}
cond = threading.Condition()

def record(event):
    def handler(*args):
        with cond:
            received.setdefault(event, []).append(list(args))
            cond.notify_all()
    return handler

def wait(event, timeout=8.0):
    with cond:
        if not cond.wait_for(lambda: event in received, timeout):
            raise SystemExit(json.dumps({"error": "no %s within %ss" % (event, timeout), "received": list(received)}))
        return received[event][0]

def jsonable(value):
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value

sio = socketio.Client(reconnection=False)
for event in ("welcome", "echo", "ask-result", "binary"):
    sio.on(event, record(event))
sio.on("ask", lambda payload: {"eio3": payload})
sio.connect(url, transports=transports)
try:
    out["welcome"] = wait("welcome")
    out["transport"] = sio.transport()
    if scenario == "echo":
        sio.emit("echo", ("eio3", {"n": [1, 2, None]}, 1.5))
        out["echo"] = wait("echo")
    elif scenario == "binary":
        sio.emit("echo", (bytes(range(256)), {"nested": b"\x00\x01"}))
        out["echo"] = jsonable(wait("echo"))
    elif scenario == "ack":
        out["ack"] = jsonable(sio.call("ack-echo", ("x", {"y": 1}), timeout=5))
    elif scenario == "server-ack":
        sio.emit("server-ack", {"q": 3})
        out["ask-result"] = wait("ask-result")
finally:
    sio.disconnect()
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def eio3_python() -> Path:
    if not EIO3_PYTHON.exists():
        pytest.fail(f"{EIO3_PYTHON} is missing: run scripts/install-test-deps.sh", pytrace=False)
    return EIO3_PYTHON


@pytest.fixture(scope="module")
def eio3_server(tmp_path_factory, eio3_python):
    factory = ServerFactory(tmp_path_factory.mktemp("server-logs-eio3"))
    server = factory("--eio3")
    yield server
    factory.stop_all()


@pytest.fixture(scope="module")
def client_script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("eio3") / "eio3_client.py"
    path.write_text(CLIENT_SCRIPT)
    return path


def run_client(eio3_python: Path, script: Path, url: str, transport: str, scenario: str) -> dict:
    proc = subprocess.run(
        [str(eio3_python), str(script), url, transport, scenario],
        capture_output=True,
        text=True,
        timeout=40,
        stdin=subprocess.DEVNULL,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, f"eio3 client failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(lines[-1])
    assert result["socketio"].startswith("4."), result
    return result


def test_eio3_connect_gets_welcome(eio3_python, client_script, eio3_server, transport):
    result = run_client(eio3_python, client_script, eio3_server.url, transport, "welcome")
    (welcome,) = result["welcome"]
    assert welcome["auth"] == {}  # Socket.IO v4 has no auth payload
    assert isinstance(welcome["sid"], str) and welcome["sid"]
    assert result["transport"] == ("polling" if transport == "polling" else "websocket")


def test_eio3_event_round_trip(eio3_python, client_script, eio3_server, transport):
    result = run_client(eio3_python, client_script, eio3_server.url, transport, "echo")
    assert result["echo"] == ["eio3", {"n": [1, 2, None]}, 1.5]


def test_eio3_binary_round_trip(eio3_python, client_script, eio3_server, transport):
    result = run_client(eio3_python, client_script, eio3_server.url, transport, "binary")
    assert result["echo"] == [{"$bytes": bytes(range(256)).hex()}, {"nested": {"$bytes": "0001"}}]


def test_eio3_client_ack(eio3_python, client_script, eio3_server, transport):
    result = run_client(eio3_python, client_script, eio3_server.url, transport, "ack")
    assert result["ack"] == ["x", {"y": 1}]


def test_eio3_server_ack(eio3_python, client_script, eio3_server, transport):
    result = run_client(eio3_python, client_script, eio3_server.url, transport, "server-ack")
    assert result["ask-result"] == [{"eio3": {"q": 3}}]


def test_eio3_polling_uses_v3_framing(eio3_server):
    """With b64=1 an EIO3 polling payload is text: `<length>:<packet>` records, the first one the OPEN packet."""
    r = requests.get(
        eio3_server.url + "/socket.io/", params={"EIO": "3", "transport": "polling", "b64": "1"}, timeout=5
    )
    assert r.status_code == 200
    text = r.text
    match = re.match(r"^(\d+):", text)
    assert match, f"not an EIO3 length-prefixed payload: {text!r}"
    length = int(match.group(1))
    first = text[match.end() : match.end() + length]
    assert first.startswith("0{"), f"first packet is not OPEN: {first!r}"
    handshake = json.loads(first[1:])
    assert isinstance(handshake["sid"], str) and handshake["sid"]
    assert handshake["upgrades"] == ["websocket"]
    assert handshake["pingInterval"] == 25000 and handshake["pingTimeout"] == 20000


@swift_only("the python-socketio 4.x reference speaks only Engine.IO v3")
def test_eio3_server_still_accepts_eio4_clients(eio3_server, make_client):
    client = make_client(eio3_server.url, TRANSPORTS["default"])
    (welcome,) = client.rec.wait("welcome")
    assert welcome["sid"] == client.sio.get_sid("/")
