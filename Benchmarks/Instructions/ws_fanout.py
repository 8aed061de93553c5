#!/usr/bin/env python3
# Fan-out under callgrind: connects N Socket.IO clients over WebSocket as ws_connects.py does (users 1..N, registered
# first), keeps reading on each (counting `42["message",...]` frames, answering pings), sends WARMUP `/broadcast`s,
# zeroes the server's callgrind counters, sends K more, dumps the counters while every client is still connected,
# and prints N*K. Each broadcast goes out alone: the admin answer must say `"delivered":N`, and the next one is sent
# only once every client has received it, so each run does the same work in the same order. Any client missing a
# message (or getting one twice) within TIMEOUT seconds: a message on stderr and exit 1.
# The server pings every client every 25 s (not configurable in pushinator), so the counted window holds the pings
# that fell into it, more the longer the window took (the machine's load): the clients count them, and after the
# fan-out the counters are zeroed again for IDLE seconds with nothing but pings (a second dump), which gives the
# instructions per ping that run.sh subtracts. To keep pings out of the window in the first place, the clients first
# bring every server ping into one band of BAND seconds: the server pings PING_INTERVAL after the pong, so a client
# whose ping comes outside the band holds its pong (at most MAX_HOLD, under pingTimeout) until the band; the counted
# window then starts after a band and ends before the next. run.sh starts the server with instrumentation off (the
# connects go fast) and this script turns it on once every client is in (`-i on`).
# Prints: N*K, pings in the fan-out window, pings in the idle window.
# --inflight P: the K counted broadcasts go out over P admin connections at once (each waits for its answers, none
# for the deliveries), as Benchmarks/LoadTool does: what the server batches then depends on timing.
# --perf: PID is a server not under valgrind; the window is counted by `perf stat` (system calls) instead, printed
# after the three numbers as NAME=COUNT pairs, and there is no idle window.
# ws_fanout.py HOST PORT ADMIN_PORT N WINDOW K WARMUP PID [IDLE] [--inflight P] [--perf]
import asyncio, math, subprocess, sys, time
from ws_connects import frame, read_frame

TIMEOUT = 120
PING_INTERVAL = 25.0  # pushinator's (Engine.IO's default)
BAND, MAX_HOLD = 6.0, 15.0

class Clients:
    def __init__(self, n):
        self.n, self.counts, self.total, self.target, self.reached = n, [0] * n, 0, 0, asyncio.Event()
        self.writers, self.failed, self.pings, self.opened = [], None, 0, []
        self.phase, self.aligned = None, 0  # while aligning: pings are wanted at phase + k * PING_INTERVAL

    def expect(self, per_client):
        self.target = per_client * self.n
        self.reached = asyncio.Event()
        if self.total >= self.target: self.reached.set()

    def ping(self, writer):
        """A ping: answered at once, or, while aligning, held so that the next one comes in the common band."""
        self.pings += 1
        now = time.monotonic()
        if self.phase is None:
            return writer.write(frame("3"))
        late = (now - self.phase) % PING_INTERVAL
        if late <= BAND:
            self.aligned += 1
            return writer.write(frame("3"))
        hold = min(PING_INTERVAL - late, MAX_HOLD)  # pingTimeout is 20 s: a longer hold loses the session
        asyncio.get_running_loop().call_later(hold, writer.write, frame("3"))

    def received(self, index):
        self.counts[index] += 1; self.total += 1
        if self.total >= self.target: self.reached.set()

async def client(host, port, uid, index, clients, authenticated):
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as error:
        clients.failed = clients.failed or f"client {uid}: {error!r}"
        return authenticated.set_result(False)
    writer.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]: authenticated.set_result(False); return
    clients.writers.append(writer)
    try:
        while True:
            text = await read_frame(reader)
            if text.startswith('42["message"'): clients.received(index)
            elif text == "2": clients.ping(writer)
            elif text.startswith("0"): writer.write(frame("40")); clients.opened.append(time.monotonic())
            elif text.startswith("40"): writer.write(frame(f'421["auth",{uid},"h{uid}"]'))
            elif text.startswith("431"): authenticated.set_result('"ok":true' in text)
            elif text.startswith("44"): authenticated.set_result(False); return
    except (asyncio.IncompleteReadError, ConnectionError) as error:
        if not authenticated.done(): authenticated.set_result(False)
        clients.failed = clients.failed or f"client {uid}: {error!r}"
        clients.reached.set()

async def post(admin, clients, seq):
    reader, writer = admin
    body = b'{"message":{"seq":%d,"text":"hello, a message of a typical size"}}' % seq
    writer.write(b"POST /broadcast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:"))
    answer = await reader.readexactly(length)
    if b" 200 " not in head.split(b"\r\n")[0] or b'"delivered":%d' % clients.n not in answer:
        status = head.split(b"\r\n")[0]
        sys.exit(f"broadcast {seq}: {status!r} {answer!r} (expected delivered {clients.n})")

async def drained(clients, per_client):
    clients.expect(per_client)
    try:
        await asyncio.wait_for(clients.reached.wait(), TIMEOUT)
    except asyncio.TimeoutError:
        sys.exit(f"{clients.total} of {clients.target} deliveries after {TIMEOUT} s")
    if clients.failed: sys.exit(clients.failed)

