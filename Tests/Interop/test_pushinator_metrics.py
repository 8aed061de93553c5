"""Prometheus `/metrics` on the admin listener (issue 16 item 3): scraped after known traffic and parsed with
prometheus_client's exposition-format parser; the counts must be the traffic's."""

from __future__ import annotations

import json

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import TRANSPORTS, decode_polling_payload
from pushinator_support import (
    HASH,
    auth,
    connect_user,
    requires_app,
    start_pushinator,  # noqa: F401 (fixture)
    wait_until,
)

pytestmark = requires_app


def scrape(app) -> dict[tuple[str, tuple], float]:
    reply = app.request("GET", "/metrics")
    assert reply.status == 200, reply
    samples: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_count_known_traffic(start_pushinator, make_client):
    app = start_pushinator()
    for user in (1, 2):
        app.register(user)
    tabs = [
        connect_user(make_client, app, 1, TRANSPORTS["websocket"]),
        connect_user(make_client, app, 1, TRANSPORTS["polling"]),
        connect_user(make_client, app, 2, TRANSPORTS["websocket"]),
    ]
    wrong = make_client(app.client, TRANSPORTS["websocket"])
    assert auth(wrong, 2, HASH[::-1])["ok"] is False
    wrong.rec.wait("disconnect", timeout=5)
    assert app.send(1, "a").json["delivered"] == 2
    assert app.send(2, "b").json["delivered"] == 1
    assert app.post("/broadcast", {"message": "c"}).json["delivered"] == 3
    for tab in tabs:
        tab.rec.wait("message", count=2)  # user 1: a and c; user 2: b and c
    app.post("/user/send", {}).assert_error(400)

    m = scrape(app)
    assert m[("pushinator_auth_total", (("result", "accepted"),))] == 3
    assert m[("pushinator_auth_total", (("result", "refused"),))] == 1
    assert m[("pushinator_auth_total", (("result", "throttled"),))] == 0
    assert m[("pushinator_messages_sent_total", ())] == 3  # per send, not per recipient
    assert m[("pushinator_messages_delivered_total", ())] == 6
    assert m[("pushinator_connections", ())] == 3
    assert m[("pushinator_users_registered", ())] == 2
    assert m[("pushinator_users_authenticated", ())] == 2
    assert m[("pushinator_admin_requests_total", (("route", "/user/send"), ("status", "200")))] == 2
    assert m[("pushinator_admin_requests_total", (("route", "/user/send"), ("status", "400")))] == 1
    assert m[("pushinator_admin_requests_total", (("route", "/broadcast"), ("status", "200")))] == 1
    assert m[("pushinator_admin_request_duration_seconds_count", (("route", "/user/send"),))] == 3
    assert m[("pushinator_resident_memory_bytes", ())] > 1_000_000
    assert 0 < m[("pushinator_open_fds", ())] <= m[("pushinator_max_fds", ())]
    assert m[("pushinator_uptime_seconds", ())] >= 0
    # a path nobody routes is counted as `other`, so clients cannot grow the label set
    app.request("GET", "/no/such/path")
    assert scrape(app)[("pushinator_admin_requests_total", (("route", "other"), ("status", "404")))] == 1


def test_metrics_need_the_admin_token(start_pushinator):
    app = start_pushinator({"admin": {"token": "t0ken"}})
    assert app.request("GET", "/metrics").status == 401
    reply = app.request("GET", "/metrics", headers={"Authorization": "Bearer t0ken"})
    assert reply.status == 200 and "pushinator_connections" in reply.text


def test_metrics_count_transports_upgrades_queue_and_lag(start_pushinator, make_client):
    app = start_pushinator()
    for user in (1, 2, 3):
        app.register(user)
    connect_user(make_client, app, 1, TRANSPORTS["websocket"])
    connect_user(make_client, app, 1, TRANSPORTS["polling"])
    upgraded = connect_user(make_client, app, 2, TRANSPORTS["default"])  # polling, then the upgrade
    wait_until(lambda: upgraded.sio.transport() == "websocket", timeout=10, what="the client's upgrade")
    assert app.send(3, "for later").json["queued"] == 1  # user 3 has no connection: queued
    assert app.send(3, "x" * 100).json["queued"] == 1

    m = scrape(app)
    assert m[("pushinator_transport_connections", (("transport", "polling"),))] == 1
    assert m[("pushinator_transport_connections", (("transport", "websocket"),))] == 2
    assert m[("pushinator_upgrades_total", ())] == 1
    assert m[("pushinator_offline_queue_messages", ())] == 2
    assert m[("pushinator_offline_queue_bytes", ())] >= len('"for later"') + 100
    assert m[("pushinator_offline_queue_lost_total", (("reason", "limit"),))] == 0
    assert m[("pushinator_slow_consumers_total", (("action", "disconnect"),))] == 0
    assert m[("pushinator_slow_consumers_total", (("action", "drop"),))] == 0
    # the probe runs every second on each loop
    lag = wait_until(lambda: scrape(app)[("pushinator_event_loop_lag_seconds", ())] or None, timeout=5,
                     what="a first event-loop lag probe")
    assert 0 < lag < 30, lag  # seconds, not a raw nanosecond count
    assert m[("pushinator_log_warnings_total", ())] >= 0  # counted; test_pushinator_status checks one


