from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from breaker.backends import KEY_PREFIX
from tests.breaker.flaky import Flaky


@pytest.fixture(scope="session", autouse=True)
def forget_breakers_of_earlier_runs() -> None:
    """Each run recreates the test database, so target ids come back; their breakers must not."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return
    import redis

    with redis.Redis.from_url(url) as client:
        keys = list(client.scan_iter(match=KEY_PREFIX + "*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    server = Flaky("flaky-a").start()
    yield server
    server.stop()


@pytest.fixture
def flaky_b() -> Iterator[Flaky]:
    server = Flaky("flaky-b").start()
    yield server
    server.stop()
