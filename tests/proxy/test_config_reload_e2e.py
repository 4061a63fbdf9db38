"""Configuration changes reach running gateway processes within about a second, without restarts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from registry.models import Route, Target
from registry.services import bump_config_version, current_config_version
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess

# Measured against a gateway polling every 0.2 s (the test default); the production default is 1 s.
SWAP_BUDGET = 1.0


def _until(condition: Callable[[], bool], timeout: float = 5) -> float:
    """Poll ``condition`` until it holds; return how long that took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition still false after {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


def _config_status(gateway: GatewayProcess) -> dict[str, Any]:
    _, body = gateway.get_json("/health/detailed")
    return dict(body["checks"]["config"])


def test_a_route_added_in_the_database_is_served_within_a_second(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("late", targets=[backend])
    config.sync()
    assert get(gateway, "/late/x").status == 404

    config.route(service, "/late")
    took = _until(lambda: get(gateway, "/late/x").status == 200)

    assert took < SWAP_BUDGET


def test_a_disabled_route_stops_being_served_within_a_second(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    route = config.route(config.service("gone", targets=[backend]), "/gone")
    config.sync()
    assert get(gateway, "/gone/x").status == 200

    route.enabled = False
    route.save()
    took = _until(lambda: get(gateway, "/gone/x").status == 404)

    assert took < SWAP_BUDGET
    get(gateway, "/gone/x").problem("no_route")


def test_a_deleted_route_and_a_disabled_service_stop_being_served(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    route = config.route(config.service("one", targets=[backend]), "/one")
    other = config.service("two", targets=[backend], dynamic_route=True)
    config.route(other, "/two")
    config.sync()
    assert get(gateway, "/api/v1/two/x").status == 200

    route.delete()
    other.enabled = False
    other.save()
    config.sync()

    assert get(gateway, "/one/x").status == 404
    assert get(gateway, "/two/x").status == 404
    assert get(gateway, "/api/v1/two/x").status == 404


def test_a_changed_target_is_used_after_the_swap(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, backend_b: BackendThread
) -> None:
    config.route(config.service("move", targets=[backend]), "/move")
    config.sync()
    assert get(gateway, "/move/x").json()["backend"] == "backend-a"

    Target.objects.filter(service__slug="move").update(port=backend_b.port)
    bump_config_version()  # a queryset update sends no signal; the admin's services do this
    config.sync()

    assert get(gateway, "/move/x").json()["backend"] == "backend-b"


@pytest.fixture
def second_gateway(django_db_setup: None, django_db_blocker: object) -> Iterator[GatewayProcess]:
    # The production poll interval: without Redis, polling is all a process has.
    process = GatewayProcess(env={"GATEWAY_CONFIG_POLL_INTERVAL": "1.0"}).start()
    yield process
    process.stop()


def test_two_gateway_processes_both_serve_a_route_added_afterwards(
    config: ConfigHelper, gateway: GatewayProcess, second_gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.gateways.append(second_gateway)
    service = config.service("shared", targets=[backend])
    config.sync()
    assert get(second_gateway, "/shared/x").status == 404

    config.route(service, "/shared")
    version = current_config_version()
    started = time.monotonic()
    gateway.wait_for_version(version, timeout=5)
    first = time.monotonic() - started
    second_gateway.wait_for_version(version, timeout=5)
    second = time.monotonic() - started

    assert first < 1.5
    assert second < 1.5
    assert get(gateway, "/shared/x").status == 200
    assert get(second_gateway, "/shared/x").status == 200


@pytest.fixture
def deaf_gateway(django_db_setup: None, django_db_blocker: object) -> Iterator[GatewayProcess]:
    process = GatewayProcess(env={"GATEWAY_CONFIG_POLL_INTERVAL": "30"}).start()
    yield process
    process.stop()


@pytest.mark.needs_redis
def test_with_redis_a_change_is_pushed_to_a_gateway_that_rarely_polls(
    config: ConfigHelper, deaf_gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.gateways = [deaf_gateway]
    service = config.service("pushed", targets=[backend])
    version = config.sync()
    _until(lambda: _config_status(deaf_gateway)["redis_subscribed"])

    config.route(service, "/pushed")
    assert current_config_version() > version
    took = _until(lambda: get(deaf_gateway, "/pushed/x").status == 200, timeout=10)

    assert took < SWAP_BUDGET


def test_a_failed_rebuild_keeps_the_old_table_serving(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    route = config.route(config.service("steady", targets=[backend]), "/steady")
    good = config.sync()

    # A value no form or API would accept, written past the validators: compiling it fails.
    Route.objects.filter(pk=route.pk).update(methods="BREW")
    bump_config_version()
    broken = current_config_version()
    _until(lambda: _config_status(gateway)["database_version"] == broken and _config_status(gateway)["last_error"])

    status = _config_status(gateway)
    assert status["status"] == "degraded"
    assert status["served_version"] == good
    assert "BREW" in status["last_error"]
    assert get(gateway, "/steady/x").status == 200  # the old table still serves
    assert get(gateway, "/health").status == 200

    Route.objects.filter(pk=route.pk).update(methods="GET")
    bump_config_version()
    fixed = config.sync()

    status = _config_status(gateway)
    assert status["status"] == "ok"
    assert status["served_version"] == fixed
    assert status["last_error"] is None
    assert get(gateway, "/steady/x").status == 200


def test_health_detailed_reports_the_version_the_process_serves(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("v", targets=[backend]), "/v")
    version = config.sync()

    status, body = gateway.get_json("/health/detailed")

    assert status == 200
    assert body["checks"]["config"]["served_version"] == version
    assert body["checks"]["config"]["database_version"] == version
    assert body["checks"]["config"]["routes"] >= 1
    if "processes" in body:  # with Redis every process announces itself
        mine = [p for p in body["processes"] if p["process"].split(":")[-1] in gateway.pids()]
        assert mine
        _until(lambda: gateway.served_versions() == {version})
