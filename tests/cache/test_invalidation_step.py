"""Invalidation after writes (RFC 9111 4.4), the cache step on its own in this process: on the in-memory
store, and on the real Redis (REDIS_URL) as gateway processes share it. The backend is a function
(``Origin.answer``); through the real proxy and a real backend: test_invalidation_e2e.py."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from prometheus_client import REGISTRY

from cache import keys
from cache.compile import CacheSpec
from cache.policies import CachePolicy
from cache.stores import MemoryStore, RedisStore
from proxy.auth.config import Identity
from proxy.errors import UpstreamUnreachable
from proxy.exchange import Exchange, Response
from proxy.specs import RouteSpec, ServiceSpec
from tests.support.servers import free_port

SERVICE = ServiceSpec(7, "inv", "Inv", "http", "", 1.0, 1.0, 0, "round_robin", False, ())
ROUTE = RouteSpec(9_900_001, "inv-route", SERVICE, "/p", "", None, True, 0, "", False, False, 1024)
SPEC = CacheSpec(
    route_key=keys.route_key(9_900_001),
    ttl=60.0,
    max_bytes=1 << 20,
    methods=frozenset({"GET", "HEAD"}),
    statuses=frozenset({200, 404}),
    vary=(b"accept-language",),
    ignore_query=frozenset(),
    ignore_query_prefixes=(),
    shared=False,
    credentials=False,
    stale_if_error=0.0,
)
ALICE, BOB = Identity("c-alice", "alice", frozenset()), Identity("c-bob", "bob", frozenset())


class Origin:
    """Answers GETs with the path's current version; a write moves it on and answers as told."""

    def __init__(self) -> None:
        self.version: Counter[str] = Counter()
        self.asked: Counter[str] = Counter()
        self.write_status = 200
        self.write_headers: list[tuple[bytes, bytes]] = []
        self.unreachable = False
        self.hold: asyncio.Event | None = None  # set: GETs wait for it (a slow backend)

    async def answer(self, exchange: Exchange) -> Response:
        path = exchange.path
        self.asked[path] += 1
        if self.unreachable:
            raise UpstreamUnreachable("The backend did not answer.")
        if exchange.method != "GET":
            if self.write_status < 400:
                self.version[path] += 1
            return Response(self.write_status, list(self.write_headers), b"written")
        version = self.version[path]
        if self.hold is not None:
            await self.hold.wait()
        body = f"{path} v{version}".encode()
        return Response(200, [(b"cache-control", b"max-age=60"), (b"vary", b"Accept-Language")], body)


def exchange(method: str, path: str, who: Identity | None = None, language: str = "en", host: str = "gw") -> Exchange:
    target, _, query = path.partition("?")
    return Exchange(
        scope={},
        receive=None,  # type: ignore[arg-type]
        method=method,
        path=target,
        query=query.encode(),
        host=host,
        scheme="http",
        client_ip="192.0.2.1",
        client_address="192.0.2.1",
        request_id="rid",
        headers=[(b"accept-language", language.encode())],
        route=None,  # type: ignore[arg-type]
        upstream_path=target,
        content_length=None,
        chunked=False,
        body_limit=0,
        started=0.0,
        identity=who,
    )


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.needs_redis)])
async def step(request: pytest.FixtureRequest) -> AsyncIterator[CachePolicy]:
    if request.param == "memory":
        store: MemoryStore | RedisStore = MemoryStore(10_000_000)
    else:
        store = RedisStore(os.environ["REDIS_URL"], 2.0, 1.0, 10_000, 4096)
        keys_now = keys.uri_key("*"), keys.gone_key("*"), f"{keys.PREFIX}{SPEC.route_key}:*"
        await _forget(store, keys_now)
    policy = CachePolicy(SPEC, ROUTE, store)
    policy.authenticated = True  # entries per consumer, as on a route with authentication
    yield policy
    if isinstance(store, RedisStore):
        await store.close()


async def _forget(store: RedisStore, patterns: tuple[str, ...]) -> None:
    client = redis.asyncio.Redis.from_url(os.environ["REDIS_URL"])
    try:
        for pattern in patterns:
            found = [k async for k in client.scan_iter(match=pattern, count=1000)]
            if found:
                await client.delete(*found)
    finally:
        await client.aclose()


async def ask(step: CachePolicy, origin: Origin, method: str, path: str, **how: object) -> Response:
    response = await step(exchange(method, path, **how), origin.answer)  # type: ignore[arg-type]
    await settle(step)
    return response


async def settle(step: CachePolicy) -> None:
    """Stores are sent without waiting: let them land before the next lookup."""
    if isinstance(step.store, RedisStore) and step.store.pending:
        await asyncio.wait(list(step.store.pending))


def status(response: Response) -> tuple[str, str]:
    found = dict(response.headers)
    return found[b"x-cache-status"].decode(), found[b"cache-status"].decode()


def invalidations(result: str) -> float:
    labels = {"service": "inv", "route": "inv-route", "result": result}
    return REGISTRY.get_sample_value("gateway_cache_invalidations_total", labels) or 0.0


