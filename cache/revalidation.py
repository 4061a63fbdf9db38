"""Refreshing a stale entry: a 304 to the cache's conditional request (its fields and a new lifetime
over the stored answer), and stale-while-revalidate's background refresh (the client is answered
stale at once; a copy of its request refreshes the entry, through the same fill and lock)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from cache.answers import REVALIDATED, cache_status, from_entry
from cache.directives import NotStorable
from cache.entries import Entry
from cache.filling import Fill, judge, store_ttl
from cache.incoming import Asked
from proxy.exchange import Exchange, Response
from proxy.pipeline import Handler

log = logging.getLogger(__name__)

_background: set[asyncio.Task[Any]] = set()


async def _no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class Revalidation:
    """Part of ``cache.policies.CachePolicy``."""

    counted: dict[str, Any]
    served_bytes: Any
    spec: Any

    def _serve(self, *args: Any, **kwargs: Any) -> Response:
        raise NotImplementedError

    async def _fetch(self, *args: Any, **kwargs: Any) -> Response:
        raise NotImplementedError

    def _refreshed(
        self,
        exchange: Exchange,
        asked: Asked,
        fill: Fill,
        stale: Entry,
        response: Response,
        request_time: float,
        now: float,
        count: bool,
    ) -> Response:
        """A 304 to the cache's conditional request: the stored answer, with the 304's fields and a new lifetime."""
        updates = tuple((n, v) for n, v in response.headers if n not in (b"x-request-id", b"content-length", b"age"))
        merged = Response(stale.status, list(stale.refreshed(updates, stale.freshness, now).headers))
        merged.headers.extend((n, v) for n, v in response.headers if n == b"age")
        try:
            verdict = judge(merged, asked, self.spec, request_time, now)
        except NotStorable:
            fill.share(None)
            return self._serve(exchange, asked, stale, REVALIDATED, now, b"fwd=stale", b"fwd-status=304", count=count)
        entry = stale.refreshed(updates, verdict.freshness, now)
        fill.store_entry(entry, store_ttl(entry, now))
        if not count:
            return response
        self.counted[REVALIDATED].inc()
        self.served_bytes.inc(len(entry.body))
        return from_entry(
            exchange,
            entry,
            REVALIDATED,
            cache_status(b"fwd=stale", b"fwd-status=304", b"stored"),
            now,
            asked.if_none_match,
            asked.if_modified_since,
        )

    def _revalidate_later(self, exchange: Exchange, call_next: Handler, asked: Asked, fill: Fill, stale: Entry) -> None:
        """stale-while-revalidate: this request is answered stale; a copy of it refreshes the entry."""
        copy = replace(exchange, headers=list(exchange.headers), receive=_no_body, task=None, watcher=None, extra={})
        quiet = replace(asked, if_none_match=b"", if_modified_since=b"")
        task = asyncio.get_running_loop().create_task(self._refresh(copy, call_next, quiet, fill, stale))
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def _refresh(self, exchange: Exchange, call_next: Handler, asked: Asked, fill: Fill, stale: Entry) -> None:
        try:
            response = await self._fetch(exchange, call_next, asked, fill, stale, b"", count=False)
            if response.stream is not None:
                try:
                    async for _ in response.stream:
                        pass
                finally:
                    if response.close is not None:
                        response.close()
        except Exception as exc:  # the client was answered already; the next request tries again
            fill.abandon()
            log.info("background revalidation of %s failed: %r", fill.key, exc)
