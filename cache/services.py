"""Purges: the admin action, the admin page, the admin API and route changes all call ``purge``.

With Redis the entries are deleted at once (shared by every process); the purge is then recorded as
a ``CachePurge`` row, which the audit chain journals with who asked (``registry.actors``) and whose
save bumps the config version: that is how each process's in-memory store (the embedded default)
learns of it, when its table is rebuilt (``cache.compile.catch_up``). A purge Redis cannot carry out
raises ``PurgeFailed`` and records nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction

from cache import keys
from cache.models import CachePurge
from proxy.redis_clients import sync_client
from registry.models import Route

log = logging.getLogger(__name__)

BATCH = 500


class PurgeFailed(Exception):
    pass


def purge(
    kind: str,
    *,
    route: Route | None = None,
    route_key: str = "",
    route_name: str = "",
    prefix: str = "",
    tag: str = "",
    reason: str = CachePurge.Reason.REQUESTED,
) -> CachePurge:
    """Delete the entries of ``route`` (kind route), under ``prefix`` (of ``route``, or of every route),
    or carrying ``tag``; record it. Returns the saved record (``removed``: keys deleted from Redis)."""
    if route is not None:
        route_key, route_name = keys.route_key(route.pk), route.name
    record = CachePurge(
        kind=kind,
        route=route,
        route_key=route_key if kind != CachePurge.Kind.TAG else "",
        route_name=route_name if kind != CachePurge.Kind.TAG else "",
        prefix=prefix if kind == CachePurge.Kind.PREFIX else "",
        tag=tag if kind == CachePurge.Kind.TAG else "",
        reason=reason,
    )
    record.full_clean(exclude=["route"])
    if settings.GATEWAY_CACHE_REDIS_URL:
        record.removed = _purge_redis(record.route_key, record.prefix, record.tag)
    with transaction.atomic():
        record.save()
    return record


def _purge_redis(route_key: str, prefix: str, tag: str) -> int:
    import redis

    try:
        with sync_client(settings.GATEWAY_CACHE_REDIS_URL) as client:
            if tag:
                return _purge_tag(client, tag)
            return _purge_scan(client, route_key, prefix)
    except redis.RedisError as exc:
        raise PurgeFailed(f"the response cache's Redis did not answer: {exc}") from exc


def _purge_scan(client: Any, route_key: str, prefix: str) -> int:
    route_part = keys.glob_escape(route_key) if route_key else "*"
    pattern = f"{keys.PREFIX}{{{route_part}}}:{keys.glob_escape(prefix)}*"
    removed = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=1000):
        owner, path = keys.path_of(key.decode("latin-1"))
        if (route_key and owner != route_key) or not path.startswith(prefix):
            continue  # a "*" in the pattern also matched across the ':' after a route
        batch.append(key)
        if len(batch) >= BATCH:
            removed += int(client.unlink(*batch))
            batch = []
    if batch:
        removed += int(client.unlink(*batch))
    return removed


def _purge_tag(client: Any, tag: str) -> int:
    index = keys.tag_key(tag)
    removed = 0
    batch: list[bytes] = []
    for key in client.sscan_iter(index, count=1000):
        batch.append(key)
        if len(batch) >= BATCH:
            removed += int(client.unlink(*batch))
            batch = []
    if batch:
        removed += int(client.unlink(*batch))
    client.unlink(index)
    return removed


def purge_routes(routes: list[Route]) -> list[CachePurge]:
    return [purge(CachePurge.Kind.ROUTE, route=route) for route in routes]


def purge_changed_route(route_id: int, route_name: str) -> None:
    """After a cached route's configuration changed (``cache.signals``): its entries answered the old one."""
    try:
        purge(
            CachePurge.Kind.ROUTE,
            route=Route.objects.filter(pk=route_id).first(),
            route_key=keys.route_key(route_id),
            route_name=route_name,
            reason=CachePurge.Reason.ROUTE_CHANGED,
        )
    except PurgeFailed as exc:
        log.error("route %s changed but its cache entries could not be purged: %s", route_name, exc)