async def broadcast(admin, clients, seq):
    await post(admin, clients, seq)
    await drained(clients, seq + 1)

PERF_EVENTS = ["raw_syscalls:sys_enter", "syscalls:sys_enter_writev", "syscalls:sys_enter_write",
               "syscalls:sys_enter_read", "syscalls:sys_enter_epoll_wait"]

async def callgrind(option, pid, *more):
    process = await asyncio.create_subprocess_exec("callgrind_control", option, *more, str(pid), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if await process.wait() != 0: sys.exit(f"callgrind_control {option} {pid} failed")

async def main():
    host, port, admin_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    n, window, k, warmup, pid = (int(a) for a in sys.argv[4:9])
    args = sys.argv[9:]
    inflight = int(args.pop(args.index("--inflight") + 1)) if "--inflight" in args else 1
    use_perf = "--perf" in args
    args = [a for a in args if not a.startswith("--")]
    idle = float(args[0]) if args else 10
    clients, sem = Clients(n), asyncio.Semaphore(window)
    async def one(index):
        async with sem:
            authenticated = asyncio.get_running_loop().create_future()
            tasks.append(asyncio.create_task(client(host, port, index + 1, index, clients, authenticated)))
            return await asyncio.wait_for(authenticated, TIMEOUT)
    tasks = []
    ok = sum(await asyncio.gather(*[one(index) for index in range(n)]))
    if ok != n: sys.exit(f"only {ok} of {n} clients authenticated ({clients.failed or 'refused'})")
    admin = await asyncio.open_connection(host, admin_port)
    if not use_perf: await callgrind("-i", pid, "on")
    took = []  # the first broadcasts after `-i on` are slow (callgrind translates the code again): the last two count
    for seq in range(warmup):
        started = time.monotonic()
        await broadcast(admin, clients, seq)
        took.append(time.monotonic() - started)
    slowest = max(took[-2:]) if took else 1
    if not use_perf and PING_INTERVAL - BAND - 3 > k * slowest * 1.3:
        # the server pings PING_INTERVAL after the pong: holding pongs (up to MAX_HOLD) brings every client's pings
        # into one band within two rounds; the counted window then runs between two bands
        clients.phase = time.monotonic() + 1
        deadline = time.monotonic() + 5 * PING_INTERVAL
        while time.monotonic() < deadline:
            clients.aligned = 0
            band_start = clients.phase + PING_INTERVAL * math.ceil((time.monotonic() - clients.phase) / PING_INTERVAL)
            await asyncio.sleep(band_start + BAND + 1 - time.monotonic())
            if clients.aligned == n: break
        else:
            sys.exit(f"the pings did not come into one band: {clients.aligned} of {n} clients in the last one")
    elif not use_perf:
        print(f"no ping-free window for {k} broadcasts of up to {slowest:.2f} s each; pings in the window are "
              "subtracted", file=sys.stderr)
    # new admin connections: one kept idle while the pings were aligned may have met the server's idle timeout
    admins = [await asyncio.open_connection(host, admin_port) for _ in range(inflight)]
    admin = admins[0]
    if use_perf:
        perf = await asyncio.create_subprocess_exec("perf", "stat", "-x,", "-e", ",".join(PERF_EVENTS), "-p", str(pid),
                                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        await asyncio.sleep(0.5)  # perf attached
    else:
        await callgrind("-z", pid)
    first = clients.pings
    if inflight == 1:
        for seq in range(warmup, warmup + k): await broadcast(admin, clients, seq)
    else:
        async def sender(connection, seqs):
            for seq in seqs: await post(connection, clients, seq)
        await asyncio.gather(*[sender(a, range(warmup + i, warmup + k, inflight)) for i, a in enumerate(admins)])
        await drained(clients, warmup + k)
    if use_perf:
        perf.send_signal(2)
        counted = (await perf.communicate())[1].decode().splitlines()
        pings = clients.pings - first
        counts = {line.split(",")[2].split(":")[-1]: line.split(",")[0] for line in counted if line.count(",") > 3}
        wrong = [(uid + 1, c) for uid, c in enumerate(clients.counts) if c != warmup + k]
        if wrong: sys.exit(f"{len(wrong)} clients did not get exactly {warmup + k} messages, e.g. {wrong[:5]}")
        print(n * k, pings, 0, " ".join(f"{name}={count}" for name, count in counts.items()))
        for w in clients.writers: w.close()
        for t in tasks: t.cancel()
        return
    await callgrind("-d", pid)
    await asyncio.sleep(0.5)  # pongs of pings counted just before the dump
    pings = clients.pings - first
    await callgrind("-z", pid)
    first = clients.pings
    await asyncio.sleep(idle)
    await callgrind("-d", pid)
    await asyncio.sleep(0.5)
    idle_pings = clients.pings - first
    if clients.failed: sys.exit(clients.failed)
    wrong = [(uid + 1, c) for uid, c in enumerate(clients.counts) if c != warmup + k]
    if wrong: sys.exit(f"{len(wrong)} clients did not get exactly {warmup + k} messages, e.g. {wrong[:5]}")
    print(n * k, pings, idle_pings)
    for w in clients.writers: w.close()
    for t in tasks: t.cancel()

asyncio.run(main())