async def test_a_write_removes_every_variant_and_every_consumers_entry_of_its_path(step: CachePolicy) -> None:
    origin = Origin()
    readers = [(who, lang) for who in (ALICE, BOB) for lang in ("en", "fr")]
    for path in ("/p/item", "/p/item?fields=a", "/p/other"):
        for who, lang in readers:
            await ask(step, origin, "GET", path, who=who, language=lang)
            again = await ask(step, origin, "GET", path, who=who, language=lang)
            assert status(again)[0] == "HIT", (path, who.name, lang)
    before = invalidations("done")
    written = await ask(step, origin, "PUT", "/p/item", who=ALICE)
    assert written.body == b"written"
    assert status(written) == ("BYPASS", "gateway; fwd=method; detail=invalidated")
    assert invalidations("done") == before + 1
    for path in ("/p/item", "/p/item?fields=a"):  # the path, whatever its query, variant or consumer
        for who, lang in readers:
            reply = await ask(step, origin, "GET", path, who=who, language=lang)
            assert status(reply)[0] == "MISS" and reply.body == b"/p/item v1", (path, who.name, lang)
    for who, lang in readers:
        assert status(await ask(step, origin, "GET", "/p/other", who=who, language=lang))[0] == "HIT"


async def test_error_answers_and_gateway_errors_invalidate_nothing(step: CachePolicy) -> None:
    origin = Origin()
    await ask(step, origin, "GET", "/p/kept")
    for write_status in (400, 404, 409, 500, 503):
        origin.write_status = write_status
        reply = await ask(step, origin, "DELETE", "/p/kept")
        assert reply.status == write_status and status(reply) == ("BYPASS", "gateway; fwd=method")
    origin.unreachable = True
    with pytest.raises(UpstreamUnreachable) as raised:
        await ask(step, origin, "POST", "/p/kept")
    assert {(b"cache-status", b"gateway; fwd=method"), (b"age", b"0")} <= set(raised.value.headers)
    origin.unreachable = False
    kept = await ask(step, origin, "GET", "/p/kept")
    assert status(kept)[0] == "HIT" and kept.body == b"/p/kept v0"


async def test_location_and_content_location_on_the_same_host_are_invalidated_and_on_another_host_not(
    step: CachePolicy,
) -> None:
    origin = Origin()
    paths = ("/p/orders/42", "/p/orders/43", "/p/orders/44", "/p/orders/45", "/p/orders")
    for path in paths:
        await ask(step, origin, "GET", path)
    origin.write_headers = [
        (b"location", b"42"),  # relative to /p/orders/: this host
        (b"content-location", b"http://GW:8080/p/orders/43?x=1"),  # this host, its case and port aside
        (b"location", b"https://elsewhere.example/p/orders/44"),  # another host: never
        (b"content-location", b"mailto:ops@gw"),
    ]
    written = await ask(step, origin, "POST", "/p/orders/")
    assert status(written)[1].endswith("detail=invalidated")
    seen = {path: status(await ask(step, origin, "GET", path))[0] for path in paths}
    assert seen == {
        "/p/orders/42": "MISS",
        "/p/orders/43": "MISS",
        "/p/orders/44": "HIT",
        "/p/orders/45": "HIT",
        "/p/orders": "HIT",  # /p/orders/ was written, not /p/orders
    }


async def test_a_fill_that_asked_before_the_write_does_not_store_its_older_answer(step: CachePolicy) -> None:
    origin = Origin()
    gate = origin.hold = asyncio.Event()
    slow = asyncio.ensure_future(step(exchange("GET", "/p/race"), origin.answer))
    async with asyncio.timeout(5):
        while not origin.asked["/p/race"]:  # it asked the backend (v0) and waits for the answer
            await asyncio.sleep(0.001)
    origin.hold = None
    written = await ask(step, origin, "PUT", "/p/race")
    assert status(written)[1].endswith("detail=invalidated")
    # A request after the write does not wait for the older fill in this process (with Redis it waits
    # for the other's fill lock, which the refused store releases), and never gets its answer.
    fresh = asyncio.ensure_future(step(exchange("GET", "/p/race"), origin.answer))
    await asyncio.sleep(0.05)
    gate.set()
    assert (await slow).body == b"/p/race v0"  # what its client asked for, before the write
    assert (await fresh).body == b"/p/race v1"
    await settle(step)
    after = await ask(step, origin, "GET", "/p/race")
    assert status(after)[0] == "HIT" and after.body == b"/p/race v1"  # the older answer was not stored over it
    assert origin.asked["/p/race"] == 3


async def test_when_redis_does_not_answer_the_write_is_answered_and_says_it_invalidated_nothing() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", 0.2, 1.0, 10_000, 4096)
    step = CachePolicy(SPEC, ROUTE, store)
    before = invalidations("failed")
    written = await step(exchange("PATCH", "/p/down"), Origin().answer)
    assert written.status == 200 and written.body == b"written"
    assert status(written) == ("BYPASS", "gateway; fwd=method; detail=not-invalidated")
    assert invalidations("failed") == before + 1
    await store.close()


@pytest.mark.needs_redis
async def test_a_paths_index_forgets_the_names_of_expired_entries_as_new_ones_come() -> None:
    store = RedisStore(os.environ["REDIS_URL"], 2.0, 1.0, 10_000, 4096)
    uri = keys.uri("/p/index-trim", "gw")
    await _forget(store, (keys.uri_key(uri),))
    name = f"{keys.PREFIX}{SPEC.route_key}:/p/index-trim gw"
    for n in range(400):  # entries that expire at once: e.g. one per consumer, each asked once
        store.put(f"{name} short{n}", b"PASS", 0.001, b"", uri, 0.0)
    await asyncio.sleep(0.05)
    for n in range(400):
        store.put(f"{name} long{n}", b"PASS", 60, b"", uri, 0.0)
    await asyncio.wait(list(store.pending))
    client = redis.asyncio.Redis.from_url(os.environ["REDIS_URL"])
    try:
        size = await client.scard(keys.uri_key(uri))  # type: ignore[misc]
        assert 400 <= size <= 430  # every live entry, and hardly any of the 400 expired ones
        assert await store.invalidate([uri], 1.0) == 400
    finally:
        await client.aclose()
        await store.close()
