"""Every Redis client of the gateway comes from here, with the shared timeouts.

    sync_client()   redis.Redis for the control plane (admin pages, health, publishing a version)
    async_client()  redis.asyncio.Redis for the background tasks of a gateway process

Both default to ``REDIS_URL`` and ``GATEWAY_REDIS_TIMEOUT`` (connect, and each call); a caller
with a tighter bound (the breaker's, on the request path) or a blocking read (a pub/sub listener,
``timeout=None``) passes its own. The hot path's pipelined connection is ``proxy.pipelined_redis``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

SHARED = -1.0  # GATEWAY_REDIS_TIMEOUT


def _options(timeout: float | None, connect_timeout: float) -> dict[str, Any]:
    shared = settings.GATEWAY_REDIS_TIMEOUT
    return {
        "socket_timeout": shared if timeout == SHARED else timeout,
        "socket_connect_timeout": shared if connect_timeout == SHARED else connect_timeout,
    }


def sync_client(url: str = "", *, timeout: float | None = SHARED, connect_timeout: float = SHARED) -> Any:
    import redis

    return redis.Redis.from_url(url or settings.REDIS_URL, **_options(timeout, connect_timeout))


def async_client(url: str = "", *, timeout: float | None = SHARED, connect_timeout: float = SHARED) -> Any:
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(url or settings.REDIS_URL, **_options(timeout, connect_timeout))
