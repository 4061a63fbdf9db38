"""Where entries live: this process's memory (the embedded default), or Redis shared by every process.

Both answer ``lookup(key, lock, token, now) -> (entry | PASS | None, holds_lock)``, or None when the
store cannot answer (the request is then a BYPASS, never an error). With Redis the read, and the
fill lock a miss or a stale entry needs (so concurrent misses in other processes wait instead of
calling the backend too), take one EVALSHA on the pipelined connection: one round trip per lookup.
Writes (``put``, ``unlock``) are sent without waiting for their answer; ``invalidate`` (after an
unsafe request, RFC 9111 4.4) is one awaited EVALSHA for every path it names. The memory store has no
lock of its own (one process: the policy's in-process flights suffice) and takes purges from any
thread (the admin's, or the table rebuild's).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any, Protocol

from cache import keys
from cache.entries import PASS, Entry, Undecodable, decode, encode
from proxy.outage import Outage
from proxy.pipelined_redis import ScriptClient, bulk

log = logging.getLogger(__name__)

NO_LOCK, LOCK_IF_STALE, LOCK_ALWAYS = 0, 1, 2
Found = Entry | bytes | None

LUA = """
local op = ARGV[1]
if op == 'get' then
  local v = redis.call('GET', KEYS[1])
  local mode = ARGV[2]
  if mode == '0' then return {v, 0} end
  if v and mode == '1' then
    if string.sub(v, 1, 4) == 'PASS' then return {v, 0} end
    local fresh = tonumber(string.sub(v, 5, 17))
    if fresh and fresh > tonumber(ARGV[4]) then return {v, 0} end
  end
  if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[5]) then return {v, 1} end
  return {v, 0}
elseif op == 'put' then
  local ttl = tonumber(ARGV[3])
  local gone = redis.call('GET', KEYS[4])
  local stored = 0
  if not (gone and tonumber(gone) >= tonumber(ARGV[5])) then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
    for i = 3, #KEYS do
      if i ~= 4 then
        if redis.call('SADD', KEYS[i], KEYS[1]) == 1 and redis.call('SCARD', KEYS[i]) > 256 then
          -- a set refilled for ever never expires: forget a few names of expired entries per new one
          for _, old in ipairs(redis.call('SRANDMEMBER', KEYS[i], 8)) do
            if redis.call('EXISTS', old) == 0 then redis.call('SREM', KEYS[i], old) end
          end
        end
        if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
      end
    end
    stored = 1
  end
  if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
  return stored
