"""When Redis fails, each process falls back to its own in-memory breaker, logs it once, and never
fails or slows a request beyond the configured socket timeout."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from breaker.backends import MemoryBackend, RedisBackend
from breaker.state import OPEN, BreakerSettings
from tests.support.servers import free_port

CFG = BreakerSettings(failures=2, open_seconds=30)


async def test_an_unreachable_redis_falls_back_to_memory_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    memory = MemoryBackend()
    backend = RedisBackend(f"redis://127.0.0.1:{free_port()}/0", timeout=0.05, fallback_seconds=60, fallback=memory)
    with caplog.at_level(logging.WARNING, logger="breaker.backends"):
        answer, _ = await backend.admit(1, CFG)
        assert answer.allowed
        await backend.record(1, CFG, failed=True, probe=False)
        transition = await backend.record(1, CFG, failed=True, probe=False)
        refused, _ = await backend.admit(1, CFG)
    assert transition is not None and transition.to_state == OPEN
    assert not refused.allowed and memory.states[1].state == OPEN
    assert backend.degraded
    warnings = [r for r in caplog.records if "in-memory breakers" in r.getMessage()]
    assert len(warnings) == 1


async def test_a_redis_that_does_not_answer_costs_at_most_the_socket_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        backend = RedisBackend(f"redis://127.0.0.1:{port}/0", timeout=0.05, fallback_seconds=60)
        started = time.perf_counter()
        answer, _ = await backend.admit(7, CFG)
        elapsed = time.perf_counter() - started
    assert answer.allowed
    assert elapsed < 0.5, elapsed
    assert backend.degraded


async def test_it_tries_redis_again_after_the_fallback_period() -> None:
    backend = RedisBackend(f"redis://127.0.0.1:{free_port()}/0", timeout=0.05, fallback_seconds=0.1)
    await backend.admit(1, CFG)
    assert backend.degraded
    time.sleep(0.15)
    assert not backend.degraded
