"""SIGKILL loses no record: 20,000 requests through two gateway processes sharing a spool directory,
one killed with ``kill -9`` halfway and started again; afterwards every request id that got a
response is in the chain exactly once and ``audit_verify`` passes. With a stream (the killed
process's spool is replayed by the restarted one into it) and without (the audit worker, the chain's
only writer, ships every spool)."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from django.core.management import call_command

from compliance.models import AuditEvent
from tests.compliance.audit_support import AuditedGateway
from tests.support.config import ConfigHelper
from tests.support.servers import ROOT, free_port

pytestmark = pytest.mark.slow

TOTAL = int(os.environ.get("AUDIT_SIGKILL_REQUESTS", "20000"))
CLIENTS = 16


@dataclass(frozen=True)
class Listening:
    port: int


def wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.05)


class Subprocess:
    """The demo backend or the audit worker, in a process of its own (the test's loop runs the load)."""

    def __init__(self, argv: list[str], env: dict[str, str], name: str) -> None:
        var = Path(os.environ.get("GATEWAY_VAR_DIR", str(ROOT / "var")))
        self.log_path = var / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)


async def _load(gateways: list[AuditedGateway], restart: AuditedGateway, prefix: str) -> dict[str, int]:
    """TOTAL requests from CLIENTS keep-alive clients over both gateways; the first is killed with
    SIGKILL once half are answered and replaced by ``restart``. Request id -> status, for those
    that got a whole response."""
    answered: dict[str, int] = {}
    urls = [g.url for g in gateways]
    counter = iter(range(TOTAL))
    half = asyncio.Event()

    async def client(n: int, session: aiohttp.ClientSession) -> None:
        for i in counter:
            rid = f"{prefix}{i}"
            try:
                async with session.get(urls[n % 2] + "/ok/x", headers={"X-Request-ID": rid}) as resp:
                    await resp.read()
                    answered[rid] = resp.status
            except (TimeoutError, aiohttp.ClientError):
                await asyncio.sleep(0.02)  # the killed one: no response, so nothing to find later
            if len(answered) >= TOTAL // 2:
                half.set()

    async def kill_and_restart() -> None:
        await half.wait()
        gateways[0].kill()
        urls[0] = urls[1]  # the survivor takes the load while the killed one comes back
        await asyncio.to_thread(restart.start)
        urls[0] = restart.url

    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS), timeout=timeout) as session:
        await asyncio.gather(kill_and_restart(), *(client(n, session) for n in range(CLIENTS)))
    return answered


def _wait_for(prefix: str, wanted: set[str], timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        counts = Counter(AuditEvent.objects.filter(request_id__startswith=prefix).values_list("request_id", flat=True))
        if set(counts) >= wanted or time.monotonic() > deadline:
            return counts
        time.sleep(1)


@pytest.mark.parametrize("path", ["stream", "embedded"])
def test_a_killed_gateway_loses_no_record(transactional_db: None, path: str, request: pytest.FixtureRequest) -> None:
    if path == "stream":
        request.applymarker(pytest.mark.needs_redis)
        if not os.environ.get("REDIS_URL"):
            pytest.skip("REDIS_URL is not set")
    spool_dir = tempfile.mkdtemp(prefix="gateway-spool-shared-")
    env = {"GATEWAY_AUDIT_SPOOL_DIR": spool_dir, "GATEWAY_AUDIT_FLUSH_INTERVAL": "0.05"}
    if path == "embedded":
        env |= {"REDIS_URL": "", "GATEWAY_AUDIT_REDIS_URL": ""}
    stream = f"test:audit:kill:{uuid.uuid4().hex[:8]}"
    env["GATEWAY_AUDIT_STREAM"] = stream
    backend_port = free_port()
    backend = Subprocess(
        [sys.executable, "-m", "gateway_project.demo_backend", "--port", str(backend_port)], {**os.environ}, "backend"
    )
    gateways = [AuditedGateway(env), AuditedGateway(env)]
    restart = AuditedGateway(env)
    for gateway in (*gateways, restart):
        gateway.stream = stream
    worker: Subprocess | None = None
    try:
        for gateway in gateways:
            gateway.start()
        worker_env = {**os.environ, **env, "DATABASE_URL": gateways[0].env["DATABASE_URL"]}
        worker_env["DJANGO_SETTINGS_MODULE"] = "gateway_project.settings"
        worker = Subprocess([sys.executable, "manage.py", "audit_worker"], worker_env, "audit-worker-kill")
        config = ConfigHelper(gateways=list(gateways))
        wait_for_port(backend_port)
        svc = config.service("kill", targets=[Listening(backend_port)])
        config.route(svc, "/ok")
        config.sync()

        prefix = f"kill-{uuid.uuid4().hex[:8]}-"
        answered = asyncio.run(_load(gateways, restart, prefix))
        assert len(answered) >= TOTAL - 4 * CLIENTS, len(answered)  # only requests in flight at the kill fail
        assert set(answered.values()) == {200}

        counts = _wait_for(prefix, set(answered), timeout=120)
        duplicates = [rid for rid, n in counts.items() if n > 1]
        assert not duplicates, duplicates[:5]
        missing = set(answered) - set(counts)
        assert not missing, (len(missing), sorted(missing)[:5])
        out = io.StringIO()
        call_command("audit_verify", stdout=out)  # a broken chain exits 1 (SystemExit)
        assert "audit chain OK" in out.getvalue()
    finally:
        if worker is not None:
            worker.stop()
        for gateway in (*gateways, restart):
            gateway.stop()
        backend.stop()
