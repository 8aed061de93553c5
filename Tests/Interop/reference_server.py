#!/usr/bin/env python3
"""Reference implementation of the Pushinator INTEROP CONTRACT, on python-socketio + aiohttp.

It exists only to validate the interop tests themselves: `INTEROP_SERVER=reference python3 -m pytest Tests/Interop`.
The Swift `interop-server` (Examples/InteropServer) implements the same contract; see Tests/Interop/README.md.

CLI (same as interop-server):
    --port N            0 = ephemeral; the first stdout line is `LISTENING http://127.0.0.1:<port>` (https with TLS)
    --host H            default 127.0.0.1
    --ping-interval MS  default 25000
    --ping-timeout MS   default 20000
    --transports LIST   default polling,websocket
    --max-payload B     default 1000000
    --eio3              serve Engine.IO v3 clients: only when run with python-socketio 4.x / python-engineio 3.x
                        (the Tests/Interop/.cache/venv-eio3 virtualenv); python-engineio 4.x exits with status 2
    --tls-cert PEM --tls-key PEM
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import inspect
import signal
import ssl
import sys

import socketio
from aiohttp import web

SIO_VERSION = importlib.metadata.version("python-socketio")
SIO_MAJOR = int(SIO_VERSION.split(".")[0])  # 5: EIO4 / SIO5 server; 4: EIO3 / SIO4 server
EIO_VERSION = "4" if SIO_MAJOR >= 5 else "3"

if SIO_MAJOR < 5:
    # python-socketio 4.x hands coroutines to asyncio.wait, which Python >= 3.11 refuses
    _asyncio_wait = asyncio.wait

    async def _wait_accepting_coroutines(fs, *args, **kwargs):
        return await _asyncio_wait([asyncio.ensure_future(f) for f in fs], *args, **kwargs)

    asyncio.wait = _wait_accepting_coroutines

# Engine.IO error codes and messages, as the reference JS server (engine.io) sends them.
EIO_ERRORS = {
    0: "Transport unknown",
    1: "Session ID unknown",
    2: "Bad handshake method",
    3: "Bad request",
    4: "Forbidden",
    5: "Unsupported protocol version",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--ping-interval", type=int, default=25000, help="milliseconds")
    p.add_argument("--ping-timeout", type=int, default=20000, help="milliseconds")
    p.add_argument("--transports", default="polling,websocket")
    p.add_argument("--max-payload", type=int, default=1_000_000, help="bytes")
    p.add_argument("--eio3", action="store_true")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    return p.parse_args(argv)


def eio_error(code: int) -> web.Response:
    return web.json_response({"code": code, "message": EIO_ERRORS[code]}, status=400)


def answer_pending_polls_on_close() -> None:
    """python-engineio leaves a pending long-poll GET hanging until the next ping when a session closes, which makes
    every polling client's disconnect take a ping interval (and a 413 hang). Release it, as engine.io does."""
    try:
        from engineio.async_socket import AsyncSocket
    except ImportError:  # python-engineio 3.x
        from engineio.asyncio_socket import AsyncSocket

    original = AsyncSocket.close

    async def close(self, wait=True, abort=False, **kwargs):
        if self.upgraded:
            await original(self, wait=wait, abort=abort, **kwargs)
            return
        # polling: waiting for the queue to drain would wait for a poll that may never come
        await original(self, wait=False, abort=abort, **kwargs)
        self.queue.put_nowait(None)

    AsyncSocket.close = close


