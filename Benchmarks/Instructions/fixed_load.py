#!/usr/bin/env python3
# Sends exactly CONNS*PER requests over CONNS keep-alive connections (one in flight each); prints how many were 200.
# fixed_load.py HOST PORT METHOD PATH CONNS PER [BODY]
import asyncio, sys
host, port, method, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
conns, per = int(sys.argv[5]), int(sys.argv[6])
body = sys.argv[7].encode() if len(sys.argv) > 7 else b""
req = f"{method} {path} HTTP/1.1\r\nHost: x\r\n".encode()
if body: req += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
req += b"\r\n" + body
async def one():
    r, w = await asyncio.open_connection(host, port)
    ok = 0
    for _ in range(per):
        w.write(req)
        head = await r.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        n = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"): n = int(line.split(b":")[1])
        await r.readexactly(n)
        if status == b"200": ok += 1
    w.close()
    return ok
async def main():
    oks = await asyncio.gather(*[one() for _ in range(conns)])
    print(sum(oks))
asyncio.run(main())
