"""The snapshot loader: each enabled service's breaker and health check settings, compiled once per
table (runs in the table rebuild's thread; ``snapshot.extensions["breaker"]``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from breaker import environment
from breaker.models import ServiceBreaker, TargetBreaker
from breaker.state import BreakerSettings
from proxy.specs import ServiceSpec, Snapshot
from registry.validators import parse_statuses

NAME = "breaker"


@dataclass(frozen=True, slots=True)
class HealthCheckSpec:
    path: str
    statuses: frozenset[int]
    timeout: float
    interval: float
    healthy_successes: int
    unhealthy_failures: int


@dataclass(frozen=True, slots=True)
class ServiceBreakerSpec:
    breakers: Mapping[int, BreakerSettings]  # by target id; empty: no breaker
    failure_statuses: frozenset[int]
    health_check: HealthCheckSpec | None


@dataclass(frozen=True, slots=True)
class Breakers:
    services: Mapping[int, ServiceBreakerSpec] = field(default_factory=dict)  # by service id


def load_breakers(snapshot: Snapshot) -> Breakers:
    ids = [service.id for service in snapshot.services]
    rows = {row.service_id: row for row in ServiceBreaker.objects.filter(service_id__in=ids)}
    overrides = {row.target_id: row for row in TargetBreaker.objects.filter(target__service_id__in=rows)}
    compiled = {
        service.id: _compiled(service, rows[service.id], overrides)
        for service in snapshot.services
        if service.id in rows
    }
    if environment.threshold is not None:  # the environment's breaker, for services without settings
        for service in snapshot.services:
            if service.id not in rows:
                row = ServiceBreaker(
                    service_id=service.id, breaker_enabled=True, breaker_failures=environment.threshold
                )
                compiled[service.id] = _compiled(service, row, {})
    return Breakers(compiled)


def _compiled(service: ServiceSpec, row: ServiceBreaker, overrides: Mapping[int, TargetBreaker]) -> ServiceBreakerSpec:
    breakers = {}
    if row.breaker_enabled:
        for target in service.targets:
            override = overrides.get(target.id)
            breakers[target.id] = _settings(service, row, override)
    return ServiceBreakerSpec(breakers, parse_statuses(row.breaker_failure_statuses), _health_check(row))


def _settings(service: ServiceSpec, row: ServiceBreaker, override: TargetBreaker | None) -> BreakerSettings:
    failures = row.breaker_failures
    open_seconds = row.breaker_open_seconds
    if override is not None:
        failures = override.breaker_failures if override.breaker_failures is not None else failures
        open_seconds = override.breaker_open_seconds if override.breaker_open_seconds is not None else open_seconds
    return BreakerSettings(
        failures=failures,
        failure_ratio=row.breaker_failure_ratio,
        min_calls=row.breaker_min_calls,
        window=row.breaker_window,
        open_seconds=open_seconds,
        max_open_seconds=max(row.breaker_max_open_seconds, open_seconds),
        half_open_probes=row.breaker_half_open_probes,
        half_open_successes=row.breaker_half_open_successes,
        # A probe still out after the service's connect and read timeouts counts as failed.
        probe_timeout=service.connect_timeout + service.read_timeout + 1.0,
    )


def _health_check(row: ServiceBreaker) -> HealthCheckSpec | None:
    if not row.health_check_path:
        return None
    return HealthCheckSpec(
        path=row.health_check_path,
        statuses=parse_statuses(row.health_check_statuses),
        timeout=row.health_check_timeout,
        interval=row.health_check_interval,
        healthy_successes=row.health_check_healthy_successes,
        unhealthy_failures=row.health_check_unhealthy_failures,
    )
