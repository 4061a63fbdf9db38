"""Every Redis user of the gateway against a real Redis Cluster: three masters started by the test on
loopback ports (``tests.support.redis_cluster``). Rate limits (one slot per request, the pipelined
client following ASK and MOVED), the response cache, breaker state, the audit stream, config
notifications, Django's cache and the sign-in limiter; and two gateway processes whose every store
but the channel layer and Celery's broker is the cluster, exact under 1,000 concurrent requests."""

from __future__ import annotations

import asyncio
import os
import random
import runpy
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings
from redis.crc import key_slot

from breaker.backends import RedisBackend as BreakerRedis
from breaker.backends import read_states
from breaker.state import OPEN, BreakerSettings
from cache import keys
from cache.directives import Freshness
from cache.entries import Entry
from cache.services import _purge_redis
from cache.stores import RedisStore
from compliance import stream
from compliance.drain import StreamSink
from proxy.redis_clients import node_client, sync_client
from ratelimit.algorithms import GCRA, SLIDING_WINDOW, Limit
from ratelimit.backends import KEY_PREFIX, SHADOW_PREFIX, Check
from ratelimit.backends import RedisBackend as CounterRedis
from ratelimit.login import attempt
from registry.services import CONFIG_CHANNEL, publish_version
from tests.compliance.audit_support import record
from tests.ratelimit.test_exactness_e2e import LIMIT, REQUESTS, configure, fire
from tests.support.redis_cluster import RedisCluster
from tests.support.servers import BackendThread, GatewayProcess

pytestmark = pytest.mark.needs_redis

HOUR = 3600 * 1_000_000
RL_SLOT = key_slot(KEY_PREFIX.encode())


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisCluster]:
    started = RedisCluster().start()
    yield started
    started.stop()


@pytest.fixture
async def counters(cluster: RedisCluster) -> AsyncIterator[CounterRedis]:
    backend = CounterRedis(cluster.url, timeout=2.0)
    yield backend
    await backend.close()


def fresh(name: str) -> str:
    return f"{KEY_PREFIX}test-{name}-{random.randrange(10**12)}"


def test_one_requests_rate_limit_keys_share_a_slot_whatever_the_policies_and_subjects() -> None:
    counters = [f"{KEY_PREFIX}7:w:i203.0.113.5", f"{KEY_PREFIX}12:g:c42", f"{KEY_PREFIX}3:w:h-", f"{SHADOW_PREFIX}3"]
    assert {key_slot(k.encode()) for k in counters} == {RL_SLOT}


def test_a_call_is_routed_by_its_first_key_and_a_call_without_keys_by_slot_zero() -> None:
    from proxy.cluster_slots import first_key
    from proxy.pipelined_redis import bulk

    assert (
        first_key(bulk(b"2") + bulk(b"gwc:{r1}:/a h") + bulk(b"gwc-lock:{r1}:/a h") + bulk(b"get")) == b"gwc:{r1}:/a h"
    )
    assert first_key(bulk(b"12") + bulk(b"k" * 300) + bulk(b"x")) == b"k" * 300
    assert first_key(bulk(b"0") + bulk(b"arg")) is None


async def test_counters_on_a_cluster_admit_exactly_the_limit_and_a_refusal_consumes_nothing(
    cluster: RedisCluster, counters: CounterRedis
) -> None:
    stats = f"{SHADOW_PREFIX}test-{random.randrange(10**12)}"
    checks = [
        Check(fresh("wide"), Limit(SLIDING_WINDOW, 100, HOUR)),
        Check(fresh("narrow"), Limit(GCRA, 30, HOUR)),
        Check(fresh("shadow"), Limit(SLIDING_WINDOW, 2, HOUR), shadow_key=stats, shadow_field="shop"),
    ]
    verdicts = await asyncio.gather(*(counters.check(checks) for _ in range(200)))
    assert sum(all(v.admitted for v in row[:2]) for row in verdicts) == 30
    assert (await counters.check(checks[:1]))[0].remaining == 100 - 30 - 1  # refusals cost the wide one nothing
    with cluster.client(cluster.owner(RL_SLOT)) as master:  # all on the master of the {rl} slot
        assert master.exists(checks[0].key, checks[1].key, stats) == 3
        assert master.hgetall(stats) == {b"shop": b"28"}


