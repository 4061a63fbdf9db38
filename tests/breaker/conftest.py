from __future__ import annotations

from collections.abc import Iterator

import pytest

from breaker.backends import KEY_PREFIX
from tests.breaker.flaky import Flaky
from tests.support.redis_server import forget_keys


@pytest.fixture(scope="session", autouse=True)
def forget_breakers_of_earlier_runs() -> None:
    forget_keys(KEY_PREFIX)


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
