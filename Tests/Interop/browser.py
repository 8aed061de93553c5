"""Headless Chromium driven over the DevTools protocol, for running the official socket.io JS client.

No Selenium: Debian's `chromium` is started with `--remote-debugging-port=0`, the port is read from the profile's
DevToolsActivePort file, and commands go over a WebSocket (websocket-client). Pages come from a small HTTP server
on another 127.0.0.1 port than the Socket.IO server, so every request the client makes is cross-origin (CORS).

    with PageServer(socket_io_js) as pages, Chromium() as browser:
        browser.open(pages.url + "/index.html")
        result = browser.evaluate("new Promise(r => r(1 + 1))")
"""

from __future__ import annotations

import http.server
import itertools
import json
import os
import shutil
import signal
import socketserver
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

INDEX_HTML = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>interop</title>
<script src="/socket.io.min.js"></script>
</head><body><p id="status">loaded</p>
<script>
  window.__sockets = [];
  window.__track = (s) => { window.__sockets.push(s); return s; };
  window.__closeAll = () => { for (const s of window.__sockets) { try { s.disconnect(); } catch (e) {} } };
  // resolve with `value`, or reject after `ms` with a message, so no page wait is unbounded
  window.__within = (ms, what, executor) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout: " + what)), ms);
    executor((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
</script></body></html>
"""


def find_chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class PageServer:
    """Serves /index.html and /socket.io.min.js from a background thread on 127.0.0.1:<ephemeral>."""

    def __init__(self, socket_io_js: Path) -> None:
        files = {"/index.html": (INDEX_HTML, "text/html"), "/socket.io.min.js": (socket_io_js.read_bytes(), "text/javascript")}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
                body, kind = files.get(self.path.split("?", 1)[0], (b"not found", "text/plain"))
                self.send_response(200 if body != b"not found" else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> "PageServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium process with one page target."""

    def __init__(self, binary: str | None = None, start_timeout: float = 30.0) -> None:
        self.binary = binary or find_chromium()
        if not self.binary:
            raise BrowserError("chromium not found (scripts/install-test-deps.sh installs Debian's `chromium`)")
        self.start_timeout = start_timeout
        self.profile = Path(tempfile.mkdtemp(prefix="interop-chromium-"))
        self.log_path = self.profile / "chromium.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: websocket.WebSocket | None = None
        self._ids = itertools.count(1)
        self.console: list[str] = []

    # -- lifecycle ----------------------------------------------------------------------------------------------------

    def __enter__(self) -> "Chromium":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        args = [
            self.binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--metrics-recording-only",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            f"--user-data-dir={self.profile}",
            "about:blank",
        ]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.start_timeout
        port = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrowserError(f"chromium exited with {self.proc.returncode}:\n{self.log()}")
            try:
                lines = port_file.read_text().split("\n")
                if lines and lines[0].strip().isdigit():
                    port = int(lines[0].strip())
                    break
            except OSError:
                pass
            time.sleep(0.05)
        if port is None:
            self.stop()
            raise BrowserError(f"no DevToolsActivePort within {self.start_timeout}s:\n{self.log()}")

        target = None
        while time.monotonic() < deadline and target is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                    targets = json.load(r)
                target = next((t for t in targets if t.get("type") == "page"), None)
            except OSError:
                pass
            if target is None:
                time.sleep(0.1)
        if target is None:
            self.stop()
            raise BrowserError(f"no page target within {self.start_timeout}s:\n{self.log()}")
        self.ws = websocket.create_connection(
            target["webSocketDebuggerUrl"], timeout=10, suppress_origin=True, enable_multithread=True
        )
        self.send("Runtime.enable")
        self.send("Page.enable")

    def stop(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001
                pass
            self.ws = None
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        shutil.rmtree(self.profile, ignore_errors=True)

    def log(self, limit: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-limit:]

    # -- DevTools protocol --------------------------------------------------------------------------------------------

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 10.0) -> dict[str, Any]:
        """Send one command and wait (bounded) for its response; events that arrive meanwhile are noted."""
        assert self.ws is not None, "browser not started"
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer to {method} within {timeout}s")
            self.ws.settimeout(left)
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException as exc:
                raise BrowserError(f"no answer to {method} within {timeout}s") from exc
            if message.get("id") == msg_id:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            if message.get("method") == "Runtime.consoleAPICalled":
                args = message["params"].get("args", [])
                self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
            elif message.get("method") == "Runtime.exceptionThrown":
                self.console.append("exception: " + json.dumps(message["params"].get("exceptionDetails", {}))[:500])

    def evaluate(self, expression: str, timeout: float = 15.0) -> Any:
        """Evaluate `expression` in the page, await it if it is a promise, return its JSON value."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True, "userGesture": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"page threw: {text}\nconsole: {self.console[-20:]}")
        return result.get("result", {}).get("value")

    def open(self, url: str, timeout: float = 15.0) -> None:
        """Navigate and wait (bounded) until the page has loaded the socket.io client."""
        self.send("Page.navigate", {"url": url}, timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ready = self.evaluate(
                    "document.readyState === 'complete' && typeof io === 'function' && !!window.__within", timeout=5
                )
            except BrowserError:
                ready = False
            if ready:
                return
            time.sleep(0.05)
        raise BrowserError(f"page {url} did not load the socket.io client within {timeout}s\n{self.console[-20:]}")
