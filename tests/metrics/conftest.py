"""The tracing tests' OTLP receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.otlp import Receiver
from tests.support.servers import BackendThread


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, BackendThread]]:
    collector = Receiver()
    server = BackendThread("otlp", app=collector.app).start()
    yield collector, server
    server.stop()
