from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.breaker.flaky import Flaky


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
