"""Filling an entry: one backend request per key at a time, and what of its answer is stored.

In a process, the first request for a key opens a ``Flight``; the ones that arrive before it lands
wait for it (bounded by ``GATEWAY_CACHE_WAIT_SECONDS``) and are answered from its entry. Across
processes the Redis store's fill lock does the same (``cache.policies`` polls for the entry). A
``Fill`` ends exactly once: stored (which releases the lock), marked not storable (a short PASS
marker, so later requests go straight to the backend instead of queueing behind a lock), or
abandoned (an error, the client left: the lock is released).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass

from django.conf import settings

from cache.compile import CacheSpec
from cache.directives import Freshness, NotStorable, check_storable, freshness, parse_cache_control
from cache.entries import PASS, Entry
from cache.incoming import Asked, header
from cache.stores import MemoryStore, RedisStore
from proxy.exchange import Exchange, Headers, Response

TAG_HEADERS = tuple(name.lower().encode() for name in settings.GATEWAY_CACHE_TAG_HEADERS)
_TAG_SPLIT = re.compile(rb"[\s,]+")
# Never stored: set for each answer, or by the cache itself.
_DROPPED = frozenset({b"x-request-id", b"age", b"content-length", b"cache-status", b"x-cache-status", *TAG_HEADERS})


class Flight:
    """One fill of one key in this process; others wait on it."""

    __slots__ = ("future", "uri")

    def __init__(self, uri: str) -> None:
        self.future: asyncio.Future[Entry | None] | None = None  # made when a second request arrives
        self.uri = uri  # a write to it takes the flight out of ``flights`` (``forget_flights``)

    async def wait(self, seconds: float) -> Entry | None:
        if self.future is None:
            self.future = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(seconds):
                return await asyncio.shield(self.future)
        except TimeoutError:
            return None

    def land(self, entry: Entry | None) -> None:
        if self.future is not None and not self.future.done():
            self.future.set_result(entry)


flights: dict[str, Flight] = {}


def forget_flights(uris: Collection[str]) -> None:
    """A write invalidated these paths: requests arriving from now on must not wait for fills that
    asked the backend before it (the store refuses their answers, ``Fill.asked_at``)."""
    doomed = [key for key, flight in flights.items() if flight.uri in uris]
    for key in doomed:
        del flights[key]


class Fill:
    def __init__(
        self, store: MemoryStore | RedisStore, key: str, uri: str, token: bytes, flight: Flight | None
    ) -> None:
        self.store, self.key, self.uri, self.token, self.flight = store, key, uri, token, flight
        # When the backend was asked for what this fill stores: a write that invalidated the path
        # later makes the store refuse it. Set again when the request is sent (CachePolicy._fetch).
        self.asked_at = time.time()
        self.locked = False
        self.passed = False  # the lookup found a PASS marker: it still holds, no need to write it again
        self.finished = False

    def _end(self, entry: Entry | None) -> bool:
        if self.finished:
            return False
        self.finished = True
        if self.flight is not None:
            if flights.get(self.key) is self.flight:
                del flights[self.key]
            self.flight.land(entry)
        return True

    def share(self, entry: Entry | None) -> None:
        """Nothing to store (a hit, a stale answer): hand ``entry`` to the waiters, release the lock."""
        if self._end(entry) and self.locked:
            self.store.unlock(self.key, self.token)

    def store_entry(self, entry: Entry, ttl: float) -> None:
        if self._end(entry):
            self.store.put(self.key, entry, ttl, self.token, self.uri, self.asked_at)

    def not_storable(self) -> None:
        if self._end(None) and not self.passed:
            self.store.put(self.key, PASS, settings.GATEWAY_CACHE_PASS_SECONDS, self.token, self.uri, self.asked_at)

    def abandon(self) -> None:
        self.share(None)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a storable answer's headers say."""

    freshness: Freshness
    vary_names: tuple[bytes, ...]
    tags: tuple[str, ...]
    etag: bytes
    last_modified: bytes
    keep_cookies: bool


