"""The Redis Lua script and the in-memory backend give the same answers to the same sequences.

Redis runs on its own clock (``TIME``), so the sequences use periods long enough that no window turns
during a test; the movable-clock tests in test_memory_backend.py cover time.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator

import pytest

from ratelimit.algorithms import GCRA, SLIDING_WINDOW, Limit
from ratelimit.backends import KEY_PREFIX, SHADOW_PREFIX, Check, MemoryBackend, RedisBackend
from tests.support.servers import free_port

pytestmark = pytest.mark.needs_redis

HOUR = 3600 * 1_000_000


@pytest.fixture
async def redis_backend() -> AsyncIterator[RedisBackend]:
    backend = RedisBackend(os.environ["REDIS_URL"], timeout=1.0)
    yield backend
    await backend.close()


def fresh(name: str) -> str:
    return f"{KEY_PREFIX}test-{name}-{random.randrange(10**12)}"


@pytest.mark.parametrize("limit", [Limit(SLIDING_WINDOW, 7, HOUR), Limit(GCRA, 7, HOUR), Limit(GCRA, 70, HOUR, 4)])
async def test_one_counter_admits_the_same_requests_with_the_same_remaining(
    redis_backend: RedisBackend, limit: Limit
) -> None:
    memory = MemoryBackend()
    key = fresh(limit.algorithm)
    from_redis = [(await redis_backend.check([Check(key, limit)]))[0] for _ in range(10)]
    from_memory = [memory.check_now([Check(key, limit)])[0] for _ in range(10)]
    assert [(v.admitted, v.remaining) for v in from_redis] == [(v.admitted, v.remaining) for v in from_memory]
    assert sum(v.admitted for v in from_redis) == (limit.burst or limit.limit)
    for a, b in zip(from_redis, from_memory, strict=True):
        assert abs(a.reset_ms - b.reset_ms) <= HOUR // 1000  # different clocks, same order of magnitude
        assert (a.retry_ms > 0) == (not a.admitted)


async def test_several_counters_are_decided_together_and_a_refusal_consumes_nothing(
    redis_backend: RedisBackend,
) -> None:
    memory = MemoryBackend()
    stats = SHADOW_PREFIX + f"test-{random.randrange(10**12)}"
    checks = [
        Check(fresh("wide"), Limit(SLIDING_WINDOW, 100, HOUR)),
        Check(fresh("narrow"), Limit(GCRA, 3, HOUR)),
        Check(fresh("shadow"), Limit(SLIDING_WINDOW, 2, HOUR), shadow_key=stats, shadow_field="shop"),
    ]
    from_redis = [await redis_backend.check(checks) for _ in range(6)]
    from_memory = [memory.check_now(checks) for _ in range(6)]
    shape = [[(v.admitted, v.remaining) for v in row] for row in from_redis]
    assert shape == [[(v.admitted, v.remaining) for v in row] for row in from_memory]
    assert [row[1].admitted for row in from_redis] == [True] * 3 + [False] * 3
    assert (await redis_backend.check(checks[:1]))[0].remaining == 100 - 3 - 1  # the three admitted, and this one

    import redis

    with redis.Redis.from_url(os.environ["REDIS_URL"]) as client:
        assert client.hgetall(stats) == {
            b"shop": b"1"
        }  # only the third request got through and would have been limited
        client.delete(stats, *(c.key for c in checks))
    assert memory.shadow == {stats: {"shop": 1}}


async def test_a_dead_redis_raises_within_the_timeout_instead_of_hanging() -> None:
    backend = RedisBackend(f"redis://127.0.0.1:{free_port()}/0", timeout=0.05)
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 (connection refused: any RedisError or OSError)
        await backend.check([Check(fresh("dead"), Limit(GCRA, 1, HOUR))])
    assert time.monotonic() - started < 0.5
    await backend.close()


async def test_it_recovers_when_the_script_cache_is_flushed_and_when_redis_restarts() -> None:
    from tests.support.redis_server import RedisServer

    server = RedisServer().start()
    backend = RedisBackend(server.url, timeout=1.0)
    key = fresh("flush")
    limit = Limit(SLIDING_WINDOW, 10, HOUR)
    try:
        assert (await backend.check([Check(key, limit)]))[0].remaining == 9
        import redis

        with redis.Redis.from_url(server.url) as client:
            client.script_flush()
        assert (await backend.check([Check(key, limit)]))[0].remaining == 8  # NOSCRIPT: EVAL, then cached again
        assert (await backend.check([Check(key, limit)]))[0].remaining == 7
        server.stop()
        with pytest.raises(ConnectionError):
            await backend.check([Check(key, limit)])
        server.start()
        assert (await backend.check([Check(key, limit)]))[0].remaining == 9  # a new, empty server
    finally:
        await backend.close()
        server.cleanup()


async def test_a_slow_redis_times_out_every_waiting_caller_and_the_next_call_reconnects() -> None:
    from tests.ratelimit.test_exactness_e2e import redis_port_and_db
    from tests.support.fault_proxy import FaultProxy

    port, db = redis_port_and_db()
    proxy = FaultProxy(port).start()
    backend = RedisBackend(f"redis://127.0.0.1:{proxy.port}/{db}", timeout=0.1)
    key = fresh("slow")
    limit = Limit(SLIDING_WINDOW, 10, HOUR)
    try:
        assert (await backend.check([Check(key, limit)]))[0].remaining == 9
        proxy.delay = 0.3
        loop = asyncio.get_running_loop()
        started = loop.time()
        results = await asyncio.gather(*(backend.check([Check(key, limit)]) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, TimeoutError) for r in results), results
        assert loop.time() - started < 0.25
        proxy.delay = 0.0
        await asyncio.sleep(0.5)  # the late replies land on the closed connection, not on new callers
        after = (await backend.check([Check(key, limit)]))[0]
        assert after.admitted and after.remaining <= 8  # the slow calls may or may not have counted
    finally:
        await backend.close()
        proxy.stop()


async def test_the_lua_sliding_window_never_asks_to_wait_longer_than_the_period(redis_backend: RedisBackend) -> None:
    limit = Limit(SLIDING_WINDOW, 3, 1_000_000)  # 3 per second, on Redis's clock
    key = fresh("short")
    refusals = 0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        verdict = (await redis_backend.check([Check(key, limit)]))[0]
        if verdict.admitted:
            continue
        refusals += 1
        assert 0 < verdict.retry_ms <= 1000, verdict
        await asyncio.sleep(verdict.retry_ms / 1000 + 0.002)
        assert (await redis_backend.check([Check(key, limit)]))[0].admitted  # waiting as told is enough
    assert refusals >= 3


async def test_a_counter_written_before_the_last_offsets_still_answers_within_the_period(
    redis_backend: RedisBackend,
) -> None:
    import redis

    limit = Limit(SLIDING_WINDOW, 4, HOUR)
    key = fresh("legacy")
    window = int(time.time() * 1_000_000) // HOUR
    with redis.Redis.from_url(os.environ["REDIS_URL"]) as client:
        client.hset(key, mapping={"w": window, "c": 4, "p": 0})  # the fields the script used to write
        client.pexpire(key, 60_000)
        verdict = (await redis_backend.check([Check(key, limit)]))[0]
        assert not verdict.admitted and 0 < verdict.retry_ms <= HOUR // 1000
        client.delete(key)


def test_the_lua_refund_takes_from_the_window_the_admission_was_counted_in() -> None:
    import redis

    from ratelimit.backends import REFUND_LUA

    limit = Limit(SLIDING_WINDOW, 10, HOUR)
    now = int(time.time() * 1_000_000)
    window, elapsed = divmod(now, HOUR)
    key = fresh("refund")
    memory = MemoryBackend(clock=lambda: now / 1_000_000)
    memory.states[key] = ((window, 2, 5, elapsed, HOUR), now + HOUR)
    with redis.Redis.from_url(os.environ["REDIS_URL"]) as client:
        client.hset(key, mapping={"w": window, "c": 2, "p": 5, "lc": elapsed, "lp": HOUR})
        client.pexpire(key, 60_000)
        refund = client.register_script(REFUND_LUA)
        previous = elapsed + HOUR // 2  # admitted half a period before this window began
        assert [refund(keys=[key], args=[HOUR, age]) for age in (0, previous, 0, 0)] == [1, 1, 1, 0]
        assert [memory.refund(Check(key, limit), age) for age in (0, previous, 0, 0)] == [True, True, True, False]
        assert client.hmget(key, "c", "p") == [b"0", b"4"]
        assert memory.states[key][0][1:3] == (0, 4)
        client.delete(key)
