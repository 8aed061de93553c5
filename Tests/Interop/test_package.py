"""scripts/package.sh: a release binary with the Swift runtime linked in, a tarball and a .deb. The .deb is checked
by lintian, unpacked into a temporary root, and its binary serves a python-socketio client with the packaged
configuration.

The release build takes minutes on two cores and runs once per session (module fixture). Knobs:
    PACKAGE_DIST=DIR   use the packages already in DIR instead of running scripts/package.sh
    SCRATCH_PATH=DIR   passed to scripts/package.sh (its swift build folder; default .build)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import REPO
from pushinator_support import HASH, Pushinator, auth, requires_app, wait_until

pytestmark = [requires_app, pytest.mark.timeout(2400)]

# What the binary may still load from the system: the C runtime, the C++ runtime under Swift's, and zlib.
ALLOWED_LIBRARIES = re.compile(r"^(linux-vdso|ld-linux-[\w-]+|libc|libm|libstdc\+\+|libgcc_s|libz)\.so")


def run(cmd: list[str], timeout: float = 120, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    existing = os.environ.get("PACKAGE_DIST")
    if existing:
        return Path(existing)
    out = tmp_path_factory.mktemp("dist")
    env = dict(os.environ, OUT=str(out))
    result = subprocess.run(
        [str(REPO / "scripts" / "package.sh")], cwd=REPO, env=env, capture_output=True, text=True, timeout=2100,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"scripts/package.sh failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return out


@pytest.fixture(scope="module")
def deb(dist: Path) -> Path:
    debs = list(dist.glob("pushinator_*.deb"))
    assert len(debs) == 1, list(dist.iterdir())
    return debs[0]


@pytest.fixture(scope="module")
def unpacked(deb: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("root")
    result = run(["dpkg-deb", "-x", str(deb), str(root)])
    assert result.returncode == 0, result.stderr
    return root


def test_binary_needs_only_the_c_runtime_and_zlib(dist: Path):
    needs = (dist / "pushinator.needs").read_text().split("\n")
    names = [line.split()[0] for line in needs if line.strip()]
    assert names, "ldd found no library at all"
    unexpected = [name for name in names if not ALLOWED_LIBRARIES.match(Path(name).name)]
    assert unexpected == [], f"the release binary loads more than the C runtime and zlib: {needs}"
    assert not any("swift" in name or "ssl" in name or "crypto" in name for name in names), needs


def test_deb_passes_lintian_without_errors(deb: Path):
    result = run(["lintian", "--tag-display-limit", "0", str(deb)], timeout=600)
    errors = [line for line in result.stdout.splitlines() if line.startswith("E:")]
    assert errors == [], result.stdout
    assert result.returncode in (0, 2), result.stdout + result.stderr  # 2: warnings only (lintian < 2.117 says 0)


def test_deb_holds_the_binary_config_unit_and_user_creation(deb: Path):
    listing = run(["dpkg-deb", "--contents", str(deb)]).stdout
    for path in ("./usr/bin/pushinator", "./etc/pushinator.conf", "./lib/systemd/system/pushinator.service",
                 "./etc/logrotate.d/pushinator", "./usr/share/doc/pushinator/copyright",
                 "./usr/share/doc/pushinator/examples/nginx.conf", "./usr/share/doc/pushinator/configuration.md.gz"):
        assert re.search(rf"\s{re.escape(path)}$", listing, re.M), f"{path} missing from the .deb:\n{listing}"
    assert "root/root" in listing and "pushinator/" not in listing.split("./")[0]
    conffiles = run(["dpkg-deb", "--info", str(deb), "conffiles"]).stdout.split()
    assert "/etc/pushinator.conf" in conffiles
    postinst = run(["dpkg-deb", "--info", str(deb), "postinst"]).stdout
    assert "adduser --system --group" in postinst and " pushinator" in postinst
    control = run(["dpkg-deb", "--field", str(deb), "Depends"]).stdout
    assert "libc6" in control and "adduser" in control


def test_tarball_holds_the_same_binary(dist: Path, unpacked: Path):
    tarballs = list(dist.glob("pushinator-*-linux-*.tar.gz"))
    assert len(tarballs) == 1, list(dist.iterdir())
    with tarfile.open(tarballs[0]) as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        for member in ("bin/pushinator", "etc/pushinator.conf", "etc/systemd/pushinator.service"):
            assert f"{top}/{member}" in names, names
        binary = tar.extractfile(f"{top}/bin/pushinator")
        assert binary is not None and binary.read() == (unpacked / "usr/bin/pushinator").read_bytes()


def test_packaged_unit_verifies_against_the_unpacked_binary(unpacked: Path, tmp_path: Path):
    unit = tmp_path / "pushinator.service"
    text = (unpacked / "lib/systemd/system/pushinator.service").read_text()
    unit.write_text(text.replace("/usr/bin/pushinator", str(unpacked / "usr/bin/pushinator")))
    result = run(["systemd-analyze", "verify", "--man=no", str(unit)])
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_unpacked_binary_serves_a_python_client_with_the_packaged_config(unpacked: Path, tmp_path: Path,
                                                                      make_client, monkeypatch):
    binary = unpacked / "usr/bin/pushinator"
    version = run([str(binary), "--version"]).stdout.strip()
    assert re.match(r"^\d+\.\d+\.\d+", version), version
    monkeypatch.setenv("PUSHINATOR_BIN", str(binary))
    (tmp_path / "run").mkdir()
    log_file = tmp_path / "pushinator.log"
    # /run/pushinator and /var/log/pushinator are made by systemd; here they are in tmp_path
    server = Pushinator(unpacked / "etc/pushinator.conf", tmp_path, env={
        "PUSHINATOR_PIDFILE": str(tmp_path / "run" / "pushinator.pid"),
        "PUSHINATOR_LOG_FILE": str(log_file),
    })
    server.start()
    try:
        server.register(42)
        client = make_client(server.client, ["websocket"])
        assert auth(client, 42, HASH) == {"ok": True, "queued": 0}
        reply = server.send(42, {"text": "from the package"})
        assert reply.status == 200 and reply.json["delivered"] == 1, reply
        assert client.rec.wait("message")[0] == '{"text":"from the package"}'
        wait_until(lambda: "configuration loaded" in log_file.read_text(), what="the packaged log.file")
        # the status page's template is compiled in: the installed binary needs no file beside it
        page = server.request("GET", "/")
        assert page.status == 200 and f"<title>pushinator {version} status</title>" in page.text, page
        assert '<b id="connections">1</b>' in page.text, page
    finally:
        server.stop()
