from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.edge.backend import start_edge_backend
from tests.support.config import ConfigHelper
from tests.support.servers import BackendThread, GatewayProcess


@pytest.fixture
def edge_backend() -> Iterator[BackendThread]:
    server = start_edge_backend()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def trusting_gateway(django_db_setup: None, django_db_blocker: object) -> Iterator[GatewayProcess]:
    """A gateway that believes X-Forwarded-* from 127.0.0.1 (a load balancer in front of it)."""
    process = GatewayProcess(env={"GATEWAY_TRUSTED_PROXIES": "127.0.0.1/32"}).start()
    yield process
    process.stop()


@pytest.fixture
def both(transactional_db: None, gateway: GatewayProcess, trusting_gateway: GatewayProcess) -> ConfigHelper:
    """Configuration served by the session's gateway and by the trusting one."""
    return ConfigHelper(gateways=[gateway, trusting_gateway])
