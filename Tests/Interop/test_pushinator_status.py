"""The live status page on the admin listener (issue 16 item 4): `GET /` rendered from Templates/status.mustache,
updating itself from `GET /status`; behind the same guard as the admin API.

The browser test runs headless Chromium against a pushinator with traffic flowing, reads the figures from the DOM
after the page updated itself, and takes a screenshot (kept in the test's temporary folder; STATUS_SCREENSHOT=PATH
copies it there).
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
from pathlib import Path

import pytest

from browser import BrowserError, Chromium
from conftest import TRANSPORTS
from pushinator_support import (
    HASH,
    connect_user,
    requires_app,
    start_pushinator,  # noqa: F401 (fixture)
    wait_until,
)

pytestmark = requires_app

TOKEN = "st4tus-t0ken"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_status_page_is_guarded_like_the_admin_api(start_pushinator):
    app = start_pushinator({"admin": {"token": TOKEN}})
    refused = app.request("GET", "/user/list")
    for path in ("/", "/status"):
        reply = app.request("GET", path)
        reply.assert_error(401)
        assert reply.json == refused.json and reply.headers.get("WWW-Authenticate") == "Bearer", reply
        # a page of another site cannot read it either, token or not
        app.request("GET", path, headers={**BEARER, "Origin": "http://evil.example"}).assert_error(403)

    page = app.request("GET", "/", headers=BEARER)
    assert page.status == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8", page
    assert "default-src 'none'" in page.headers["Content-Security-Policy"], page
    assert page.headers["Cache-Control"] == "no-store", page
    assert "<title>pushinator 1.0.0 status</title>" in page.text and '<b id="connections">0</b>' in page.text, page
    assert "{{" not in page.text, "an unrendered Mustache tag"

    status = app.request("GET", "/status", headers=BEARER)
    assert status.status == 200, status
    assert status.json["version"] == "1.0.0"
    assert status.json["values"]["connections"] == 0 and status.json["figures"]["connections"] == "0"
    assert status.json["history"]["capacity"] == 300 and status.json["history"]["intervalSeconds"] == 1
    assert len(status.json["history"]["delivered"]) <= 300


def read_page(browser: Chromium) -> dict:
    return browser.evaluate(
        """(() => {
  const text = (id) => (document.getElementById(id) || {}).textContent;
  const state = document.getElementById("state");
  return {
    ready: document.readyState === "complete",
    updated: state ? state.dataset.updated || "" : "",
    connections: text("connections"), polling: text("connections-polling"), websocket: text("connections-websocket"),
    online: text("users-authenticated"), registered: text("users-registered"),
    deliveredRate: text("delivered-rate"), sentRate: text("sent-rate"), deliveredTotal: text("delivered-total"),
    slow: text("slow-consumers"), uptime: text("uptime"), lag: text("loop-lag"),
    chart: document.getElementById("chart-delivered").getAttribute("points"),
    warnings: [...document.querySelectorAll("#warnings li")].map((li) => li.textContent),
  };
})()"""
    )


def test_status_page_in_chromium_shows_live_traffic(start_pushinator, make_client, tmp_path):
    # users.idleTimeot: an unknown key, so that a warning is logged at start and listed on the page
    app = start_pushinator({"admin": {"token": TOKEN}, "users": {"idleTimeot": 30}})
    for user in (1, 2, 3):
        assert app.post("/user/register", {"userId": user, "hash": HASH}, headers=BEARER).status == 200
    clients = [
        connect_user(make_client, app, 1, TRANSPORTS["websocket"]),
        connect_user(make_client, app, 2, TRANSPORTS["polling"]),
    ]
    stop = threading.Event()

    def traffic() -> None:  # a send to both users every 50 ms until the test ends
        while not stop.is_set():
            app.post("/user/send", {"userIds": [1, 2], "message": {"tick": 1}}, headers=BEARER)
            stop.wait(0.05)

    sender = threading.Thread(target=traffic, daemon=True)
    sender.start()
    try:
        with Chromium() as browser:
            # the page and its polls carry the admin token, as a proxy in front of the admin port would add it
            browser.send("Network.enable")
            browser.send("Network.setExtraHTTPHeaders", {"headers": BEARER})
            browser.send("Emulation.setDeviceMetricsOverride",
                         {"width": 1100, "height": 900, "deviceScaleFactor": 1, "mobile": False})
            browser.send("Page.navigate", {"url": app.admin + "/"})

            def live() -> dict | None:
                try:
                    page = read_page(browser)
                except BrowserError:
                    return None
                # updated: the page polled /status at least once and applied it
                if page and page["ready"] and page["updated"] and float(page["deliveredRate"] or 0) > 0 \
                        and page["chart"]:
                    return page
                return None

            page = wait_until(live, timeout=30, interval=0.25, what="the status page showing traffic")
            shot = browser.send("Page.captureScreenshot", {"format": "png"})
    except BrowserError as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        stop.set()
        sender.join(5)

    assert page["connections"] == "2" and page["polling"] == "1" and page["websocket"] == "1", page
    assert page["online"] == "2" and page["registered"] == "3", page
    assert float(page["deliveredRate"]) > 0 and float(page["sentRate"]) > 0, page
    assert int(page["deliveredTotal"]) > 0 and page["slow"] == "0", page
    assert page["lag"].endswith(" ms") and page["uptime"].endswith("s"), page
    assert len(page["chart"].split()) >= 1 and "," in page["chart"], page
    assert any("unknown configuration key users.idleTimeot" in w for w in page["warnings"]), page["warnings"]
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG") and len(png) > 10_000, len(png)
    path = tmp_path / "status-page.png"
    path.write_bytes(png)
    if os.environ.get("STATUS_SCREENSHOT"):
        shutil.copyfile(path, Path(os.environ["STATUS_SCREENSHOT"]))
    for client in clients:
        assert client.rec.all("message"), "the clients received the traffic"
