"""The breaker app's series (docs/observability.md).

Transitions are counted where they happen (``breaker.events``). Breaker state and health check
results live in Redis and the database, shared by every process, so they are read once per scrape by
``BreakerCollector`` instead of being kept per worker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from proxy.metrics.sources import ServiceState

TRANSITIONS = Counter(
    "gateway_breaker_transitions",
    "Circuit breaker state changes made by this gateway, by service and new state.",
    ("service", "to_state"),
)
BREAKER_STATES = ("closed", "open", "half_open")


def _services() -> list[Any]:
    from django.db.models import Prefetch

    from registry.models import Service, Target

    enabled = Target.objects.filter(enabled=True).order_by("pk")
    services = Service.objects.filter(enabled=True).select_related("breaker")
    return list(services.prefetch_related(Prefetch("targets", queryset=enabled)))


def _described() -> tuple[list[Any], dict[int, dict[str, Any]]]:
    from breaker.services import target_health

    found = _services()
    return found, target_health([t for s in found for t in s.targets.all()])


class BreakerCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        from breaker.models import settings_of

        found, health = _described()
        state = GaugeMetricFamily(
            "gateway_breaker_state",
            "1 for the state each target's circuit breaker is in (closed, open, half_open), else 0.",
            labels=("service", "target", "state"),
        )
        up = GaugeMetricFamily(
            "gateway_target_health_up",
            "Last active health check of a checked target: 1 passed, 0 failed (absent: never checked).",
            labels=("service", "target"),
        )
        age = GaugeMetricFamily(
            "gateway_target_health_check_age_seconds",
            "Seconds since a checked target's last active health check.",
            labels=("service", "target"),
        )
        latency = GaugeMetricFamily(
            "gateway_target_health_check_latency_seconds",
            "Latency of a checked target's last active health check.",
            labels=("service", "target"),
        )
        now = time.time()
        for service in found:
            for target in service.targets.all():
                entry = health[target.pk]
                labels = [service.slug, target.address]
                if settings_of(service).breaker_enabled:
                    current = entry["breaker"]
                    for name in BREAKER_STATES:
                        state.add_metric([*labels, name], 1.0 if current == name else 0.0)
                if entry["status"] in ("healthy", "unhealthy", "stale") and entry["checked_at"]:
                    from datetime import datetime

                    checked = datetime.fromisoformat(entry["checked_at"]).timestamp()
                    up.add_metric(labels, 0.0 if entry["status"] == "unhealthy" else 1.0)
                    age.add_metric(labels, max(now - checked, 0.0))
                    if entry["latency_ms"] is not None:
                        latency.add_metric(labels, entry["latency_ms"] / 1000)
        yield from (state, up, age, latency)


def service_states() -> dict[str, ServiceState]:
    from breaker.services import service_health

    found, health = _described()
    states = {}
    for service in found:
        summary = service_health(service, health)
        mine = [health[t.pk] for t in service.targets.all() if t.pk in health]
        states[service.slug] = ServiceState(
            name=service.name,
            targets_total=summary["targets_total"],
            targets_available=summary["targets_available"],
            breakers_open=sum(1 for t in mine if t["breaker"] == "open"),
            health=summary["status"],
        )
    return states
