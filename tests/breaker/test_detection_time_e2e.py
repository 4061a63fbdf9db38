"""With the default settings (the sweep schedule the migrations make, a service's health check fields at
their defaults, the gateway's health board interval), a target that dies leaves the rotation within
3 seconds. Real processes: a Celery worker with beat (as ``make run`` starts it) and a gateway."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask

from breaker.models import ServiceBreaker, TargetHealth
from gateway_project.launcher import sweeper_argv
from tests.breaker.flaky import Flaky
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import ROOT, GatewayProcess, database_url_for_gateways

pytestmark = pytest.mark.slow

SWEEP = "gateway health sweep"


def schedule_as_migrated() -> None:
    """The sweep's PeriodicTask as migrations 0002 and 0005 leave it (a transactional test starts empty)."""
    PeriodicTask.objects.all().delete()
    importlib.import_module("breaker.migrations.0002_health_sweep_schedule").create_schedule(apps, None)
    importlib.import_module("breaker.migrations.0005_health_checks_detect_within_3_s").sweep_every_second(apps, None)


@pytest.fixture
def default_board(transactional_db: None, gateway: GatewayProcess) -> Iterator[GatewayProcess]:
    process = GatewayProcess(env={"GATEWAY_HEALTH_POLL_INTERVAL": ""}).start()  # "": the setting's default
    yield process
    process.stop()


@pytest.fixture
def sweeper(tmp_path: Path) -> Iterator[None]:
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
    yield
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(10)


def test_the_sweep_schedule_is_every_second_after_the_migrations(transactional_db: None) -> None:
    schedule_as_migrated()
    task = PeriodicTask.objects.get(name=SWEEP)
    assert (task.interval.every, task.interval.period) == (1, "seconds")


def test_a_dead_target_leaves_the_rotation_within_3_seconds_with_the_defaults(
    default_board: GatewayProcess, flaky_b: Flaky, sweeper: None
) -> None:
    schedule_as_migrated()
    dying = Flaky("dying").start()
    config = ConfigHelper(gateways=[default_board])
    service = config.service("watched", targets=[dying, flaky_b], retries=0, health_check_path="/healthz")
    config.route(service, "/watched")
    config.sync()
    defaults = ServiceBreaker.objects.get(service=service)
    assert (defaults.health_check_interval, defaults.health_check_timeout) == (1.0, 1.0)
    assert defaults.health_check_unhealthy_failures == 1

    deadline = time.monotonic() + 60  # the worker's start
    while TargetHealth.objects.filter(status="healthy").count() < 2:
        assert time.monotonic() < deadline, "the sweeper never checked both targets"
        time.sleep(0.2)

    died = time.monotonic()
    dying.stop()  # connections are refused from now on
    failures = []
    while time.monotonic() - died < 6:
        if get(default_board, "/watched/x", timeout=5).status != 200:
            failures.append(time.monotonic() - died)
        time.sleep(0.05)

    assert failures, "the dead target was never tried: nothing was measured"
    assert max(failures) < 3.0, failures
