"""Writes a pushinator config for the benchmark scripts (ab.sh, user-send-rounds.sh, loadtool-rounds.sh).

    python3 Benchmarks/pushinator-config.py OUT.json ADMIN_PORT '{"admin": {"metrics": false}}'

Admin API on 127.0.0.1:ADMIN_PORT, Socket.IO clients on ADMIN_PORT + 1, no debug log; the JSON object (may be empty)
is deep-merged into that.
"""
import json
import sys


def merge(a, b):
    for k, v in b.items():
        a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
    return a


out, port, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else ""
base = {"admin": {"host": "127.0.0.1", "port": port}, "client": {"host": "127.0.0.1", "port": port + 1}, "log": {"debug": False}}
json.dump(merge(base, json.loads(extra or "{}")), open(out, "w"))
