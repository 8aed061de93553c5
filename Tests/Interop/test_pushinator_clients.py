"""The client port of the bundled app `pushinator`: python-socketio over polling, websocket and upgrade, the official
JS client in Chromium from another origin, and TLS (see issue 4).

A client connects to `/`, emits `auth(userId, hash[, ack])`, and then receives every message sent to its user as a
`message` event: by default `JSON.stringify(message)` (node pushinator's `socket.send(JSON.stringify(message))`),
with `client.messageEncoding: 'raw'` the JSON value itself.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from browser import BrowserError
from conftest import CACHE, TRANSPORTS
from pushinator_support import (
    HASH,
    Pushinator,
    app,  # noqa: F401 (fixture)
    auth,
    browser_connect_and_auth,
    chromium_with_pages,
    connect_user,
    message_barrier,
    new_user,
    pushinator_app,  # noqa: F401 (fixture)
    refused_auth_barrier,
    requires_app,
    start_pushinator,  # noqa: F401 (fixture)
    wait_until,
)

pytestmark = requires_app


# ---------------------------------------------------------------------------------------------------------------------
# auth and message, over every transport
# ---------------------------------------------------------------------------------------------------------------------


def test_auth_then_receive_messages(app: Pushinator, make_client, transport):
    user = new_user()
    app.register(user)
    client = connect_user(make_client, app, user, TRANSPORTS[transport])
    messages = [{"text": "hi"}, "plain string", 42, [1, "two", {"three": 3}], {"nested": {"a": [True, None]}}]
    for message in messages:
        assert app.send(user, message).json["delivered"] == 1
    for index, message in enumerate(messages, start=1):
        payload = client.rec.wait("message", count=index)
        # the message, then its connection state recovery offset (client.recovery is on by default)
        assert len(payload) == 2 and isinstance(payload[1], str), payload
        assert isinstance(payload[0], str), f"default payload must be a JSON string: {payload!r}"
        assert json.loads(payload[0]) == message


def test_payload_is_json_stringify_of_the_message(app: Pushinator, make_client):
    user = new_user()
    app.register(user)
    client = connect_user(make_client, app, user, ["websocket"])
    app.post("/user/send", raw='{"userId": %d, "message": {"text": "hi", "n": 1, "list": [1, 2]}}' % user)
    assert client.rec.wait("message")[0] == '{"text":"hi","n":1,"list":[1,2]}'


def test_auth_without_ack_then_receive(app: Pushinator, make_client, transport):
    # node pushinator's clients emit auth without a callback
    user = new_user()
    app.register(user)
    client = make_client(app.client, TRANSPORTS[transport])
    client.emit("auth", user, HASH)
    reply = wait_until(lambda: (r := app.send(user, "ping")).json["delivered"] == 1 and r, timeout=5,
                       what="the auth to take effect")
    assert reply
    assert json.loads(client.rec.wait("message")[0]) == "ping"


def test_raw_message_encoding(start_pushinator, make_client, transport):
    raw_app = start_pushinator({"client": {"messageEncoding": "raw"}})
    raw_app.register(5)
    client = connect_user(make_client, raw_app, 5, TRANSPORTS[transport])
    raw_app.send(5, {"text": "hi", "list": [1, 2]})
    raw_app.send(5, "just a string")
    assert client.rec.wait("message", count=1)[0] == {"text": "hi", "list": [1, 2]}
    assert client.rec.wait("message", count=2)[0] == "just a string"


def test_two_connections_of_one_user_both_receive(app: Pushinator, make_client, transport):
    user = new_user()
    app.register(user)
    tabs = [connect_user(make_client, app, user, TRANSPORTS[transport]) for _ in range(2)]
    assert app.send(user, {"to": "both"}).json["delivered"] == 2
    for tab in tabs:
        assert json.loads(tab.rec.wait("message")[0]) == {"to": "both"}


def test_messages_reach_only_their_user(app: Pushinator, make_client):
    a, b = new_user(), new_user()
    app.register(a)
    app.register(b)
    ca = connect_user(make_client, app, a, ["websocket"])
    cb = connect_user(make_client, app, b, ["polling"])
    app.send(a, "for a")
    assert json.loads(ca.rec.wait("message")[0]) == "for a"
    message_barrier(app, b, cb)()  # a message for b sent after "for a" arrives: "for a" was never sent to b
    assert [args[0] for args in cb.rec.all("message")] == ['"barrier"']


def test_auth_ack_ok(app: Pushinator, make_client, transport):
    user = new_user()
    app.register(user)
    client = make_client(app.client, TRANSPORTS[transport])
    assert client.call("auth", user, HASH) == [{"ok": True, "queued": 0}]
    assert client.sio.connected


@pytest.mark.parametrize("case", ["wrong-hash", "unknown-user"])
def test_failed_auth_with_ack_answers_then_disconnects(app: Pushinator, make_client, transport, case):
    user = new_user()
    app.register(user)
    client = make_client(app.client, TRANSPORTS[transport])
    if case == "wrong-hash":
        answer = client.call("auth", user, HASH + "x")
    else:
        answer = client.call("auth", "unknown-" + str(user), HASH)
    assert len(answer) == 1 and isinstance(answer[0], dict), answer
    assert answer[0].get("ok") is False, answer
    assert isinstance(answer[0].get("error"), str) and answer[0]["error"], answer
    assert HASH not in json.dumps(answer)
    client.rec.wait("disconnect", timeout=5)
    assert app.send(user, "x").json["delivered"] == 0
    app.assert_serving()


@pytest.mark.parametrize("case", ["wrong-hash", "unknown-user", "empty-hash"])
def test_failed_auth_without_ack_disconnects(app: Pushinator, make_client, case):
    user = new_user()
    app.register(user)
    client = make_client(app.client, ["websocket"])
    if case == "wrong-hash":
        client.emit("auth", user, "not-the-hash")
    elif case == "unknown-user":
        client.emit("auth", "unknown-" + str(user), HASH)
    else:
        client.emit("auth", user, "")
    client.rec.wait("disconnect", timeout=5)
    app.assert_serving()


def test_unauthenticated_socket_receives_nothing(app: Pushinator, make_client, transport):
    user = new_user()
    app.register(user)
    anonymous = make_client(app.client, TRANSPORTS[transport])
    authed = connect_user(make_client, app, user, ["websocket"])
    app.send(user, "secret")
    app.post("/broadcast", {"message": "everyone authenticated"})
    assert json.loads(authed.rec.wait("message", count=2)[0]) == "everyone authenticated"
    assert anonymous.sio.connected  # not authenticating is not an error
    anonymous.rec.assert_none("message", barrier=refused_auth_barrier(anonymous))


def test_second_auth_moves_the_socket(app: Pushinator, make_client, transport):
    a, b = new_user(), new_user()
    app.register(a)
    app.register(b, "hash-b")
    client = connect_user(make_client, app, a, TRANSPORTS[transport])
    assert auth(client, b, "hash-b") == {"ok": True, "queued": 0}
    assert app.send(a, "to a").json["delivered"] == 0, "the socket must have left user a"
    assert app.send(b, "to b").json["delivered"] == 1
    assert client.rec.wait("message")[0] == '"to b"'
    assert [json.loads(m[0]) for m in client.rec.all("message")] == ["to b"]


def test_user_is_kept_after_its_last_connection_closes(app: Pushinator, make_client, transport):
    user = new_user()
    app.register(user)
    first = connect_user(make_client, app, user, TRANSPORTS[transport])
    if first.sio.transport() == "polling":
        # python-engineio's polling write loop checks that it is still connected before it takes the next packets:
        # when disconnect() comes while the POST of the auth is still in flight (the auth's ack arrives by the GET,
        # before the POST's answer), the loop ends without sending DISCONNECT and CLOSE, and the server only learns
        # at the ping timeout (45 s). So the test sends them itself, as disconnect() would have.
        assert requests.post(first.sio.eio.base_url, data="41\x1e1", timeout=5).text == "ok"
        first.rec.wait("disconnect", timeout=5)
    first.close()
    wait_until(lambda: app.send(user, "x").json["delivered"] == 0, what="the closed connection to be forgotten")
    assert str(user) in app.post("/user/list", {}).json["users"]
    # no new /user/register; the "x" sent while it was away were queued and come first
    again = connect_user(make_client, app, user, TRANSPORTS[transport], queued=None)
    waiting = again.auth_answer["queued"]
    assert waiting >= 1
    assert app.send(user, "back").json["delivered"] == 1
    assert json.loads(again.rec.wait("message", count=waiting + 1)[0]) == "back"
    assert [json.loads(args[0]) for args in again.rec.all("message")] == ["x"] * waiting + ["back"]


def _reauthing_client(make_client, app: Pushinator, user: int, transports):
    """A reconnecting client that emits auth (with an ack) on every connect, as client.html does."""
    client = make_client(app.client, transports, reconnection=True, connect=False)

    def on_connect() -> None:
        client.rec.record("/", "connect", ())
        client.sio.emit("auth", (user, HASH), callback=lambda *a: client.rec.record("/", "auth-ack", a))

    client.sio.on("connect", on_connect)
    client.connect(app.client, transports)
    assert client.rec.wait("auth-ack") == ({"ok": True, "queued": 0},)
    return client


def test_reconnect_after_a_dropped_connection_reauths_without_register(app: Pushinator, make_client):
    user = new_user()
    app.register(user)
    client = _reauthing_client(make_client, app, user, ["websocket"])
    # drop the TCP connection under the client, as a network failure would (no Engine.IO close packet)
    raw = client.sio.eio.ws.sock
    raw.shutdown(socket.SHUT_RDWR)
    client.rec.wait("disconnect", timeout=10)
    assert client.rec.wait("auth-ack", count=2, timeout=15) == ({"ok": True, "queued": 0},), "re-auth after reconnect failed"
    assert app.send(user, "after reconnect").json["delivered"] == 1
    assert json.loads(client.rec.wait("message")[0]) == "after reconnect"


def test_unregister_disconnects_the_users_sockets(app: Pushinator, make_client, transport):
    user = new_user()
    app.register(user)
    tabs = [connect_user(make_client, app, user, TRANSPORTS[transport]) for _ in range(2)]
    assert app.post("/user/unregister", {"userId": user}).status == 200
    for tab in tabs:
        tab.rec.wait("disconnect", timeout=5)
    assert app.send(user, "gone").json["delivered"] == 0


def test_broadcast_reaches_all_authenticated(app: Pushinator, make_client, transport):
    users = [new_user() for _ in range(3)]
    clients = []
    for user in users:
        app.register(user)
        clients.append(connect_user(make_client, app, user, TRANSPORTS[transport]))
    anonymous = make_client(app.client, TRANSPORTS[transport])
    reply = app.post("/broadcast", {"message": {"news": 1}})
    assert reply.status == 200 and reply.json["delivered"] >= 3, reply
    for client in clients:
        assert json.loads(client.rec.wait("message")[0]) == {"news": 1}
    anonymous.rec.assert_none("message", barrier=refused_auth_barrier(anonymous))


def test_many_messages_arrive_in_order(app: Pushinator, make_client, transport):
    user = new_user()
    app.register(user)
    client = connect_user(make_client, app, user, TRANSPORTS[transport])
    for n in range(50):
        app.send(user, {"n": n})
    client.rec.wait("message", count=50, timeout=15)
    assert [json.loads(m[0])["n"] for m in client.rec.all("message")] == list(range(50))


def test_idle_users_expire(start_pushinator):
    idle = start_pushinator({"users": {"idleTimeout": 1}})
    idle.register(9)
    assert idle.post("/user/list", {}).json["users"] == ["9"]
    wait_until(lambda: idle.post("/user/list", {}).json["users"] == [], timeout=15, interval=0.25,
               what="the idle user to expire (users.idleTimeout: 1)")


def test_idle_timeout_does_not_expire_connected_users(start_pushinator, make_client):
    idle = start_pushinator({"users": {"idleTimeout": 1}})
    idle.register(9)
    client = connect_user(make_client, idle, 9, ["websocket"])
    threading.Event().wait(6.5)  # expiry sweeps run every 5 s: at least one runs after the 1 s timeout
    assert idle.post("/user/list", {}).json["users"] == ["9"]
    assert idle.send(9, "still here").json["delivered"] == 1
    assert json.loads(client.rec.wait("message")[0]) == "still here"


# ---------------------------------------------------------------------------------------------------------------------
# transports and CORS
# ---------------------------------------------------------------------------------------------------------------------


def test_websocket_only_transport_config(start_pushinator, make_client):
    import socketio

    ws_only = start_pushinator({"client": {"socketIoTransports": ["websocket", "flashsocket"]}})
    ws_only.register(1)
    connect_user(make_client, ws_only, 1, ["websocket"])
    polling = make_client(ws_only.client, ["polling"], connect=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        polling.connect(ws_only.client, ["polling"], timeout=5)
    assert ws_only.running


def test_cross_origin_polling_allowed_by_default(app: Pushinator):
    reply = requests.get(app.client + "/socket.io/?EIO=4&transport=polling",
                         headers={"Origin": "http://app.example"}, timeout=10)
    assert reply.status_code == 200
    assert reply.headers.get("Access-Control-Allow-Origin") in ("http://app.example", "*"), reply.headers


def test_client_cors_restricts_origins(start_pushinator):
    restricted = start_pushinator({"client": {"cors": ["http://app.example"]}})
    url = restricted.client + "/socket.io/?EIO=4&transport=polling"
    good = requests.get(url, headers={"Origin": "http://app.example"}, timeout=10)
    assert good.status_code == 200
    assert good.headers.get("Access-Control-Allow-Origin") == "http://app.example"
    bad = requests.get(url, headers={"Origin": "http://evil.example"}, timeout=10)
    # refused outright, or answered without letting the browser read it
    assert bad.status_code in (400, 403) or bad.headers.get("Access-Control-Allow-Origin") in (
        None,
        "http://app.example",
    ), (bad.status_code, bad.headers)


# ---------------------------------------------------------------------------------------------------------------------
# TLS on the client port
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )
    return key, cert


def test_tls_client_port(start_pushinator, certificate, transport):
    """Over https/wss with python-socketio's asyncio client: the threaded client's read and write threads use
    one SSL socket at once, which OpenSSL does not allow, and under load it drops its own connection."""
    import asyncio
    import ssl

    import aiohttp
    import socketio

    key, cert = certificate
    tls = start_pushinator({"client": {"useSSL": True, "sslKey": str(key), "sslCert": str(cert)}})
    assert tls.client.startswith("https://"), tls.client
    assert tls.admin.startswith("http://"), tls.admin
    tls.register(5)

    async def scenario() -> tuple:
        context = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context), trust_env=False) as http:
            client = socketio.AsyncClient(reconnection=False, http_session=http)
            message: asyncio.Future = asyncio.get_running_loop().create_future()
            client.on("message", lambda data, *_: message.done() or message.set_result(data))  # *_: the offset
            await client.connect(tls.client, transports=TRANSPORTS[transport], wait_timeout=10)
            try:
                answer = await client.call("auth", (5, HASH), timeout=5)
                delivered = (await asyncio.to_thread(tls.send, 5, {"over": "tls"})).json["delivered"]
                return answer, delivered, await asyncio.wait_for(message, 5)
            finally:
                await client.disconnect()

    answer, delivered, message = asyncio.run(scenario())
    assert answer == {"ok": True, "queued": 0}
    assert delivered == 1
    assert json.loads(message) == {"over": "tls"}


def test_tls_certificate_is_the_configured_one(start_pushinator, certificate):
    key, cert = certificate
    tls = start_pushinator({"client": {"useSSL": True, "sslKey": str(key), "sslCert": str(cert)}})
    reply = requests.get(tls.client + "/socket.io/?EIO=4&transport=polling", verify=str(cert), timeout=10)
    assert reply.status_code == 200 and reply.text.startswith("0{"), reply.text


def test_tls_without_key_is_a_config_error(tmp_path, certificate):
    from pushinator_support import require_binary, write_config

    _, cert = certificate
    config = write_config(tmp_path, {"client": {"useSSL": True, "sslCert": str(cert), "sslKey": ""}})
    done = subprocess.run([str(require_binary()), "-c", str(config), "--admin-port", "0", "--client-port", "0"],
                          capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 6, done  # a configuration error (operations.md)
    assert "sslKey" in done.stderr or "sslKey" in done.stdout, done


# ---------------------------------------------------------------------------------------------------------------------
# The official JS client (socket.io 4.8.1) in Chromium, page on another origin
# ---------------------------------------------------------------------------------------------------------------------

SOCKET_IO_JS = Path(os.environ.get("SOCKET_IO_JS", str(CACHE / "socket.io.min.js")))


@pytest.fixture(scope="module")
def chromium_page():
    if SOCKET_IO_JS.is_file():
        head = SOCKET_IO_JS.read_text(errors="replace")[:200]
        assert re.search(r"Socket\.IO v4\.8\.", head), head
    yield from chromium_with_pages(SOCKET_IO_JS)


@pytest.mark.parametrize("transports", ['["polling"]', '["polling", "websocket"]', '["websocket"]'],
                         ids=["polling", "default", "websocket"])
def test_official_js_client_from_another_origin(app: Pushinator, chromium_page, transports):
    browser, pages = chromium_page
    assert pages.url != app.client
    browser.open(pages.url + "/index.html")
    user = new_user()
    app.register(user)
    ack = browser.evaluate(
        browser_connect_and_auth(app.client, user, f"{{ reconnection: false, transports: {transports} }}"), timeout=20
    )
    assert ack == {"ok": True, "queued": 0}
    assert app.send(user, {"text": "hello browser", "n": [1, 2]}).json["delivered"] == 1
    result = browser.evaluate(
        """__within(5000, "message", (ok) => {
  const poll = () => window.__messages.length ? ok(window.__messages) : setTimeout(poll, 20);
  poll();
}).then((ms) => ({ raw: ms[0], type: typeof ms[0], parsed: JSON.parse(ms[0]), origin: location.origin }))""",
        timeout=15,
    )
    assert result["type"] == "string"
    assert result["parsed"] == {"text": "hello browser", "n": [1, 2]}
    assert result["origin"] == pages.url
    browser.evaluate("window.__closeAll(); true", timeout=5)


def test_browser_page_cannot_call_the_admin_api(app: Pushinator, chromium_page):
    browser, pages = chromium_page
    browser.open(pages.url + "/index.html")
    user = new_user()
    status = browser.evaluate(
        f"""fetch({json.dumps(app.admin + "/user/register")}, {{
  method: "POST", mode: "no-cors", headers: {{ "Content-Type": "text/plain" }},
  body: JSON.stringify({{ userId: {user}, hash: "forged" }})
}}).then(() => "sent", (e) => "failed: " + e.message)""",
        timeout=15,
    )
    # the request reached the admin API (a no-cors fetch fails only when nothing answered) and was refused there
    # (the admin API reads JSON bodies whatever their Content-Type: without the Origin check this registers the user)
    assert status == "sent", status
    assert str(user) not in app.post("/user/list", {}).json["users"], "a cross-origin page registered a user"


# ---------------------------------------------------------------------------------------------------------------------
# Examples/Pushinator: run.sh and client.html
# ---------------------------------------------------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[2] / "Examples" / "Pushinator"


def test_example_run_sh_and_client_html(app: Pushinator, chromium_page, tmp_path):
    import http.server
    import shutil
    import socketserver

    browser, _ = chromium_page
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(EXAMPLES / "client.html", site / "client.html")
    shutil.copy(SOCKET_IO_JS, site / "socket.io.min.js")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    httpd = Server(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        user = new_user()
        app.register(user, "example-hash")
        page = f"http://127.0.0.1:{httpd.server_address[1]}/client.html?server={app.client}&user={user}&hash=example-hash"
        browser.send("Page.navigate", {"url": page})
        status = lambda: browser.evaluate("document.getElementById('status') && document.getElementById('status').textContent", timeout=5)  # noqa: E731
        wait_until(lambda: (status() or "").startswith("authenticated"), timeout=15, what=f"client.html to authenticate ({browser.console[-5:]})")
        done = subprocess.run(
            ["bash", str(EXAMPLES / "run.sh")],
            env={**os.environ, "ADMIN": app.admin, "USER_ID": str(user), "HASH": "example-hash"},
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done
        assert done.stdout.count('"result":"OK"') == 2, done.stdout
        assert '"delivered":1' in done.stdout, done.stdout
        items = lambda: browser.evaluate("[...document.querySelectorAll('#messages li')].map(li => li.textContent)", timeout=5)  # noqa: E731
        shown = wait_until(items, timeout=10, what="the message in client.html")
        assert '{"text":"Hey there!"}' in shown[0], shown
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
        try:
            browser.evaluate("location.href = 'about:blank'; true", timeout=5)
        except BrowserError:
            pass


# ---------------------------------------------------------------------------------------------------------------------
# Issue 14: hash rotation revokes, the throttle is per (address, userId), lengths are bounded, logs are safe
# ---------------------------------------------------------------------------------------------------------------------

NEW_HASH = "b" * len(HASH)


def test_hash_rotation_disconnects_sockets_of_the_old_hash(app: Pushinator, make_client, transport):
    user = new_user()
    app.register(user)
    tabs = [connect_user(make_client, app, user, TRANSPORTS[transport]) for _ in range(2)]
    app.register(user, HASH)  # the same hash again: nothing changes
    assert app.send(user, "still here").json["delivered"] == 2
    app.register(user, NEW_HASH)
    for tab in tabs:
        tab.rec.wait("disconnect", timeout=5)
    assert app.send(user, "revoked").json["delivered"] == 0
    stale = make_client(app.client, TRANSPORTS[transport])
    assert auth(stale, user, HASH) == {"ok": False, "error": "Unknown user or wrong hash"}
    # re-auth with the new hash: "revoked" waited in the offline queue for the user and comes first
    fresh = connect_user(make_client, app, user, TRANSPORTS[transport], hash_=NEW_HASH, queued=1)
    assert app.send(user, {"n": 1}).json["delivered"] == 1
    assert fresh.rec.wait("message", count=2)[0] == '{"n":1}'
    assert fresh.rec.all("message")[0][0] == '"revoked"'


def test_the_throttle_locks_out_one_user_not_the_address(start_pushinator, make_client):
    app = start_pushinator()
    victim, other = 5151, 5152
    app.register(victim)
    app.register(other)
    wrong = HASH[::-1]
    for _ in range(20):
        client = make_client(app.client, TRANSPORTS["websocket"])
        assert auth(client, victim, wrong) == {"ok": False, "error": "Unknown user or wrong hash"}
        client.rec.wait("disconnect", timeout=5)
        client.close()
    blocked = make_client(app.client, TRANSPORTS["websocket"])
    assert auth(blocked, victim, HASH) == {"ok": False, "error": "Too many failed attempts, try again later"}
    # the same address (127.0.0.1, as everyone behind a proxy) still serves the other user
    connect_user(make_client, app, other, TRANSPORTS["websocket"])
    assert app.send(other, "hi").json["delivered"] == 1


def test_overlong_user_ids_and_hashes_are_refused(app: Pushinator, make_client):
    long_id = "u" * 257
    reply = app.post("/user/register", {"userId": long_id, "hash": HASH})
    reply.assert_error(400, "userId longer than 256 bytes")
    app.post("/user/register", {"userId": "short", "hash": "h" * 257}).assert_error(400, "hash longer than 256 bytes")
    assert long_id not in app.post("/user/list", {}).json["users"]
    client = make_client(app.client, TRANSPORTS["websocket"])
    assert auth(client, "x" * 900_000, HASH) == {"ok": False, "error": "userId or hash too long"}
    client.rec.wait("disconnect", timeout=5)
    app.assert_serving()


def test_client_values_cannot_forge_log_lines(start_pushinator, make_client, tmp_path):
    log_file = tmp_path / "pushinator.log"
    app = start_pushinator({"log": {"file": str(log_file)}})
    forged = "x\r\n2026-01-01T00:00:00+0000 info pushinator: auth accepted push.user=admin \x1b[2J"
    client = make_client(app.client, TRANSPORTS["websocket"])
    assert auth(client, forged, HASH) == {"ok": False, "error": "Unknown user or wrong hash"}
    client.rec.wait("disconnect", timeout=5)
    wait_until(lambda: "auth refused" in log_file.read_text(), what="the refusal in the log file")
    wait_until(lambda: "auth refused" in app.stdout(), what="the refusal on stdout")
    for text in (log_file.read_text(), app.stdout()):
        refused = [line for line in text.splitlines() if "auth refused" in line]
        assert len(refused) == 1, refused
        # escaped (the file's quoted values escape the backslash once more)
        assert re.search(r"x\\+r\\+n2026-01-01T00:00:00", refused[0]) and re.search(r"\\+x1B\[2J", refused[0]), refused[0]
        assert not any(line.startswith("2026-01-01T00:00:00") for line in text.splitlines()), text
        assert "\x1b" not in text and "\r" not in text
