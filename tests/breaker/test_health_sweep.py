"""Recording sweep results: thresholds, bounded history, staleness, the set load balancing skips."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from breaker import services
from breaker.models import HealthCheckResult, TargetHealth
from breaker.probes import ProbeResult
from registry.models import Service, Target
from registry.sections import save_with_sections

pytestmark = pytest.mark.django_db


def make_target(**service_fields: object) -> Target:
    values = {"name": "Svc", "slug": "svc", "health_check_path": "/healthz", **service_fields}
    service = save_with_sections(Service(), values, clean=False)
    return Target.objects.create(service=service, host="127.0.0.1", port=9)


def result(target: Target, ok: bool, seconds_ago: float = 0) -> ProbeResult:
    at = timezone.now() - timedelta(seconds=seconds_ago)
    return ProbeResult(target.pk, at, ok, 200 if ok else 503, 1.5, "" if ok else "unexpected status 503")


def status(target: Target) -> str:
    return TargetHealth.objects.get(target=target).status


def test_one_failed_check_marks_a_target_unhealthy_by_default() -> None:
    target = make_target()
    services.record_sweep([result(target, True)])
    assert status(target) == "healthy"
    changes = services.record_sweep([result(target, False)])
    assert status(target) == "unhealthy"
    assert [(c.from_status, c.to_status) for c in changes] == [("healthy", "unhealthy")]
    assert services.down_targets(timezone.now()) == {target.pk}


def test_it_comes_back_only_after_the_configured_successes() -> None:
    target = make_target(health_check_healthy_successes=3)
    services.record_sweep([result(target, False)])
    services.record_sweep([result(target, True)])
    services.record_sweep([result(target, True)])
    assert status(target) == "unhealthy"
    services.record_sweep([result(target, True)])
    assert status(target) == "healthy"
    assert services.down_targets(timezone.now()) == frozenset()


def test_it_needs_the_configured_failures_to_leave() -> None:
    target = make_target(health_check_unhealthy_failures=2)
    services.record_sweep([result(target, True)])
    services.record_sweep([result(target, False)])
    assert status(target) == "healthy"
    services.record_sweep([result(target, False)])
    assert status(target) == "unhealthy"


@override_settings(GATEWAY_HEALTH_HISTORY=5)
def test_it_keeps_a_bounded_history_per_target() -> None:
    target = make_target()
    for i in range(8):
        services.record_sweep([result(target, True, seconds_ago=100 - i)])
    kept = HealthCheckResult.objects.filter(target=target)
    assert kept.count() == 5
    newest = HealthCheckResult.objects.filter(target=target).first()
    assert newest is not None and newest.checked_at > timezone.now() - timedelta(seconds=94)


@override_settings(GATEWAY_HEALTH_STALE_AFTER=30)
def test_a_stale_failure_no_longer_keeps_the_target_out() -> None:
    target = make_target(health_check_interval=5)
    services.record_sweep([result(target, False, seconds_ago=31)])
    assert services.down_targets(timezone.now()) == frozenset()
    health = services.target_health([target])[target.pk]
    assert health["status"] == "stale"


@override_settings(GATEWAY_HEALTH_STALE_AFTER=10)
def test_stale_means_older_than_three_intervals_when_that_is_longer() -> None:
    target = make_target(health_check_interval=20)
    services.record_sweep([result(target, False, seconds_ago=50)])
    assert services.down_targets(timezone.now()) == {target.pk}


def test_due_targets_are_those_not_checked_within_their_interval() -> None:
    target = make_target(health_check_interval=10)
    assert services.due_targets(timezone.now()) == [target]
    services.record_sweep([result(target, True)])
    assert services.due_targets(timezone.now()) == []
    assert services.due_targets(timezone.now() + timedelta(seconds=10)) == [target]


def test_targets_of_services_without_a_health_path_are_never_probed() -> None:
    service = Service.objects.create(name="Plain", slug="plain")
    Target.objects.create(service=service, host="127.0.0.1", port=9)
    assert services.due_targets(timezone.now()) == []


def test_a_health_change_is_logged_by_address_and_service(caplog: pytest.LogCaptureFixture) -> None:
    target = make_target()
    services.record_sweep([result(target, True)])
    with caplog.at_level("WARNING", logger="breaker.services"):
        services.record_sweep([result(target, False)])
    assert "target 127.0.0.1:9 (svc) is now unhealthy (was healthy)" in caplog.text
