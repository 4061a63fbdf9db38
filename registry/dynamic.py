"""Which services get a dynamic route ``ANY /api/v1/{slug}/{path}``, and what it asks of callers.

The dynamic route forwards any path to the service's backend, so it could reach what the service's
routes protect. Hence: it exists only for a service that opted in (``ServiceDynamicRoute``), and its
authentication is, by default, the strictest of the service's enabled routes (``auth_demand``). An
explicit authentication that is weaker than some route is refused when saved, and used only when an
admin ticked ``dynamic_weaker_auth``; then a warning names the routes it undercuts. If the routes
change later so that an unaccepted explicit setting becomes weaker, the table falls back to the
strictest demand (or leaves the route out when no single mode satisfies every route), with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from registry import validators as v
from registry.auth_demand import NONE, Demand, covers, of_route, strictest

if TYPE_CHECKING:
    from registry.dynamic_models import ServiceDynamicRoute
    from registry.models import Service

STRICTEST = "strictest"


@dataclass(frozen=True, slots=True)
class Decision:
    demand: Demand | None  # what the dynamic route asks of callers; None: the route is not served
    warning: str = ""  # for /health/detailed and the service's admin page
    refused: str = ""  # why these settings cannot be saved as they are


def explicit_demand(row: ServiceDynamicRoute) -> Demand:
    if row.dynamic_auth_mode == NONE:
        return Demand(NONE)
    return Demand(mode=row.dynamic_auth_mode, roles=frozenset(v.parse_roles(row.dynamic_required_roles)))


def route_demands(service: Service) -> dict[str, Demand]:
    """The demands of a saved service's enabled routes, by route name."""
    routes = service.routes.filter(enabled=True).prefetch_related("jwt_issuers")
    return {route.name: of_route(route) for route in routes}


def decide(row: ServiceDynamicRoute, name: str, slug: str, demands: Mapping[str, Demand]) -> Decision:
    """What the dynamic route of the service ``name`` (``slug``) asks, given its routes' ``demands``."""
    if not row.dynamic_route:
        return Decision(None)
    label = f"{name!r} (/api/v1/{slug}/)"
    base = strictest(demands.values())
    if row.dynamic_auth_mode == STRICTEST:
        if base is None:
            modes = ", ".join(sorted({d.mode for d in demands.values() if d.mode != NONE}))
            message = (
                f"The dynamic route of service {label} is not served: no single credential satisfies all its "
                f"routes ({modes}); choose the dynamic route's authentication explicitly."
            )
            return Decision(None, warning=message, refused=message)
        return Decision(base)
    wanted = explicit_demand(row)
    weaker = sorted(name for name, demand in demands.items() if not covers(wanted, demand))
    if not weaker:
        return Decision(wanted)
    names = ", ".join(repr(name) for name in weaker[:5]) + (" and more" if len(weaker) > 5 else "")
    if row.dynamic_weaker_auth:
        warning = (
            f"The dynamic route of service {label} ({wanted.describe()}) is less protected than route(s) "
            f"{names}; an admin accepted this."
        )
        return Decision(wanted, warning=warning)
    refused = (
        f"The dynamic route's authentication ({wanted.describe()}) admits callers that route(s) {names} refuse. "
        "Tick 'allow weaker dynamic authentication' to accept that, or keep the strictest route's authentication."
    )
    if base is None:
        warning = f"The dynamic route of service {label} is not served: {refused}"
        return Decision(None, warning=warning, refused=refused)
    warning = (
        f"The dynamic route of service {label} uses the strictest route's authentication ({base.describe()}): "
        f"its own setting is weaker than route(s) {names} and no admin accepted that."
    )
    return Decision(base, warning=warning, refused=refused)


def status(service: Service) -> Decision:
    """For the service's admin page: what its saved dynamic route does now."""
    from registry.dynamic_models import ServiceDynamicRoute

    row = ServiceDynamicRoute.objects.filter(service=service).first() if service.pk is not None else None
    if row is None:
        return Decision(None)
    return decide(row, service.name, service.slug, route_demands(service))