async def test_the_pipelined_client_follows_ask_then_moved_while_the_slot_moves(
    cluster: RedisCluster, counters: CounterRedis
) -> None:
    check = Check(fresh("moving"), Limit(SLIDING_WINDOW, 50, HOUR))
    for _ in range(5):
        await counters.check([check])
    source = cluster.owner(RL_SLOT)
    target = next(p for p in cluster.ports if p != source)

    cluster.migrate_slot(RL_SLOT, target, finish=False)  # the keys are on the target, the slot still the source's
    assert (await counters.check([check]))[0].remaining == 50 - 6  # ASK: found on the importing master
    cluster.finish_migration(RL_SLOT, target, source)
    assert (await counters.check([check]))[0].remaining == 50 - 7  # MOVED: the map is corrected
    assert (await counters.check([check]))[0].remaining == 50 - 8
    client = counters._ready()
    assert client._slots is not None and client._slots.owners[RL_SLOT] == ("127.0.0.1", target)


async def test_a_master_that_stops_answering_fails_the_call_within_the_timeout(cluster: RedisCluster) -> None:
    backend = CounterRedis(f"redis+cluster://127.0.0.1:{cluster.ports[0]}", timeout=0.2)
    await backend.connect()
    client = backend._ready()
    assert client._slots is not None
    client._slots.owners[RL_SLOT] = ("127.0.0.1", 1)  # as if the slot's master had died (nothing listens)
    started = time.monotonic()
    with pytest.raises(OSError):
        await backend.check([Check(fresh("dead"), Limit(GCRA, 1, HOUR))])
    assert time.monotonic() - started < 1.0
    assert (await backend.check([Check(fresh("alive"), Limit(GCRA, 1, HOUR))]))[0].admitted  # the map is read again
    await backend.close()


async def test_the_response_cache_stores_locks_and_purges_on_a_cluster(cluster: RedisCluster) -> None:
    store = RedisStore(cluster.url, timeout=2.0, retry_seconds=1.0, lock_ms=5000, compress_above=4096)
    fresh_for = Freshness(60.0, 2.0, 5.0, 30.0, False, False)
    routes = [f"r{random.randrange(10**9)}" for _ in range(6)]
    tag = f"t{random.randrange(10**9)}"
    written = []
    for route in routes:
        key = keys.entry_key(route, "/items", b"", "h", "")
        entry = Entry(200, ((b"content-type", b"text/plain"),), route.encode(), time.time(), fresh_for, tags=(tag,))
        answer = await store.lookup(key, 2, b"me", time.time())  # a miss takes the fill lock
        assert answer == (None, True)
        store.put(key, entry, 60, b"me", keys.uri("/items", "h"), time.time() - 1)
        written.append(key)
    await asyncio.sleep(0.2)
    for key, route in zip(written, routes, strict=True):
        answer = await store.lookup(key, 1, b"other", time.time())
        assert answer is not None
        found, locked = answer
        assert isinstance(found, Entry) and found.body == route.encode() and not locked  # fresh: no fill lock
    assert len({key_slot(k.encode()) for k in written}) > 1  # routes spread over the cluster
    # A write through the first route invalidates that route's entry of the path, in its own slot.
    assert await store.invalidate([keys.uri("/items", "h")], time.time(), routes[0]) == 1
    assert await store.lookup(written[0], 0, b"", time.time()) == (None, False)
    assert not store.degraded
    routes, written = routes[1:], written[1:]
    with override_settings(GATEWAY_CACHE_REDIS_URL=cluster.url):
        assert _purge_redis("", "", tag) == len(routes)
        assert _purge_redis(routes[0], "/", "") == 0
    for key in written:
        assert await store.lookup(key, 0, b"", time.time()) == (None, False)
    await store.close()


