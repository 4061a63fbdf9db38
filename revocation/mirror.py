"""Each gateway process's copy of the revocations (``proxy.auth.revocation.denylist``), kept current
off the request path, so a check costs no Redis round trip.

- At start: the database's live rows are re-seeded into Redis (entries a flushed Redis lost come
  back) and the denylist is loaded from Redis; without Redis, from the database.
- Then: every change arrives on the ``gateway:revocations`` channel and is applied at once. The
  version key is also read every ``GATEWAY_JWT_REVOCATION_POLL_INTERVAL`` seconds: a missed message
  (a dropped subscription) means the version moved past ours, and the whole list is reloaded.
- Expired entries are pruned as time passes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from proxy.auth.revocation import SubjectEntry, denylist
from proxy.redis_clients import async_client, sync_client
from revocation import store

log = logging.getLogger(__name__)


class Mirror:
    def __init__(self) -> None:
        self.version: int | None = None  # the store's version the denylist reflects
        self.subscribed = False
        self.reloads = 0
        self._client: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            self._client = async_client()
        return self._client

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            rows = await loop.run_in_executor(None, _live_rows)
        except Exception as exc:  # no database at start: what Redis holds still applies
            log.error("JWT revocations could not be read from the database: %r", exc)
            rows = []
        if not settings.REDIS_URL:
            for entry in rows:
                entry.apply(denylist)
            return
        from redis.exceptions import RedisError

        try:
            if rows:
                await loop.run_in_executor(None, lambda: store.write(sync_client(), rows, missing_only=True))
            await self.reload()
        except (RedisError, OSError) as exc:
            log.error("JWT revocations could not be loaded from Redis (%r); using the database's", exc)
            for entry in rows:
                entry.apply(denylist)

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def reload(self) -> None:
        client = self._redis()
        version = int(await client.get(store.VERSION) or 0)  # read first: a change during the scan moves it again
        jtis: dict[str, float] = {}
        subjects: dict[tuple[str, str], SubjectEntry] = {}
        async for batch in _batches(client):
            values = await client.mget(batch)
            for entry in store.scan_keys(batch, values):
                if entry.kind == "jti":
                    jtis[entry.value] = entry.expires_at
                else:
                    subjects[(entry.issuer, entry.value)] = SubjectEntry(entry.issued_before, entry.expires_at)
        denylist.replace(jtis, subjects)
        self.version = version
        self.reloads += 1

    def apply(self, raw: bytes | str) -> bool:
        """Apply one published change; False when it does not follow the version we hold (reload)."""
        try:
            message = json.loads(raw)
            version = int(message["version"])
            added = [store.entry_from_list(item) for item in message["add"]]
            removed = [store.entry_from_list(item) for item in message["remove"]]
        except (ValueError, KeyError, TypeError):
            return False
        for entry in removed:
            entry.forget(denylist)
        for entry in added:
            entry.apply(denylist)
        if self.version is None or version != self.version + 1:
            return False
        self.version = version
        return True

    async def poll(self) -> None:
        from redis.exceptions import RedisError

        while True:
            await asyncio.sleep(settings.GATEWAY_JWT_REVOCATION_POLL_INTERVAL)
            denylist.prune(time.time())
            try:
                version = int(await self._redis().get(store.VERSION) or 0)
                if version != self.version:
                    await self.reload()
            except (RedisError, OSError) as exc:
                log.warning("JWT revocations: Redis unreachable (%r); keeping the list held", exc)

    async def listen(self) -> None:
        from redis.exceptions import RedisError

        while True:
            client = async_client(timeout=None, connect_timeout=2)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(store.CHANNEL)
                    self.subscribed = True
                    await self.reload()  # anything published while we were away
                    async for message in pubsub.listen():
                        if message.get("type") == "message" and not self.apply(message["data"]):
                            await self.reload()
            except (RedisError, OSError) as exc:
                log.warning("JWT revocation notices from Redis lost (%r); polling", exc)
            finally:
                self.subscribed = False
                await client.aclose()
            await asyncio.sleep(1.0)

    async def run(self) -> None:
        if not settings.REDIS_URL:
            while True:  # one process: changes apply directly; only pruning is left
                await asyncio.sleep(max(settings.GATEWAY_JWT_REVOCATION_POLL_INTERVAL, 1.0))
                denylist.prune(time.time())
        await asyncio.gather(self.poll(), self.listen())


async def _batches(client: Any, size: int = 1000) -> Any:
    batch: list[Any] = []
    async for key in client.scan_iter(match=store.PREFIX + "*", count=size):
        if key in (store.VERSION, store.VERSION.encode()):
            continue
        batch.append(key)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _live_rows() -> list[store.Entry]:
    from revocation.models import JwtRevocation
    from revocation.services import entry_of

    close_old_connections()
    return [entry_of(row) for row in JwtRevocation.objects.filter(expires_at__gt=timezone.now())]


mirror = Mirror()
