"""Connection state recovery with the official socket.io JS client 4.8.1 in headless Chromium: the client keeps the
`pid` of the CONNECT answer and the offset of the last event, sends both when it connects again, and sets
`socket.recovered`. The page is served from another origin, as in test_socketio_browser.py (whose fixtures these
tests reuse, against a server started with `--recovery-ms`)."""

from __future__ import annotations

import pytest

from conftest import ServerFactory, swift_only
from test_socketio_browser import CLIENT_TRANSPORTS, chromium, page, pages, socket_io_js  # noqa: F401 (fixtures)

pytestmark = swift_only("connection state recovery is a feature of the Swift server's --recovery-ms")

AWAY = 50


@pytest.fixture(scope="module")
def module_server(tmp_path_factory):
    """The server the `page` fixture's URL points at: recovery on, sessions kept for 5 s."""
    factory = ServerFactory(tmp_path_factory.mktemp("server-logs"))
    server = factory("--recovery-ms", "5000")
    yield server
    factory.stop_all()


# `s` connects (waits for "connect": quiet clients get no welcome event), joins "r", goes away by `drop()`, a second
# socket on its own connection sends AWAY events to "r" and waits for its ack (all of them buffered), then `s`
# connects again with what it kept and asks for its state (the ack comes after the replay).
AWAY_AND_BACK = """
const T = TRANSPORTS;
const s = __track(io(URL, { reconnection: false, transports: T, auth: AUTH }));
const received = [];
s.on("burst", (label, i) => { if (label === "away") received.push(i); });
await __within(8000, "connect", (ok, fail) => { s.once("connect", ok); s.once("connect_error", fail); });
const firstId = s.id;
if (await s.emitWithAck("join", "r") !== "joined") throw new Error("join");
const other = __track(io(URL, { forceNew: true, reconnection: false, transports: T }));
await __within(8000, "other connect", (ok) => other.once("connect", ok));
const gone = __within(8000, "disconnect", (ok) => s.once("disconnect", (reason) => ok(reason)));
DROP;
const reason = await gone;
const sent = await other.emitWithAck("burst", "r", COUNT, "away");
const back = __within(8000, "reconnect", (ok, fail) => { s.once("connect", ok); s.once("connect_error", fail); });
s.connect();
await back;
const state = await s.emitWithAck("recovery-state");
return { reason, sent, recovered: s.recovered, firstId, id: s.id, state, received };
"""

DROPS = {"page": "s.io.engine.close()", "server": 's.emit("drop-transport")'}


def away_and_back(page, transports: str, drop: str, auth: str = "{}", count: int = AWAY):
    script = (
        AWAY_AND_BACK.replace("TRANSPORTS", CLIENT_TRANSPORTS[transports])
        .replace("AUTH", auth)
        .replace("DROP", DROPS[drop])
        .replace("COUNT", str(count))
    )
    return page(script, timeout=40)


@pytest.mark.parametrize("drop", list(DROPS))
@pytest.mark.parametrize("transports", ["websocket", "polling"])
def test_recovers_after_the_transport_drops(page, transports, drop):
    result = away_and_back(page, transports, drop)
    assert result["sent"] == AWAY
    assert result["recovered"] is True
    assert result["id"] == result["firstId"] == result["state"]["id"]
    assert "r" in result["state"]["rooms"]
    assert result["received"] == list(range(AWAY))  # all of them, exactly once, in order


def test_a_client_that_received_nothing_yet_is_recovered(page):
    # no event before the drop, so no offset: socket.io refuses such a client (issues #4888, #5538)
    result = away_and_back(page, "websocket", "page", auth="{ quiet: true }")
    assert result["recovered"] is True
    assert result["received"] == list(range(AWAY))


def test_a_client_that_opted_out_gets_a_fresh_session(page):
    result = away_and_back(page, "websocket", "page", auth="{ recovery: false }", count=3)
    assert not result.get("recovered")  # the client leaves it undefined when the server sent no pid
    assert result["id"] != result["firstId"]
    assert result["received"] == []  # nothing buffered for it
    assert result["state"]["pid"] is None


def test_a_client_that_disconnected_on_purpose_gets_a_fresh_session(page):
    result = page(
        """
const s = __track(io(URL, { reconnection: false, transports: ["websocket"] }));
await __within(8000, "connect", (ok) => s.once("connect", ok));
const firstId = s.id;
s.disconnect();
const back = __within(8000, "connect again", (ok) => s.once("connect", ok));
s.connect();
await back;
return { recovered: s.recovered, firstId, id: s.id };
"""
    )
    assert result["recovered"] is False and result["id"] != result["firstId"]


def test_the_client_reconnects_by_itself_and_recovers(page):
    # the official client's own reconnection after a server-side drop, with the events sent while it was away
    result = page(
        """
const s = __track(io(URL, { reconnectionDelay: 100, reconnectionDelayMax: 100, transports: ["websocket"] }));
const received = [];
s.on("burst", (label, i) => { if (label === "away") received.push(i); });
await __within(8000, "connect", (ok) => s.once("connect", ok));
const firstId = s.id;
await s.emitWithAck("join", "r2");
const other = __track(io(URL, { forceNew: true, reconnection: false, transports: ["websocket"] }));
await __within(8000, "other connect", (ok) => other.once("connect", ok));
const back = __within(15000, "reconnect", (ok) => s.io.once("reconnect", ok));
s.once("disconnect", () => { other.emit("burst", "r2", 50, "away"); });
s.emit("drop-transport");
await back;
await __within(8000, "connected", (ok) => s.connected ? ok() : s.once("connect", ok));
await s.emitWithAck("recovery-state");
const more = await other.emitWithAck("burst", "r2", 0, "sync");  // the burst is done by now
await s.emitWithAck("recovery-state");
return { recovered: s.recovered, firstId, id: s.id, received };
""",
        timeout=40,
    )
    assert result["recovered"] is True and result["id"] == result["firstId"]
    assert result["received"] == list(range(AWAY))