elseif op == 'invalidate' then
  local removed = 0
  for i = 1, #KEYS, 2 do
    local members = redis.call('SMEMBERS', KEYS[i])
    for j = 1, #members, 500 do
      removed = removed + redis.call('UNLINK', unpack(members, j, math.min(j + 499, #members)))
    end
    redis.call('UNLINK', KEYS[i])
    local gone = redis.call('GET', KEYS[i + 1])
    if not gone or tonumber(gone) < tonumber(ARGV[2]) then
      redis.call('SET', KEYS[i + 1], ARGV[2], 'PX', ARGV[3])
    end
  end
  return removed
elseif op == 'tag' then
  local ttl = tonumber(ARGV[3])
  redis.call('SADD', KEYS[1], ARGV[2])
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  return 1
elseif op == 'unlock' then
  if redis.call('GET', KEYS[1]) == ARGV[2] then redis.call('DEL', KEYS[1]) end
  return 1
end
return redis.error_reply('unknown cache op')
"""


class Store(Protocol):
    shared: bool

    async def lookup(self, key: str, lock: int, token: bytes, now: float) -> tuple[Found, bool] | None: ...

    def put(self, key: str, entry: Entry | bytes, ttl: float, token: bytes, uri: str, asked_at: float) -> None: ...

    def unlock(self, key: str, token: bytes) -> None: ...

    async def invalidate(self, uris: Iterable[str], now: float, route: str = "") -> int | None: ...


class MemoryStore:
    """An LRU of decoded entries, bounded by an estimate of their bytes."""

    shared = False

    def __init__(self, max_bytes: int, clock: Any = time.time, remember_seconds: float = 60.0) -> None:
        self.max_bytes = max_bytes
        self.clock = clock
        self.remember_seconds = remember_seconds
        # key -> (entry, expires at, size, uri)
        self.items: collections.OrderedDict[str, tuple[Entry | bytes, float, int, str]] = collections.OrderedDict()
        self.by_tag: dict[str, set[str]] = {}
        self.by_uri: dict[str, set[str]] = {}
        self.gone: collections.OrderedDict[str, float] = collections.OrderedDict()  # uri -> invalidated at
        self.bytes = 0
        self.lock = threading.Lock()  # purges come from other threads
        self.purged_through = -1  # the last CachePurge row applied (cache.compile); -1: none read yet

    async def lookup(self, key: str, lock: int, token: bytes, now: float) -> tuple[Found, bool] | None:
        with self.lock:
            item = self.items.get(key)
            if item is None:
                return None, True
            if item[1] <= now:
                self._drop(key)
                return None, True
            self.items.move_to_end(key)
        return item[0], True

    def put(self, key: str, entry: Entry | bytes, ttl: float, token: bytes, uri: str, asked_at: float) -> None:
        size = entry.size if isinstance(entry, Entry) else len(key) + 64
        if size > self.max_bytes:
            return
        with self.lock:
            gone = self.gone.get(uri)
            if gone is not None and gone >= asked_at:
                return  # asked before a write invalidated the path: it may hold what the write changed
            if key in self.items:
                self._drop(key)
            self.items[key] = (entry, self.clock() + ttl, size, uri)
            self.bytes += size
            self.by_uri.setdefault(uri, set()).add(key)
            if isinstance(entry, Entry):
                for tag in entry.tags:
                    self.by_tag.setdefault(tag, set()).add(key)
            while self.bytes > self.max_bytes:
                self._drop(next(iter(self.items)))

    def unlock(self, key: str, token: bytes) -> None:
        pass

    async def invalidate(self, uris: Iterable[str], now: float, route: str = "") -> int | None:
        """Drop every entry stored for these paths, and refuse fills that asked before ``now``."""
        with self.lock:
            gone = self.gone
            while gone:
                first = next(iter(gone))
                if gone[first] > now - self.remember_seconds:
                    break
                del gone[first]
            count = 0
            for uri in uris:
                for key in list(self.by_uri.get(uri, ())):
                    self._drop(key)
                    count += 1
                gone[uri] = max(now, gone.pop(uri, now))
            return count

    def _drop(self, key: str) -> None:
        entry, _, size, uri = self.items.pop(key)
        self.bytes -= size
        _unindex(self.by_uri, uri, key)
        if isinstance(entry, Entry):
            for tag in entry.tags:
                _unindex(self.by_tag, tag, key)

    def purge(self, route: str = "", prefix: str = "", tag: str = "") -> int:
        """Drop the entries of ``route`` (a route key; empty: every route) under ``prefix``, or with ``tag``."""
        with self.lock:
            if tag:
                doomed: Iterable[str] = list(self.by_tag.get(tag, ()))
            else:
                doomed = [k for k in self.items if _matches(k, route, prefix)]
            count = 0
            for key in doomed:
                if key in self.items:
                    self._drop(key)
                    count += 1
            return count


def _unindex(index: dict[str, set[str]], name: str, key: str) -> None:
    found = index.get(name)
    if found is not None:
        found.discard(key)
        if not found:
            del index[name]


def _matches(key: str, route: str, prefix: str) -> bool:
    owner, path = keys.path_of(key)
    return (not route or owner == route) and path.startswith(prefix)


class RedisStore:
    """Entries in Redis. When Redis fails or is slow, lookups answer None (BYPASS) at once for
    ``retry_seconds`` instead of waiting on it per request; then the next request tries again."""

    shared = True

    def __init__(
        self,
        url: str,
        timeout: float,
        retry_seconds: float,
        lock_ms: int,
        compress_above: int,
        remember_seconds: float = 60.0,
    ) -> None:
        self.client = ScriptClient(url, LUA, timeout, connect_timeout=max(timeout, 1.0))
        self.remember_ms = b"%d" % max(1, int(remember_seconds * 1000))
        self.compress_above = compress_above
        self.lock_ms = b"%d" % lock_ms
        self.outage = Outage(
            retry_seconds,
            log,
            "response cache: Redis unavailable",
            "cached routes answer BYPASS from their backends,",
            "the response cache's Redis answers again; caching resumed",
        )
        self.pending: set[asyncio.Task[Any]] = set()

    @property
    def degraded(self) -> bool:
        return self.outage.skipping()

    async def lookup(self, key: str, lock: int, token: bytes, now: float) -> tuple[Found, bool] | None:
        outage = self.outage
        if outage.failing and outage.skipping():
            return None
        k = key.encode("latin-1")
        tail = b"".join(
            (
                b"$1\r\n2\r\n",
                bulk(k),
                bulk(keys.lock_key(key).encode("latin-1")),
                b"$3\r\nget\r\n",
                b"$1\r\n%d\r\n" % lock,
                bulk(token),
                bulk(b"%d" % int(now * 1000)),
                bulk(self.lock_ms),
            )
        )
        try:
            value, locked = await self.client.evalsha(8, tail)
        except Exception as exc:  # ConnectionError, TimeoutError, a reply error: never a 500 over Redis
            outage.failed(exc)
            return None
        if outage.failing:
            outage.answered()
        if value is None or value.startswith(PASS):
            return value, bool(locked)
        try:
            return decode(value), bool(locked)
        except Undecodable:
            return None, bool(locked)

    def put(self, key: str, entry: Entry | bytes, ttl: float, token: bytes, uri: str, asked_at: float) -> None:
        value = entry if isinstance(entry, bytes) else encode(entry, self.compress_above)
        tags = entry.tags if isinstance(entry, Entry) else ()
        k = key.encode("latin-1")
        ttl_ms = bulk(b"%d" % max(1, int(ttl * 1000)))
        tag_keys = [bulk(keys.tag_key(t).encode("latin-1", "replace")) for t in tags]
        route = ""
        if self.client.cluster:  # each tag's index lives in its own slot: indexed by calls of their own
            for tag_key in tag_keys:
                self._send(5, b"$1\r\n1\r\n" + tag_key + b"$3\r\ntag\r\n" + bulk(k) + ttl_ms)
            tag_keys = []
            route = keys.path_of(key)[0]  # and the path's index is the route's, in the entry's slot
        parts = [
            bulk(b"%d" % (4 + len(tag_keys))),
            bulk(k),
            bulk(keys.lock_key(key).encode("latin-1")),
            bulk(keys.uri_key(uri, route).encode("latin-1", "replace")),
            bulk(keys.gone_key(uri, route).encode("latin-1", "replace")),
            *tag_keys,
        ]
        parts += [b"$3\r\nput\r\n", bulk(value), ttl_ms, bulk(token), bulk(b"%d" % int(asked_at * 1000))]
        self._send(len(parts), b"".join(parts))

    def unlock(self, key: str, token: bytes) -> None:
        tail = b"$1\r\n1\r\n" + bulk(keys.lock_key(key).encode("latin-1")) + b"$6\r\nunlock\r\n" + bulk(token)
        self._send(4, tail)

    async def invalidate(self, uris: Iterable[str], now: float, route: str = "") -> int | None:
        """Delete every entry stored for these paths and refuse fills that asked before ``now``, in one
        round trip that is awaited (the write's answer must not reach its client before the entries
        are gone, or its next request, to another process, could still be served one). None: Redis
        did not answer."""
        if self.degraded:
            return None
        # On a cluster the indexes are per route (in the route's slot): a write clears its own route's.
        scope = route if self.client.cluster else ""
        names = [
            bulk(k(uri, scope).encode("latin-1", "replace")) for uri in uris for k in (keys.uri_key, keys.gone_key)
        ]
        args = (b"$10\r\ninvalidate\r\n", bulk(b"%d" % int(now * 1000)), bulk(self.remember_ms))
        try:
            removed = await self.client.evalsha(len(names) + 4, b"".join((bulk(b"%d" % len(names)), *names, *args)))
        except Exception as exc:  # as a lookup: a write's answer never becomes a 500 over Redis
            self.outage.failed(exc)
            return None
        return int(removed)

    def _send(self, count: int, tail: bytes) -> None:
        if self.degraded:
            return
        task = asyncio.ensure_future(self.client.evalsha(count, tail))
        self.pending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[Any]) -> None:
        self.pending.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.outage.failed(exc)

    async def connect(self) -> None:
        await self.client.connect()

    async def close(self) -> None:
        if self.pending:
            await asyncio.wait(list(self.pending), timeout=1.0)
        await self.client.close()


_store: MemoryStore | RedisStore | None = None


def get_store() -> MemoryStore | RedisStore:
    """This process's store: Redis when ``GATEWAY_CACHE_REDIS_URL`` (default ``REDIS_URL``) is set."""
    global _store
    if _store is None:
        from django.conf import settings

        url = settings.GATEWAY_CACHE_REDIS_URL
        if url:
            _store = RedisStore(
                url,
                settings.GATEWAY_CACHE_REDIS_TIMEOUT,
                settings.GATEWAY_CACHE_REDIS_RETRY_SECONDS,
                int(settings.GATEWAY_CACHE_LOCK_SECONDS * 1000),
                settings.GATEWAY_CACHE_COMPRESS_ABOVE,
                settings.GATEWAY_CACHE_INVALIDATION_SECONDS,
            )
        else:
            _store = MemoryStore(
                settings.GATEWAY_CACHE_MEMORY_BYTES, remember_seconds=settings.GATEWAY_CACHE_INVALIDATION_SECONDS
            )
    return _store


async def start() -> None:
    store = get_store()
    if isinstance(store, RedisStore):
        try:  # connect now, so the first requests do not pay for it
            await store.connect()
        except Exception as exc:
            store.outage.failed(exc)


async def stop() -> None:
    global _store
    if isinstance(_store, RedisStore):
        await _store.close()
        _store = None
