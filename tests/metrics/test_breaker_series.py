"""Breaker state and health check results in /metrics and in the health score, read at scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from breaker.backends import KEY_PREFIX, memory, reset_state
from breaker.models import TargetHealth
from breaker.state import OPEN, BreakerState
from proxy.metrics.views import health_scores
from registry.models import Service, Target
from registry.sections import save_with_sections
from tests.metrics.scrape import parse, value


@pytest.fixture
def shop(transactional_db: None) -> Iterator[Service]:
    values = {"name": "Shop", "slug": "shop", "breaker_enabled": True, "health_check_path": "/health"}
    service = save_with_sections(Service(), {**values, "health_check_interval": 10}, clean=False)
    up = Target.objects.create(service=service, host="127.0.0.1", port=9001)
    down = Target.objects.create(service=service, host="127.0.0.1", port=9002)
    now = timezone.now()
    TargetHealth.objects.create(target=up, status="healthy", checked_at=now - timedelta(seconds=4), latency_ms=12.0)
    TargetHealth.objects.create(target=down, status="unhealthy", checked_at=now, latency_ms=30.0)
    yield service
    for target in (up, down):
        reset_state(target.pk)


def _scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return parse(Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode())


def test_health_checks_are_exposed_per_target(shop: Service) -> None:
    samples = _scrape()
    assert value(samples, "gateway_target_health_up", service="shop", target="127.0.0.1:9001") == 1
    assert value(samples, "gateway_target_health_up", service="shop", target="127.0.0.1:9002") == 0
    age = value(samples, "gateway_target_health_check_age_seconds", service="shop", target="127.0.0.1:9001")
    assert 3 <= age < 60
    latency = value(samples, "gateway_target_health_check_latency_seconds", service="shop", target="127.0.0.1:9002")
    assert latency == 0.03


def test_breaker_state_is_one_hot_per_target(shop: Service) -> None:
    samples = _scrape()
    labels = {"service": "shop", "target": "127.0.0.1:9001"}
    assert value(samples, "gateway_breaker_state", state="closed", **labels) == 1
    assert value(samples, "gateway_breaker_state", state="open", **labels) == 0


def test_a_service_with_no_available_target_scores_zero(shop: Service) -> None:
    scores = health_scores({})
    assert scores["services"]["shop"]["parts"]["availability"] == 0.5  # one of two fails its check
    assert scores["services"]["shop"]["score"] == 85
    _open_breaker(shop.targets.get(port=9001).pk)
    samples = _scrape()
    assert value(samples, "gateway_breaker_state", service="shop", target="127.0.0.1:9001", state="open") == 1
    assert health_scores({})["services"]["shop"]["score"] == 0


def _open_breaker(target_id: int) -> None:
    """Open a breaker in the store the data plane uses: Redis when configured, else this process."""
    if not settings.REDIS_URL:
        memory.states[target_id] = BreakerState(state=OPEN, failures=5, open_until=time.time() + 600, trips=1)
        return
    import redis

    with redis.Redis.from_url(settings.REDIS_URL) as client:
        client.hset(f"{KEY_PREFIX}{target_id}", mapping={"s": OPEN, "f": 5, "ou": time.time() + 600, "tr": 1})
