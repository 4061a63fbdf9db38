"""Token introspection (RFC 7662) against an external auth service, with a cache.

Answers are cached in Redis when ``REDIS_URL`` is set, else in this process: active tokens for
``GATEWAY_INTROSPECTION_TTL`` (never past their ``exp``), inactive ones for the shorter negative
TTL. A failing service means 503, never a pass: ``IntrospectionDown``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

CACHE_PREFIX = "gateway:introspect:"


class IntrospectionDown(Exception):
    """The service could not give an answer (down, slow, or a malformed answer)."""


@dataclass(frozen=True, slots=True)
class IntrospectionSettings:
    url: str
    client_id: str
    client_secret: str
    ttl: float
    negative_ttl: float
    timeout: float
    redis_url: str


class Introspector:
    def __init__(self, config: IntrospectionSettings) -> None:
        self.config = config
        self.auth = aiohttp.BasicAuth(config.client_id, config.client_secret) if config.client_id else None
        self.timeout = aiohttp.ClientTimeout(total=config.timeout)
        self._memory: dict[str, tuple[float, dict[str, Any]]] = {}
        self._redis: Any = None
        self._session: aiohttp.ClientSession | None = None

    async def introspect(self, token: str) -> dict[str, Any]:
        """The service's answer for ``token`` (``{"active": false}`` for unknown or revoked ones)."""
        key = CACHE_PREFIX + hashlib.sha256(token.encode()).hexdigest()
        cached = await self._cached(key)
        if cached is not None:
            return cached
        answer = await self._ask(token)
        await self._store(key, answer)
        return answer

    async def _ask(self, token: str) -> dict[str, Any]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, trust_env=False)
        try:
            async with self._session.post(
                self.config.url, data={"token": token}, auth=self.auth, headers={"Accept": "application/json"}
            ) as resp:
                if resp.status != 200:
                    raise IntrospectionDown(f"the introspection service answered {resp.status}")
                answer = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise IntrospectionDown(f"the introspection service failed: {exc!r}") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("active"), bool):
            raise IntrospectionDown("the introspection service sent no 'active' field")
        return answer

    def _ttl(self, answer: dict[str, Any]) -> float:
        if not answer["active"]:
            return self.config.negative_ttl
        ttl = self.config.ttl
        exp = answer.get("exp")
        if isinstance(exp, int | float):
            ttl = min(ttl, exp - time.time())
        return ttl

    async def _cached(self, key: str) -> dict[str, Any] | None:
        if not self.config.redis_url:
            hit = self._memory.get(key)
            if hit is None or hit[0] <= time.monotonic():
                return None
            return hit[1]
        try:
            raw = await self._client().get(key)
        except Exception as exc:  # a cache failure only costs a call to the service
            log.warning("introspection cache read failed: %r", exc)
            return None
        return json.loads(raw) if raw else None

    async def _store(self, key: str, answer: dict[str, Any]) -> None:
        ttl = self._ttl(answer)
        if ttl <= 0:
            return
        if not self.config.redis_url:
            if len(self._memory) > 100_000:
                self._memory.clear()
            self._memory[key] = (time.monotonic() + ttl, answer)
            return
        try:
            await self._client().set(key, json.dumps(answer), px=max(1, int(ttl * 1000)))
        except Exception as exc:
            log.warning("introspection cache write failed: %r", exc)

    def _client(self) -> Any:
        if self._redis is None:
            from proxy.redis_clients import async_client

            self._redis = async_client(self.config.redis_url, timeout=0.5, connect_timeout=0.5)
        return self._redis

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._redis is not None:
            await self._redis.aclose()
