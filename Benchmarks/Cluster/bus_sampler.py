"""Samples `cluster.receivedMessages` of /health on the given admin ports every 0.25 s until killed; one line per
sample: `<monotonic seconds> <count on the first port> <count on the second> ...` (-1 when a node did not answer).
`bus_sampler.py rate FILE SECONDS` prints the busiest SECONDS-long window of a sample file, in messages/s."""

import json
import sys
import time
import urllib.error
import urllib.request


def received(port: int) -> int:
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
    except urllib.error.HTTPError as error:  # 503 DEGRADED still has the body
        body = error.read()
    except Exception:
        return -1
    return int(json.loads(body).get("cluster", {}).get("receivedMessages", -1))


def sample(path: str, ports: list[int]) -> None:
    with open(path, "w", buffering=1) as out:
        while True:
            counts = " ".join(str(received(port)) for port in ports)
            out.write(f"{time.monotonic():.3f} {counts}\n")
            time.sleep(0.25)


def busiest(path: str, window: float) -> tuple[float, int, float]:
    """(messages/s, messages, seconds) of the busiest window at least `window` - 0.3 s long (all nodes together)."""
    rows = []
    for line in open(path):
        fields = line.split()
        if len(fields) >= 2 and all(int(f) >= 0 for f in fields[1:]):
            rows.append((float(fields[0]), sum(int(f) for f in fields[1:])))
    best = (0.0, 0, 0.0)
    for i, (t0, c0) in enumerate(rows):
        for t1, c1 in rows[i + 1:]:
            if t1 - t0 >= window - 0.3:
                if (c1 - c0) / (t1 - t0) > best[0]:
                    best = ((c1 - c0) / (t1 - t0), c1 - c0, t1 - t0)
                break
    return best


if __name__ == "__main__":
    if sys.argv[1] == "rate":
        rate, count, seconds = busiest(sys.argv[2], float(sys.argv[3]))
        print(f"{rate:.1f} {count} {seconds:.2f}")
    else:
        sample(sys.argv[1], [int(port) for port in sys.argv[2:]])
