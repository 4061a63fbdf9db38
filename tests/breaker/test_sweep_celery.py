"""The health sweep for real: a Celery worker and beat (django-celery-beat's schedule in Postgres)
against Redis, probing backends that go down and come back, and a stopped worker turning stale."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from breaker.models import HealthCheckResult, TargetHealth
from tests.breaker.flaky import Flaky
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import ROOT, GatewayProcess, database_url_for_gateways

pytestmark = [pytest.mark.needs_redis, pytest.mark.needs_postgres, pytest.mark.slow]


class CeleryProcess:
    def __init__(self, *command: str) -> None:
        var = Path(os.environ.get("GATEWAY_VAR_DIR", str(ROOT / "var")))
        self.log_path = var / f"celery-{command[0]}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_gateways(),
            "CELERY_BROKER_URL": os.environ["REDIS_URL"],
            "DJANGO_SETTINGS_MODULE": "gateway_project.settings",
        }
        argv = [sys.executable, "-m", "celery", "-A", "gateway_project.celery", *command, "--loglevel", "info"]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def status_of(backend: Flaky) -> str | None:
    row = TargetHealth.objects.filter(target__port=backend.port).first()
    return row.status if row else None


@pytest.fixture
def sweeping_gateway(transactional_db: None, gateway: GatewayProcess) -> Iterator[GatewayProcess]:
    process = GatewayProcess(env={"GATEWAY_HEALTH_STALE_AFTER": "1"}).start()  # stale after 3 intervals: 3 s
    yield process
    process.stop()


def test_a_real_worker_and_beat_take_a_dead_backend_out_and_bring_it_back(sweeping_gateway: GatewayProcess) -> None:
    gateway = sweeping_gateway
    a, b = Flaky("sweep-a").start(), Flaky("sweep-b").start()
    workers: list[CeleryProcess] = []
    try:
        config = ConfigHelper(gateways=[gateway])
        service = config.service(
            "swept", targets=[a, b], retries=0, health_check_path="/healthz", health_check_interval=1.0
        )
        config.route(service, "/swept")
        config.sync()
        PeriodicTask.objects.all().delete()
        every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.create(name="test sweep", task="breaker.tasks.probe_targets", interval=every)
        workers = [CeleryProcess("worker", "--pool", "solo", "--without-gossip", "--without-mingle"),
                   CeleryProcess("beat", "--max-interval", "1")]  # fmt: skip
        wait_until(lambda: status_of(a) == status_of(b) == "healthy", 30, "both targets healthy")

        # Taken down: unhealthy at its first failed check, and out of rotation.
        a.stop()
        stopped_at = time.monotonic()
        wait_until(lambda: status_of(a) == "unhealthy", 5, "target a unhealthy")
        assert time.monotonic() - stopped_at < 3
        first_failure = HealthCheckResult.objects.filter(target__port=a.port, ok=False).order_by("checked_at").first()
        assert first_failure is not None
        health = TargetHealth.objects.get(target__port=a.port)
        assert health.changed_at == first_failure.checked_at  # within one sweep
        time.sleep(0.6)  # the gateway's health board reloads every 0.2 s
        assert [get(gateway, "/swept/x").status for _ in range(6)] == [200] * 6
        assert b.requests == 6

        # Brought back: healthy after two good checks (the default), then in rotation again.
        a = Flaky("sweep-a", port=a.port).start()
        wait_until(lambda: status_of(a) == "healthy", 10, "target a healthy again")
        time.sleep(0.6)
        for _ in range(6):
            assert get(gateway, "/swept/x").status == 200
        assert a.requests == 3

        # The worker stops: results age and show as stale; nobody is taken out on their word.
        for worker in workers:
            worker.stop()

        def all_stale() -> bool:
            _, body = gateway.get_json("/health/services")
            (entry,) = [s for s in body["services"] if s["slug"] == "swept"]
            return [t["status"] for t in entry["targets"]] == ["stale", "stale"]

        wait_until(all_stale, 8, "results stale after the worker stopped")
    finally:
        for worker in workers:
            worker.stop()
        a.stop()
        b.stop()
