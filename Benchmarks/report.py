#!/usr/bin/env python3
"""Reads Benchmarks/results/<server>-<N>.json (written by loadtool via run.sh), prints the comparison table with
ratios, writes results/summary.json, results/summary.md and results/socketio.png (deliveries/s and KB per
connection against N)."""
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def load():
    runs = {}
    for path in glob.glob(os.path.join(RESULTS, "*-*.json")):
        name = os.path.basename(path)
        if name.startswith("summary") or name.startswith("connect-"):
            continue
        with open(path) as f:
            data = json.load(f)
        runs.setdefault(data["label"], {})[data["clients"]] = data
    return runs


def get(run, *keys):
    for key in keys:
        if run is None:
            return None
        run = run.get(key)
    return run


def ratio(a, b):
    return a / b if a and b else None


def fmt(value, digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def main():
    runs = load()
    if not runs:
        print("no results", file=sys.stderr)
        return 1
    labels = sorted(runs, key=lambda l: (l != "pushinator", l))
    sizes = sorted({n for r in runs.values() for n in r})
    lines = []
    meta = json.load(open(os.path.join(RESULTS, "meta.json"))) if os.path.exists(os.path.join(RESULTS, "meta.json")) else {}
    if meta:
        lines.append(f"Run {meta.get('date', '?')}, commit {meta.get('commit', '?')}, {meta.get('machine', '')}")
        lines.append("")
    lines.append("| N | server | deliveries/s | lost | trigger->last ms | fan-out CPU srv/cli % (saturated) | "
                 "connects/s | CPU srv/cli % | KB/conn | latency p50/p99/p99.9 ms | sends/s | CPU srv/cli % |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for label in labels:
            r = runs[label].get(n)
            if not r:
                continue
            f, c, m, l = r.get("fanout"), r.get("connect"), r.get("memory"), r.get("latency")
            lines.append("| " + " | ".join([
                f"{n:,}", label,
                fmt(get(f, "deliveriesPerSecond")), fmt(get(f, "lost")), fmt(get(f, "triggerToLastMs")),
                f"{fmt(get(f, 'cpu', 'server'))}/{fmt(get(f, 'cpu', 'client'))} ({get(f, 'cpu', 'saturated') or '-'})",
                fmt(get(c, "perSecond")),
                f"{fmt(get(c, 'cpu', 'server'))}/{fmt(get(c, 'cpu', 'client'))} ({get(c, 'cpu', 'saturated') or '-'})",
                fmt((get(m, "bytesPerConnection") or 0) / 1024, 1) if m else "-",
                f"{fmt(get(l, 'p50Ms'), 2)}/{fmt(get(l, 'p99Ms'), 2)}/{fmt(get(l, 'p999Ms'), 2)}" if l else "-",
                fmt(get(l, "achievedRate")),
                f"{fmt(get(l, 'cpu', 'server'))}/{fmt(get(l, 'cpu', 'client'))} ({get(l, 'cpu', 'saturated') or '-'})",
            ]) + " |")
    lines.append("")
    lines.append("Ratios of pushinator (fan-out deliveries/s, connects/s, memory/conn):")
    lines.append("")
    lines.append("| N | vs | fan-out | connect | memory (lower is better) |")
    lines.append("|---|---|---|---|---|")
    ours = runs.get("pushinator", {})
    summary = {"runs": runs, "ratios": []}
    for n in sizes:
        p = ours.get(n)
        if not p:
            continue
        for other in labels:
            if other == "pushinator" or n not in runs[other]:
                continue
            o = runs[other][n]
            entry = {
                "clients": n, "vs": other,
                "fanout": ratio(get(p, "fanout", "deliveriesPerSecond"), get(o, "fanout", "deliveriesPerSecond")),
                "connect": ratio(get(p, "connect", "perSecond"), get(o, "connect", "perSecond")),
                "memory": ratio(get(p, "memory", "bytesPerConnection"), get(o, "memory", "bytesPerConnection")),
            }
            summary["ratios"].append(entry)
            lines.append(f"| {n:,} | {other} | {fmt(entry['fanout'], 2)}x | {fmt(entry['connect'], 2)}x | "
                         f"{fmt(entry['memory'], 2)}x |")
    polling = []
    for path in sorted(glob.glob(os.path.join(RESULTS, "connect-polling-*.json")),
                       key=lambda p: (not p.endswith("-pushinator.json"), p)):
        polling.append(dict(json.load(open(path)).get("connect") or {},
                            server=os.path.basename(path)[len("connect-polling-"):-len(".json")]))
    if polling:
        summary["connectPolling"] = polling
        lines += ["", "Connect over HTTP long-polling, then the upgrade to WebSocket and `auth` (the official clients' default):",
                  "", "| server | N | connects/s | CPU srv/cli % (saturated) |", "|---|---|---|---|"]
        for c in polling:
            cpu = c.get("cpu") or {}
            lines.append(f"| {c['server']} | {c.get('clients', 0):,} | {fmt(c.get('perSecond'))} "
                         f"({c.get('authenticated')}/{c.get('clients')}) | {fmt(cpu.get('server'))} / "
                         f"{fmt(cpu.get('client'))} ({cpu.get('saturated', '?')}) |")
    # written in the same run by ConnectCeiling/run.sh and (FLOOR_ROUNDS) loadtool-rounds.sh
    for extra in ("connect-ceiling.md", "floor-rounds.md"):
        if os.path.exists(os.path.join(RESULTS, extra)):
            lines += ["", open(os.path.join(RESULTS, extra)).read().rstrip("\n")]
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(RESULTS, "summary.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(RESULTS, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no chart (pip install matplotlib)", file=sys.stderr)
        return 0
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label in labels:
        xs = sorted(runs[label])
        d = [get(runs[label][x], "fanout", "deliveriesPerSecond") for x in xs]
        m = [(get(runs[label][x], "memory", "bytesPerConnection") or 0) / 1024 if get(runs[label][x], "memory") else None
             for x in xs]
        left.plot([x for x, v in zip(xs, d) if v], [v for v in d if v], marker="o", label=label)
        right.plot([x for x, v in zip(xs, m) if v is not None], [v for v in m if v is not None], marker="o", label=label)
    left.set_title("Socket.IO fan-out (broadcast)")
    left.set_xlabel("authenticated clients N")
    left.set_ylabel("deliveries / s")
    left.set_yscale("log")
    right.set_title("server RSS per idle authenticated connection")
    right.set_xlabel("authenticated clients N")
    right.set_ylabel("KB / connection")
    right.axhline(8, color="grey", linestyle="--", linewidth=0.8, label="target 8 KB")
    for axis in (left, right):
        axis.set_xscale("log")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(RESULTS, "socketio.png"), dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
