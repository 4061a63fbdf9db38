# mypy: disable-error-code="attr-defined"
# (django-stubs leave out the private attributes of Django's Redis cache client used here)
"""Django's cache on a Redis Cluster (``REDIS_URL=redis+cluster://...``): Django's own Redis cache
with redis-py's cluster client, which routes each key to its master. django-redis has no cluster
client. ``mget`` and ``mset`` need one slot, so the calls on several keys go key by key
(``mget_nonatomic``, a non-transactional pipeline); a pipeline in cluster mode splits by node.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from proxy.redis_urls import plain_url


class ClusterCacheClient(RedisCacheClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        from redis.cluster import RedisCluster

        self._cluster = RedisCluster.from_url(plain_url(servers[0]), **self._pool_options)

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        return self._cluster

    def get_many(self, keys: Any) -> dict[Any, Any]:
        keys = list(keys)
        values = self._cluster.mget_nonatomic(keys)
        return {k: self._serializer.loads(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def set_many(self, data: Mapping[Any, Any], timeout: Any) -> None:
        pipeline = self._cluster.pipeline()
        for key, value in data.items():
            pipeline.set(key, self._serializer.dumps(value), ex=timeout)
        pipeline.execute()


class ClusterCache(RedisCache):
    @cached_property
    def _cache(self) -> ClusterCacheClient:
        return ClusterCacheClient(self._servers, **self._options)
