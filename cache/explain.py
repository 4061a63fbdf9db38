"""What the response cache would do with a request, for the route simulator: whether the route's
cache policy takes it (method, Range and conditionals, credentials, the client's Cache-Control), its
key, and whether an entry is stored under that key now (HIT, STALE, or a MISS), read without taking
the fill lock or touching the LRU order.

The simulator runs in a sync Django view, so Redis is read with a sync client and short timeouts,
never the gateway's pipelined connection.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from cache.directives import FRESH, STALE_OK, usable
from cache.entries import PASS, Entry, Undecodable, decode
from cache.incoming import read, vary_matches
from cache.invalidation import SAFE_METHODS
from cache.stores import MemoryStore

if TYPE_CHECKING:
    from cache.policies import CachePolicy

TIMEOUT = 0.5  # seconds, connect and read


def stored(policy: CachePolicy, key: str) -> Entry | bytes | None:
    """The entry (or PASS marker) stored under ``key`` now, without locking anything. Raises when Redis fails."""
    store = policy.store
    if isinstance(store, MemoryStore):
        with store.lock:
            item = store.items.get(key)
        return item[0] if item is not None and item[1] > time.time() else None
    from django.conf import settings

    from proxy.redis_clients import sync_client

    with sync_client(settings.GATEWAY_CACHE_REDIS_URL, timeout=TIMEOUT, connect_timeout=TIMEOUT) as client:
        value = client.get(key)
    if value is None or value.startswith(PASS):
        return value
    try:
        return decode(value)
    except Undecodable:
        return None


def explain(policy: CachePolicy, carrier: Any) -> tuple[str, bool]:
    spec = policy.spec
    method = carrier.method
    if method not in spec.methods:
        if method in SAFE_METHODS:
            return f"BYPASS: {method} is not cached on this route", False
        return f"BYPASS: {method} is not cached; a 2xx/3xx answer invalidates the stored entries of this path", False
    asked = read(carrier, spec, policy.authenticated)
    if asked.bypass == "credentials":
        return "BYPASS: the request carries credentials the gateway does not check (Authorization or Cookie)", False
    if asked.bypass:
        return f"BYPASS: the request has {asked.bypass} (passed through, never cached)", False
    whose = "this caller's entry" if asked.personal else "a shared entry"
    try:
        found = stored(policy, asked.key)
    except Exception as exc:  # the gateway bypasses the cache when its store does not answer
        why = type(exc).__name__
        return f"cacheable ({whose}); the store did not answer ({why}): BYPASS if it fails the gateway too", False
    if not isinstance(found, Entry):
        if asked.rules.only_if_cached:
            return "504 not_cached: nothing stored, and the request asked for a stored answer only", True
        why = "the last answer was not storable" if found is not None else "nothing stored"
        return f"MISS: cacheable ({whose}), {why}; the backend's answer is stored if it allows", False
    if entry_vary := found.vary:
        if not vary_matches(carrier, entry_vary):
            return f"MISS: an entry is stored ({whose}) for other values of its Vary headers", False
    now = time.time()
    age = int(found.age(now))
    state = usable(found.age(now), found.freshness, asked.rules, found.has_validators)
    if state == FRESH:
        return f"HIT: answered from the cache ({whose}, status {found.status}, age {age} s), no backend call", True
    if state == STALE_OK:
        return f"STALE: answered from the cache (age {age} s) and revalidated in the background", True
    how = "revalidated (conditional request)" if found.has_validators else "fetched again"
    return f"stale entry (age {age} s): {how}, then stored (EXPIRED or REVALIDATED)", False
