"""Health and breakers in the admin: live state on the pages, reset and probe actions, both logged."""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from breaker import backends
from breaker.models import BreakerEvent, HealthCheckResult
from breaker.state import BreakerSettings
from registry.models import Service, Target
from registry.sections import save_with_sections
from tests.breaker.flaky import Flaky

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(flaky: Flaky) -> Target:
    values = {"name": "Orders", "slug": "orders", "breaker_enabled": True, "health_check_path": "/healthz"}
    service = save_with_sections(Service(), values, clean=False)
    return Target.objects.create(service=service, host="127.0.0.1", port=flaky.port)


def open_breaker(target: Target) -> None:
    cfg = BreakerSettings(failures=1, open_seconds=60)
    if settings.REDIS_URL:
        store = backends.RedisBackend(settings.REDIS_URL, timeout=1, fallback_seconds=1)

        async def trip() -> None:
            await store.record(target.pk, cfg, failed=True, probe=False)
            await store.close()

        asyncio.run(trip())
    else:
        backends.memory.record_now(target.pk, cfg, failed=True, probe=False)
    assert backends.read_states([target.pk])[target.pk]["state"] == "open"


def test_the_service_and_target_pages_show_live_health_and_history(admin_client: Client, target: Target) -> None:
    open_breaker(target)
    BreakerEvent.objects.create(
        at="2026-01-01T00:00:00Z", service=target.service, target=target, address=target.address,
        from_state="closed", to_state="open", reason="5 consecutive failures",
    )  # fmt: skip
    for url in (
        reverse("admin:registry_service_change", args=[target.service_id]),
        reverse("admin:registry_target_change", args=[target.pk]),
    ):
        page = admin_client.get(url).content.decode()
        assert "targets now" in page or "Live health" in page
        assert "5 consecutive failures" in page
        assert '<td><span class="badge badge-open">open</span></td>' in page
    backends.reset_state(target.pk)


def test_resetting_a_breaker_closes_it_and_is_recorded(admin_client: Client, target: Target) -> None:
    open_breaker(target)
    response = admin_client.post(
        reverse("admin:registry_target_changelist"),
        {"action": "reset_breakers", "_selected_action": [target.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert backends.read_states([target.pk])[target.pk]["state"] == "closed"
    event = BreakerEvent.objects.get(target=target)
    assert (event.from_state, event.to_state, event.reason) == ("open", "closed", "reset by admin")
    entry = LogEntry.objects.get(object_id=str(target.pk))
    assert entry.get_change_message() == "Reset circuit breaker (was open)."


def test_forcing_a_probe_stores_the_result_and_is_recorded(admin_client: Client, target: Target) -> None:
    response = admin_client.post(
        reverse("admin:registry_service_changelist"),
        {"action": "probe_targets", "_selected_action": [target.service_id]},
        follow=True,
    )
    assert response.status_code == 200
    result = HealthCheckResult.objects.get(target=target)
    assert result.ok and result.forced and result.status_code == 200
    entry = LogEntry.objects.get(object_id=str(target.pk))
    assert entry.get_change_message() == "Forced a health probe (ok)."
