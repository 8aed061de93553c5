"""The Socket.IO benchmark's smoke mode (issue 5): the load tool, the floor server and the python-socketio peer
still work together with pushinator. It asserts deliveries, not speed (speed lives in Benchmarks/README.md).

`Benchmarks/run.sh --smoke` builds the load tool and the floor server (debug), runs 50 clients per server through
two load-tool processes (the coordinator and one worker), and fails unless every client authenticated and every
broadcast and per-user message arrived."""

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_benchmark_smoke_run_delivers_every_message_on_every_server():
    try:
        run = subprocess.run(
            ["bash", str(REPO / "Benchmarks" / "run.sh"), "--smoke"],
            cwd=REPO, capture_output=True, text=True, timeout=1200,
        )
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"the smoke run did not finish in {error.timeout} s") from error
    report = run.stdout[-4000:] + "\n--- stderr ---\n" + run.stderr[-4000:]
    assert run.returncode == 0, report
    for server in ("pushinator", "python", "floor"):
        line = next((line for line in run.stdout.splitlines() if line.startswith(f"{server}: connected")), None)
        assert line is not None and line.endswith(" ok"), report
    assert "2 processes: 25 + 25 clients" in run.stderr, report  # the worker protocol was exercised
