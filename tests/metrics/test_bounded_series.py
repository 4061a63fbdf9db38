"""10,000 distinct random paths must not create 10,000 series: labels come from configuration."""

from __future__ import annotations

import asyncio
import secrets

import aiohttp
import pytest

from tests.metrics.scrape import scrape_text
from tests.support.config import ConfigHelper
from tests.support.servers import BackendThread, GatewayProcess


def _series(text: str) -> set[str]:
    """The series (name and labels) of the data plane's own metrics."""
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line.startswith("gateway_")}


async def _send(url: str, paths: list[str]) -> list[int]:
    statuses: list[int] = []
    connector = aiohttp.TCPConnector(limit=20)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue = iter(paths)

        async def worker() -> None:
            for path in queue:
                async with session.get(url + path) as resp:
                    await resp.read()
                    statuses.append(resp.status)

        await asyncio.gather(*(worker() for _ in range(20)))
    return statuses


@pytest.mark.timeout(300)
def test_ten_thousand_random_paths_add_no_series(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("bounded", targets=[backend]), "/bounded", name="bounded-route")
    config.sync()
    warm = asyncio.run(_send(gateway.url, ["/bounded/warm", "/nowhere/warm", "/bounded/status/404"]))
    assert sorted(warm) == [200, 404, 404]
    before = scrape_text(gateway.url)

    paths, tokens = [], []
    for i in range(10_000):
        token = secrets.token_hex(8)
        tokens.append(token)
        paths.append(f"/bounded/{token}?q={token}" if i % 2 else f"/{token}/{i}")
    statuses = asyncio.run(_send(gateway.url, paths))

    after = scrape_text(gateway.url)
    assert statuses.count(200) == 5_000 and statuses.count(404) == 5_000
    assert _series(after) == _series(before), sorted(_series(after) ^ _series(before))
    assert len(after.splitlines()) < len(before.splitlines()) + 100, "the control plane's series grew too"
    assert not any(token in after for token in tokens)
