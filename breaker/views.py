"""``GET /health/services``: each service's and target's health, breaker state, last check and latency.

Public like ``/api/v1/services``, so target addresses are shown to staff only. The breaker state is
read from Redis (or, embedded, this process's memory); health from the last sweep results.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from breaker import services
from breaker.backends import get_backend
from breaker.board import board
from breaker.events import recorder
from breaker.models import settings_of
from registry.models import Service, Target


@never_cache
@require_safe
def health_services(request: HttpRequest) -> JsonResponse:
    staff = bool(request.user.is_active and request.user.is_staff)
    enabled = Target.objects.filter(enabled=True).order_by("pk")
    queryset = Service.objects.filter(enabled=True).select_related("breaker")
    found = list(queryset.prefetch_related(Prefetch("targets", queryset=enabled)))
    targets = [t for s in found for t in s.targets.all()]
    health = services.target_health(targets)
    backend = get_backend()
    body: dict[str, Any] = {
        "services": [
            {
                "name": service.name,
                "slug": service.slug,
                "health": services.service_health(service, health),
                "breaker_enabled": settings_of(service).breaker_enabled,
                "health_check": settings_of(service).health_check_path or None,
                "targets": [
                    {"id": t.pk, **({"address": t.address} if staff else {}), **health[t.pk]}
                    for t in service.targets.all()
                ],
            }
            for service in found
        ],
        "breaker_store": "redis" if settings.REDIS_URL else "memory",
        "breaker_store_degraded": bool(getattr(backend, "degraded", False)),
        "health_board_error": board.last_error,
        "metrics": {"gateway_breaker_transitions_total": recorder.metrics()},
    }
    return JsonResponse(body)
