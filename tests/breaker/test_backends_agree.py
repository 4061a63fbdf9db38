"""The in-memory breaker and the Redis Lua script run the same machine: same scenarios, same answers.

Memory runs on a fake clock; Redis on its own clock (``TIME``), so its scenarios use short periods.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from breaker.backends import KEY_PREFIX, MemoryBackend, RedisBackend
from breaker.state import CLOSED, HALF_OPEN, OPEN, BreakerSettings

CFG = BreakerSettings(
    failures=3, open_seconds=0.3, max_open_seconds=0.5, half_open_probes=2, half_open_successes=2, probe_timeout=5
)

Wait = Callable[[float], Awaitable[None]]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    async def wait(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.needs_redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[tuple[MemoryBackend | RedisBackend, Wait]]:
    if request.param == "memory":
        clock = FakeClock()
        yield MemoryBackend(clock), clock.wait
        return
    backend = RedisBackend(os.environ["REDIS_URL"], timeout=1.0, fallback_seconds=5)
    yield backend, asyncio.sleep
    assert not backend.degraded, "the Redis backend fell back to memory during the test"
    await backend.close()


def target() -> int:
    return random.randrange(10**9, 2 * 10**9)


async def test_it_opens_after_the_threshold_and_refuses(store: tuple[MemoryBackend | RedisBackend, Wait]) -> None:
    backend, _ = store
    tid = target()
    transitions = [await backend.record(tid, CFG, failed=True, probe=False) for _ in range(3)]
    assert transitions[:2] == [None, None]
    assert transitions[2] is not None and (transitions[2].from_state, transitions[2].to_state) == (CLOSED, OPEN)
    answer, transition = await backend.admit(tid, CFG)
    assert not answer.allowed and answer.state == OPEN and 0 < answer.retry_after <= 0.3
    assert transition is None


async def test_half_open_admits_n_probes_and_closes_after_m_successes(
    store: tuple[MemoryBackend | RedisBackend, Wait],
) -> None:
    backend, wait = store
    tid = target()
    for _ in range(3):
        await backend.record(tid, CFG, failed=True, probe=False)
    await wait(0.35)
    answers = [await backend.admit(tid, CFG) for _ in range(3)]
    assert [a.allowed for a, _ in answers] == [True, True, False]
    assert [a.probe for a, _ in answers] == [True, True, False]
    first = answers[0][1]
    assert first is not None and (first.from_state, first.to_state) == (OPEN, HALF_OPEN)
    assert await backend.record(tid, CFG, failed=False, probe=True) is None
    closed = await backend.record(tid, CFG, failed=False, probe=True)
    assert closed is not None and (closed.from_state, closed.to_state) == (HALF_OPEN, CLOSED)
    answer, _ = await backend.admit(tid, CFG)
    assert answer.allowed and not answer.probe and answer.state == CLOSED


async def test_a_failed_probe_reopens_for_a_doubled_period(store: tuple[MemoryBackend | RedisBackend, Wait]) -> None:
    backend, wait = store
    tid = target()
    for _ in range(3):
        await backend.record(tid, CFG, failed=True, probe=False)
    await wait(0.35)
    await backend.admit(tid, CFG)
    reopened = await backend.record(tid, CFG, failed=True, probe=True)
    assert reopened is not None and (reopened.from_state, reopened.to_state, reopened.reason) == (
        HALF_OPEN,
        OPEN,
        "probe failed",
    )
    answer, _ = await backend.admit(tid, CFG)
    assert not answer.allowed and 0.4 < answer.retry_after <= 0.5  # 0.6 capped at 0.5


async def test_a_probe_that_outlives_its_lease_reopens(store: tuple[MemoryBackend | RedisBackend, Wait]) -> None:
    backend, wait = store
    cfg = BreakerSettings(failures=1, open_seconds=0.2, half_open_probes=1, probe_timeout=0.2)
    tid = target()
    await backend.record(tid, cfg, failed=True, probe=False)
    await wait(0.25)
    probe, _ = await backend.admit(tid, cfg)
    assert probe.allowed and probe.probe
    busy, _ = await backend.admit(tid, cfg)
    assert not busy.allowed and busy.state == HALF_OPEN
    await wait(0.25)
    answer, transition = await backend.admit(tid, cfg)
    assert not answer.allowed and answer.state == OPEN
    assert transition is not None and transition.reason == "probe timed out"


async def test_it_counts_the_failure_ratio_over_the_minimum_calls(
    store: tuple[MemoryBackend | RedisBackend, Wait],
) -> None:
    backend, _ = store
    cfg = BreakerSettings(failures=0, failure_ratio=0.5, min_calls=4, window=30)
    tid = target()
    outcomes = [await backend.record(tid, cfg, failed=f, probe=False) for f in (False, True, False, True)]
    assert outcomes[:3] == [None, None, None]
    assert outcomes[3] is not None and outcomes[3].reason == "2 of 4 calls failed"


@pytest.mark.needs_redis
async def test_two_processes_share_one_breaker() -> None:
    url = os.environ["REDIS_URL"]
    one = RedisBackend(url, timeout=1.0, fallback_seconds=5)
    two = RedisBackend(url, timeout=1.0, fallback_seconds=5)
    tid = target()
    await one.record(tid, CFG, failed=True, probe=False)
    await two.record(tid, CFG, failed=True, probe=False)
    transition = await one.record(tid, CFG, failed=True, probe=False)
    assert transition is not None and transition.to_state == OPEN
    answer, _ = await two.admit(tid, CFG)
    assert not answer.allowed
    import redis

    with redis.Redis.from_url(url) as client:
        assert client.pttl(f"{KEY_PREFIX}{tid}") > 0  # idle breakers expire
        client.delete(f"{KEY_PREFIX}{tid}")
    await one.close()
    await two.close()
