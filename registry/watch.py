"""Keep this process's routing table in step with the database.

One asyncio task per process: it reads the config version every ``GATEWAY_CONFIG_POLL_INTERVAL``
seconds, or at once when notified (Redis pub/sub from any process, or a save in this process), and
rebuilds the table in a worker thread when the version moved. The swap is one assignment to
``proxy.serving.serving.table``; a failed rebuild leaves the old table serving and is reported by
``/health/detailed``. ``registry.apps`` starts and stops it through the lifespan hooks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from proxy.redis_clients import async_client, node_client
from proxy.serving import serving
from proxy.table import RoutingTable
from registry import services
from registry.auth_compile import jwks_due
from registry.snapshot import build_table

log = logging.getLogger(__name__)

PROCESS_KEY = "gateway:process:"
PROCESS_TTL = 15


class ConfigWatcher:
    def __init__(self) -> None:
        self.database_version: int | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.rebuild_failures = 0
        self.redis_subscribed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="config")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._first = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._redis_client: Any = None

    @property
    def table(self) -> RoutingTable | None:
        return serving.table

    @property
    def process_id(self) -> str:
        return serving.process_id

    @property
    def served_version(self) -> int | None:
        return serving.version

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def start(self, wait: float = 10.0) -> None:
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._first = asyncio.Event()
        services.add_listener(self._notified)
        self._tasks.append(self._loop.create_task(self._poll(), name="config-poll"))
        if settings.REDIS_URL:
            self._tasks.append(self._loop.create_task(self._subscribe(), name="config-subscribe"))
        try:
            await asyncio.wait_for(self._first.wait(), wait)
        except TimeoutError:
            log.error("no routing table after %.0f s; still trying (see /health/detailed)", wait)

    async def stop(self) -> None:
        services.remove_listener(self._notified)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if settings.REDIS_URL:
            await self._forget_process()

    def _notified(self, version: int) -> None:
        # Called from whichever thread committed the change.
        if self._loop is not None and self._event is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._event.set)

    async def refresh(self) -> None:
        """Check the version now and rebuild if it moved (used by tests and the admin)."""
        await self._check()

    async def _poll(self) -> None:
        assert self._event is not None
        while True:
            await self._check()
            if settings.REDIS_URL:
                await self._announce()
            try:
                await asyncio.wait_for(self._event.wait(), settings.GATEWAY_CONFIG_POLL_INTERVAL)
            except TimeoutError:
                pass
            self._event.clear()

    async def _check(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            version = await loop.run_in_executor(self._executor, _read_version)
        except Exception as exc:
            self._failed("could not read the config version", exc)
            return
        self.database_version = version
        if version != self.served_version or jwks_due():
            await self._rebuild()

    async def _rebuild(self) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            table = await loop.run_in_executor(self._executor, _build)
        except Exception as exc:
            self._failed("rebuilding the routing table failed; the previous table keeps serving", exc)
            return
        previous = self.served_version
        serving.table = table
        if settings.GATEWAY_METRICS:
            from registry.metrics import REBUILDS, VERSION_SERVED

            REBUILDS.inc()
            VERSION_SERVED.set(table.version)
        self.last_error = None
        self._first.set()
        log.info(
            "serving config version %s (was %s): %d routes, built in %.1f ms",
            table.version,
            previous,
            len(table.routes),
            (time.perf_counter() - started) * 1000,
        )

    def _failed(self, what: str, exc: Exception) -> None:
        self.rebuild_failures += 1
        if settings.GATEWAY_METRICS:
            from registry.metrics import REBUILD_FAILURES

            REBUILD_FAILURES.inc()
        self.last_error = f"{what}: {exc!r}"
        self.last_error_at = time.time()
        log.error("%s: %r", what, exc)

    async def _subscribe(self) -> None:
        from redis.exceptions import RedisError

        assert self._event is not None
        warned = False
        while True:
            client = node_client(timeout=None, connect_timeout=2)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(services.CONFIG_CHANNEL)
                    self.redis_subscribed = True
                    warned = False
                    self._event.set()  # catch anything published while we were away
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._event.set()
            except (RedisError, OSError) as exc:
                if not warned:
                    log.warning(
                        "config notifications from Redis lost (%r); polling every %.1f s",
                        exc,
                        settings.GATEWAY_CONFIG_POLL_INTERVAL,
                    )
                    warned = True
            finally:
                self.redis_subscribed = False
                await client.aclose()
            await asyncio.sleep(1.0)

    def status(self) -> dict[str, Any]:
        return {
            "process": self.process_id,
            "served_version": self.served_version,
            "database_version": self.database_version,
            "routes": len(self.table.routes) if self.table else 0,
            "built_at": _iso(self.table.built_at) if self.table else None,
            "rebuild_failures": self.rebuild_failures,
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at) if self.last_error_at else None,
            "redis_subscribed": self.redis_subscribed,
            # Settings an admin accepted or the table had to override (a weaker dynamic route).
            "warnings": list(self.table.warnings) if self.table else [],
        }

    def _redis(self) -> Any:
        if self._redis_client is None:
            self._redis_client = async_client()
        return self._redis_client

    async def _announce(self) -> None:
        """Publish this process's served version so /health/detailed can list every process."""
        from redis.exceptions import RedisError

        try:
            await self._redis().set(PROCESS_KEY + self.process_id, json.dumps(self.status()), ex=PROCESS_TTL)
        except (RedisError, OSError):
            pass

    async def _forget_process(self) -> None:
        from redis.exceptions import RedisError

        try:
            await self._redis().delete(PROCESS_KEY + self.process_id)
            await self._redis().aclose()
        except (RedisError, OSError):
            pass
        self._redis_client = None


def _read_version() -> int:
    close_old_connections()
    return services.current_config_version()


def _build() -> RoutingTable:
    close_old_connections()
    return build_table()


watcher = ConfigWatcher()


def _iso(seconds: float) -> str:
    """Unix seconds as ISO 8601 in UTC, as every other time in /health/detailed."""
    return datetime.fromtimestamp(seconds, UTC).isoformat()
