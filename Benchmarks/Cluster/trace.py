#!/usr/bin/env python3
"""Where a cross-node message's milliseconds go, from the nodes' debug-level `cluster trace` lines.

    python3 Benchmarks/Cluster/trace.py NODE-A.out NODE-B.out [TYPE]

Each node run with `"log": {"debug": true}` writes, with CLOCK_MONOTONIC microseconds (the same clock in every
process of the machine, and the LoadTool's):
  stage=batch      (SocketIOCluster) a publish batch: count, oldest/newest queued, taken (handed to the transport), end
  stage=published  (transport) its statement: the log ids first..last, start (query sent) and end (answer read)
  stage=arrived    (transport) a notification from another node: id, type, at (read), decoded
  stage=applied    (SocketIOCluster) the same message: consumed (taken from the transport's stream), end (applied)
The arrivals on each node are matched with the other node's publishes by log id; only messages of TYPE (default 9,
SERVER_SIDE_EMIT: the counting broadcast of /user/send) are counted. Prints percentiles of each stage, in ms.
"""
import re
import sys

FIELD = re.compile(r"(\w+)=(-?\d+)")


def read(path):
    batches, published, arrived, applied = [], [], {}, {}
    with open(path, errors="replace") as handle:
        for line in handle:
            if "cluster trace" not in line:
                continue
            fields = {key: int(value) for key, value in FIELD.findall(line)}
            stage = re.search(r"stage=(\w+)", line)
            if not stage:
                continue
            stage = stage.group(1)
            if stage == "batch":
                batches.append(fields)
            elif stage == "published":
                published.append(fields)
            elif stage == "arrived":
                arrived[fields["id"]] = fields
            elif stage == "applied":
                applied[fields["id"]] = fields
    # a batch line follows its statement's line (the publish loop is sequential)
    for batch, statement in zip(batches, published):
        statement["batch"] = batch
    return published, arrived, applied


def percentiles(values):
    if not values:
        return "n/a"
    values = sorted(values)
    pick = lambda p: values[min(len(values) - 1, int(p / 100 * len(values)))] / 1000
    return "p50 %7.2f  p90 %7.2f  p99 %7.2f  max %7.2f  (n=%d)" % (pick(50), pick(90), pick(99), values[-1] / 1000, len(values))


def main():
    a, b = sys.argv[1], sys.argv[2]
    wanted = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    nodes = {a: read(a), b: read(b)}
    stages = {key: [] for key in ("queued", "statement", "commit-to-arrival", "publish-to-arrival", "decode", "stream", "apply", "queued-to-applied")}
    for receiver, sender in ((a, b), (b, a)):
        published = nodes[sender][0]
        _, arrived, applied = nodes[receiver]
        published.sort(key=lambda s: s.get("first", 0))
        firsts = [s.get("first", 0) for s in published]
        import bisect
        for log_id, arrival in arrived.items():
            if arrival.get("type") != wanted:
                continue
            index = bisect.bisect_right(firsts, log_id) - 1
            if index < 0 or not (published[index]["first"] <= log_id <= published[index]["last"]):
                continue
            statement = published[index]
            batch = statement.get("batch")
            if batch:
                stages["queued"].append(batch["taken"] - batch["oldest"])
            stages["statement"].append(statement["end"] - statement["start"])
            stages["commit-to-arrival"].append(arrival["at"] - statement["end"])
            stages["publish-to-arrival"].append(arrival["at"] - statement["start"])
            stages["decode"].append(arrival["decoded"] - arrival["at"])
            done = applied.get(log_id)
            if done:
                stages["stream"].append(done["consumed"] - arrival["decoded"])
                stages["apply"].append(done["end"] - done["consumed"])
                if batch:
                    stages["queued-to-applied"].append(done["end"] - batch["oldest"])
    print("stages of cross-node messages of type %d, ms (queued: the oldest of its batch, queued to handed over)" % wanted)
    for name, values in stages.items():
        print("  %-20s %s" % (name, percentiles(values)))


if __name__ == "__main__":
    main()
