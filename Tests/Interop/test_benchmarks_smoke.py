"""The Socket.IO benchmark's smoke mode (issue 5): the load tool, the floor server and the python-socketio peer
still work together with pushinator. It asserts deliveries, not speed (speed lives in Benchmarks/README.md).

`Benchmarks/run.sh --smoke` builds the load tool and the floor server (debug; a few minutes on a fresh clone), runs
50 clients per server through two load-tool processes (the coordinator and one worker), and fails unless every
client authenticated and every broadcast and per-user message arrived exactly once (counted per message id: client
and seq); then 50 clients per server connect over
HTTP long-polling and upgrade to WebSocket (pushinator, python-socketio); then the connect-rate ceiling tool
(`Benchmarks/ConnectCeiling`, C) connects 50 clients to its own server and to pushinator."""

import os
import signal
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMOKE_TIMEOUT = 1500  # seconds: building the load tool and the floor from scratch is most of it


@pytest.mark.timeout(SMOKE_TIMEOUT + 60)
def test_benchmark_smoke_run_delivers_every_message_on_every_server():
    # its own process group, so that the servers and load-tool processes it starts go with it on a timeout
    run = subprocess.Popen(
        ["bash", str(REPO / "Benchmarks" / "run.sh"), "--smoke"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        stdout, stderr = run.communicate(timeout=SMOKE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate()
        raise AssertionError(f"the smoke run did not finish in {SMOKE_TIMEOUT} s")
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    report = stdout[-4000:] + "\n--- stderr ---\n" + stderr[-4000:]
    assert run.returncode == 0, report
    # each client got each broadcast and each per-user message exactly once, counted by message id (client and seq),
    # so that a duplicate cannot make up for a loss
    for server in ("pushinator", "python", "floor"):
        line = next((line for line in stdout.splitlines() if line.startswith(f"{server}: connected")), None)
        assert line is not None and line.endswith(" ok"), report
        assert "distinct ids (0 duplicates)" in line and line.count("distinct ids (0 duplicates)") == 2, report
    assert "2 processes: 25 + 25 clients" in stderr, report  # the worker protocol was exercised
    # the connect run over HTTP long-polling then the upgrade (the official clients' default way in)
    for server in ("pushinator", "python"):
        line = next((line for line in stdout.splitlines() if line.startswith(f"{server}: connected over polling")), None)
        assert line is not None and line.endswith(" 50/50 ok"), report
    # the connect-rate ceiling tool (C client and server) connected its 50 clients to itself and to pushinator
    for pair in ("ceiling <- c", "pushinator <- c"):
        row = next((line for line in stdout.splitlines() if line.startswith(f"| {pair} |")), None)
        assert row is not None and int(row.split("|")[2]) > 0, report
