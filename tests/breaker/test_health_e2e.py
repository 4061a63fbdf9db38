"""Active health checks through the real gateway: the sweep's results reach the gateway process
(through its health board, not a query per request), unhealthy targets leave the rotation, stale
results are ignored, and the health shows in /health/services and /api/v1/services."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from breaker import services
from breaker.models import TargetHealth
from tests.breaker.flaky import Flaky
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import GatewayProcess

CHECKED = {"health_check_path": "/healthz", "health_check_interval": 1.0, "health_check_healthy_successes": 2}
BOARD = 0.2  # GATEWAY_HEALTH_POLL_INTERVAL of test gateways


def sweep_now() -> None:
    services.sweep(now=timezone.now() + timedelta(seconds=60))  # every target is due


def spread(gateway: GatewayProcess, path: str, a: Flaky, b: Flaky, n: int = 6) -> tuple[int, int]:
    before = a.requests, b.requests
    for _ in range(n):
        assert get(gateway, path).status == 200
    return a.requests - before[0], b.requests - before[1]


def test_an_unhealthy_target_leaves_the_rotation_and_comes_back_after_the_successes(
    config: ConfigHelper, gateway: GatewayProcess, flaky: Flaky, flaky_b: Flaky
) -> None:
    service = config.service("checked", targets=[flaky, flaky_b], **CHECKED)
    config.route(service, "/checked")
    config.sync()
    sweep_now()
    assert spread(gateway, "/checked/x", flaky, flaky_b) == (3, 3)

    flaky.health_status = 503
    sweep_now()
    time.sleep(BOARD * 3)
    assert spread(gateway, "/checked/x", flaky, flaky_b) == (0, 6)

    flaky.health_status = 200
    sweep_now()
    time.sleep(BOARD * 3)
    assert spread(gateway, "/checked/x", flaky, flaky_b) == (0, 6)  # one success of two
    sweep_now()
    time.sleep(BOARD * 3)
    assert spread(gateway, "/checked/x", flaky, flaky_b) == (3, 3)


def test_stale_results_are_ignored_and_shown_as_stale(
    config: ConfigHelper, gateway: GatewayProcess, flaky: Flaky, flaky_b: Flaky
) -> None:
    service = config.service("stale", targets=[flaky, flaky_b], **CHECKED)
    config.route(service, "/stale")
    config.sync()
    flaky.health_status = 503
    sweep_now()
    time.sleep(BOARD * 3)
    assert spread(gateway, "/stale/x", flaky, flaky_b) == (0, 6)

    # The worker stopped an hour ago: the last results are stale and nobody is kept out on their word.
    TargetHealth.objects.update(checked_at=timezone.now() - timedelta(hours=1))
    time.sleep(BOARD * 3)
    assert spread(gateway, "/stale/x", flaky, flaky_b) == (3, 3)
    _, body = gateway.get_json("/health/services")
    (entry,) = [s for s in body["services"] if s["slug"] == "stale"]
    assert [t["status"] for t in entry["targets"]] == ["stale", "stale"]
    assert entry["health"]["status"] == "stale"


def test_when_every_target_is_unhealthy_it_answers_503_without_contacting_them(
    config: ConfigHelper, gateway: GatewayProcess, flaky: Flaky
) -> None:
    service = config.service("down", targets=[flaky], **CHECKED)
    config.route(service, "/down")
    config.sync()
    flaky.health_status = 503
    sweep_now()
    time.sleep(BOARD * 3)
    reply = get(gateway, "/down/x")
    reply.problem("no_healthy_upstream")
    assert reply.header("retry-after") == "1"
    assert flaky.requests == 0


def test_health_services_and_the_service_list_show_health_breaker_last_check_and_latency(
    config: ConfigHelper, gateway: GatewayProcess, flaky: Flaky
) -> None:
    service = config.service("shown", targets=[flaky], breaker_enabled=True, **CHECKED)
    config.route(service, "/shown")
    config.sync()
    sweep_now()

    status, body = gateway.get_json("/health/services")
    assert status == 200
    (entry,) = [s for s in body["services"] if s["slug"] == "shown"]
    (target,) = entry["targets"]
    assert target["status"] == "healthy" and target["breaker"] == "closed"
    assert target["checked_at"] is not None and target["latency_ms"] > 0
    assert "address" not in target  # public: addresses are for staff
    assert entry["health"]["status"] == "healthy" and entry["health"]["targets_available"] == 1

    _, listed = gateway.get_json("/api/v1/services")
    (summary,) = [s for s in listed["services"] if s["slug"] == "shown"]
    assert summary["health"] == entry["health"]
    assert summary["targets"][0]["health"]["status"] == "healthy"
