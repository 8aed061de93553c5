"""Connection state recovery in pushinator (`client.recovery.maxDisconnectionDuration`, on by default): a tab whose
transport drops gets every message sent meanwhile, exactly once and in order, without a new `auth`.

The official socket.io JS client 4.8.1 in headless Chromium connects through a TCP relay in front of the client port,
so that a test can fail the network (`Relay.cut()`: every connection reset, as the server sees a dead network) as
well as close the transport from the page (`socket.io.engine.close()`). Messages come from the admin API while the tab
is away. Recovered or not, a message to a user whose only tab is away is also in the offline queue: a recovered tab
has it in its replay and the queued copy is dropped; a tab that comes back too late gets a fresh session and its
`auth` hands the queue over.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from typing import Any, Iterator

import pytest

from browser import BrowserError
from conftest import TRANSPORTS
from pushinator_support import (  # noqa: F401 (start_pushinator: fixture)
    HASH,
    Pushinator,
    PushinatorFactory,
    auth,
    connect_user,
    new_user,
    requires_app,
    start_pushinator,
)
from test_socketio_browser import CLIENT_TRANSPORTS, chromium, pages, socket_io_js  # noqa: F401 (fixtures)

pytestmark = requires_app

AWAY = 50
NEW_HASH = "a-rotated-hash"


class Relay:
    """A TCP relay on 127.0.0.1 in front of pushinator's client port; `cut()` resets every connection it carries."""

    def __init__(self, url: str) -> None:
        host, port = url.rsplit("//", 1)[1].rsplit(":", 1)
        self.target = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        """Resets both sides of every connection (RST), as a failing network does."""
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RD)  # wakes the relay thread reading it
                sock.close()
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.fixture(scope="module")
def recovering(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pushinator, Relay]]:
    """pushinator with sessions kept 5 s, and a relay in front of its client port."""
    factory = PushinatorFactory(tmp_path_factory.mktemp("pushinator-recovery"))
    app = factory({"client": {"recovery": {"maxDisconnectionDuration": 5000}}}, name="recovering")
    relay = Relay(app.client)
    yield app, relay
    relay.close()
    factory.stop_all()


@pytest.fixture
def page(chromium, pages):  # noqa: F811 (fixture)
    """A fresh page from another origin; `page(js, url)` runs an async function body with `URL` bound."""
    chromium.open(pages.url + "/index.html")
    chromium.console.clear()

    def run(body: str, url: str, timeout: float = 20.0) -> Any:
        return chromium.evaluate(f"(async () => {{ const URL = {json.dumps(url)}; {body} }})()", timeout=timeout)

    yield run
    try:
        chromium.evaluate("window.__closeAll && window.__closeAll(); true", timeout=5)
    except BrowserError:
        pass


# The tab: connects, authenticates with an ack, keeps every `message` (their `n`) in `got`.
CONNECT_AND_AUTH = """
window.s = __track(io(URL, { reconnection: false, transports: TRANSPORTS }));
window.got = [];
s.on("message", (data) => got.push(JSON.parse(data).n));
await __within(8000, "connect", (ok, fail) => { s.once("connect", ok); s.once("connect_error", fail); });
window.firstId = s.id;
window.gone = new Promise((ok) => s.once("disconnect", ok));
return await s.timeout(5000).emitWithAck("auth", USER, HASH);
"""

# Back: connects again with what the client kept (pid, offset), then sends `auth` again (harmless). Its ack comes
# after the replay on the same connection, so `got` is complete when it returns.
COME_BACK = """
const back = __within(8000, "connect again", (ok, fail) => { s.once("connect", ok); s.once("connect_error", fail); });
s.connect();
await back;
const again = await s.timeout(5000).emitWithAck("auth", USER, AUTH_HASH);
return { recovered: s.recovered, id: s.id, firstId, again, got };
"""


def tab(page, url: str, user: int, transports: str) -> Any:
    script = CONNECT_AND_AUTH.replace("TRANSPORTS", CLIENT_TRANSPORTS[transports])
    return page(script.replace("USER", json.dumps(user)).replace("HASH", json.dumps(HASH)), url)


def come_back(page, url: str, user: int, hash_: str = HASH) -> Any:
    return page(COME_BACK.replace("USER", json.dumps(user)).replace("AUTH_HASH", json.dumps(hash_)), url)


def wait_for_messages(page, url: str, count: int) -> list[int]:
    return page(f'await __within(8000, "{count} messages", (ok) => {{ const t = setInterval(() => {{ '
                f"if (got.length >= {count}) {{ clearInterval(t); ok(); }} }}, 10); }}); return got;", url)


def drop(page, url: str, relay: Relay, how: str) -> str:
    """Drops the tab's transport; returns the disconnect reason the client saw."""
    if how == "server":
        relay.cut()
    else:
        page("s.io.engine.close(); return true;", url)
    return page('return await __within(8000, "disconnect", (ok) => gone.then(ok));', url)


