from __future__ import annotations

from tests.cache.conftest import Origin, cached_route
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import GatewayProcess


def test_smoke(config: ConfigHelper, gateway: GatewayProcess, origin: Origin) -> None:
    cached_route(config, origin, "/smoke")
    first = get(gateway, "/smoke/a?cc=max-age%3D60")
    second = get(gateway, "/smoke/a?cc=max-age%3D60")
    print(first.headers, second.headers, first.body, second.body)
    assert first.header("x-cache-status") == "MISS"
    assert second.header("x-cache-status") == "HIT"
    assert origin.count("/a") == 1
