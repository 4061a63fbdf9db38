"""/metrics after real traffic through the proxy: counter and histogram values, not only names."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.metrics.scrape import parse, scrape_text, total, value, wait_for
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess, free_port


def test_requests_are_counted_by_service_route_and_status_class(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("counted", targets=[backend]), "/counted", name="counted-route")
    config.sync()
    for _ in range(7):
        assert get(gateway, "/counted/x?secret=1").status == 200
    for _ in range(3):
        assert get(gateway, "/counted/status/503").status == 503

    samples = parse(scrape_text(gateway.url))
    labels = {"service": "counted", "route": "counted-route"}
    assert value(samples, "gateway_requests_total", status_class="2xx", **labels) == 7
    assert value(samples, "gateway_requests_total", status_class="5xx", **labels) == 3
    assert value(samples, "gateway_request_duration_seconds_count", status_class="2xx", **labels) == 7
    assert value(samples, "gateway_request_duration_seconds_bucket", status_class="2xx", le="+Inf", **labels) == 7
    assert value(samples, "gateway_upstream_duration_seconds_count", **labels) == 10
    assert value(samples, "gateway_added_duration_seconds_count", **labels) == 10
    assert value(samples, "gateway_response_bytes_total", **labels) > 0
    assert 0 < value(samples, "gateway_upstream_duration_seconds_sum", **labels) < 10
    assert value(samples, "gateway_requests_in_flight") == 0


def test_requests_refused_before_routing_are_counted_under_a_dash(gateway: GatewayProcess) -> None:
    before = parse(scrape_text(gateway.url))
    for _ in range(4):
        assert get(gateway, "/no-such-route-anywhere").status == 404
    after = parse(scrape_text(gateway.url))
    labels = {"service": "-", "route": "-", "status_class": "4xx"}
    assert value(after, "gateway_requests_total", **labels) - value(before, "gateway_requests_total", **labels) == 4


def test_upstream_errors_are_counted_by_kind(config: ConfigHelper, gateway: GatewayProcess) -> None:
    service = config.service("unreachable", retries=0)
    service.targets.create(host="127.0.0.1", port=free_port())
    config.route(service, "/unreachable", name="unreachable-route")
    config.sync()
    for _ in range(2):
        assert get(gateway, "/unreachable/x").status == 502
    samples = parse(scrape_text(gateway.url))
    labels = {"service": "unreachable", "route": "unreachable-route"}
    assert value(samples, "gateway_upstream_errors_total", kind="connect", **labels) == 2
    assert value(samples, "gateway_requests_total", status_class="5xx", **labels) == 2


def test_auth_failures_are_counted_by_reason(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("guarded", targets=[backend]), "/guarded", name="guarded-route", auth_mode="api_key")
    config.sync()
    for _ in range(3):
        assert get(gateway, "/guarded/x").status == 401
    samples = parse(scrape_text(gateway.url))
    found = total(samples, "gateway_auth_failures_total", service="guarded", route="guarded-route")
    assert found == 3
    assert backend.count() == 0


def test_the_config_version_served_is_exposed(config: ConfigHelper, gateway: GatewayProcess) -> None:
    version = config.sync()
    samples = parse(scrape_text(gateway.url))
    assert value(samples, "gateway_config_version_served") == version
    assert value(samples, "gateway_config_rebuilds_total") >= 1


@pytest.mark.timeout(120)
def test_two_workers_report_the_sum_of_their_requests(transactional_db: None, backend: BackendThread) -> None:
    pair = GatewayProcess(
        workers=2, env={"GATEWAY_METRICS_FLUSH_SECONDS": "0.2", "GATEWAY_METRICS_TOKEN": "obs-token"}
    ).start()
    try:
        config = ConfigHelper(gateways=[pair])
        config.route(config.service("pair", targets=[backend]), "/pair", name="pair-route")
        config.route(config.service("pairwarm", targets=[backend]), "/pairwarm")
        config.sync()
        _until_every_worker_serves(pair, "/pairwarm/x")  # sync sees one worker when there is no Redis
        for _ in range(200):
            assert get(pair, "/pair/x").status == 200
        labels = {"service": "pair", "route": "pair-route", "status_class": "2xx"}
        samples = parse(scrape_text(pair.url, {"Authorization": "Bearer obs-token"}))
        assert value(samples, "gateway_requests_total", **labels) == 200
        assert value(samples, "gateway_request_duration_seconds_count", **labels) == 200
        text = scrape_text(pair.url, {"Authorization": "Bearer obs-token"})
        pids = {
            line.split('pid="')[1].split('"')[0]
            for line in text.splitlines()
            if "gateway_config_version_served{" in line
        }
        assert len(pids) == 2, text  # each live worker reports the version it serves

        # The rolling windows of both workers are merged too (each one shares its slots every 0.2 s).
        deadline = time.monotonic() + 10
        while True:
            staff = {"Authorization": "Bearer obs-token"}
            figures = _json(pair.url + "/metrics/performance", staff)["services"]["pair"]
            if figures["1m"]["requests"] == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert figures["1m"]["requests"] == 200
        # The worker that answered the scrape merged its own slots from memory; its file (and the other
        # worker's) is rewritten every 0.2 s, so the files catch up a moment later.
        deadline = time.monotonic() + 10
        while True:
            files = Path(pair.env["PROMETHEUS_MULTIPROC_DIR"]).glob("perf_*.json")
            per_worker = [_requests_in(path, "pair") for path in files]
            if sum(per_worker) == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(per_worker) == 2 and all(per_worker) and sum(per_worker) == 200, per_worker  # both served some
        assert figures["1m"]["p95_ms"] > 0 and figures["5m"]["errors"] == 0
        families = _json(pair.url + "/metrics/json", staff)["metrics"]
        as_json = [
            x["value"]
            for x in families["gateway_requests"]["samples"]
            if x["name"] == "gateway_requests_total" and x["labels"] == labels
        ]
        assert as_json == [200.0]
        scores = _json(pair.url + "/metrics/health-score", staff)
        assert scores["services"]["pair"]["score"] == 100
        overview = {row["service"]: row for row in _json(pair.url + "/metrics/overview", staff)["services"]}
        assert overview["pair"]["rps"] > 0 and overview["pair"]["error_rate"] == 0 and overview["pair"]["score"] == 100
    finally:
        pair.stop()


def _json(url: str, headers: dict[str, str]) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as resp:
        return json.loads(resp.read())


def _requests_in(path: Path, service: str) -> int:
    slots = json.loads(path.read_text()).get(service, {})
    return sum(sum(counts[:-1]) for counts in slots.values())


def test_proxied_requests_never_pass_through_django_prometheus_middleware(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("bypass", targets=[backend]), "/bypass")
    config.sync()
    name = "django_http_requests_before_middlewares_total"
    before = value(parse(scrape_text(gateway.url)), name)
    for path in ("/bypass/a", "/bypass/b", "/no-route-here"):
        get(gateway, path)
    after = value(parse(scrape_text(gateway.url)), name)
    assert after - before == 1  # the second scrape itself; none of the proxied requests


def test_a_request_waiting_on_its_backend_is_in_flight(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("inflight", targets=[backend]), "/inflight")
    config.sync()
    with ThreadPoolExecutor(2) as pool:
        slow = [pool.submit(get, gateway, "/inflight/slow?seconds=1.5") for _ in range(2)]
        samples = wait_for(gateway.url, lambda s: value(s, "gateway_requests_in_flight") == 2, timeout=5)
        assert value(samples, "gateway_requests_in_flight") == 2
        assert all(f.result().status == 200 for f in slow)
    assert value(parse(scrape_text(gateway.url)), "gateway_requests_in_flight") == 0


def test_with_metrics_off_nothing_is_recorded(transactional_db: None, backend: BackendThread) -> None:
    off = GatewayProcess(env={"GATEWAY_METRICS": "0"}).start()
    try:
        config = ConfigHelper(gateways=[off])
        config.route(config.service("dark", targets=[backend]), "/dark")
        config.sync()
        assert get(off, "/dark/x").status == 200
        text = scrape_text(off.url)
        assert "gateway_requests_total{" not in text and "django_http_requests" not in text
    finally:
        off.stop()


def _until_every_worker_serves(gateway: GatewayProcess, path: str, timeout: float = 10) -> None:
    """Fresh connections land on any worker: 10 answers in a row mean every worker has the table."""
    deadline, good = time.monotonic() + timeout, 0
    while good < 10:
        good = good + 1 if get(gateway, path).status == 200 else 0
        assert time.monotonic() < deadline, "some worker never loaded the table"
        if not good:
            time.sleep(0.1)
