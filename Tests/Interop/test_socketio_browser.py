"""Interop with the official socket.io JS client (4.8.x) in headless Chromium, loaded from another origin."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from browser import BrowserError, Chromium, PageServer
from conftest import CACHE

SOCKET_IO_JS = Path(os.environ.get("SOCKET_IO_JS", str(CACHE / "socket.io.min.js")))
CLIENT_TRANSPORTS = {"polling": '["polling"]', "default": '["polling", "websocket"]', "websocket": '["websocket"]'}


@pytest.fixture(scope="module")
def socket_io_js() -> Path:
    if not SOCKET_IO_JS.is_file():
        pytest.fail(f"{SOCKET_IO_JS} is missing: run scripts/install-test-deps.sh", pytrace=False)
    head = SOCKET_IO_JS.read_text(errors="replace")[:200]
    match = re.search(r"Socket\.IO v(\d+\.\d+\.\d+)", head)
    assert match and match.group(1).startswith("4.8."), f"expected socket.io client 4.8.x, found: {head!r}"
    return SOCKET_IO_JS


@pytest.fixture(scope="module")
def pages(socket_io_js):
    with PageServer(socket_io_js) as server:
        yield server


@pytest.fixture(scope="module")
def chromium():
    try:
        browser = Chromium()
        browser.start()
    except BrowserError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield browser
    browser.stop()


@pytest.fixture
def page(chromium, pages, server_url):
    """A fresh page from the page server's origin; returns a function that runs JS with `URL` bound."""
    assert pages.url != server_url, "page and Socket.IO server must be different origins"
    chromium.open(pages.url + "/index.html")
    chromium.console.clear()

    def run(body: str, timeout: float = 20.0):
        script = f"(async () => {{ const URL = {json.dumps(server_url)}; {body} }})()"
        return chromium.evaluate(script, timeout=timeout)

    yield run
    try:
        chromium.evaluate("window.__closeAll && window.__closeAll(); true", timeout=5)
    except BrowserError:
        pass


CONNECT = """
const connect = async (opts) => {
  const s = __track(io(URL, Object.assign({ reconnection: false, withCredentials: true }, opts || {})));
  const welcome = await __within(8000, "welcome", (ok, fail) => {
    s.once("welcome", ok);
    s.once("connect_error", (e) => fail(new Error("connect_error: " + e.message + " " + JSON.stringify(e.data))));
  });
  return { s, welcome };
};
const next = (s, event, ms = 5000) =>
  __within(ms, event, (ok) => s.once(event, (...args) => ok(args)));
"""


def test_page_is_cross_origin(page, server_url, pages):
    origin = page("return window.location.origin;")
    assert origin == pages.url
    assert origin != server_url


@pytest.mark.parametrize("transports", list(CLIENT_TRANSPORTS))
def test_connect_with_auth(page, transports):
    result = page(
        CONNECT
        + f"""
const {{ s, welcome }} = await connect({{ auth: {{ token: "browser", n: 7 }}, transports: {CLIENT_TRANSPORTS[transports]} }});
return {{ welcome, id: s.id, connected: s.connected }};
"""
    )
    assert result["connected"] is True
    assert result["welcome"] == {"sid": result["id"], "auth": {"token": "browser", "n": 7}}


def test_bad_token_gets_connect_error(page):
    result = page(
        """
const s = __track(io(URL, { reconnection: false, auth: { token: "bad" } }));
const err = await __within(8000, "connect_error", (ok) => s.once("connect_error", (e) => ok(e)));
return { message: err.message, data: err.data, connected: s.connected };
"""
    )
    assert result == {"message": "unauthorized", "data": {"code": 401}, "connected": False}


def test_upgrades_to_websocket(page):
    result = page(
        CONNECT
        + """
const s = __track(io(URL, { reconnection: false, withCredentials: true, autoConnect: false }));
let first = null, upgradedTo = null;
const upgraded = __within(8000, "upgrade", (ok) => {
  s.io.once("open", () => {  // Engine.IO handshake done; the upgrade probe starts after this
    first = s.io.engine.transport.name;
    s.io.engine.once("upgrade", (t) => { upgradedTo = t.name; ok(); });
  });
});
const welcome = next(s, "welcome", 8000);
s.connect();
await welcome;
await upgraded;
const pending = next(s, "echo");
s.emit("echo", "after-upgrade");
return { first, upgradedTo, now: s.io.engine.transport.name, echo: await pending };
"""
    )
    assert result["first"] == "polling"
    assert result["upgradedTo"] == "websocket"
    assert result["now"] == "websocket"
    assert result["echo"] == ["after-upgrade"]


