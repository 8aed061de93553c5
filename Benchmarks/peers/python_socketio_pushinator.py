#!/usr/bin/env python3
"""The pushinator contract on python-socketio 5.x + aiohttp: the peer the benchmarks compare against (issue 5).

    python3 python_socketio_pushinator.py [-c FILE] [--admin-port N] [--client-port N]

Admin port (every route POST, body parsed as JSON): /user/register {"userId","hash"}, /user/send {"userId" or
"userIds","message"} -> {"result":"OK","delivered":N}, /broadcast {"message"} (every authenticated client),
/user/unregister, /user/list, /ping. Client port: Socket.IO at /socket.io/; a client emits `auth` (userId, hash)
and then receives `message` events whose argument is JSON.stringify(message). Prints
`LISTENING admin=PORT client=PORT` once both ports are bound.
"""
import argparse
import asyncio
import json
import re
import signal
import sys

import socketio
from aiohttp import web


def load_config(path):
    """node pushinator's `module.exports = {...}` (comments, quotes, unquoted keys, trailing commas) or JSON."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"(^|[^:\"'])//[^\n]*", r"\1", text)
    text = re.sub(r"^\s*module\.exports\s*=\s*", "", text.strip())
    text = text.rstrip().rstrip(";")
    text = re.sub(r"'([^'\\]*)'", r'"\1"', text)
    text = re.sub(r"([{,]\s*)([A-Za-z_$][\w$]*)\s*:", r'\1"\2":', text)
    text = re.sub(r",\s*([}\]])", r"\1", text)
    return json.loads(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", dest="config")
    parser.add_argument("--admin-port", type=int)
    parser.add_argument("--client-port", type=int)
    args = parser.parse_args()
    config = load_config(args.config) if args.config else {}
    admin_cfg = config.get("admin", {})
    client_cfg = config.get("client", {})
    admin_host = admin_cfg.get("host", "127.0.0.1") or "0.0.0.0"
    client_host = client_cfg.get("host", "127.0.0.1") or "0.0.0.0"
    admin_port = args.admin_port if args.admin_port is not None else admin_cfg.get("port", 9600)
    client_port = args.client_port if args.client_port is not None else client_cfg.get("port", 9601)

    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*", logger=False, engineio_logger=False)
    users = {}  # userId (str) -> hash
    authed = "authenticated"

    def room(uid):
        return "user:" + uid

    @sio.on("auth")
    async def auth(sid, user_id=None, hash_=None, *rest):
        uid = str(user_id)
        if user_id is None or users.get(uid) != hash_:
            asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(sio.disconnect(sid)))
            return {"ok": False, "error": "unauthorized"}
        session = await sio.get_session(sid)
        old = session.get("uid")
        if old is not None and old != uid:
            await sio.leave_room(sid, room(old))
        session["uid"] = uid
        await sio.enter_room(sid, room(uid))
        await sio.enter_room(sid, authed)
        return {"ok": True}

    def count(target):
        return sum(1 for _ in sio.manager.get_participants("/", target))

    def reply(data, status=200):
        body = dict(data)
        body["status"] = status
        return web.json_response(body, status=status)

    async def body_of(request):
        try:
            data = json.loads(await request.text())
        except ValueError as error:
            raise web.HTTPBadRequest(text=json.dumps({"error": "Not A JSON Body: %s" % error, "status": 400}),
                                     content_type="application/json")
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text=json.dumps({"error": "Not A JSON Object", "status": 400}),
                                     content_type="application/json")
        return data

    async def register(request):
        data = await body_of(request)
        if "userId" not in data or "hash" not in data:
            return reply({"error": "Missing userId or hash in data", "data": data}, 400)
        users[str(data["userId"])] = data["hash"]
        return reply({"result": "OK"})

    async def unregister(request):
        data = await body_of(request)
        uid = str(data.get("userId"))
        users.pop(uid, None)
        for sid in list(sio.manager.get_participants("/", room(uid))):
            await sio.disconnect(sid[0] if isinstance(sid, tuple) else sid)
        return reply({"result": "OK"})

    async def send(request):
        data = await body_of(request)
        if ("userId" not in data and "userIds" not in data) or "message" not in data:
            return reply({"error": "Missing userId or message in data", "data": data}, 400)
        text = json.dumps(data["message"], separators=(",", ":"), ensure_ascii=False)
        delivered = 0
        for uid in data.get("userIds") or [data["userId"]]:
            target = room(str(uid))
            delivered += count(target)
            await sio.emit("message", text, room=target)
        return reply({"result": "OK", "delivered": delivered})

    async def broadcast(request):
        data = await body_of(request)
        if "message" not in data:
            return reply({"error": "Missing message in data", "data": data}, 400)
        text = json.dumps(data["message"], separators=(",", ":"), ensure_ascii=False)
        delivered = count(authed)
        await sio.emit("message", text, room=authed)
        return reply({"result": "OK", "delivered": delivered})

    async def user_list(request):
        return reply({"result": "OK", "users": list(users)})

    async def ping(request):
        return reply({"result": "pong"})

    admin = web.Application()
    for path, handler in [("/user/register", register), ("/user/unregister", unregister), ("/user/send", send),
                          ("/broadcast", broadcast), ("/user/list", user_list), ("/ping", ping)]:
        admin.router.add_post(path, handler)
    client = web.Application()
    sio.attach(client)

    async def serve():
        admin_runner = web.AppRunner(admin, access_log=None)
        client_runner = web.AppRunner(client, access_log=None)
        await admin_runner.setup()
        await client_runner.setup()
        admin_site = web.TCPSite(admin_runner, admin_host, admin_port, backlog=4096)
        client_site = web.TCPSite(client_runner, client_host, client_port, backlog=4096)
        await admin_site.start()
        await client_site.start()
        ports = [s._server.sockets[0].getsockname()[1] for s in (admin_site, client_site)]
        print("LISTENING admin=%d client=%d" % tuple(ports), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await client_runner.cleanup()
        await admin_runner.cleanup()

    asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
