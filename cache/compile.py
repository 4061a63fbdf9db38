"""The snapshot loader: each cached route's settings, compiled once per table (runs in the table
rebuild's thread; ``snapshot.extensions["cache"]``).

It also brings this process's in-memory store up to date with the purges recorded since the last
rebuild (a purge is a tracked row, so recording one rebuilds every process's table). The Redis store
needs no such step: a purge deletes the shared keys at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cache import keys
from cache.models import (
    DEFAULT_MAX_BYTES,
    DEFAULT_METHODS,
    DEFAULT_STATUSES,
    DEFAULT_TTL,
    CachePurge,
    RouteCache,
    split_list,
)
from cache.stores import MemoryStore, get_store
from proxy.specs import Snapshot
from registry.validators import parse_methods, parse_statuses

NAME = "cache"


@dataclass(frozen=True, slots=True)
class CacheSpec:
    route_key: str
    ttl: float
    max_bytes: int
    methods: frozenset[str]
    statuses: frozenset[int]
    vary: tuple[bytes, ...]  # lower-cased request header names that select a variant
    ignore_query: frozenset[bytes]
    ignore_query_prefixes: tuple[bytes, ...]
    shared: bool
    credentials: bool
    stale_if_error: float


@dataclass(frozen=True, slots=True)
class CacheTable:
    routes: Mapping[int, CacheSpec] = field(default_factory=dict)  # by route id


def spec_of(row: RouteCache) -> CacheSpec:
    ignored = [name.encode() for name in split_list(row.cache_ignore_query)]
    return CacheSpec(
        route_key=keys.route_key(row.route_id),
        ttl=float(DEFAULT_TTL if row.cache_ttl is None else row.cache_ttl),
        max_bytes=row.cache_max_object_bytes or DEFAULT_MAX_BYTES,
        methods=frozenset(parse_methods(row.cache_methods or DEFAULT_METHODS)),
        statuses=parse_statuses(row.cache_statuses or DEFAULT_STATUSES) - {206},  # partial answers: never
        vary=tuple(dict.fromkeys(name.lower().encode() for name in split_list(row.cache_vary_headers))),
        ignore_query=frozenset(n for n in ignored if not n.endswith(b"*")),
        ignore_query_prefixes=tuple(n[:-1] for n in ignored if n.endswith(b"*")),
        shared=row.cache_shared,
        credentials=row.cache_credentials,
        stale_if_error=float(row.cache_stale_if_error or 0),
    )


def load_cache(snapshot: Snapshot) -> CacheTable:
    store = get_store()
    if isinstance(store, MemoryStore):
        catch_up(store)
    ids = [route.id for route in snapshot.routes]
    rows = RouteCache.objects.filter(route_id__in=ids, cache_enabled=True)
    return CacheTable({row.route_id: spec_of(row) for row in rows})


def catch_up(store: MemoryStore) -> None:
    """Apply the purges recorded since this process last looked (none at its first table: it has no
    entries yet)."""
    if store.purged_through < 0:
        store.purged_through = CachePurge.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        return
    for purge in CachePurge.objects.filter(pk__gt=store.purged_through).order_by("pk"):
        store.purge(route=purge.route_key, prefix=purge.prefix, tag=purge.tag)
        store.purged_through = purge.pk
