"""A redis-server of the test's own stopped mid-traffic: cached routes answer BYPASS from the backend
(right answers, never a 500, no wait on the dead Redis), a warning is logged once, and caching resumes
on its own when Redis is back. The shared Redis is never stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tests.cache.conftest import Origin, cached_route
from tests.support.config import ConfigHelper
from tests.support.http import Reply, get
from tests.support.redis_server import RedisServer
from tests.support.servers import GatewayProcess

pytestmark = pytest.mark.slow
PATH = "/down/item?cc=max-age%3D300"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def faulty(transactional_db: None, gateway: GatewayProcess, redis_server: RedisServer) -> Iterator[GatewayProcess]:
    env = {
        "GATEWAY_CACHE_REDIS_URL": redis_server.url,
        "GATEWAY_CACHE_REDIS_TIMEOUT": "0.05",
        "GATEWAY_CACHE_REDIS_RETRY_SECONDS": "0.3",
    }
    process = GatewayProcess(env=env).start()
    yield process
    process.stop()


def test_redis_stopped_mid_traffic_gives_bypass_and_the_right_answers(
    faulty: GatewayProcess, redis_server: RedisServer, origin: Origin
) -> None:
    config = ConfigHelper(gateways=[faulty])
    cached_route(config, origin, "/down")
    first = get(faulty, PATH)
    assert [first.header("x-cache-status"), get(faulty, PATH).header("x-cache-status")] == ["MISS", "HIT"]
    replies: list[tuple[Reply, float]] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            started = time.monotonic()
            replies.append((get(faulty, PATH), time.monotonic() - started))
            time.sleep(0.01)

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        time.sleep(0.3)
        redis_server.stop()
        time.sleep(1.0)
        down = [get(faulty, PATH) for _ in range(5)]
    finally:
        stop.set()
        worker.join(30)
    assert all(r.status == 200 for r, _ in replies) and all(elapsed < 1.0 for _, elapsed in replies)
    assert {r.header("x-cache-status") for r, _ in replies} <= {"HIT", "BYPASS"}
    for reply in down:
        assert reply.status == 200 and reply.header("x-cache-status") == "BYPASS"
        assert reply.header("cache-status") == "gateway; fwd=bypass; detail=store-unavailable"
        assert reply.body.startswith(b"/item #")  # the backend's own answer
    served = origin.count("/item")
    assert served >= 1 + len(down)

    redis_server.start()  # empty again: filled anew, then hits
    deadline = time.monotonic() + 5
    while (again := get(faulty, PATH)).header("x-cache-status") == "BYPASS":
        assert time.monotonic() < deadline, again.headers
        time.sleep(0.1)
    assert again.header("x-cache-status") == "MISS"
    assert get(faulty, PATH).header("x-cache-status") == "HIT"
    log = faulty.log_path.read_text(errors="replace")
    assert log.count("response cache: Redis unavailable") == 1