def build(args: argparse.Namespace) -> web.Application:
    answer_pending_polls_on_close()
    transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins="*",  # reflects the request's Origin; credentials allowed
        cors_credentials=True,
        ping_interval=args.ping_interval / 1000.0,
        ping_timeout=args.ping_timeout / 1000.0,
        max_http_buffer_size=args.max_payload,
        transports=transports,
        always_connect=False,
    )

    @web.middleware
    async def engineio_errors(request: web.Request, handler):
        """Answer protocol errors with engine.io's JSON bodies (python-engineio answers plain strings)."""
        if request.path.rstrip("/") == "/socket.io" and request.method != "OPTIONS":
            q = request.query
            transport = q.get("transport")
            if transport not in transports:
                return eio_error(0)
            sid = q.get("sid")
            if sid is not None:
                if sid not in sio.eio.sockets:
                    return eio_error(1)
            else:
                if q.get("EIO") != EIO_VERSION:
                    return eio_error(5)
                if request.method != "GET":
                    return eio_error(2)
        return await handler(request)

    app = web.Application(middlewares=[engineio_errors])
    sio.attach(app, socketio_path="socket.io")

    # -- namespace "/" ---------------------------------------------------------------------------------------------
    async def maybe_await(value):
        if inspect.isawaitable(value):
            await value

    @sio.on("connect")
    async def connect(sid, environ, auth=None):
        if isinstance(auth, dict) and auth.get("token") == "bad":
            raise socketio.exceptions.ConnectionRefusedError("unauthorized", {"code": 401})
        welcome = {"sid": sid, "auth": auth if auth is not None else {}}
        # python-socketio sends CONNECT only after this handler returns: emit from a task that runs after it.
        sio.start_background_task(sio.emit, "welcome", welcome, room=sid)

    @sio.on("echo")
    async def echo(sid, *data):
        await sio.emit("echo", data, room=sid)

    @sio.on("ack-echo")
    async def ack_echo(sid, *data):
        return data

    @sio.on("join")
    async def join(sid, room):
        await maybe_await(sio.enter_room(sid, room))
        return "joined"

    @sio.on("leave")
    async def leave(sid, room):
        await maybe_await(sio.leave_room(sid, room))
        return "left"

    @sio.on("to-room")
    async def to_room(sid, room, payload):
        await sio.emit("room-message", payload, room=room)
        return "sent"

    @sio.on("server-ack")
    async def server_ack(sid, payload=None):
        try:
            answer = await sio.call("ask", payload, sid=sid, timeout=5)
            if isinstance(answer, tuple):
                answer = answer[0] if answer else None
        except socketio.exceptions.TimeoutError:
            answer = {"error": "timeout"}
        await sio.emit("ask-result", answer, room=sid)

    @sio.on("binary-request")
    async def binary_request(sid, *_):
        blob = bytes(range(256))
        await sio.emit("binary", (blob, {"nested": blob}), room=sid)

    @sio.on("disconnect-me")
    async def disconnect_me(sid, *_):
        await sio.disconnect(sid)

    @sio.on("drop-transport")
    async def drop_transport(sid, *_):
        eio_sid = sio.manager.eio_sid_from_sid(sid, "/") if SIO_MAJOR >= 5 else sid
        sock = sio.eio.sockets.get(eio_sid)
        if sock is None:
            return
        if not sock.upgraded:
            # polling: forget the session without an Engine.IO CLOSE packet; the next poll gets "unknown sid"
            await sock.close(wait=False, abort=True)
        # websocket: the writer task closes the WebSocket on None, again without a CLOSE packet
        await sock.queue.put(None)

    # -- namespace "/admin" ----------------------------------------------------------------------------------------
    @sio.on("connect", namespace="/admin")
    async def admin_connect(sid, environ, auth=None):
        sio.start_background_task(sio.emit, "welcome-admin", {"sid": sid}, room=sid, namespace="/admin")

    @sio.on("echo", namespace="/admin")
    async def admin_echo(sid, *data):
        await sio.emit("echo", data, room=sid, namespace="/admin")

    return app


async def serve(args: argparse.Namespace) -> None:
    ssl_context = None
    if args.tls_cert or args.tls_key:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
    runner = web.AppRunner(build(args), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 (aiohttp has no public accessor)
    scheme = "https" if ssl_context else "http"
    print(f"LISTENING {scheme}://{args.host}:{port}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    try:
        await asyncio.wait_for(runner.cleanup(), 2)
    except asyncio.TimeoutError:
        pass


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.eio3 != (EIO_VERSION == "3"):
        print(
            f"reference server: python-socketio {SIO_VERSION} serves only Engine.IO v{EIO_VERSION}; "
            "run it with --eio3 under python-socketio 4.x (Tests/Interop/.cache/venv-eio3), without it under 5.x",
            file=sys.stderr,
        )
        return 2
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
