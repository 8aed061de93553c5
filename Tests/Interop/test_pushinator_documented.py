"""What the pushinator docs promise and no other test showed (issue 17): the auth throttle end to end
(client-guide.md, differences-from-node-pushinator.md), and a SIGHUP reload applying `admin.token`,
`admin.allowedOrigins`, `client.messageEncoding` and `users.idleTimeout` at once, with its warning
(operations.md)."""

from __future__ import annotations

import json
import os
import signal

from conftest import TRANSPORTS
from pushinator_support import (
    HASH,
    auth,
    connect_user,
    requires_app,
    start_pushinator,  # noqa: F401 (fixture)
    wait_until,
    write_config,
)

pytestmark = requires_app

THROTTLE_LIMIT = 20  # failed attempts per minute (client-guide.md)
THROTTLED = "Too many failed attempts, try again later"


def test_failed_auths_are_throttled_after_20(start_pushinator, make_client):
    app = start_pushinator()  # its own app: the throttle's memory must not reach other tests
    user = 4242
    app.register(user)
    for _ in range(2):  # successes are not failures
        connect_user(make_client, app, user, TRANSPORTS["websocket"]).close()
    wrong = HASH[::-1]  # as long as the right one: only the comparison tells them apart
    for attempt in range(1, THROTTLE_LIMIT + 1):
        client = make_client(app.client, TRANSPORTS["websocket"])
        answer = auth(client, user, wrong)
        assert answer == {"ok": False, "error": "Unknown user or wrong hash"}, (attempt, answer)
        client.rec.wait("disconnect", timeout=5)
        client.close()
    # the 21st attempt within the minute is refused before the hash is looked at: even the right hash
    blocked = make_client(app.client, TRANSPORTS["websocket"])
    assert auth(blocked, user, HASH) == {"ok": False, "error": THROTTLED}
    blocked.rec.wait("disconnect", timeout=5)
    assert app.send(user, "to nobody").json["delivered"] == 0
    app.assert_serving()


def test_reload_applies_token_origins_encoding_and_idle_timeout_at_once(start_pushinator, make_client):
    app = start_pushinator()
    config = app.config
    assert isinstance(config, os.PathLike)
    app.register(7)
    client = connect_user(make_client, app, 7, TRANSPORTS["websocket"])
    origin = "http://backend.example"
    assert app.post("/ping", {}, headers={"Origin": origin}).status == 403  # no allowed origins yet
    app.send(7, {"n": 1})
    assert client.rec.wait("message")[0] == '{"n":1}'  # json-string encoding

    write_config(
        config.parent,
        {
            "admin": {"token": "fresh-token", "allowedOrigins": [origin]},
            "client": {"messageEncoding": "raw", "host": "127.0.0.1"},  # the host needs a restart: a warning
            "users": {"idleTimeout": 1},
        },
        name=config.name,
    )
    os.kill(app.pid, signal.SIGHUP)
    wait_until(lambda: "configuration reloaded" in app.stdout(), timeout=10, what="the reload in the log")
    assert "reload: client.host changes only on restart; still using the running value" in app.stdout(), app.stdout()

    bearer = {"Authorization": "Bearer fresh-token"}
    assert app.post("/ping", {}).status == 401  # admin.token
    assert app.post("/ping", {}, headers={**bearer, "Origin": origin}).status == 200  # admin.allowedOrigins
    assert app.post("/ping", {}, headers={**bearer, "Origin": "http://other.example"}).status == 403
    reply = app.post("/user/send", {"userId": 7, "message": {"n": 2}}, headers=bearer)
    assert reply.status == 200 and reply.json["delivered"] == 1, reply  # the client stayed authenticated
    assert client.rec.wait("message", count=2)[0] == {"n": 2}  # client.messageEncoding: raw
    assert not client.rec.all("disconnect")
    # users.idleTimeout: a user without connections is forgotten (sweeps every 5 s), the connected one is kept
    assert app.post("/user/register", {"userId": 8, "hash": HASH}, headers=bearer).status == 200
    wait_until(
        lambda: app.post("/user/list", {}, headers=bearer).json["users"] == ["7"],
        timeout=15, interval=0.25, what="the idle user 8 to expire after the reload",
    )
    assert json.loads(app.post("/user/list", {}, headers=bearer).text)["users"] == ["7"]
