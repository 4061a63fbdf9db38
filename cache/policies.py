"""The response cache's data-plane step (``GATEWAY_POLICIES``: after auth and rate limits).

A route gets this step only when its cache settings are on. Per request:

    an unsafe method (POST, PUT, PATCH, DELETE, any not known safe) -> BYPASS; on a 2xx/3xx answer the
                                                    entries of its path (and of its Location and
                                                    Content-Location on this host) are invalidated first
    another safe method, Range, unchecked credentials ...  -> BYPASS: straight to the backend
    another request of this process fills the key   -> wait for it (bounded), answer from its entry
    lookup (one Redis round trip; takes the fill lock when missing or stale)
        fresh                -> HIT
        stale, within stale-while-revalidate -> STALE now, revalidated in the background
        stale or missing, we hold the lock   -> fetch (conditionally when it has validators):
                                                304 REVALIDATED, 200 EXPIRED/MISS (stored when allowed),
                                                5xx/timeout/open breaker -> STALE if stale-if-error allows
        another process holds the lock       -> poll for its entry (bounded), then fetch anyway
        the store does not answer            -> BYPASS

Because the step wraps ``call_next``, it sees the gateway's own 502/503/504 (unreachable, timeout,
circuit open) as ``GatewayError``s and can answer stale instead.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings

from cache import keys
from cache.answers import (
    BYPASS,
    EXPIRED,
    HIT,
    MISS,
    STALE,
    STATUSES,
    cache_status,
    from_entry,
    mark_response,
    marks,
)
from cache.compile import NAME, CacheSpec, CacheTable
from cache.directives import ERROR_STATUSES, FRESH, STALE_OK, NotStorable, may_serve_stale_on_error, usable
from cache.entries import Entry
from cache.errors import NotCached
from cache.filling import (
    Fill,
    Flight,
    flights,
    judge,
    make_entry,
    store_ttl,
    tee,
    without_tag_headers,
)
from cache.incoming import ANSWERED_CONDITIONALS, Asked, read, vary_matches
from cache.invalidation import SAFE_METHODS, Invalidation
from cache.metrics import INVALIDATIONS, RESPONSES, SERVED_BYTES, STORED_BYTES
from cache.revalidation import Revalidation
from cache.stores import LOCK_ALWAYS, LOCK_IF_STALE, NO_LOCK, MemoryStore, RedisStore, get_store
from proxy.errors import GatewayError
from proxy.exchange import Exchange, Response
from proxy.pipeline import Handler

if TYPE_CHECKING:
    from proxy.specs import RouteSpec, Snapshot

log = logging.getLogger(__name__)

_tokens = itertools.count()
_PROCESS = os.urandom(6).hex().encode()


class CachePolicy(Revalidation, Invalidation):
    name = "cache"

    def __init__(self, spec: CacheSpec, route: RouteSpec, store: MemoryStore | RedisStore) -> None:
        self.spec = spec
        self.store = store
        self.authenticated = route.auth is not None
        self.route_key = keys.route_key(route.id or 0)
        self.wait = settings.GATEWAY_CACHE_WAIT_SECONDS
        labels = (route.service.slug, route.name)
        self.counted = {status: RESPONSES.labels(*labels, status) for status in STATUSES}
        self.served_bytes = SERVED_BYTES.labels(*labels)
        self.stored_bytes = STORED_BYTES.labels(*labels)
        self.invalidations = {
            done: INVALIDATIONS.labels(*labels, "done" if done else "failed") for done in (True, False)
        }

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot | None = None) -> CachePolicy | None:
        table = snapshot.extensions.get(NAME) if snapshot is not None else None
        spec = table.routes.get(route.id) if isinstance(table, CacheTable) and route.id else None
        return cls(spec, route, get_store()) if spec is not None else None

    def explain(self, carrier: Any) -> tuple[str, bool]:
        """For the route simulator (``registry.simulate``): cacheable or not, and HIT, STALE or MISS
        for the request's key now, read without locking (``cache.explain``)."""
        from cache.explain import explain

        return explain(self, carrier)

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        if exchange.method not in self.spec.methods:
            if exchange.method in SAFE_METHODS:
                return await self._bypass(exchange, call_next, b"fwd=method")
            return await self._write(exchange, call_next)
        asked = read(exchange, self.spec, self.authenticated)
        if asked.bypass:
            return await self._bypass(exchange, call_next, b"fwd=bypass; detail=" + asked.bypass.encode())
        key = asked.key
        flight = flights.get(key)
        if flight is not None:
            entry = await flight.wait(self.wait)
            now = time.time()
            if entry is not None and vary_matches(exchange, entry.vary) and self._fits(entry, asked, now):
                return self._serve(exchange, asked, entry, HIT, now, b"hit", b"collapsed")
            return await self._fetch(exchange, call_next, asked, self._fill(asked, None), None, b"fwd=uri-miss")
        head = exchange.method == "HEAD"  # answered from GET's entries, never stored (it has no body)
        flight = None if head else Flight(asked.uri)
        if flight is not None:
            flights[key] = flight
        fill = self._fill(asked, flight)
        try:
            return await self._lookup(exchange, call_next, asked, fill, NO_LOCK if head else None)
        except BaseException:
            fill.abandon()
            raise

    def _fill(self, asked: Asked, flight: Flight | None) -> Fill:
        return Fill(self.store, asked.key, asked.uri, b"%s:%d" % (_PROCESS, next(_tokens)), flight)

    def _not_cached(self, detail: str) -> NotCached:
        """A 504 for ``only-if-cached`` with nothing usable stored: a miss the backend never saw."""
        self.counted[MISS].inc()
        return NotCached(detail, headers=marks(MISS, cache_status(b"detail=only-if-cached"), 0))

    def _fits(self, entry: Entry, asked: Asked, now: float) -> bool:
        return usable(entry.age(now), entry.freshness, asked.rules, entry.has_validators) in (FRESH, STALE_OK)

    async def _lookup(
        self, exchange: Exchange, call_next: Handler, asked: Asked, fill: Fill, mode: int | None
    ) -> Response:
        if mode is None:
            mode = LOCK_ALWAYS if asked.rules.no_cache else LOCK_IF_STALE
        found = await self.store.lookup(fill.key, mode, fill.token, time.time())
        if found is None:
            fill.abandon()
            return await self._bypass(exchange, call_next, b"fwd=bypass; detail=store-unavailable")
        entry, fill.locked = found
        now = time.time()
        if mode == NO_LOCK:
            fill.locked = False  # HEAD: serves what is there, fills nothing
        if not isinstance(entry, Entry):  # a miss, or a PASS marker (fetch without waiting on a lock)
            fill.passed = entry is not None
            if asked.rules.only_if_cached:
                raise self._not_cached("No stored answer, and the request asked for one only (only-if-cached).")
            if entry is None and not fill.locked and mode != NO_LOCK and isinstance(self.store, RedisStore):
                return await self._await_other(exchange, call_next, asked, fill, None)
            return await self._fetch(exchange, call_next, asked, fill, None, b"fwd=uri-miss", store=mode != NO_LOCK)
        if entry.vary and not vary_matches(exchange, entry.vary):
            return await self._fetch(exchange, call_next, asked, fill, None, b"fwd=vary-miss", store=mode != NO_LOCK)
        state = usable(entry.age(now), entry.freshness, asked.rules, entry.has_validators)
        if state == FRESH:
            fill.share(entry)
            return self._serve(exchange, asked, entry, HIT, now, b"hit")
        if asked.rules.only_if_cached:
            raise self._not_cached(
                "The stored answer is stale, and the request asked for a stored one only (only-if-cached)."
            )
        if state == STALE_OK:
            if fill.locked:
                self._revalidate_later(exchange, call_next, asked, fill, entry)
            else:
                fill.share(entry)
            return self._serve(exchange, asked, entry, STALE, now, b"hit", b"detail=stale-while-revalidate")
        if mode == NO_LOCK:
            return await self._fetch(exchange, call_next, asked, fill, entry, b"", store=False)
        if not fill.locked:
            return await self._await_other(exchange, call_next, asked, fill, entry)
        return await self._fetch(exchange, call_next, asked, fill, entry, b"")

    async def _await_other(
        self, exchange: Exchange, call_next: Handler, asked: Asked, fill: Fill, stale: Entry | None
    ) -> Response:
        """Another process holds the fill lock: poll for the entry it stores (bounded), and take the lock
        over if it lets go without storing one."""
        loop = asyncio.get_running_loop()
        started, deadline, delay = time.time(), loop.time() + self.wait, 0.005
        mode = LOCK_ALWAYS if asked.rules.no_cache else LOCK_IF_STALE
        while loop.time() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
            found = await self.store.lookup(fill.key, mode, fill.token, time.time())
            if found is None:
                break
            entry, fill.locked = found
            if isinstance(entry, Entry) and vary_matches(exchange, entry.vary):
                now = time.time()
                newer = stale is None or entry.stored_at > stale.stored_at
                if newer and (entry.stored_at >= started - 1.0 or self._fits(entry, asked, now)):
                    fill.share(entry)
                    return self._serve(exchange, asked, entry, HIT, now, b"hit", b"collapsed")
            if fill.locked or (not isinstance(entry, Entry) and entry is not None):  # ours now, or a PASS
                break
        return await self._fetch(exchange, call_next, asked, fill, stale, b"" if stale else b"fwd=uri-miss")

    def _serve(
        self, exchange: Exchange, asked: Asked, entry: Entry, word: str, now: float, *params: bytes, count: bool = True
    ) -> Response:
        if count:
            self.counted[word].inc()
            self.served_bytes.inc(len(entry.body))
        status = cache_status(*params, b"ttl=%d" % int(entry.fresh_until - now))
        return from_entry(exchange, entry, word, status, now, asked.if_none_match, asked.if_modified_since)

    async def _bypass(self, exchange: Exchange, call_next: Handler, detail: bytes) -> Response:
        self.counted[BYPASS].inc()
        try:
            response = await call_next(exchange)
        except GatewayError as error:
            error.headers.extend(marks(BYPASS, cache_status(detail), 0))
            raise
        without_tag_headers(response)
        return mark_response(response, BYPASS, cache_status(detail))

    async def _fetch(
        self,
        exchange: Exchange,
        call_next: Handler,
        asked: Asked,
        fill: Fill,
        stale: Entry | None,
        fwd: bytes,
        store: bool = True,
        count: bool = True,
    ) -> Response:
        """Ask the backend (conditionally when ``stale`` has validators) and store what may be stored."""
        conditional = stale is not None and stale.has_validators
        if asked.if_none_match or asked.if_modified_since or conditional:
            # The cache answers the client's conditionals from a whole answer; it sends its own.
            headers = [(n, v) for n, v in exchange.headers if n not in ANSWERED_CONDITIONALS]
            if conditional:
                assert stale is not None
                if stale.etag:
                    headers.append((b"if-none-match", stale.etag))
                if stale.last_modified:
                    headers.append((b"if-modified-since", stale.last_modified))
            exchange.headers = headers
        word = EXPIRED if stale is not None else MISS
        request_time = fill.asked_at = time.time()
        try:
            response = await call_next(exchange)
        except GatewayError as error:
            now = time.time()
            if (
                stale is not None
                and error.status >= 502
                and may_serve_stale_on_error(stale.age(now), stale.freshness, asked.rules)
            ):
                fill.share(None)
                fwd_status = b"fwd=stale; fwd-status=%d" % error.status
                return self._serve(
                    exchange, asked, stale, STALE, now, fwd_status, b"detail=stale-if-error", count=count
                )
            fill.abandon()
            if count:
                self.counted[word].inc()
            error.headers.extend(marks(word, cache_status(fwd or b"fwd=stale", b"detail=backend-error"), 0))
            raise
        now = time.time()
        status = response.status
        if stale is not None:
            fwd = b"fwd=stale; fwd-status=%d" % status
            if status == 304 and conditional:
                _discard(response)
                return self._refreshed(exchange, asked, fill, stale, response, request_time, now, count)
            if status in ERROR_STATUSES and may_serve_stale_on_error(stale.age(now), stale.freshness, asked.rules):
                _discard(response)
                fill.share(None)
                return self._serve(exchange, asked, stale, STALE, now, fwd, b"detail=stale-if-error", count=count)
        if count:
            self.counted[word].inc()
        if not store:
            fill.abandon()
            without_tag_headers(response)
            return mark_response(response, word, cache_status(fwd or b"fwd=request"))
        try:
            verdict = judge(response, asked, self.spec, request_time, now)
        except NotStorable as why:
            without_tag_headers(response)
            reason = str(why)
            if reason == "request-no-store":
                fill.abandon()
            else:
                fill.not_storable()
            return mark_response(response, word, cache_status(fwd, b"detail=" + reason.encode()))
        without_tag_headers(response)  # read by judge(); the entry keeps them as its tags
        limit = self.spec.max_bytes
        if response.stream is None:
            if len(response.body) > limit:
                fill.not_storable()
                return mark_response(response, word, cache_status(fwd, b"detail=too-large"))
            entry = make_entry(exchange, response, response.body, verdict, now)
            fill.store_entry(entry, store_ttl(entry, now))
            self.stored_bytes.inc(len(entry.body))
            if asked.if_none_match or asked.if_modified_since:
                return from_entry(
                    exchange,
                    entry,
                    word,
                    cache_status(fwd, b"stored"),
                    now,
                    asked.if_none_match,
                    asked.if_modified_since,
                )
            return mark_response(response, word, cache_status(fwd, b"stored"))
        declared = next((v for n, v in response.headers if n == b"content-length"), b"")
        if declared.isdigit() and int(declared) > limit:
            fill.not_storable()
            return mark_response(response, word, cache_status(fwd, b"detail=too-large"))

        def stored(body: bytes | None, too_large: bool) -> None:
            if body is None:
                if too_large:
                    fill.not_storable()
                else:
                    fill.abandon()
                return
            entry = make_entry(exchange, response, body, verdict, now)
            fill.store_entry(entry, store_ttl(entry, time.time()))
            self.stored_bytes.inc(len(body))

        return mark_response(tee(response, limit, stored), word, cache_status(fwd))


def _discard(response: Response) -> None:
    if response.close is not None:
        response.close()
