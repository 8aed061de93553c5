"""The admin HTTP API of the bundled app `pushinator`, end to end against the built binary (see issue 4).

Every route is a POST whose body is parsed as JSON whatever its Content-Type; every answer is a JSON object whose
last key is `"status"`. The server must keep serving after each bad input.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from pushinator_support import (
    HASH,
    Pushinator,
    app,  # noqa: F401 (fixture)
    connect_user,
    message_barrier,
    new_user,
    pushinator_app,  # noqa: F401 (fixture)
    refused_auth_barrier,
    requires_app,
    start_pushinator,  # noqa: F401 (fixture)
)

pytestmark = requires_app


def curl(*args: str, timeout: float = 15) -> tuple[int, str]:
    """Run curl; return (HTTP status, body)."""
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"curl failed: {done.stderr}"
    body, _, code = done.stdout.rpartition("\n")
    return int(code), body


# ---------------------------------------------------------------------------------------------------------------------
# The README's calls, with curl (form-encoded bodies)
# ---------------------------------------------------------------------------------------------------------------------


def test_readme_register_with_curl(app: Pushinator):
    status, body = curl("-d", '{"userId":5,"hash":"xxx1234"}', app.admin + "/user/register")
    assert status == 200
    assert json.loads(body, object_pairs_hook=lambda p: p) == [("result", "OK"), ("status", 200)], body


def test_readme_send_with_curl(app: Pushinator):
    curl("-d", '{"userId":5,"hash":"xxx1234"}', app.admin + "/user/register")
    status, body = curl("-d", '{"userId":5,"message":{"text":"hi"}}', app.admin + "/user/send")
    assert status == 200, body
    reply = json.loads(body, object_pairs_hook=lambda p: p)
    assert dict(reply)["result"] == "OK", body
    assert reply[-1] == ("status", 200), body


def test_curl_form_encoded_body_is_read_as_json(app: Pushinator):
    # curl -d sends Content-Type: application/x-www-form-urlencoded; the body is still JSON
    user = new_user()
    status, body = curl(
        "-H", "Content-Type: application/x-www-form-urlencoded",
        "--data-binary", json.dumps({"userId": user, "hash": HASH}),
        app.admin + "/user/register",
    )
    assert status == 200, body
    assert str(user) in app.post("/user/list", {}).json["users"]


def test_curl_get_on_a_post_route_is_405(app: Pushinator):
    status, body = curl(app.admin + "/user/list")
    assert status == 405
    assert json.loads(body, object_pairs_hook=lambda p: p) == [("error", "Method Not Allowed"), ("status", 405)]


# ---------------------------------------------------------------------------------------------------------------------
# /user/register
# ---------------------------------------------------------------------------------------------------------------------


def test_register_ok(app: Pushinator):
    reply = app.post("/user/register", {"userId": new_user(), "hash": HASH})
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.pairs == [("result", "OK"), ("status", 200)]


def test_register_with_content_type_text(app: Pushinator):
    user = new_user()
    reply = app.post("/user/register", raw=json.dumps({"userId": user, "hash": HASH}),
                     headers={"Content-Type": "text/plain"})
    assert reply.status == 200, reply


@pytest.mark.parametrize(
    "body",
    [{}, {"userId": 5}, {"hash": HASH}, {"user": 5, "hash": HASH}, {"userId": None, "hash": HASH}, {"userId": 5, "hash": None}],
    ids=["empty", "no-hash", "no-user", "misspelt", "null-user", "null-hash"],
)
def test_register_missing_fields_is_400(app: Pushinator, body):
    reply = app.post("/user/register", body)
    reply.assert_error(400, "Missing userId or hash in data")
    assert reply.keys == ["error", "data", "status"], reply.text
    assert reply.json["data"] == body
    app.assert_serving()


def test_user_id_zero_is_a_user(app: Pushinator, make_client):
    reply = app.post("/user/register", {"userId": 0, "hash": "zero-hash"})
    assert reply.status == 200, reply
    assert "0" in app.post("/user/list", {}).json["users"]
    client = connect_user(make_client, app, 0, hash_="zero-hash")
    reply = app.post("/user/send", {"userId": 0, "message": "to zero"})
    assert reply.status == 200 and reply.json["delivered"] == 1, reply
    assert json.loads(client.rec.wait("message")[0]) == "to zero"


def test_number_and_string_user_ids_are_the_same_user(app: Pushinator, make_client):
    user = new_user()
    app.register(user)
    app.register(str(user))  # re-registering the same user
    users = app.post("/user/list", {}).json["users"]
    assert users.count(str(user)) == 1, users
    client = connect_user(make_client, app, str(user))  # auth with the string id, registered as a number
    reply = app.post("/user/send", {"userId": user, "message": {"n": 1}})  # send to the number
    assert reply.json["delivered"] == 1, reply
    assert json.loads(client.rec.wait("message")[0]) == {"n": 1}


def test_register_again_replaces_the_hash(app: Pushinator, make_client):
    user = new_user()
    app.register(user, "old-hash")
    app.register(user, "new-hash")
    client = make_client(app.client, ["websocket"])
    assert client.call("auth", user, "new-hash") == [{"ok": True, "queued": 0}]


# ---------------------------------------------------------------------------------------------------------------------
# /user/send
# ---------------------------------------------------------------------------------------------------------------------


def test_send_to_unknown_or_offline_user_is_ok(app: Pushinator):
    reply = app.post("/user/send", {"userId": "nobody-" + str(new_user()), "message": "x"})
    assert reply.status == 200, reply
    assert reply.json["result"] == "OK"
    assert reply.json["delivered"] == 0
    assert reply.keys[-1] == "status"
    user = new_user()
    app.register(user)
    reply = app.post("/user/send", {"userId": user, "message": "x"})
    assert reply.status == 200 and reply.json["delivered"] == 0, reply


@pytest.mark.parametrize(
    "body",
    [{}, {"userId": 5}, {"message": "hi"}, {"userId": None, "message": "hi"}],
    ids=["empty", "no-message", "no-user", "null-user"],
)
def test_send_missing_fields_is_400(app: Pushinator, body):
    reply = app.post("/user/send", body)
    reply.assert_error(400, "Missing userId or message in data")
    assert reply.keys == ["error", "data", "status"], reply.text
    assert reply.json["data"] == body
    app.assert_serving()


@pytest.mark.parametrize("message", [0, False, "", [], {}], ids=["zero", "false", "empty-string", "empty-array", "empty-object"])
def test_falsy_messages_are_sent(app: Pushinator, make_client, message):
    user = new_user()
    app.register(user)
    client = connect_user(make_client, app, user)
    reply = app.post("/user/send", {"userId": user, "message": message})
    assert reply.status == 200, reply
    assert reply.json["delivered"] == 1
    assert json.loads(client.rec.wait("message")[0]) == message


def test_delivered_counts_connections(app: Pushinator, make_client):
    user = new_user()
    app.register(user)
    clients = [connect_user(make_client, app, user, transports) for transports in (["polling"], ["websocket"], None)]
    reply = app.post("/user/send", {"userId": user, "message": {"text": "all tabs"}})
    assert reply.status == 200
    assert reply.json["delivered"] == 3, reply
    for client in clients:
        assert json.loads(client.rec.wait("message")[0]) == {"text": "all tabs"}


def test_send_to_many_user_ids(app: Pushinator, make_client):
    a, b, offline = new_user(), new_user(), new_user()
    for user in (a, b, offline):
        app.register(user)
    ca = connect_user(make_client, app, a)
    cb1 = connect_user(make_client, app, b, ["websocket"])
    cb2 = connect_user(make_client, app, b, ["polling"])
    reply = app.post("/user/send", {"userIds": [a, str(b), offline, "unknown-user"], "message": "many"})
    assert reply.status == 200, reply
    assert reply.json["result"] == "OK"
    assert reply.json["delivered"] == 3, reply
    assert reply.keys[-1] == "status"
    for client in (ca, cb1, cb2):
        assert json.loads(client.rec.wait("message")[0]) == "many"


# ---------------------------------------------------------------------------------------------------------------------
# /user/list, /ping, /stats, /health
# ---------------------------------------------------------------------------------------------------------------------


def test_list_users(app: Pushinator):
    user = new_user()
    app.register(user)
    reply = app.post("/user/list", {})
    assert reply.status == 200
    assert reply.keys == ["result", "users", "status"], reply.text
    assert reply.json["result"] == "OK"
    assert all(isinstance(u, str) for u in reply.json["users"]), reply.text
    assert str(user) in reply.json["users"]


def test_list_without_body(app: Pushinator):
    # node pushinator did not read the body of /user/list
    reply = app.post("/user/list")
    assert reply.status == 200, reply
    assert reply.json["result"] == "OK"


def test_ping(app: Pushinator):
    reply = app.post("/ping", {})
    assert reply.status == 200
    assert reply.pairs == [("result", "pong"), ("status", 200)]


def _proc_status_bytes(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024  # kB
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def test_stats_reports_memory(app: Pushinator):
    before = _proc_status_bytes(app.pid, "VmRSS")
    reply = app.post("/stats", {})
    after = _proc_status_bytes(app.pid, "VmRSS")
    assert reply.status == 200, reply
    assert reply.keys == [
        "result", "memory", "users", "offlineQueue", "recovery", "connections", "pendingAcks", "uptime", "status"
    ], reply
    assert list(reply.json["offlineQueue"]) == ["messages", "bytes", "dropped", "expired"], reply
    assert list(reply.json["recovery"]) == ["sessions", "messages", "bytes", "dropped", "expired", "recovered", "refused"], reply
    assert all(isinstance(v, int) and v >= 0 for v in reply.json["recovery"].values()), reply
    memory = reply.json["memory"]
    assert list(memory) == ["rss", "peakRss", "virtual"], reply
    # the process's own figures (admin-api.md: bytes, from /proc/self/status), read around the request
    assert min(before, after) // 2 <= memory["rss"] <= max(before, after) * 2, (before, after, reply)
    assert memory["rss"] <= memory["peakRss"] <= _proc_status_bytes(app.pid, "VmHWM"), reply
    assert memory["rss"] < memory["virtual"], reply
    assert reply.json["users"] == len(app.post("/user/list", {}).json["users"]), reply
    assert isinstance(reply.json["uptime"], int) and reply.json["uptime"] >= 0, reply


def test_health_is_get(app: Pushinator):
    reply = app.request("GET", "/health")
    assert reply.status == 200, reply


# ---------------------------------------------------------------------------------------------------------------------
# /user/unregister and /broadcast
# ---------------------------------------------------------------------------------------------------------------------


def test_unregister_removes_the_user_and_disconnects_its_sockets(app: Pushinator, make_client):
    user, other = new_user(), new_user()
    app.register(user)
    app.register(other)
    gone = connect_user(make_client, app, user, ["websocket"])
    stays = connect_user(make_client, app, other, ["websocket"])
    reply = app.post("/user/unregister", {"userId": str(user)})
    assert reply.status == 200, reply
    assert reply.json["result"] == "OK" and reply.keys[-1] == "status"
    gone.rec.wait("disconnect", timeout=5)
    assert str(user) not in app.post("/user/list", {}).json["users"]
    assert app.post("/user/send", {"userId": user, "message": "late"}).json["delivered"] == 0
    # the hash no longer works
    late = make_client(app.client, ["websocket"])
    answer = late.call("auth", user, HASH)
    assert answer and answer[0].get("ok") is False, answer
    # other users are untouched
    assert app.post("/user/send", {"userId": other, "message": "still"}).json["delivered"] == 1
    assert json.loads(stays.rec.wait("message")[0]) == "still"


def test_unregister_missing_user_id_is_400(app: Pushinator):
    reply = app.post("/user/unregister", {})
    reply.assert_error(400)
    app.assert_serving()


def test_broadcast_reaches_every_authenticated_client(app: Pushinator, make_client):
    a, b = new_user(), new_user()
    app.register(a)
    app.register(b)
    ca = connect_user(make_client, app, a, ["polling"])
    cb = connect_user(make_client, app, b, ["websocket"])
    anonymous = make_client(app.client, ["websocket"])
    reply = app.post("/broadcast", {"message": {"all": True}})
    assert reply.status == 200, reply
    assert reply.json["result"] == "OK" and reply.keys[-1] == "status"
    assert reply.json["delivered"] >= 2, reply  # other tests' clients may still be connected
    for client in (ca, cb):
        assert json.loads(client.rec.wait("message")[0]) == {"all": True}
    anonymous.rec.assert_none("message", barrier=refused_auth_barrier(anonymous))


def test_broadcast_without_message_is_400(app: Pushinator):
    reply = app.post("/broadcast", {})
    reply.assert_error(400)
    app.assert_serving()


# ---------------------------------------------------------------------------------------------------------------------
# Errors: 404, 405, bad bodies
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/user", "/user/registerx", "/user/register/extra"])
def test_unknown_path_is_404(app: Pushinator, path):
    reply = app.post(path, {"userId": 1, "hash": "h"})
    reply.assert_error(404, "Not Found")
    assert reply.pairs == [("error", "Not Found"), ("status", 404)]
    app.assert_serving()


@pytest.mark.parametrize("path", ["/", "/status"])
def test_post_to_the_status_page_is_405(app: Pushinator, path):
    # `/` was a 404 in node pushinator; it is now the status page (GET), so other methods are 405 like on every route
    reply = app.post(path, {"userId": 1, "hash": "h"})
    reply.assert_error(405, "Method Not Allowed")
    assert reply.pairs == [("error", "Method Not Allowed"), ("status", 405)]
    app.assert_serving()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/user/register", "/user/send", "/user/list", "/ping", "/stats"])
def test_other_methods_on_post_routes_are_405(app: Pushinator, method, path):
    reply = app.request(method, path)
    reply.assert_error(405, "Method Not Allowed")
    assert reply.pairs == [("error", "Method Not Allowed"), ("status", 405)]
    app.assert_serving()


@pytest.mark.parametrize(
    "raw",
    ["", "{", "userId=5&hash=abc", "{'userId': 5}", '{"userId": 5,}', "\x00\xff", '{"userId":5,"hash":"x"} trailing'],
    ids=["empty", "truncated", "form", "single-quotes", "trailing-comma", "binary", "trailing-garbage"],
)
@pytest.mark.parametrize("path", ["/user/register", "/user/send"])
def test_bad_json_is_400(app: Pushinator, path, raw):
    reply = app.post(path, raw=raw.encode("latin-1"))
    reply.assert_error(400, prefix="Not A JSON Body")
    app.assert_serving()


@pytest.mark.parametrize("raw", ["null", "[]", "[1,2]", '"text"', "5", "true"])
@pytest.mark.parametrize("path", ["/user/register", "/user/send", "/user/unregister", "/broadcast"])
def test_json_that_is_not_an_object_is_400(app: Pushinator, path, raw):
    reply = app.post(path, raw=raw)
    reply.assert_error(400)
    app.assert_serving()


def test_bad_utf8_is_400(app: Pushinator):
    reply = app.post("/user/send", raw=b'{"userId":1,"message":"\xc3\x28"}')
    reply.assert_error(400, prefix="Not A JSON Body")
    app.assert_serving()


MAX_BODY = 2 << 20  # admin-api.md: bodies larger than 2 MiB are refused with 413


def _raw_admin(app: Pushinator, head: str, body: bytes = b"", timeout: float = 20) -> tuple[int, dict, bytes]:
    """One request on its own connection (`Connection: close`); returns the status, headers and body answered."""
    url = urlsplit(app.admin)
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        try:
            sock.sendall(head.encode() + b"Host: x\r\nConnection: close\r\n\r\n" + body)
        except OSError:
            pass  # the server answered and closed before it read the whole body
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    assert data, f"no answer within {timeout} s"
    head_bytes, _, rest = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, rest


def _register_body(user: int, size: int) -> bytes:
    body = json.dumps({"userId": user, "hash": HASH}).encode()
    return body + b" " * (size - len(body))  # JSON allows trailing whitespace


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_body_of_2_mib_is_accepted_and_one_byte_more_is_413(app: Pushinator, framing):
    def post(body: bytes) -> tuple[int, dict, bytes]:
        if framing == "content-length":
            return _raw_admin(app, f"POST /user/register HTTP/1.1\r\nContent-Length: {len(body)}\r\n", body)
        half = len(body) // 2  # two chunks, so the limit is crossed by the body, not announced
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:])) + b"0\r\n\r\n"
        return _raw_admin(app, "POST /user/register HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", chunks)

    fits, over = new_user(), new_user()
    status, _, text = post(_register_body(fits, MAX_BODY))
    assert status == 200, (status, text[:200])
    status, headers, text = post(_register_body(over, MAX_BODY + 1))
    assert status == 413, (status, text[:200])
    assert headers.get("content-type", "").startswith("application/json"), headers
    assert json.loads(text)["status"] == 413, text
    users = app.post("/user/list", {}).json["users"]
    assert str(fits) in users and str(over) not in users, users
    app.assert_serving()


@pytest.mark.parametrize("length", [MAX_BODY + 1, 4 << 20], ids=["one-byte-over", "4-mib"])
def test_body_announced_over_2_mib_is_413_before_it_is_sent(app: Pushinator, length):
    # the head alone: the 413 must come without the body (the server does not wait for it)
    status, _, text = _raw_admin(app, f"POST /user/send HTTP/1.1\r\nContent-Length: {length}\r\n", timeout=10)
    assert status == 413, (status, text[:200])
    app.assert_serving()


# ---------------------------------------------------------------------------------------------------------------------
# Admin token and Origin checks
# ---------------------------------------------------------------------------------------------------------------------


def test_admin_token(start_pushinator):
    guarded = start_pushinator({"admin": {"token": "s3cret-token"}})
    body = {"userId": 77, "hash": HASH}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"},
                    {"Authorization": "Basic czNjcmV0LXRva2Vu"}):
        reply = guarded.post("/user/register", body, headers=headers)
        assert reply.status == 401, (headers, reply)
        assert guarded.running
    reply = guarded.post("/user/register", body, headers={"Authorization": "Bearer s3cret-token"})
    assert reply.status == 200, reply
    reply = guarded.post("/user/list", {}, headers={"Authorization": "Bearer s3cret-token"})
    assert reply.json["users"] == ["77"], reply
    status, _ = curl("-d", "{}", guarded.admin + "/ping")
    assert status == 401
    status, text = curl("-H", "Authorization: Bearer s3cret-token", "-d", "{}", guarded.admin + "/ping")
    assert status == 200 and json.loads(text)["result"] == "pong"


def test_no_token_configured_means_no_auth_needed(app: Pushinator):
    assert app.post("/ping", {}, headers={"Authorization": "Bearer anything"}).status == 200


def test_foreign_origin_is_refused(app: Pushinator):
    user = new_user()
    reply = app.post("/user/register", {"userId": user, "hash": HASH}, headers={"Origin": "http://evil.example"})
    assert reply.status == 403, reply
    assert reply.json is None or reply.keys[-1] == "status", reply
    assert str(user) not in app.post("/user/list", {}).json["users"]  # nothing happened
    # a browser sending a "simple" form POST (no preflight) is refused too
    status, _ = curl("-H", "Origin: http://evil.example", "-d", '{"userId":1,"message":"x"}', app.admin + "/user/send")
    assert status == 403
    app.assert_serving()


def test_allowed_origin_is_accepted(start_pushinator):
    guarded = start_pushinator({"admin": {"allowedOrigins": ["https://backend.example"]}})
    assert guarded.post("/ping", {}, headers={"Origin": "https://backend.example"}).status == 200
    assert guarded.post("/ping", {}, headers={"Origin": "https://other.example"}).status == 403
    assert guarded.post("/ping", {}).status == 200  # no Origin: a backend, not a browser