def judge(response: Response, asked: Asked, spec: CacheSpec, request_time: float, response_time: float) -> Verdict:
    """The answer's ``Verdict``, or ``NotStorable`` with the reason."""
    if response.status not in spec.statuses:
        raise NotStorable("status")
    if asked.rules.no_store:
        raise NotStorable("request-no-store")
    cc = date = expires = age = vary = etag = modified = b""
    sets_cookie = False
    tags: list[str] = []
    for name, value in response.headers:
        if name == b"cache-control":
            cc = cc + b"," + value if cc else value
        elif name == b"date":
            date = value
        elif name == b"expires":
            expires = value
        elif name == b"age":
            age = value
        elif name == b"vary":
            vary = vary + b"," + value if vary else value
        elif name == b"set-cookie":
            sets_cookie = True
        elif name == b"etag":
            etag = value
        elif name == b"last-modified":
            modified = value
        elif name == b"content-range":
            raise NotStorable("partial")
        elif name in TAG_HEADERS:
            tags.extend(t.decode("latin-1") for t in _TAG_SPLIT.split(value) if t)
    directives = parse_cache_control(cc) if cc else {}
    check_storable(directives, asked.personal, spec.credentials, sets_cookie, vary)
    fresh = freshness(directives, date, expires, age, request_time, response_time, spec.ttl, spec.stale_if_error)
    useful = fresh.lifetime > fresh.initial_age or etag or modified or fresh.stale_if_error
    if not useful:
        raise NotStorable("no-freshness")
    names = tuple(dict.fromkeys(n.strip().lower() for n in vary.split(b",") if n.strip())) if vary else ()
    return Verdict(fresh, names, tuple(dict.fromkeys(tags)), etag, modified, sets_cookie)


def make_entry(exchange: Exchange, response: Response, body: bytes, verdict: Verdict, stored_at: float) -> Entry:
    headers: Headers = [
        (n, v) for n, v in response.headers if n not in _DROPPED and (n != b"set-cookie" or verdict.keep_cookies)
    ]
    if response.status not in (204, 304):
        headers.append((b"content-length", b"%d" % len(body)))
    vary = tuple((name, header(exchange.headers, name)) for name in verdict.vary_names)
    return Entry(
        status=response.status,
        headers=tuple(headers),
        body=body,
        stored_at=stored_at,
        freshness=verdict.freshness,
        vary=vary,
        etag=verdict.etag,
        last_modified=verdict.last_modified,
        tags=verdict.tags,
    )


def store_ttl(entry: Entry, now: float) -> float:
    """How long the store keeps it: while fresh, then its stale windows, and a while longer when it can
    be revalidated (``GATEWAY_CACHE_KEEP_STALE_SECONDS``)."""
    f = entry.freshness
    keep = settings.GATEWAY_CACHE_KEEP_STALE_SECONDS if entry.has_validators else 0.0
    after = max(f.stale_while_revalidate, f.stale_if_error, keep)
    return max(1.0, entry.fresh_until - now + after)


def without_tag_headers(response: Response) -> None:
    """Purge tags are the gateway's business: clients never see them."""
    if any(n in TAG_HEADERS for n, _ in response.headers):
        response.headers = [(n, v) for n, v in response.headers if n not in TAG_HEADERS]


def tee(response: Response, limit: int, on_end: Callable[[bytes | None, bool], None]) -> Response:
    """Stream ``response`` to the client while keeping a copy up to ``limit`` bytes. ``on_end(body,
    too_large)`` gets the whole body once it was all sent, or None (too large; broken off, or the
    client left)."""
    assert response.stream is not None
    source, close = response.stream, response.close
    ended = False

    def end(body: bytes | None, too_large: bool = False) -> None:
        nonlocal ended
        if not ended:
            ended = True
            on_end(body, too_large)

    async def copy() -> AsyncIterator[bytes]:
        parts: list[bytes] | None = []
        size = 0
        complete = False
        try:
            async for chunk in source:
                if parts is not None:
                    size += len(chunk)
                    if size > limit:
                        parts = None
                        end(None, too_large=True)  # waiters need not wait for the rest
                    else:
                        parts.append(chunk)
                yield chunk
            complete = True
        finally:
            end(b"".join(parts) if complete and parts is not None else None)

    def closed() -> None:
        end(None)
        if close is not None:
            close()

    return Response(response.status, response.headers, stream=copy(), close=closed, error_reason=response.error_reason)
