"""promtool (Debian's prometheus package) accepts the real /metrics output and the alert rules.

In CI (GATEWAY_REQUIRE_SERVICES=1) promtool must exist (.ci/run installs it); elsewhere these skip
without it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.metrics.scrape import scrape_text
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if REQUIRE_SERVICES:
            pytest.fail("promtool is missing (apt-get install prometheus), and GATEWAY_REQUIRE_SERVICES=1")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return found


def test_promtool_accepts_the_metrics_after_traffic(
    promtool: str, config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("promtool", targets=[backend]), "/promtool")
    config.sync()
    for path in ("/promtool/x", "/promtool/status/500", "/nowhere"):
        get(gateway, path)
    text = scrape_text(gateway.url)
    assert "gateway_requests_total" in text and "django_http_requests_total_by_method_total" in text
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_accepts_the_alert_rules(promtool: str) -> None:
    rules = ROOT / "docker" / "prometheus" / "alerts.yml"
    done = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_catches_a_broken_rule(promtool: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n- name: x\n  rules:\n  - alert: X\n    expr: rate(gateway_requests_total[5m]\n")
    done = subprocess.run([promtool, "check", "rules", str(broken)], capture_output=True, text=True)
    assert done.returncode != 0


def test_the_alerts_fire_on_the_series_the_gateway_exposes(promtool: str) -> None:
    tests = ROOT / "docker" / "prometheus" / "alerts_test.yml"
    done = subprocess.run([promtool, "test", "rules", str(tests)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_dashboard_query_is_valid_promql(promtool: str, tmp_path: Path) -> None:
    dashboard = json.loads((ROOT / "docker" / "grafana" / "gateway-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 16
    rules = [
        {"record": f"dashboard:query_{i}", "expr": e.replace("$__rate_interval", "5m").replace("$service", ".*")}
        for i, e in enumerate(exprs)
    ]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))  # JSON is YAML
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_prometheus_scrape_config_is_valid(promtool: str, tmp_path: Path) -> None:
    source = ROOT / "docker" / "prometheus"
    token = tmp_path / "token"
    token.write_text("a-token\n")
    config = (source / "prometheus.yml").read_text().replace("/etc/prometheus/gateway-metrics-token", str(token))
    (tmp_path / "prometheus.yml").write_text(config)
    (tmp_path / "alerts.yml").write_text((source / "alerts.yml").read_text())
    done = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
