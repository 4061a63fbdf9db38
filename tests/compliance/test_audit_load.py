"""The acceptance load test: 50,000 requests through two gateway processes (200, 401, 404, 429 and 502),
then exactly one audit record per response request id.
Repeated with Postgres unreachable for 20 s mid-run (a TCP proxy in front of the shared server cuts
and refuses connections; the audit worker and the gateways reach Postgres only through it)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest

from compliance import chain
from compliance.models import AuditEvent
from ratelimit.models import RatePolicy
from registry.models import Target
from tests.compliance.audit_support import AuditedGateway
from tests.support.config import ConfigHelper
from tests.support.fault_proxy import FaultProxy
from tests.support.servers import ROOT, GatewayProcess, database_url_for_gateways, free_port

pytestmark = [pytest.mark.needs_redis, pytest.mark.needs_postgres, pytest.mark.slow, pytest.mark.soak]

TOTAL = int(os.environ.get("AUDIT_LOAD_REQUESTS", "50000"))
CLIENTS = 48
OUTAGE_SECONDS = 20.0
# /limited admits LIMITED requests in all (a global rate policy shared through Redis), then answers 429.
PATHS = {"/ok/x": 200, "/keyed/x": 401, "/nothing/x": 404, "/dead/x": 502, "/limited/x": 429}
LIMITED = 100


def _through(proxy: FaultProxy) -> str:
    parts = urlsplit(database_url_for_gateways())
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@pytest.fixture
def pg_proxy() -> Iterator[FaultProxy]:
    proxy = FaultProxy(int(urlsplit(database_url_for_gateways()).port or 5432)).start()
    yield proxy
    proxy.stop()


class Backend:
    def __init__(self) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "gateway_project.demo_backend", "--port", str(self.port)]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        var = Path(os.environ.get("GATEWAY_VAR_DIR", str(ROOT / "var")))
        self.log_path = var / "audit-worker.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "audit_worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)


async def _load(urls: list[str], prefix: str) -> dict[str, int]:
    """TOTAL requests from CLIENTS keep-alive clients spread over the gateways; request id -> status."""
    answered: dict[str, int] = {}
    paths = list(PATHS)
    counter = iter(range(TOTAL))
    timeout = aiohttp.ClientTimeout(total=30)

    async def client(n: int, session: aiohttp.ClientSession) -> None:
        base = urls[n % len(urls)]
        for i in counter:
            rid = f"{prefix}{i}"
            async with session.get(base + paths[i % len(paths)], headers={"X-Request-ID": rid}) as resp:
                await resp.read()
                answered[resp.headers["X-Request-ID"]] = resp.status

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(n, session) for n in range(CLIENTS)))
    return answered


def _wait_for_all(prefix: str, expected: int, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        ids = list(AuditEvent.objects.filter(request_id__startswith=prefix).values_list("request_id", flat=True))
        if len(ids) >= expected or time.monotonic() > deadline:
            return ids
        time.sleep(1)


@pytest.mark.parametrize("outage", [False, True], ids=["steady", "postgres-down-20s"])
def test_every_answered_request_has_exactly_one_record(
    transactional_db: None, pg_proxy: FaultProxy, outage: bool
) -> None:
    backend = Backend()
    db_url = _through(pg_proxy)
    stream = f"test:audit:load:{uuid.uuid4().hex[:8]}"
    env = {"DATABASE_URL": db_url, "GATEWAY_AUDIT_STREAM": stream}
    gateways = [AuditedGateway(env), AuditedGateway(env)]
    for gateway in gateways:
        gateway.stream = stream
        gateway.start()
    worker = Worker({**os.environ, **env, "DJANGO_SETTINGS_MODULE": "gateway_project.settings"})
    try:
        config = ConfigHelper(gateways=list[GatewayProcess](gateways))
        svc = config.service("load", targets=[backend])
        config.route(svc, "/ok")
        config.route(svc, "/keyed", auth_mode="api_key")
        dead = config.service("dead")
        Target.objects.create(service=dead, host="127.0.0.1", port=free_port())
        config.route(dead, "/dead")
        limited = config.route(svc, "/limited")
        policy = RatePolicy.objects.create(name="load-limit", scope="global", limit=LIMITED, period=3600)
        policy.routes.set([limited])
        config.sync()

        prefix = f"load-{uuid.uuid4().hex[:8]}-"
        if outage:
            timer = threading.Timer(2.0, pg_proxy.pause)
            resume = threading.Timer(2.0 + OUTAGE_SECONDS, pg_proxy.resume)
            timer.start()
            resume.start()
        started = time.monotonic()
        answered = asyncio.run(_load([g.url for g in gateways], prefix))
        took = time.monotonic() - started
        if outage:
            resume.join()
        statuses = Counter(answered.values())
        assert len(answered) == TOTAL, statuses
        assert set(statuses) == set(PATHS.values()), statuses
        assert statuses[429] >= TOTAL // len(PATHS) - LIMITED * len(gateways), statuses

        ids = _wait_for_all(prefix, TOTAL, timeout=90)
        counts = Counter(ids)
        duplicates = [rid for rid, n in counts.items() if n > 1]
        assert not duplicates, duplicates[:5]
        assert set(counts) == set(answered), (len(counts), len(answered), took)
        stored = dict(AuditEvent.objects.filter(request_id__startswith=prefix).values_list("request_id", "status"))
        assert stored == answered
        assert chain.verify().ok
    finally:
        worker.stop()
        for gateway in gateways:
            gateway.stop()
        backend.stop()