async def test_breaker_state_is_shared_through_a_cluster(cluster: RedisCluster) -> None:
    cfg = BreakerSettings(failures=2, open_seconds=60)
    one = BreakerRedis(cluster.url, timeout=1.0, fallback_seconds=5)
    two = BreakerRedis(cluster.url, timeout=1.0, fallback_seconds=5)
    targets = [random.randrange(10**9, 2 * 10**9) for _ in range(5)]
    for target in targets:
        await one.record(target, cfg, failed=True, probe=False)
        await one.record(target, cfg, failed=True, probe=False)
        answer, _ = await two.admit(target, cfg)
        assert not answer.allowed and answer.state == OPEN
    assert not one.degraded and not two.degraded
    with override_settings(REDIS_URL=cluster.url):
        assert {s["state"] for s in (await asyncio.to_thread(read_states, targets)).values()} == {OPEN}
    await one.close()
    await two.close()


@pytest.mark.django_db
def test_the_audit_stream_carries_records_through_a_cluster(cluster: RedisCluster) -> None:
    name = f"test:audit:{random.randrange(10**9)}"
    assert key_slot(name.encode()) == key_slot(stream.counter_key(name).encode())

    async def send() -> None:
        sink = StreamSink(cluster.url, name)
        await sink.write([b'{"a": 1}'])  # a transaction: the entry and the count together
        assert sink.backlog == 1
        await sink.close()

    asyncio.run(send())
    with sync_client(cluster.url) as client:
        client.xadd(name, stream.encode([record(), record()]))
        client.incrby(stream.counter_key(name), 2)
        client.xdel(name, client.xrange(name, count=1)[0][0])  # not a valid record: only the two are written
        client.decrby(stream.counter_key(name), 1)
        assert stream.StreamConsumer(client, name, consumer="w1").drain(5) == 2
        assert client.xlen(name) == 0 and int(client.get(stream.counter_key(name))) == 0


async def test_a_config_version_published_through_the_cluster_reaches_a_listener_on_any_master(
    cluster: RedisCluster,
) -> None:
    listeners = [node_client(f"redis+cluster://127.0.0.1:{port}", timeout=None) for port in cluster.ports]
    pubsubs = [client.pubsub() for client in listeners]
    for pubsub in pubsubs:
        await pubsub.subscribe(CONFIG_CHANNEL)
        assert (await pubsub.get_message(timeout=2))["type"] == "subscribe"
    with override_settings(REDIS_URL=cluster.url):
        await asyncio.to_thread(publish_version, 4242)
    for pubsub in pubsubs:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=3)
        assert message is not None and message["data"] == b"4242"
    for pubsub, client in zip(pubsubs, listeners, strict=True):
        await pubsub.aclose()
        await client.aclose()


def test_djangos_cache_and_the_sign_in_limiter_work_on_a_cluster(cluster: RedisCluster) -> None:
    from gateway_project.cluster_cache import ClusterCache

    cache = ClusterCache(cluster.url, {"OPTIONS": {"socket_timeout": 1.0}})
    values = {f"test-{i}-{random.randrange(10**9)}": i for i in range(20)}
    cache.set_many(values, timeout=60)
    assert cache.get_many(list(values)) == values
    cache.delete_many(list(values))
    assert cache.get_many(list(values)) == {}

    with override_settings(
        GATEWAY_LOGIN_RATE_LIMIT=2, GATEWAY_LOGIN_RATE_PERIOD=600, GATEWAY_RATELIMIT_REDIS_URL=cluster.url
    ):
        import ratelimit.login

        ratelimit.login._scripts = None
        ip = f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"
        counted = [attempt(RequestFactory().post("/admin/login/", REMOTE_ADDR=ip)) for _ in range(3)]
        ratelimit.login._scripts = None
    assert [c.verdict.admitted for c in counted if c is not None] == [True, True, False]
    assert all(c is not None and c.shared for c in counted)