@pytest.mark.parametrize("how", ["server", "page"])
@pytest.mark.parametrize("transports", ["websocket", "polling"])
def test_a_tab_gets_every_message_sent_while_it_was_away(recovering, page, transports, how):
    app, relay = recovering
    user = new_user()
    app.register(user)
    assert tab(page, relay.url, user, transports) == {"ok": True, "queued": 0}
    app.send(user, {"n": -1})
    assert wait_for_messages(page, relay.url, 1) == [-1]  # the client has an offset now
    reason = drop(page, relay.url, relay, how)
    assert reason != "io server disconnect", reason  # a drop, not a goodbye: the client may come back
    for n in range(AWAY):
        app.send(user, {"n": n})
    result = come_back(page, relay.url, user)
    assert result["recovered"] is True and result["id"] == result["firstId"], result
    assert result["again"] == {"ok": True, "queued": 0}  # the queued copies went with the replay
    app.send(user, {"n": AWAY})  # live again, in its user's room without a new auth
    assert wait_for_messages(page, relay.url, AWAY + 2) == [-1, *range(AWAY + 1)]  # exactly once, in order
    assert app.post("/user/send", {"userId": user, "message": {"n": 0}}).json["delivered"] == 1  # no duplicate tab


def test_recovered_without_a_new_auth(recovering, page, make_client):
    # a tab whose code does not auth again on `connect` is still its user's
    app, relay = recovering
    user = new_user()
    app.register(user)
    assert tab(page, relay.url, user, "websocket") == {"ok": True, "queued": 0}
    drop(page, relay.url, relay, "page")
    app.send(user, {"n": 0})
    result = page("""
const back = __within(8000, "connect again", (ok) => s.once("connect", ok));
s.connect();
await back;
return { recovered: s.recovered };
""", relay.url)
    assert result == {"recovered": True}
    reply = app.post("/user/send", {"userId": user, "message": {"n": 1}}).json
    assert reply["delivered"] == 1 and reply["queued"] == 0, reply
    assert wait_for_messages(page, relay.url, 2) == [0, 1]
    # what was queued while it was away went with the replay: another tab's auth gets nothing of it again
    connect_user(make_client, app, user, TRANSPORTS["websocket"], queued=0)


def test_too_late_it_is_a_fresh_session_and_auth_hands_the_queue_over(start_pushinator, page):
    app = start_pushinator({"client": {"recovery": {"maxDisconnectionDuration": 300}}})
    user = new_user()
    app.register(user)
    assert tab(page, app.client, user, "websocket") == {"ok": True, "queued": 0}
    drop(page, app.client, None, "page")  # type: ignore[arg-type]
    for n in range(3):
        reply = app.send(user, {"n": n}).json
        assert reply["delivered"] == 0 and reply["queued"] == 1, reply
    time.sleep(0.7)  # over twice maxDisconnectionDuration: the session is gone
    result = come_back(page, app.client, user)
    assert result["recovered"] is False and result["id"] != result["firstId"], result
    assert result["again"] == {"ok": True, "queued": 3}
    assert wait_for_messages(page, app.client, 3) == [0, 1, 2]  # from the offline queue, once


@pytest.mark.parametrize("revoke", ["rotate", "unregister"])
def test_a_revoked_tab_is_not_recovered(recovering, page, revoke):
    app, relay = recovering
    user = new_user()
    app.register(user)
    assert tab(page, relay.url, user, "websocket") == {"ok": True, "queued": 0}
    drop(page, relay.url, relay, "page")
    if revoke == "rotate":
        app.register(user, NEW_HASH)
    else:
        assert app.post("/user/unregister", {"userId": user}).json["removed"] is True
    app.send(user, {"n": 0})  # for the new hash's holders (or nobody), not for the old tab
    result = page("""
const back = __within(8000, "connect again", (ok, fail) => { s.once("connect", ok); s.once("connect_error", fail); });
s.connect();
await back;
const answer = await s.timeout(5000).emitWithAck("auth", USER, HASH);
return { recovered: s.recovered, id: s.id, firstId, answer, got };
""".replace("USER", json.dumps(user)).replace("HASH", json.dumps(HASH)), relay.url)
    assert result["recovered"] is False and result["id"] != result["firstId"], result
    assert result["answer"] == {"ok": False, "error": "Unknown user or wrong hash"}
    assert result["got"] == []


def test_python_clients_get_offsets_or_opt_out(recovering, make_client):
    app, _ = recovering
    user = new_user()
    app.register(user)
    with_offsets = connect_user(make_client, app, user, TRANSPORTS["websocket"])
    got: list[Any] = []
    done = threading.Event()
    fixed = make_client(app.client, TRANSPORTS["websocket"], auth={"recovery": False}, connect=False)

    def on_message(data):  # a fixed signature: works only without offsets
        got.append(data)
        done.set()

    fixed.sio.on("message", on_message)
    fixed.connect(app.client, TRANSPORTS["websocket"], auth={"recovery": False})
    assert auth(fixed, user) == {"ok": True, "queued": 0}
    assert app.send(user, "hi").json["delivered"] == 2
    message, offset = with_offsets.rec.wait("message")
    assert message == '"hi"' and isinstance(offset, str)
    assert done.wait(5) and got == ['"hi"']
