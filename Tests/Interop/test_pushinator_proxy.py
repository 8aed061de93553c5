"""pushinator behind a reverse proxy: `client.trustedProxies` (the client address from X-Forwarded-For only when the
connection comes from a trusted proxy), the auth throttle per (address, user), and the real nginx from Debian with
Templates/deploy/nginx.conf terminating TLS in front of pushinator, with the official JS client in Chromium over
WebSocket and long-polling, and python-socketio through it.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from browser import Chromium, PageServer
from conftest import CACHE, REPO
from pushinator_support import (
    HASH,
    Pushinator,
    auth,
    free_port,
    requires_app,
    start_pushinator,  # noqa: F401 (fixture)
    wait_until,
    write_config,
)

pytestmark = requires_app

DEPLOY = REPO / "Templates" / "deploy"


def connect_from(make_client, url: str, forwarded_for: str | None) -> Any:
    """A python-socketio client whose handshake carries `X-Forwarded-For: forwarded_for`."""
    client = make_client(url, ["websocket"], connect=False)
    client.sio.connect(url, transports=["websocket"], namespaces=["/"], wait_timeout=10,
                       headers={"X-Forwarded-For": forwarded_for} if forwarded_for else {})
    return client


def failed_auth(make_client, url: str, user: int, forwarded_for: str | None) -> Any:
    client = connect_from(make_client, url, forwarded_for)
    answer = client.call("auth", user, "wrong-hash", timeout=5)[0]
    assert answer["ok"] is False, answer
    return answer["error"]


def test_forwarded_for_is_used_only_from_a_trusted_proxy(start_pushinator, make_client):
    trusting = start_pushinator({"client": {"host": "127.0.0.1", "trustedProxies": ["127.0.0.1", "::1"]}})
    failed_auth(make_client, trusting.client, 501, "198.51.100.7")
    wait_until(lambda: "push.address=198.51.100.7" in trusting.stdout(), what="the forwarded address in the log")

    distrusting = start_pushinator({"client": {"host": "127.0.0.1", "trustedProxies": ["10.0.0.0/8"]}})
    failed_auth(make_client, distrusting.client, 501, "198.51.100.7")
    wait_until(lambda: "push.address=127.0.0.1" in distrusting.stdout(), what="the peer's address in the log")
    assert "198.51.100.7" not in distrusting.stdout(), "a header from an untrusted peer was believed"


def test_throttle_counts_per_address_and_user(start_pushinator, make_client):
    """20 failures lock out (address, user) only: not the same user from another address, nor another user behind
    the same proxy address."""
    app = start_pushinator({"client": {"host": "127.0.0.1", "trustedProxies": ["127.0.0.1"]}})
    app.register(601)
    app.register(602)
    for _ in range(20):
        assert failed_auth(make_client, app.client, 601, "203.0.113.1") == "Unknown user or wrong hash"
    assert failed_auth(make_client, app.client, 601, "203.0.113.1") == "Too many failed attempts, try again later"
    # the same user from another address, and another user from the same address, are not locked out
    for user, address in ((601, "203.0.113.2"), (602, "203.0.113.1")):
        client = connect_from(make_client, app.client, address)
        assert auth(client, user) == {"ok": True}, (user, address)
    # a browser cannot escape the lock by writing its own X-Forwarded-For: the proxy appends the address it saw
    assert failed_auth(make_client, app.client, 601, "6.6.6.6, 203.0.113.1") == "Too many failed attempts, try again later"