@pytest.mark.parametrize("transports", list(CLIENT_TRANSPORTS))
def test_emit_with_ack(page, transports):
    result = page(
        CONNECT
        + f"""
const {{ s }} = await connect({{ transports: {CLIENT_TRANSPORTS[transports]} }});
const args = await __within(5000, "ack", (ok) => s.emit("ack-echo", {{ a: 1 }}, "x", (...a) => ok(a)));
const joined = await s.timeout(5000).emitWithAck("join", "browser-room");
return {{ args, joined }};
"""
    )
    assert result == {"args": [{"a": 1}, "x"], "joined": "joined"}


def test_server_ack_answered_by_browser(page):
    result = page(
        CONNECT
        + """
const { s } = await connect({});
s.on("ask", (payload, cb) => cb({ browser: payload }));
const pending = next(s, "ask-result", 8000);
s.emit("server-ack", { q: "from-browser" });
return await pending;
"""
    )
    assert result == [{"browser": {"q": "from-browser"}}]


@pytest.mark.parametrize("transports", list(CLIENT_TRANSPORTS))
def test_room_broadcast(page, transports):
    result = page(
        CONNECT
        + f"""
const t = {CLIENT_TRANSPORTS[transports]};
const a = (await connect({{ transports: t }})).s;
const b = (await connect({{ transports: t }})).s;
const c = (await connect({{ transports: t }})).s;
const joined = await a.timeout(5000).emitWithAck("join", "room-b");
const bGot = [];
b.on("room-message", (...args) => bGot.push(args));
const aGets = next(a, "room-message");
const sent = await c.timeout(5000).emitWithAck("to-room", "room-b", {{ hello: "room", n: [1, 2] }});
const aGot = await aGets;
await new Promise((r) => setTimeout(r, 600));
return {{ joined, sent, aGot, bGot }};
"""
    )
    assert result["joined"] == "joined"
    assert result["sent"] == "sent"
    assert result["aGot"] == [{"hello": "room", "n": [1, 2]}]
    assert result["bGot"] == []


@pytest.mark.parametrize("transports", list(CLIENT_TRANSPORTS))
def test_arraybuffer_round_trip(page, transports):
    result = page(
        CONNECT
        + f"""
const {{ s }} = await connect({{ transports: {CLIENT_TRANSPORTS[transports]} }});
const bytes = new Uint8Array(256).map((_, i) => i);
const pending = next(s, "echo");
s.emit("echo", bytes.buffer, {{ nested: new Uint8Array([7, 8, 9]).buffer, n: 1 }});
const [buf, obj] = await pending;
return {{
  isArrayBuffer: buf instanceof ArrayBuffer,
  bytes: Array.from(new Uint8Array(buf)),
  nestedIsArrayBuffer: obj.nested instanceof ArrayBuffer,
  nested: Array.from(new Uint8Array(obj.nested)),
  n: obj.n,
}};
"""
    )
    assert result["isArrayBuffer"] is True
    assert result["bytes"] == list(range(256))
    assert result["nestedIsArrayBuffer"] is True
    assert result["nested"] == [7, 8, 9]
    assert result["n"] == 1


def test_binary_from_server(page):
    result = page(
        CONNECT
        + """
const { s } = await connect({});
const pending = next(s, "binary");
s.emit("binary-request");
const [buf, obj] = await pending;
return { bytes: Array.from(new Uint8Array(buf)), nested: Array.from(new Uint8Array(obj.nested)) };
"""
    )
    assert result == {"bytes": list(range(256)), "nested": list(range(256))}


def test_reconnects_after_transport_drop(page):
    result = page(
        CONNECT
        + """
const s = __track(io(URL, { reconnectionDelay: 100, reconnectionDelayMax: 300, withCredentials: true }));
const first = await next(s, "welcome", 8000);
const reason = __within(8000, "disconnect", (ok) => s.once("disconnect", (r) => ok(r)));
const second = next(s, "welcome", 10000);
s.emit("drop-transport");
return { first: first[0], reason: await reason, second: (await second)[0], id: s.id };
"""
    )
    assert result["reason"] in ("transport close", "transport error")
    assert result["second"]["sid"] == result["id"]
    assert result["second"]["sid"] != result["first"]["sid"]
