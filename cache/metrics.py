"""Response cache series. ``service`` and ``route`` come from the configuration (bounded); ``status`` is
one of hit, miss, bypass, expired, stale, revalidated (``cache.answers``)."""

from __future__ import annotations

from prometheus_client import Counter

ROUTE_LABELS = ("service", "route")

RESPONSES = Counter(
    "gateway_cache_responses",
    "Answers of cached routes by cache status (X-Cache-Status).",
    (*ROUTE_LABELS, "status"),
)
SERVED_BYTES = Counter(
    "gateway_cache_served_bytes",
    "Body bytes answered from the response cache (hits, stale and revalidated answers).",
    ROUTE_LABELS,
)
STORED_BYTES = Counter(
    "gateway_cache_stored_bytes",
    "Body bytes written to the response cache.",
    ROUTE_LABELS,
)
INVALIDATIONS = Counter(
    "gateway_cache_invalidations",
    "Writes (unsafe methods answered 2xx/3xx) that invalidated their paths' entries (result done), or could not "
    "because the cache's Redis did not answer (failed).",
    (*ROUTE_LABELS, "result"),
)
