from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from cache.keys import GONE_PREFIX, LOCK_PREFIX, PREFIX, TAG_PREFIX, URI_PREFIX
from registry.models import Route
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.redis_server import forget_keys
from tests.support.servers import BackendThread, GatewayProcess

# Gateway processes started by these tests inherit this: a loaded machine can take longer than the
# production default (50 ms) to answer, which would turn lookups into BYPASS. The fault test sets its own.
os.environ.setdefault("GATEWAY_CACHE_REDIS_TIMEOUT", "1")


@pytest.fixture(scope="session", autouse=True)
def forget_entries_of_earlier_runs() -> None:
    forget_keys(PREFIX, LOCK_PREFIX, TAG_PREFIX, URI_PREFIX, GONE_PREFIX)


class Origin:
    """A backend whose answers the request chooses (query parameters) and which counts them by path.

    ``cc``: Cache-Control; ``etag``, ``lm`` (Last-Modified), ``vary``, ``tag`` (Surrogate-Key),
    ``cookie=1`` (a Set-Cookie), ``status``, ``sleep`` (seconds), ``size`` (body bytes), ``expires``,
    ``location`` and ``content_location``. A request whose If-None-Match equals ``etag`` gets a 304.
    ``fail`` (set by the test) answers 503. A write (an unsafe method) answered below 400 moves
    ``version`` on: every answer after it says so.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.fail = False
        self.stopped = False
        self.version = 1
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.thread = BackendThread("origin", app=app)

    @property
    def port(self) -> int:
        return self.thread.port

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.thread.stop()

    def count(self, path: str) -> int:
        return self.counts[path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.counts[path] += 1
        q = request.query
        if q.get("sleep"):
            await asyncio.sleep(float(q["sleep"]))
        if self.fail:
            return web.Response(status=503, text="down")
        if request.method not in ("GET", "HEAD", "OPTIONS") and int(q.get("status", "200")) < 400:
            self.version += 1
        headers: dict[str, Any] = {"X-Served": str(self.counts[path]), "X-Version": str(self.version)}
        for param, name in (("cc", "Cache-Control"), ("vary", "Vary"), ("lm", "Last-Modified"),
                            ("tag", "Surrogate-Key"), ("expires", "Expires"), ("location", "Location"),
                            ("content_location", "Content-Location")):  # fmt: skip
            if param in q:
                headers[name] = q[param]
        if "etag" in q:
            headers["ETag"] = q["etag"]
            if request.headers.get("If-None-Match") == q["etag"]:
                return web.Response(status=304, headers=headers)
        if q.get("cookie"):
            headers["Set-Cookie"] = "session=abc; Path=/"
        seen = {name: request.headers.get(name, "") for name in ("Accept-Language", "Authorization", "Cookie")}
        size = int(q.get("size", "0"))
        body = (b"x" * size) if size else f"{path} #{self.counts[path]} v{self.version} {seen}".encode()
        if q.get("stream"):
            response = web.StreamResponse(status=int(q.get("status", "200")), headers=headers)
            await response.prepare(request)
            for i in range(0, len(body), 65536):
                await response.write(body[i : i + 65536])
            await response.write_eof()
            return response
        return web.Response(status=int(q.get("status", "200")), body=body, headers=headers)


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = Origin()
    server.thread.start()
    yield server
    server.stop()


def cached_route(config: ConfigHelper, origin: Origin, prefix: str, **fields: Any) -> Route:
    service = config.service(prefix.strip("/").replace("/", "-") or "root", targets=[origin.thread])
    route = config.route(service, prefix, cache_enabled=True, **fields)
    config.sync()
    return route


def statuses(gateways: list[GatewayProcess], path: str, headers: dict[str, str] | None = None) -> list[str | None]:
    """The X-Cache-Status each process answers ``path`` with."""
    return [get(g, path, headers or {}).header("x-cache-status") for g in gateways]


def warm(gateways: list[GatewayProcess], *paths: str) -> None:
    for path in paths:
        get(gateways[0], path)
        until_hit(gateways, path)


def until_hit(gateways: list[GatewayProcess], path: str, headers: dict[str, str] | None = None) -> None:
    """Every process serves ``path`` from the cache: a store is sent without waiting for it, so on a
    busy machine the request after a miss may come first; it may take a moment, never 5 s."""
    deadline = time.monotonic() + 5.0
    while (seen := statuses(gateways, path, headers)) != ["HIT"] * len(gateways):
        assert time.monotonic() < deadline, (path, seen)
        time.sleep(0.05)
