"""Redis stopped mid-traffic, for each failure mode: requests keep flowing with the documented answers
(never a 500), a warning is logged once, and limiting resumes on its own when Redis returns.

Each test runs its own redis-server on a free port (the shared one is never stopped).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from ratelimit.models import RatePolicy
from tests.ratelimit.conftest import make_policy
from tests.support.config import ConfigHelper
from tests.support.http import Reply, get
from tests.support.redis_server import RedisServer
from tests.support.servers import BackendThread, GatewayProcess

pytestmark = pytest.mark.slow
LIMIT, PROCESSES = 10, 2


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def faulty(transactional_db: None, gateway: GatewayProcess, redis_server: RedisServer) -> Iterator[GatewayProcess]:
    env = {
        "GATEWAY_RATELIMIT_REDIS_URL": redis_server.url,
        "GATEWAY_RATELIMIT_REDIS_TIMEOUT": "0.05",
        "GATEWAY_RATELIMIT_RETRY_SECONDS": "0.3",
        "GATEWAY_RATELIMIT_PROCESS_COUNT": str(PROCESSES),
    }
    process = GatewayProcess(env=env).start()
    yield process
    process.stop()


class Traffic:
    """Requests in a loop on another thread while the test breaks things."""

    def __init__(self, gateway: GatewayProcess, path: str) -> None:
        self.gateway, self.path = gateway, path
        self.replies: list[tuple[Reply, float]] = []
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(1)

    def __enter__(self) -> Traffic:
        self._future = self._pool.submit(self._loop)
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            reply = get(self.gateway, self.path)
            self.replies.append((reply, time.monotonic() - started))
            time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._future.result(30)
        self._pool.shutdown()


def limited_route(gateway: GatewayProcess, backend: BackendThread, mode: str) -> str:
    config = ConfigHelper(gateways=[gateway])
    service = config.service(f"faults-{mode}", targets=[backend])
    route = config.route(service, f"/faults-{mode}")
    make_policy(f"faults-{mode}", LIMIT, period=3600, failure_mode=mode, scope=RatePolicy.Scope.ROUTE, routes=[route])
    config.sync()
    return f"/faults-{mode}/x"


def check_recovery(gateway: GatewayProcess, path: str) -> None:
    """The restarted Redis is empty: a fresh quota of LIMIT, counted in Redis again (not per process)."""
    deadline = time.monotonic() + 5
    while (first := get(gateway, path)).header("x-ratelimit-limit") != str(LIMIT):
        assert time.monotonic() < deadline, f"limiting did not resume: {first.status} {first.headers}"
        time.sleep(0.1)
    assert first.status == 200 and first.header("x-ratelimit-remaining") == str(LIMIT - 1)
    statuses = [get(gateway, path).status for _ in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429], statuses


def warnings_in(gateway: GatewayProcess) -> int:
    # The whole log: GatewayProcess.log() keeps only its tail, which access lines fill quickly.
    return gateway.log_path.read_text(errors="replace").count("rate-limit counters in Redis unavailable")


def test_open_mode_lets_everything_through_without_limit_headers_while_redis_is_down(
    faulty: GatewayProcess, redis_server: RedisServer, backend: BackendThread
) -> None:
    path = limited_route(faulty, backend, "open")
    assert get(faulty, path).header("x-ratelimit-remaining") == str(LIMIT - 1)
    with Traffic(faulty, path) as traffic:
        time.sleep(0.2)
        redis_server.stop()
        time.sleep(1.0)
        down = [get(faulty, path) for _ in range(2 * LIMIT)]
    redis_server.start()
    assert all(r.status == 200 and not r.has("ratelimit") and not r.has("x-ratelimit-limit") for r in down)
    assert {r.status for r, _ in traffic.replies} <= {200, 429}  # 429: before Redis stopped
    assert all(elapsed < 1.0 for _, elapsed in traffic.replies)
    check_recovery(faulty, path)
    assert warnings_in(faulty) == 1


def test_closed_mode_answers_503_with_retry_after_while_redis_is_down(
    faulty: GatewayProcess, redis_server: RedisServer, backend: BackendThread
) -> None:
    path = limited_route(faulty, backend, "closed")
    assert get(faulty, path).status == 200
    before = backend.count()
    with Traffic(faulty, path) as traffic:
        time.sleep(0.2)
        redis_server.stop()
        time.sleep(1.0)
        down = [get(faulty, path) for _ in range(5)]
    redis_server.start()
    for reply in down:
        reply.problem("ratelimit_unavailable")
        assert reply.status == 503 and reply.header("retry-after") == "1"
    assert {r.status for r, _ in traffic.replies} <= {200, 429, 503}
    assert all(elapsed < 1.0 for _, elapsed in traffic.replies)
    assert backend.count() - before == sum(r.status == 200 for r, _ in traffic.replies)  # 503s never reached it
    check_recovery(faulty, path)
    assert warnings_in(faulty) == 1


def test_local_mode_limits_each_process_at_its_share_while_redis_is_down(
    faulty: GatewayProcess, redis_server: RedisServer, backend: BackendThread
) -> None:
    path = limited_route(faulty, backend, "local")
    assert get(faulty, path).status == 200
    redis_server.stop()
    down = [get(faulty, path) for _ in range(LIMIT)]
    share = LIMIT // PROCESSES
    assert [r.status for r in down] == [200] * share + [429] * (LIMIT - share)
    assert down[0].header("x-ratelimit-limit") == str(share)
    assert "this process" in down[-1].problem("rate_limited")["detail"]
    redis_server.start()
    check_recovery(faulty, path)
    assert warnings_in(faulty) == 1
