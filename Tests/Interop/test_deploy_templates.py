"""The deployment files users copy (Templates/deploy/), each checked by the program that reads it: systemd's unit
verifier, nginx -t, haproxy -c, promtool, logrotate; the configuration files by pushinator itself.
Running them for real: test_pushinator_proxy.py (nginx, HAProxy), test_package.py (the .deb's config and unit).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from conftest import REPO
from pushinator_support import Pushinator, require_binary, requires_app, write_config

pytestmark = requires_app

DEPLOY = REPO / "Templates" / "deploy"


def need(program: str) -> str:
    path = shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/sbin/{program}") if Path(p).exists()), None
    )
    if path is None:
        pytest.fail(f"{program} not found: scripts/install-test-deps.sh installs it", pytrace=False)
    return path


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, **kwargs)


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_systemd_unit_verifies_and_names_what_pushinator_needs(tmp_path):
    text = (DEPLOY / "pushinator.service").read_text()
    settings = unit_settings(text)
    assert settings["User"] == ["pushinator"] and settings["Group"] == ["pushinator"]
    assert int(settings["LimitNOFILE"][0]) >= 65536
    assert settings["RuntimeDirectory"] == ["pushinator"]   # /run/pushinator: the pidfile
    assert settings["StateDirectory"] == ["pushinator"]     # /var/lib/pushinator: the user store
    assert settings["LogsDirectory"] == ["pushinator"]      # /var/log/pushinator: log.file
    assert settings["ProtectSystem"] == ["strict"]          # so only those three are writable
    assert settings["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    # the packaged configuration writes only where the unit lets it
    conf = (DEPLOY / "pushinator.conf").read_text()
    assert "pidfile: '/run/pushinator/pushinator.pid'" in conf
    assert "file: '/var/log/pushinator/pushinator.log'" in conf
    # systemd-analyze checks every directive and that the commands exist: point them at the built binary
    binary = require_binary()
    unit = tmp_path / "pushinator.service"
    unit.write_text(text.replace("/usr/bin/pushinator", str(binary)))
    result = run([need("systemd-analyze"), "verify", "--man=no", str(unit)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_packaged_config_starts_pushinator(tmp_path):
    """Templates/deploy/pushinator.conf as /etc/pushinator.conf, with the paths systemd would create moved to tmp."""
    server = Pushinator(
        DEPLOY / "pushinator.conf",
        tmp_path,
        env={"PUSHINATOR_PIDFILE": str(tmp_path / "run" / "pushinator.pid"), "PUSHINATOR_LOG_FILE": str(tmp_path / "pushinator.log")},
    )
    (tmp_path / "run").mkdir()
    server.start()
    try:
        assert server.post("/user/register", {"userId": 1, "hash": "x"}).status == 200
        assert server.announced["client"].startswith("http://127.0.0.1:"), server.announced  # loopback behind a proxy
        assert "configuration loaded" in (tmp_path / "pushinator.log").read_text()
    finally:
        server.stop()
    # no warning about the file (unknown keys, ignored values); the open-file limit is this machine's
    warnings = [line for line in server.stdout().splitlines()
                if " warning " in line and "the open-file limit caps the connections" not in line]
    assert warnings == [], server.stdout()


def test_example_config_starts_pushinator(tmp_path):
    """Examples/Pushinator/pushinator.conf, node pushinator's format, works as it is (but for the ports)."""
    server = Pushinator(REPO / "Examples" / "Pushinator" / "pushinator.conf", tmp_path)
    server.start()
    try:
        assert server.post("/user/register", {"userId": 55866, "hash": "7f81776793e31d71d1ed71038e78dbf5"}).status == 200
    finally:
        server.stop()


def substitute(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"the template no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def test_nginx_site_passes_nginx_t(tmp_path, self_signed_cert):
    cert, key = self_signed_cert
    site = substitute((DEPLOY / "nginx.conf").read_text(), {
        "/etc/letsencrypt/live/push.example.com/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/push.example.com/privkey.pem": str(key),
    })
    (tmp_path / "site.conf").write_text(site)
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )
    result = run([need("nginx"), "-t", "-q", "-p", str(tmp_path), "-c", str(main)])
    assert result.returncode == 0, result.stderr


