#!/usr/bin/env python3
"""Soak test: runs interop-server under connection churn for N minutes and samples its RSS into a CSV.

    python3 Benchmarks/Soak/soak.py --minutes 30 --csv Benchmarks/results/soak.csv
    python3 Benchmarks/Soak/soak.py --minutes 3 --binary .build-asan/debug/interop-server   # under ASan/LSan

Workers loop: connect (WebSocket, polling, or polling upgraded to WebSocket), join a room, emit `echo` and an
acked event, receive a room broadcast, disconnect; a few raw WebSocket clients vanish without a close handshake.
Every `--interval` seconds the server's VmRSS (/proc/<pid>/status), its open descriptors and the counts so far
go to the CSV. At the end the server gets SIGTERM; its exit status and stderr tail are reported (LeakSanitizer
prints its report there). Not part of CI.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import socketio

REPO = Path(__file__).resolve().parents[2]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions = 0
        self.messages = 0
        self.errors = 0

    def add(self, **deltas: int) -> None:
        with self.lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)


def churn(url: str, stop: threading.Event, counters: Counters, seed: int) -> None:
    rng = random.Random(seed)
    transports = [["websocket"], ["polling"], None]
    while not stop.is_set():
        client = socketio.Client(reconnection=False)
        got = threading.Event()
        client.on("echo", lambda *args: got.set())
        try:
            client.connect(url, transports=rng.choice(transports), wait_timeout=10)
            room = f"room-{rng.randrange(8)}"
            client.call("join", room, timeout=10)
            for _ in range(rng.randrange(1, 6)):
                got.clear()
                client.emit("echo", {"n": rng.random(), "pad": "x" * rng.randrange(1, 2000)})
                got.wait(10)
                client.call("ack-echo", [1, 2, 3], timeout=10)
                client.emit("to-room", (room, {"hello": "room"}))
                counters.add(messages=3)
            counters.add(sessions=1)
        except Exception:  # noqa: BLE001 (counted; the soak goes on)
            counters.add(errors=1)
        finally:
            try:
                client.disconnect()
            except Exception:  # noqa: BLE001
                pass


def vanishing(url: str, stop: threading.Event, counters: Counters) -> None:
    """Raw WebSocket clients that join and disappear without a close frame."""
    host, port = url.split("//", 1)[1].split(":")
    while not stop.is_set():
        try:
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(
                b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            sock.recv(4096)
            sock.sendall(b"\x81\x82\x00\x00\x00\x0040")  # "40", masked with a zero key
            time.sleep(0.05)
            sock.close()
            counters.add(sessions=1)
        except OSError:
            counters.add(errors=1)
        stop.wait(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--interval", type=float, default=5, help="seconds between RSS samples")
    parser.add_argument("--binary", default=str(REPO / ".build" / "debug" / "interop-server"))
    parser.add_argument("--csv", default=str(REPO / "Benchmarks" / "results" / "tmp" / "soak.csv"))
    parser.add_argument("--warmup", type=float, default=0.2, help="fraction of the run that is warm-up")
    args = parser.parse_args()

    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    stderr_path = Path(args.csv).with_suffix(".stderr.log")
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    env.setdefault("LSAN_OPTIONS", f"suppressions={Path(__file__).with_name('lsan.supp')}:print_suppressions=1")
    with open(stderr_path, "wb") as stderr:
        server = subprocess.Popen(
            [args.binary, "--port", "0", "--ping-interval", "2000", "--ping-timeout", "2000"],
            stdout=subprocess.PIPE, stderr=stderr, env=env,
        )  # fmt: skip
    line = server.stdout.readline().decode().strip()
    if not line.startswith("LISTENING "):
        print(f"server did not start: {line!r}", file=sys.stderr)
        server.kill()
        return 2
    url = line.split(" ", 1)[1]
    print(f"soak: {url} pid {server.pid}, {args.minutes} min, {args.workers} workers -> {args.csv}", flush=True)

    stop = threading.Event()
    counters = Counters()
    threads = [threading.Thread(target=churn, args=(url, stop, counters, i), daemon=True) for i in range(args.workers)]
    threads.append(threading.Thread(target=vanishing, args=(url, stop, counters), daemon=True))
    for thread in threads:
        thread.start()

    start = time.monotonic()
    end = start + args.minutes * 60
    rows = []
    with open(args.csv, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["seconds", "rss_kib", "fds", "sessions", "messages", "errors"])
        while time.monotonic() < end and server.poll() is None:
            elapsed = time.monotonic() - start
            row = [
                round(elapsed, 1), rss_kib(server.pid), len(os.listdir(f"/proc/{server.pid}/fd")),
                counters.sessions, counters.messages, counters.errors,
            ]  # fmt: skip
            rows.append(row)
            writer.writerow(row)
            out.flush()
            print("  t=%6.0fs rss=%7d KiB fds=%4d sessions=%6d messages=%7d errors=%d" % tuple(row), flush=True)
            time.sleep(min(args.interval, max(0.0, end - time.monotonic())))
    stop.set()
    for thread in threads:
        thread.join(15)
    crashed = server.poll() is not None
    server.send_signal(signal.SIGTERM)
    try:
        status = server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        status = server.wait()

    after_warmup = [r for r in rows if r[0] >= args.minutes * 60 * args.warmup] or rows
    first, last = after_warmup[0], after_warmup[-1]
    peak = max(r[1] for r in rows)
    print(
        f"soak done: {counters.sessions} sessions, {counters.messages} messages, {counters.errors} errors; "
        f"RSS after warm-up {first[1]} KiB -> end {last[1]} KiB (peak {peak} KiB); "
        f"server {'crashed' if crashed else 'ran'}, exit {status}"
    )
    tail = stderr_path.read_text(errors="replace")[-3000:]
    if "LeakSanitizer" in tail or "AddressSanitizer" in tail:
        print("sanitizer report:\n" + tail)
        return 1
    return 0 if not crashed and status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
