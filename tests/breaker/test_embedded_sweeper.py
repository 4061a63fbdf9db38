"""``make run``'s sweeper: one Celery worker with beat and a directory queue, no broker server."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from breaker.models import TargetHealth
from gateway_project.launcher import sweeper_argv
from tests.breaker.flaky import Flaky
from tests.support.config import ConfigHelper
from tests.support.servers import ROOT, database_url_for_gateways


def test_the_launchers_worker_runs_the_beat_schedule_without_a_broker_server(
    config: ConfigHelper, flaky: Flaky, tmp_path: Path
) -> None:
    service = config.service("embedded", targets=[flaky], health_check_path="/healthz", health_check_interval=1.0)
    config.route(service, "/embedded")
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.all().delete()
    PeriodicTask.objects.create(name="test sweep", task="breaker.tasks.probe_targets", interval=every)
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_gateways(),
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "GATEWAY_VAR_DIR": str(tmp_path),  # the queue directory lives here
        "DJANGO_SECRET_KEY": "test",
    }
    log = (tmp_path / "sweeper.log").open("wb")
    worker = subprocess.Popen(
        sweeper_argv(), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and flaky.probes < 2:
            time.sleep(0.2)
        assert flaky.probes >= 2, (tmp_path / "sweeper.log").read_text()
        assert TargetHealth.objects.get(target__port=flaky.port).status == "healthy"
        assert (tmp_path / "celery-queue").is_dir()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(10)
