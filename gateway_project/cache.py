"""Django's own Redis cache with django-prometheus's hit and miss counters (its packaged Redis backend
needs django-redis, which the gateway does not use)."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django_prometheus.cache.metrics import (
    django_cache_get_fail_total,
    django_cache_get_total,
    django_cache_hits_total,
    django_cache_misses_total,
)

_MISSING = object()


class RedisCache(DjangoRedisCache):
    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        django_cache_get_total.labels(backend="redis").inc()
        try:
            found = super().get(key, _MISSING, version)
        except Exception:
            django_cache_get_fail_total.labels(backend="redis").inc()
            raise
        if found is _MISSING:
            django_cache_misses_total.labels(backend="redis").inc()
            return default
        django_cache_hits_total.labels(backend="redis").inc()
        return found
