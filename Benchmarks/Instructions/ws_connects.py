#!/usr/bin/env python3
# Connects N Socket.IO clients over WebSocket the way Benchmarks/LoadTool does (HTTP upgrade, 0{...} -> 40,
# 40{...} -> 421["auth",uid,"h<uid>"], 431[...]), WINDOW at a time, and keeps them open; prints how many authenticated.
# Users 1..N must be registered first (--register ADMIN_PORT does it).
# ws_connects.py HOST PORT N WINDOW [--register ADMIN_PORT] [--first K] [--hold PATH]
# --hold: after printing the count, keep the clients open until PATH exists (at most 30 minutes), so that the
# server's counters can be dumped before any disconnect is handled.
import asyncio, json, os, sys, urllib.request

def frame(text):
    data = text.encode(); mask = os.urandom(4)
    head = bytes([0x81, 0x80 | len(data)]) if len(data) < 126 else bytes([0x81, 0x80 | 126]) + len(data).to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))

async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126: n = int.from_bytes(await reader.readexactly(2), "big")
    elif n == 127: n = int.from_bytes(await reader.readexactly(8), "big")
    return (await reader.readexactly(n)).decode(errors="replace")

async def client(host, port, uid, keep):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]: return False
    while True:
        text = await read_frame(reader)
        if text.startswith("0"): writer.write(frame("40"))
        elif text.startswith("40"): writer.write(frame(f'421["auth",{uid},"h{uid}"]'))
        elif text.startswith("431"): keep.append(writer); return '"ok":true' in text or "true" in text
        elif text.startswith("44"): return False

async def main():
    host, port, n, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    first = int(sys.argv[sys.argv.index("--first") + 1]) if "--first" in sys.argv else 1
    if "--register" in sys.argv:
        admin = int(sys.argv[sys.argv.index("--register") + 1])
        for uid in range(first, first + n):
            urllib.request.urlopen(urllib.request.Request(f"http://{host}:{admin}/user/register",
                data=json.dumps({"userId": str(uid), "hash": f"h{uid}"}).encode(), method="POST")).read()
        return
    keep, ok, sem = [], 0, asyncio.Semaphore(window)
    async def one(uid):
        async with sem: return await client(host, port, uid, keep)
    ok = sum(await asyncio.gather(*[one(uid) for uid in range(first, first + n)]))
    print(ok, flush=True)
    if "--hold" in sys.argv:
        release = sys.argv[sys.argv.index("--hold") + 1]
        for _ in range(18000):
            if os.path.exists(release): break
            await asyncio.sleep(0.1)
    for w in keep: w.close()

if __name__ == "__main__":
    asyncio.run(main())
