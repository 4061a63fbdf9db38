"""Every Redis client of the gateway comes from here, with the shared timeouts.

    sync_client()   redis.Redis for the control plane (admin pages, health, publishing a version)
    async_client()  redis.asyncio.Redis for the background tasks of a gateway process
    node_client()   a plain redis.asyncio.Redis on the URL's own node, also for a cluster (pub/sub:
                    a cluster broadcasts PUBLISH to every node, and redis-py's asyncio cluster client
                    has no pub/sub)

Both default to ``REDIS_URL`` and ``GATEWAY_REDIS_TIMEOUT`` (connect, and each call); a caller
with a tighter bound (the breaker's, on the request path) or a blocking read (a pub/sub listener,
``timeout=None``) passes its own. A cluster URL (``redis+cluster://``, ``proxy.redis_urls``) gives
redis-py's cluster clients, which route each command by its key's slot and follow MOVED and ASK.
The hot path's pipelined connection is ``proxy.pipelined_redis``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from proxy.redis_urls import is_cluster, plain_url

SHARED = -1.0  # GATEWAY_REDIS_TIMEOUT


def _options(timeout: float | None, connect_timeout: float) -> dict[str, Any]:
    shared = settings.GATEWAY_REDIS_TIMEOUT
    return {
        "socket_timeout": shared if timeout == SHARED else timeout,
        "socket_connect_timeout": shared if connect_timeout == SHARED else connect_timeout,
    }


def sync_client(url: str = "", *, timeout: float | None = SHARED, connect_timeout: float = SHARED) -> Any:
    import redis

    url = url or settings.REDIS_URL
    if is_cluster(url):
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(plain_url(url), **_options(timeout, connect_timeout))
    return redis.Redis.from_url(url, **_options(timeout, connect_timeout))


def async_client(url: str = "", *, timeout: float | None = SHARED, connect_timeout: float = SHARED) -> Any:
    import redis.asyncio as aioredis

    url = url or settings.REDIS_URL
    if is_cluster(url):
        from redis.asyncio.cluster import RedisCluster

        return RedisCluster.from_url(plain_url(url), **_options(timeout, connect_timeout))
    return aioredis.Redis.from_url(url, **_options(timeout, connect_timeout))


def node_client(url: str = "", *, timeout: float | None = SHARED, connect_timeout: float = SHARED) -> Any:
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(plain_url(url or settings.REDIS_URL), **_options(timeout, connect_timeout))


def get_many(client: Any, keys: list[Any]) -> list[Any]:
    """MGET, also on a cluster (whose MGET needs one slot: redis-py asks each key's master)."""
    if not keys:
        return []
    return list(client.mget_nonatomic(keys) if hasattr(client, "mget_nonatomic") else client.mget(keys))
