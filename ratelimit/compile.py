"""The snapshot loader: enabled RatePolicy rows as frozen specs (runs in the table rebuild's thread)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ratelimit.algorithms import Limit

if TYPE_CHECKING:
    from proxy.specs import RouteSpec, Snapshot


@dataclass(frozen=True, slots=True)
class PolicySpec:
    id: int
    name: str
    scope: str
    header: bytes  # lower-cased, for the header scope
    limit: Limit
    failure_mode: str
    shadow: bool
    all_routes: bool
    route_ids: frozenset[int]
    service_ids: frozenset[int]
    consumer_ids: frozenset[str] | None  # None: every caller
    # Services of the routes in route_ids: their dynamic /api/v1/{slug} route reaches the same backend
    # paths, so the policy applies there too (it would be a way around the limit otherwise).
    route_service_ids: frozenset[int] = frozenset()
    # From the environment: a default, for the routes without a policy of their own with this scope.
    from_environment: bool = False

    @property
    def quota(self) -> int:
        return self.limit.limit

    @property
    def period(self) -> int:
        return self.limit.period_us // 1_000_000

    def applies_to(self, route: RouteSpec) -> bool:
        if self.all_routes or (route.id and route.id in self.route_ids) or route.service.id in self.service_ids:
            return True
        if not route.id and route.service.id in self.route_service_ids:
            return True
        # Attached to consumers only: their requests on every route.
        return not self.route_ids and not self.service_ids and self.consumer_ids is not None


@dataclass(frozen=True, slots=True)
class RateLimits:
    policies: tuple[PolicySpec, ...] = ()

    def for_route(self, route: RouteSpec) -> tuple[PolicySpec, ...]:
        own = [p for p in self.policies if not p.from_environment and p.applies_to(route)]
        scopes = {p.scope for p in own}
        defaults = [p for p in self.policies if p.from_environment and p.scope not in scopes and p.applies_to(route)]
        return (*own, *defaults)


def load_rate_limits(snapshot: Snapshot) -> RateLimits:
    from ratelimit.models import RatePolicy

    specs = []
    rows = RatePolicy.objects.filter(enabled=True).prefetch_related("routes", "services", "consumers")
    for row in rows.order_by("pk"):
        consumers = frozenset(str(c.pk) for c in row.consumers.all())
        routes = row.routes.all()
        specs.append(
            PolicySpec(
                id=row.pk,
                name=row.name,
                scope=row.scope,
                header=row.header_name.lower().encode("latin-1"),
                limit=Limit(row.algorithm, row.limit, row.period * 1_000_000, row.burst),
                failure_mode=row.failure_mode,
                shadow=row.shadow,
                all_routes=row.all_routes,
                route_ids=frozenset(r.pk for r in routes),
                service_ids=frozenset(s.pk for s in row.services.all()),
                consumer_ids=consumers or None,
                route_service_ids=frozenset(r.service_id for r in routes),
                from_environment=row.from_environment,
            )
        )
    return RateLimits(tuple(specs))
