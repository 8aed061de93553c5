"""Templates/PushApp: scripts/new-app.sh renders a starter package, which builds against this checkout (path
dependency), passes its own tests (PushinatorTesting's in-process client), and serves a live python-socketio client
(connect middleware, a room, the push route, graceful shutdown).

Building the rendered package compiles the toolkit and its dependencies once more (its own .build): minutes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import REPO
from pushinator_support import requires_app, wait_until

pytestmark = [requires_app, pytest.mark.timeout(2400)]


def swift() -> str:
    for candidate in ("swift", "/opt/swift/usr/bin/swift"):
        found = subprocess.run(["bash", "-c", f"command -v {candidate}"], capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.strip()
    pytest.fail("no swift toolchain", pytrace=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("apps") / "news-push"
    done = subprocess.run([str(REPO / "scripts" / "new-app.sh"), "NewsPush", str(target)], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture(scope="module")
def built(rendered: Path) -> Path:
    """`swift build --build-tests` in the rendered package, then `swift test`; returns the app binary."""
    for args in (["build", "--build-tests"], ["test", "--skip-build"]):
        done = subprocess.run([swift(), *args], cwd=rendered, capture_output=True, text=True, timeout=2000,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"swift {' '.join(args)} failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
        if args[0] == "test":
            assert re.search(r"Test run with [1-9]\d* tests? .*passed", done.stdout + done.stderr), done.stdout[-3000:]
    binary = Path(subprocess.run([swift(), "build", "--show-bin-path"], cwd=rendered, capture_output=True, text=True,
                                 timeout=120).stdout.strip()) / "NewsPush"
    assert binary.is_file(), binary
    return binary


def test_new_app_refuses_a_bad_name_and_a_used_directory(tmp_path, rendered):
    bad = subprocess.run([str(REPO / "scripts" / "new-app.sh"), "news-push", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 64 and "Swift identifier" in bad.stderr
    used = subprocess.run([str(REPO / "scripts" / "new-app.sh"), "NewsPush", str(rendered)],
                          capture_output=True, text=True, timeout=30)
    assert used.returncode == 73 and "not empty" in used.stderr
    text = (rendered / "Package.swift").read_text()
    assert "__" not in text and f'.package(path: "{REPO}")' in text


def test_rendered_app_builds_passes_its_tests_and_serves_a_live_client(built: Path, tmp_path, make_client):
    config = tmp_path / "newspush.conf"
    config.write_text("module.exports = { host: '127.0.0.1', port: 0 };\n")
    out = tmp_path / "app.out"
    with open(out, "wb") as stdout:
        proc = subprocess.Popen([str(built), str(config)], cwd=tmp_path, stdout=stdout, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=dict(os.environ, NEWS_PUSH_CLIENT_TOKEN="t0ken"))
    try:
        url = wait_until(lambda: re.search(r"LISTENING (http://\S+)", out.read_text()), timeout=30,
                         what="the app's LISTENING line").group(1)
        assert requests.get(url + "/health", timeout=5).json() == {"status": "ok"}
        refused = make_client(url, ["websocket"], connect=False)
        with pytest.raises(Exception):
            refused.connect(url, ["websocket"], auth={"token": "wrong"})
        client = make_client(url, ["polling", "websocket"], auth={"token": "t0ken"})
        assert client.call("join", "news") == [{"ok": True}]
        reply = requests.post(url + "/push/news", data='{"headline":"hello"}', timeout=5)
        assert reply.json() == {"delivered": 1}, reply.text
        assert client.rec.wait("push") == ({"headline": "hello"},)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
