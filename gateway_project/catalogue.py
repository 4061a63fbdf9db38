"""``GET /api/v1/services``: the public catalogue of registered services.

Public on purpose: callers discover what the gateway serves. Anonymous callers see enabled services,
routes and targets only, and no target addresses (internal hosts are nobody else's business);
staff (signed in to the admin) also see the disabled objects and the addresses.
A few queries whatever the number of services (plus one Redis pipeline for breaker states). Here,
at the top, because it reads the registry and the breaker app's health together.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from breaker.services import service_health, target_health
from registry.models import Route, Service, Target


@require_safe
def service_list(request: HttpRequest) -> JsonResponse:
    services = Service.objects.all()
    routes = Route.objects.all()
    targets = Target.objects.order_by("host", "port")  # the default ordering would join the service again
    if not (request.user.is_active and request.user.is_staff):
        services, routes, targets = (
            services.filter(enabled=True),
            routes.filter(enabled=True),
            targets.filter(enabled=True),
        )
    services = services.select_related("breaker").prefetch_related(
        Prefetch("routes", queryset=routes), Prefetch("targets", queryset=targets)
    )
    staff = bool(request.user.is_active and request.user.is_staff)
    found = list(services)
    health = target_health([t for s in found for t in s.targets.all()])
    return JsonResponse({"services": [_service(service, staff, health) for service in found]})


def _target(target: Target, staff: bool, health: dict[str, Any]) -> dict[str, Any]:
    described: dict[str, Any] = {"weight": target.weight, "enabled": target.enabled}
    if staff:
        described["address"] = target.address
    described["health"] = {k: health[k] for k in ("status", "checked_at", "latency_ms", "breaker")}
    return described


def _service(service: Service, staff: bool, health: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": service.name,
        "slug": service.slug,
        "protocol": service.protocol,
        "enabled": service.enabled,
        "routes": [
            {
                "name": route.name,
                "path_prefix": route.path_prefix,
                "host": route.host,
                "methods": list(route.method_list),
                "api_version": route.api_version,
                "enabled": route.enabled,
            }
            for route in service.routes.all()
        ],
        "targets": [_target(target, staff, health[target.pk]) for target in service.targets.all()],
        "health": service_health(service, health),
    }
