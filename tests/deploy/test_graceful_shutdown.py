"""SIGTERM stops a gateway gracefully: /ready turns 503 first, requests in flight finish or get a
clean 503 before the deadline, none is cut mid-answer."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import aiohttp
import pytest

from tests.support.config import ConfigHelper
from tests.support.servers import BackendThread, GatewayProcess

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DELAY, GRACE = 1.5, 5.0


class Served(GatewayProcess):
    """Started as production starts it: python -m gateway_project.serve."""

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "gateway_project.serve", "--port", str(self.port), "--log-level", "warning"]


@pytest.fixture
def served() -> Iterator[Served]:
    gateway = Served({"GATEWAY_SHUTDOWN_DELAY": str(DELAY), "GATEWAY_SHUTDOWN_GRACE": str(GRACE)})
    gateway.start()
    yield gateway
    gateway.stop()


def ready_status(gateway: GatewayProcess) -> int:
    try:
        with urllib.request.urlopen(gateway.url + "/ready", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


async def one(session: aiohttp.ClientSession, url: str) -> tuple[int, str, bytes]:
    async with session.get(url) as response:
        body = await response.read()  # raises on a connection cut mid-answer
        return response.status, response.headers.get("X-Gateway-Error", ""), body


async def traffic(gateway: Served, quick: int, slow: int) -> list[tuple[int, str, bytes]]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        urls = [f"{gateway.url}/slow/slow?seconds=1"] * quick + [f"{gateway.url}/slow/slow?seconds=9"] * slow
        requests = [asyncio.ensure_future(one(session, url)) for url in urls]
        await asyncio.sleep(0.5)  # every request in flight
        assert gateway.proc is not None
        gateway.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        assert await asyncio.to_thread(ready_status, gateway) == 503  # draining, still answering
        return await asyncio.gather(*requests)


def test_sigterm_lets_requests_finish_and_answers_the_rest_with_a_clean_503(
    served: Served, backend: BackendThread
) -> None:
    config = ConfigHelper(gateways=[served])
    config.route(config.service("slow", targets=[backend], read_timeout=30), "/slow", strip_prefix=True)
    config.sync()

    started = time.monotonic()
    answers = asyncio.run(traffic(served, quick=100, slow=100))
    took = time.monotonic() - started

    finished = [a for a in answers if a[0] == 200]
    shed = [a for a in answers if a[0] == 503]
    assert len(finished) + len(shed) == 200, {a[0] for a in answers}
    assert len(finished) >= 100  # every quick request completed during the grace period
    assert all(json.loads(body)["backend"] for _, _, body in finished)
    assert shed and all(reason == "shutting_down" for _, reason, _ in shed)
    assert all(json.loads(body)["status"] == 503 for _, _, body in shed)
    assert took < 0.5 + DELAY + GRACE + 2, took
    assert served.proc is not None and served.proc.wait(15) is not None
