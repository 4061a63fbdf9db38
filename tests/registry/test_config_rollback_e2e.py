"""A rollback through the real gateway: on two processes, the old prefix proxies again and the new
one is 404 within 2 s."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from registry.models import ConfigRevision, Route
from registry.revisions import roll_back
from registry.services import config_change
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess


@pytest.fixture
def second_gateway(gateway: GatewayProcess) -> Iterator[GatewayProcess]:
    process = GatewayProcess().start()
    yield process
    process.stop()


def statuses(gateways: list[GatewayProcess], paths: tuple[str, ...]) -> list[int]:
    return [get(g, path).status for g in gateways for path in paths]


def test_a_rolled_back_prefix_is_served_again_on_two_processes_within_2_seconds(
    config: ConfigHelper, gateway: GatewayProcess, second_gateway: GatewayProcess, backend: BackendThread
) -> None:
    both = [gateway, second_gateway]
    config.gateways = both
    service = config.service("shop", targets=[backend])
    route = config.route(service, "/old", name="shop")
    config.sync()
    before = ConfigRevision.objects.order_by("-version").first()
    assert before is not None and "path_prefix: /old" in before.snapshot
    with config_change():
        route.path_prefix = "/new"
        route.save()
    config.sync()
    assert statuses(both, ("/old/x", "/new/x")) == [404, 200, 404, 200]

    started = time.monotonic()
    done = roll_back(before, reason="the new prefix broke clients", actor="ops")
    while statuses(both, ("/old/x", "/new/x")) != [200, 404, 200, 404]:
        assert time.monotonic() - started < 2, "not served within 2 s"
        time.sleep(0.05)

    assert done.revision is not None and done.revision.source == "rollback"
    assert Route.objects.get(name="shop").path_prefix == "/old"