def settings_with(**env: str) -> dict[str, Any]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        import gateway_project.settings as loaded

        return runpy.run_path(str(loaded.__file__))  # a fresh reading; Django's settings stay as they are
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_settings_take_the_cluster_from_the_url_or_redis_cluster_and_ask_for_plain_redis_where_needed() -> None:
    plain = "redis://127.0.0.1:6379/5"
    read = settings_with(
        REDIS_URL="redis://10.0.0.1:7000", REDIS_CLUSTER="1", GATEWAY_CHANNELS_REDIS_URL=plain, CELERY_BROKER_URL=plain
    )
    assert (
        read["REDIS_URL"] == "redis+cluster://10.0.0.1:7000"
        and read["GATEWAY_RATELIMIT_REDIS_URL"] == read["REDIS_URL"]
    )
    assert read["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"] == [plain]
    assert read["CACHES"]["default"]["BACKEND"] == "gateway_project.cluster_cache.ClusterCache"
    cluster = "redis+cluster://10.0.0.1:7000"
    with pytest.raises(ImproperlyConfigured, match="GATEWAY_CHANNELS_REDIS_URL"):
        settings_with(REDIS_URL=cluster, CELERY_BROKER_URL=plain, GATEWAY_CHANNELS_REDIS_URL="")
    with pytest.raises(ImproperlyConfigured, match="CELERY_BROKER_URL"):
        settings_with(REDIS_URL=cluster, GATEWAY_CHANNELS_REDIS_URL=plain, CELERY_BROKER_URL="")
    with pytest.raises(ImproperlyConfigured, match="database 0 only"):
        settings_with(REDIS_URL=cluster + "/3", GATEWAY_CHANNELS_REDIS_URL=plain, CELERY_BROKER_URL=plain)


@pytest.fixture
def cluster_gateways(
    transactional_db: None, gateway: GatewayProcess, cluster: RedisCluster
) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    plain = os.environ["REDIS_URL"]
    env = {
        "REDIS_URL": cluster.url,  # every store: counters, breaker, cache, audit stream, config notifications
        "GATEWAY_RATELIMIT_REDIS_URL": "",
        "GATEWAY_RATELIMIT_REDIS_TIMEOUT": "5",
        "GATEWAY_CHANNELS_REDIS_URL": plain,
        "CELERY_BROKER_URL": plain,
    }
    one, two = GatewayProcess(env=env).start(), GatewayProcess(env=env).start()
    yield one, two
    one.stop()
    two.stop()


@pytest.mark.slow
def test_two_gateways_on_a_cluster_admit_exactly_the_limit_of_1000_concurrent_requests(
    cluster_gateways: tuple[GatewayProcess, GatewayProcess], backend: BackendThread
) -> None:
    configure(cluster_gateways, backend, "sliding_window")  # learnt through the cluster's notifications
    statuses = asyncio.run(fire(cluster_gateways, "/exact/x"))
    assert statuses == Counter({200: LIMIT, 429: REQUESTS - LIMIT}), statuses
    assert backend.count() == LIMIT


async def test_jwt_revocations_are_written_and_reloaded_through_a_cluster(cluster: RedisCluster) -> None:
    from proxy.redis_clients import async_client
    from revocation import store
    from revocation.mirror import _batches

    later = time.time() + 600
    added = [store.Entry("jti", f"j{random.randrange(10**9)}-{i}", "", 0.0, later) for i in range(20)]
    added.append(store.Entry("subject", "ann", "https://idp", time.time(), later))
    client = sync_client(cluster.url)
    before = int(client.get(store.VERSION) or 0)
    assert store.write(client, added) == before + 1  # the keys and the version in one MULTI, one slot
    reader = async_client(cluster.url)
    try:
        found = []
        async for batch in _batches(reader):
            found += list(store.scan_keys(batch, await reader.mget(batch)))
    finally:
        await reader.aclose()
    assert {(e.kind, e.value) for e in added} <= {(e.kind, e.value) for e in found}
    client.close()
