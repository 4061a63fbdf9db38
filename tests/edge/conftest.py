from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.edge.backend import start_edge_backend
from tests.support.servers import BackendThread


@pytest.fixture
def edge_backend() -> Iterator[BackendThread]:
    server = start_edge_backend()
    yield server
    server.stop()