def test_metrics_count_a_slow_polling_consumer(start_pushinator):
    """A polling client that authenticates and then stops polling: its queue passes client.maxBufferedBytes, the
    server closes it as a slow consumer, and the counter says so."""
    app = start_pushinator({"client": {"maxBufferedBytes": 65536}})
    app.register(7)
    base = app.client + "/socket.io/?EIO=4&transport=polling"
    sid = json.loads(requests.get(base, timeout=5).text[1:])["sid"]
    session = f"{base}&sid={sid}"
    assert requests.post(session, data="40", timeout=5).text == "ok"
    assert requests.get(session, timeout=5).text.startswith("40")
    assert requests.post(session, data=f'420["auth",7,"{HASH}"]', timeout=5).text == "ok"
    assert '"ok":true' in requests.get(session, timeout=5).text
    # no more polls: three 30 kB messages overflow the 64 KiB queue
    for _ in range(3):
        assert app.send(7, "y" * 30000).status == 200
    wait_until(lambda: scrape(app)[("pushinator_slow_consumers_total", (("action", "disconnect"),))] == 1,
               timeout=5, what="the slow consumer counted")
    m = scrape(app)
    assert m[("pushinator_connections", ())] == 0
    assert m[("pushinator_transport_connections", (("transport", "polling"),))] == 0


def test_metrics_count_connection_state_recovery(start_pushinator):
    """A polling client that closes its transport (recoverable) while a message is sent to its user, comes back with
    its pid and is recovered; a client with an unknown pid gets a fresh session: the recovery gauges and counters
    say so (the same figures as /stats `recovery`)."""
    app = start_pushinator()
    app.register(8)
    base = app.client + "/socket.io/?EIO=4&transport=polling"

    def open_session(connect: str) -> tuple[str, list[str]]:
        sid = json.loads(requests.get(base, timeout=5).text[1:])["sid"]
        assert requests.post(f"{base}&sid={sid}", data=connect, timeout=5).text == "ok"
        return sid, decode_polling_payload(requests.get(f"{base}&sid={sid}", timeout=5).text)

    sid, packets = open_session("40")
    pid = json.loads(packets[0][2:])["pid"]
    session = f"{base}&sid={sid}"
    assert requests.post(session, data=f'420["auth",8,"{HASH}"]', timeout=5).text == "ok"
    assert '"ok":true' in requests.get(session, timeout=5).text
    assert requests.post(session, data="1", timeout=5).text == "ok"  # the transport closes: the session is kept
    wait_until(lambda: scrape(app)[("pushinator_recovery_sessions", ())] == 1, what="the session kept")
    assert app.send(8, "while away").json["queued"] == 1

    m = scrape(app)
    assert m[("pushinator_recovery_buffered_messages", ())] == 1
    assert m[("pushinator_recovery_buffered_bytes", ())] > len("while away")
    assert m[("pushinator_recovery_connects_total", (("outcome", "recovered"),))] == 0

    _, packets = open_session("40" + json.dumps({"pid": pid}))  # no offset: everything kept for it
    assert '"pid"' in packets[0] and any("while away" in packet for packet in packets), packets  # the replay
    _, packets = open_session('40{"pid":"no-such-session"}')
    assert packets[0].startswith("40{"), packets  # a fresh session

    m = scrape(app)
    assert m[("pushinator_recovery_connects_total", (("outcome", "recovered"),))] == 1
    assert m[("pushinator_recovery_connects_total", (("outcome", "refused"),))] == 1
    assert m[("pushinator_recovery_sessions", ())] == 0  # taken back
    assert m[("pushinator_recovery_lost_total", (("reason", "limit"),))] == 0
    assert m[("pushinator_recovery_lost_total", (("reason", "expired"),))] == 0
    stats = app.post("/stats", {}).json["recovery"]
    assert (stats["recovered"], stats["refused"], stats["sessions"]) == (1, 1, 0), stats


def test_metrics_turned_off_answer_404_and_the_rest_still_counts(start_pushinator):
    """`admin.metrics: false` (the switch for measuring what the metrics cost): `/metrics` is a 404 with a JSON
    error, the admin API and the status page's totals work as before."""
    app = start_pushinator({"admin": {"metrics": False}})
    app.request("GET", "/metrics").assert_error(404, "Metrics are disabled (admin.metrics is false)")
    app.register(1)
    assert app.send(1, "a").json["queued"] == 1
    assert app.request("GET", "/status").json["values"]["sentTotal"] == 1
    assert "unknown configuration key" not in app.logs()
