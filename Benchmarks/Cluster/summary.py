"""The summary of Benchmarks/Cluster/run.sh: the figures of each scenario, then each of issue 13's targets with the
figure beside it and whether it was met. Exit status 1 when a delivery was lost, doubled or not counted, or a send
failed (a target missed is not a failure of the run).

    summary.py RESULTS LATENCY_RATE
"""

import json
import os
import sys

results, latency_rate = sys.argv[1], int(sys.argv[2])


def read(label: str) -> dict | None:
    path = os.path.join(results, label + ".json")
    return json.load(open(path)) if os.path.exists(path) else None


def load(label: str) -> str:
    path = os.path.join(results, label + ".load")
    return open(path).read().strip() if os.path.exists(path) else "?"


def fan(r: dict | None) -> dict:
    return (r or {}).get("fanout") or {}


def lat(r: dict | None) -> dict:
    return (r or {}).get("latency") or {}


single, bus, cross, sends = read("single"), read("single-bus"), read("cross"), read("bus")
complete = True


def check(label: str, result: dict | None, kind: str) -> None:
    """Every delivery counted, none lost or doubled, every client connected, every send answered 200."""
    global complete
    if result is None:
        return
    if kind == "fanout":
        f = fan(result)
        ok = (bool(f) and f["lost"] == 0 and f["delivered"] == f["expected"] and not f.get("duplicates")
              and f["clients"] == result["clients"])
        what = f
    else:
        l = lat(result)
        ok = bool(l) and l["delivered"] == l["sent"] and l["errors"] == 0 and not l.get("duplicates")
        what = l
    if not ok:
        complete = False
        print(f"LOSS OR ERROR in {label} {kind}: {json.dumps(what)}", file=sys.stderr)


for label, result in (("single", single), ("single-bus", bus), ("cross", cross)):
    check(label, result, "fanout")
for label, result in (("cross", cross), ("bus", sends)):
    check(label, result, "latency")


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


rows, targets = [], []
if single:
    f = fan(single)
    rows.append((f"fan-out deliveries/s, one node, no cluster ({f.get('clients', 0):,} clients)",
                 f"{f.get('deliveriesPerSecond', 0):,.0f}", load("single")))
if bus:
    f = fan(bus)
    rows.append((f"fan-out deliveries/s, one node on the bus ({f.get('clients', 0):,} clients)",
                 f"{f.get('deliveriesPerSecond', 0):,.0f}", load("single-bus")))
    if single:
        ratio = f.get("deliveriesPerSecond", 0) / max(1, fan(single).get("deliveriesPerSecond", 0))
        targets.append(("cost of cluster mode to one node's fan-out (single-bus / single)", "≥ 0.90x",
                        f"{ratio:.2f}x", verdict(ratio >= 0.90)))
if cross:
    f, l = fan(cross), lat(cross)
    per_node = f.get("clients", 0) // 2
    rate = f.get("deliveriesPerSecond", 0)
    rows.append((f"fan-out deliveries/s, 2 nodes x {per_node:,} clients, /broadcast alternating between them",
                 f"{rate:,.0f} ({f.get('delivered', 0):,}/{f.get('expected', 0):,})", load("cross")))
    rows.append(("of which across the bus (half of each broadcast's clients are on the other node)",
                 f"{rate / 2:,.0f}", load("cross")))
    targets.append((f"cross-node deliveries/s at {per_node:,} clients per node", "recorded (no figure set)",
                    f"{rate / 2:,.0f}/s", "—"))
    rows.append((f"/user/send at {l.get('targetRate', 0):,}/s, each to the other node: p50 / p99 / max ms",
                 f"{l.get('p50Ms', 0):.2f} / {l.get('p99Ms', 0):.2f} / {l.get('maxMs', 0):.2f} "
                 f"({l.get('delivered', 0):,}/{l.get('sent', 0):,} delivered, {l.get('achievedRate', 0):,.0f}/s sent)",
                 load("cross")))
    met = (l.get("p99Ms", 1e9) <= 10 and l.get("achievedRate", 0) >= 0.95 * latency_rate
           and l.get("delivered") == l.get("sent"))
    targets.append((f"send-to-receive p99 across nodes at {l.get('targetRate', 0):,} sends/s", "≤ 10 ms",
                    f"{l.get('p99Ms', 0):.2f} ms ({l.get('achievedRate', 0):,.0f} sends/s)", verdict(met)))
if sends:
    l = lat(sends)
    rows.append((f"/user/send offered {l.get('targetRate', 0):,}/s, each to the other node: sent/s, p50 / p99 ms",
                 f"{l.get('achievedRate', 0):,.0f}, {l.get('p50Ms', 0):.1f} / {l.get('p99Ms', 0):.1f} "
                 f"({l.get('delivered', 0):,}/{l.get('sent', 0):,} delivered)", load("bus")))
bus_txt = os.path.join(results, "bus.txt")
bus_lines = open(bus_txt).read().splitlines() if os.path.exists(bus_txt) else []
for line in bus_lines:
    if line.startswith("BUS_RATE "):
        rate = float(line.split()[1])
        targets.append(("messages/s the bus carries (received by both nodes, busiest window of the sends)",
                        "≥ 10,000/s", f"{rate:,.0f}/s", verdict(rate >= 10_000)))

print("| figure | value | load average at start |")
print("| --- | ---: | ---: |")
for row in rows:
    print("| " + " | ".join(row) + " |")
print()
print("| issue 13's target | target | measured | |")
print("| --- | --- | ---: | --- |")
for row in targets:
    print("| " + " | ".join(row) + " |")
notes = [line for line in bus_lines if not line.startswith("BUS_RATE ")]
if notes:
    print("\n" + "\n".join(notes))
print("\nevery delivery counted, none lost or doubled, every send answered: " + ("yes" if complete else "NO (above)"))
sys.exit(0 if complete else 1)