def test_haproxy_config_passes_haproxy_c(tmp_path, self_signed_cert):
    cert, key = self_signed_cert
    pem = tmp_path / "push.pem"
    pem.write_text(cert.read_text() + key.read_text())
    config = tmp_path / "haproxy.cfg"
    config.write_text(substitute((DEPLOY / "haproxy.cfg").read_text(), {"/etc/haproxy/certs/push.example.com.pem": str(pem)}))
    result = run([need("haproxy"), "-c", "-f", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_config_and_alert_rules_pass_promtool(tmp_path):
    promtool = need("promtool")
    shutil.copy(DEPLOY / "prometheus.yml", tmp_path)
    shutil.copy(DEPLOY / "pushinator-alerts.yml", tmp_path)
    result = run([promtool, "check", "config", str(tmp_path / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout + result.stderr
    result = run([promtool, "check", "rules", str(tmp_path / "pushinator-alerts.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_logrotate_config_parses(tmp_path):
    logrotate = need("logrotate")
    logs = tmp_path / "log"
    logs.mkdir()
    (logs / "pushinator.log").write_text("a line\n")
    config = tmp_path / "logrotate.conf"
    text = substitute((DEPLOY / "logrotate").read_text(), {"/var/log/pushinator/": f"{logs}/"})
    config.write_text(re.sub(r"^\s*su .*$", "", text, flags=re.M))  # su needs the pushinator user
    result = run([logrotate, "--debug", "--state", str(tmp_path / "state"), str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"considering log {logs}/pushinator.log" in result.stdout + result.stderr


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 10
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    return exprs


def test_grafana_dashboard_is_importable_json():
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] == "pushinator" and dashboard["title"] == "pushinator"
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource", "instance"}
    for expr in dashboard_expressions():
        assert expr.count("(") == expr.count(")"), expr
        assert "pushinator_" in expr, expr


@pytest.fixture(scope="module")
def self_signed_cert(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    result = run([
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
        "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ])
    assert result.returncode == 0, result.stderr
    return cert, key


def template_keys(text: str) -> set[str]:
    """The dotted keys of a config file in node pushinator's format (one key per line, as the template is written)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    keys: set[str] = set()
    path: list[str] = []
    for line in text.splitlines():
        line = line.split("//", 1)[0].strip()
        opened = re.match(r"^'?(\w+)'?\s*:\s*\{\s*$", line)
        leaf = re.match(r"^'?(\w+)'?\s*:", line)
        if opened:
            path.append(opened.group(1))
        elif leaf:
            keys.add(".".join([*path, leaf.group(1)]))
        elif line.startswith("}") and path:
            path.pop()
    return keys


def reference_keys() -> set[str]:
    table = (REPO / "Documentation" / "configuration.md").read_text()
    return {m.group(1) for m in re.finditer(r"^\| `([\w.]+)` \|", table, re.M)}


def test_the_template_has_every_key_of_the_configuration_reference():
    template = template_keys((DEPLOY / "pushinator.conf").read_text())
    documented = reference_keys() - {"log.syslog.hostname"}  # node's key, ignored
    assert documented, "no key table found in Documentation/configuration.md"
    assert template == documented, f"only in the template: {template - documented}; only documented: {documented - template}"


def test_the_template_names_no_unknown_key(tmp_path):
    checked = run([str(require_binary()), "--check", "-c", str(DEPLOY / "pushinator.conf")])
    assert checked.returncode == 0, checked.stderr
    assert "unknown configuration key" not in checked.stderr, checked.stderr


# Named by the dashboard and the alerts, not served yet (Documentation/operations.md says so): none left
NOT_YET_SERVED: set[str] = set()


def test_alerts_and_dashboard_name_metrics_that_pushinator_serves(tmp_path):
    rules = (DEPLOY / "pushinator-alerts.yml").read_text()
    named = set(re.findall(r"\bpushinator_[a-z_]+", rules + "\n".join(dashboard_expressions()))) - {"pushinator_"}
    named = {re.sub(r"_(bucket|sum|count)$", "", name) for name in named}
    server = Pushinator(write_config(tmp_path), tmp_path).start()
    try:
        server.assert_serving()  # an admin request first: per-route series appear once a route was called
        scrape = requests.get(server.admin + "/metrics", timeout=5).text
    finally:
        server.stop()
    served = set(re.findall(r"^# TYPE (pushinator_\w+) ", scrape, re.M))
    served |= {name + "_total" for name in served}  # a counter's TYPE line may omit _total
    missing = named - served - NOT_YET_SERVED
    assert missing == set(), f"named by the templates but not in /metrics: {missing}\n{scrape[:3000]}"
