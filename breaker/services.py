"""Verb functions for health and breakers; the sweep task, the admin and the views call these."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from breaker import backends, probes
from breaker.events import PROCESS
from breaker.models import BreakerEvent, HealthCheckResult, ServiceBreaker, TargetHealth, settings_of
from breaker.probes import ProbeResult, ProbeTarget
from proxy.upstream import tls_identity
from registry.models import Service, Target
from registry.validators import parse_statuses

log = logging.getLogger(__name__)

Status = TargetHealth.Status


def stale_after(interval: float) -> float:
    return max(settings.GATEWAY_HEALTH_STALE_AFTER, 3 * interval)


def is_stale(checked_at: datetime | None, interval: float, now: datetime) -> bool:
    return checked_at is None or (now - checked_at).total_seconds() > stale_after(interval)


def down_targets(now: datetime) -> frozenset[int]:
    """Targets whose last check failed and is still fresh: the ones load balancing skips."""
    rows = TargetHealth.objects.filter(
        status=Status.UNHEALTHY, target__service__breaker__health_check_path__gt=""
    ).values_list("target_id", "checked_at", "target__service__breaker__health_check_interval")
    return frozenset(target_id for target_id, at, interval in rows if not is_stale(at, interval, now))


# --- Sweeps -------------------------------------------------------------------------------------


def _probe_target(target: Target) -> ProbeTarget:
    service = target.service
    check = settings_of(service)
    return ProbeTarget(
        target_id=target.pk,
        url=f"{service.protocol}://{target.address}{check.health_check_path}",
        method=check.health_check_method,
        timeout=check.health_check_timeout,
        statuses=parse_statuses(check.health_check_statuses),
        tls=tls_identity(service) if service.protocol == "https" else None,
        server_name=service.tls_server_name if service.protocol == "https" else "",
    )


def due_targets(now: datetime) -> list[Target]:
    """Enabled targets of enabled services with a health check, not checked within their interval."""
    due = []
    targets = Target.objects.filter(enabled=True, service__enabled=True, service__breaker__health_check_path__gt="")
    for target in targets.select_related("service__breaker", "health"):
        health = getattr(target, "health", None)
        interval = timedelta(seconds=settings_of(target.service).health_check_interval - 0.5)  # beat jitter
        if health is None or health.checked_at is None or now - health.checked_at >= interval:
            due.append(target)
    return due


def sweep(now: datetime | None = None) -> list[ProbeResult]:
    """Probe every target that is due, concurrently, and record the results."""
    targets = due_targets(now or timezone.now())
    results = probes.run([_probe_target(t) for t in targets])
    record_sweep(results)
    return results


def probe_now(targets: Iterable[Target]) -> list[ProbeResult]:
    """Probe these targets at once (an admin's request), whatever their schedule."""
    chosen = [t for t in targets if settings_of(t.service).health_check_path]
    results = probes.run([_probe_target(t) for t in chosen])
    record_sweep(results, forced=True)
    return results


@dataclass(frozen=True, slots=True)
class HealthChange:
    target_id: int
    from_status: str
    to_status: str


def record_sweep(results: Sequence[ProbeResult], forced: bool = False) -> list[HealthChange]:
    """Store results, move each target's status by its service's thresholds, trim the history."""
    changes = []
    with transaction.atomic():
        HealthCheckResult.objects.bulk_create(
            [
                HealthCheckResult(
                    target_id=r.target_id,
                    checked_at=r.checked_at,
                    ok=r.ok,
                    status_code=r.status_code,
                    latency_ms=r.latency_ms,
                    error=r.error,
                    forced=forced,
                )
                for r in results
            ]
        )
        targets = list(Target.objects.filter(pk__in=[r.target_id for r in results]).select_related("service__breaker"))
        services = {t.pk: settings_of(t.service) for t in targets}
        addresses = {t.pk: f"{t.address} ({t.service.slug})" for t in targets}
        for result in results:
            service = services.get(result.target_id)
            if service is None:
                continue  # deleted while it was probed
            health, _ = TargetHealth.objects.select_for_update().get_or_create(target_id=result.target_id)
            before = health.status
            _apply(health, service, result)
            health.save()
            if health.status != before:
                changes.append(HealthChange(result.target_id, before, health.status))
        for target_id in {r.target_id for r in results}:
            _trim(target_id)
    for change in changes:
        where = addresses.get(change.target_id, f"#{change.target_id}")
        log.warning("target %s is now %s (was %s)", where, change.to_status, change.from_status)
    return changes


def _apply(health: TargetHealth, service: ServiceBreaker, result: ProbeResult) -> None:
    health.checked_at = result.checked_at
    health.latency_ms = result.latency_ms
    health.last_error = result.error
    if result.ok:
        health.successes, health.failures = health.successes + 1, 0
        if health.status == Status.UNKNOWN or (
            health.status == Status.UNHEALTHY and health.successes >= service.health_check_healthy_successes
        ):
            health.status, health.changed_at = Status.HEALTHY, result.checked_at
    else:
        health.successes, health.failures = 0, health.failures + 1
        if health.status != Status.UNHEALTHY and health.failures >= service.health_check_unhealthy_failures:
            health.status, health.changed_at = Status.UNHEALTHY, result.checked_at


def _trim(target_id: int) -> None:
    keep = settings.GATEWAY_HEALTH_HISTORY
    old = list(
        HealthCheckResult.objects.filter(target_id=target_id)
        .order_by("-checked_at", "-pk")
        .values_list("pk", flat=True)[keep : keep + 1000]
    )
    if old:
        HealthCheckResult.objects.filter(pk__in=old).delete()


# --- Breakers -----------------------------------------------------------------------------------


def reset_breaker(target: Target, actor: str) -> str:
    """Close a target's breaker now (every process with Redis; this process without). Returns the
    state it had, and records the reset as a breaker event."""
    before = backends.read_states([target.pk])[target.pk]["state"]
    backends.reset_state(target.pk)
    BreakerEvent.objects.create(
        at=timezone.now(),
        service_id=target.service_id,
        target=target,
        address=target.address,
        from_state=before,
        to_state="closed",
        reason=f"reset by {actor}"[:200],
        process=PROCESS,
    )
    return str(before)


# --- Reading: /health/services, /api/v1/services, the admin -------------------------------------


def target_health(targets: Sequence[Target], now: datetime | None = None) -> dict[int, dict[str, Any]]:
    """Each target's health check result and breaker state, by target id. Two queries at most."""
    now = now or timezone.now()
    rows = {h.target_id: h for h in TargetHealth.objects.filter(target__in=[t.pk for t in targets])}
    try:
        breakers: dict[int, dict[str, Any]] = backends.read_states(t.pk for t in targets)
    except Exception as exc:
        log.warning("could not read breaker state: %r", exc)
        breakers = {t.pk: {"state": "unknown"} for t in targets}
    described = {}
    for target in targets:
        check = settings_of(target.service)
        health = rows.get(target.pk)
        if not check.health_check_path:
            status = "unchecked"
        elif health is None or health.checked_at is None:
            status = Status.UNKNOWN.value
        elif is_stale(health.checked_at, check.health_check_interval, now):
            status = "stale"
        else:
            status = health.status
        breaker = breakers.get(target.pk, {}) if check.breaker_enabled else {"state": "disabled"}
        described[target.pk] = {
            "status": status,
            "checked_at": health.checked_at.isoformat() if health and health.checked_at else None,
            "latency_ms": health.latency_ms if health else None,
            "last_error": health.last_error if health else "",
            "breaker": breaker.get("state", "unknown"),
            "breaker_open_until": breaker.get("open_until"),
        }
    return described


def service_health(service: Service, targets: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One service's summary from its enabled targets' entries of ``target_health``."""
    mine = [targets[t.pk] for t in service.targets.all() if t.enabled and t.pk in targets]
    usable = [t for t in mine if t["status"] != "unhealthy" and t["breaker"] not in ("open",)]
    checked = [t["checked_at"] for t in mine if t["checked_at"]]
    if not mine:
        status = "unknown"
    elif not usable:
        status = "unhealthy"
    elif len(usable) < len(mine):
        status = "degraded"
    elif all(t["status"] == "stale" for t in mine):
        status = "stale"
    elif any(t["status"] in ("healthy", "stale") for t in mine) or any(t["breaker"] == "closed" for t in mine):
        status = "healthy"
    else:
        status = "unknown"
    return {
        "status": status,
        "checked_at": max(checked) if checked else None,
        "targets_available": len(usable),
        "targets_total": len(mine),
    }
