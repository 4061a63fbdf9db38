"""A cached route's configuration changed: its entries answered the old configuration, so purge them.

What counts as the route's configuration: the route row and every section attached to routes (its
cache settings, audit, WebSocket, any feature's), read from ``registry.sections`` when a save comes,
so sections attached later count too. The purges run once the change committed (one per route per
change, however many rows it saved), each recorded like any purge (``cache.services``). A new route
has nothing to purge.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

from cache.models import RouteCache
from registry.models import Route
from registry.sections import sections_of

_pending = threading.local()


def _route_of(sender: type[models.Model], instance: models.Model) -> Route | None:
    if sender is Route:
        return instance  # type: ignore[return-value]
    for section in sections_of(Route):
        if section.model is sender:
            owner = getattr(instance, section.owner_field.name, None)
            return owner if isinstance(owner, Route) else None
    return None


def _changed(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if kwargs.get("raw") or kwargs.get("created"):
        return
    route = _route_of(sender, instance)
    if route is None or route.pk is None:
        return
    if sender is not RouteCache and not RouteCache.objects.filter(route_id=route.pk, cache_enabled=True).exists():
        return
    pending: dict[int, str] = _pending.__dict__.setdefault("routes", {})
    pending[route.pk] = route.name
    # Registered on every change: a rolled-back change leaves its ids here, and the next commit's flush
    # purges them too (one purge too many is harmless; one too few would serve stale configuration).
    transaction.on_commit(_flush)


def _flush() -> None:
    from cache.services import purge_changed_route

    pending: dict[int, str] = _pending.__dict__.get("routes", {})
    while pending:
        route_id, name = pending.popitem()
        purge_changed_route(route_id, name)


def connect() -> None:
    post_save.connect(_changed, dispatch_uid="cache-purge-on-save")
    post_delete.connect(_changed, dispatch_uid="cache-purge-on-delete")
