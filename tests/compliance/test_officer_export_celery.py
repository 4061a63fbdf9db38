"""A large export through a real Celery worker (Redis broker, the test's Postgres): the officer's
request answers 202, the worker writes the file, the status page links it, the download serves it."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from compliance.models import AuditEvent, ComplianceJob
from tests.compliance.officer_support import add, event, streamed
from tests.support.servers import ROOT, database_url_for_gateways

pytestmark = [pytest.mark.needs_redis, pytest.mark.needs_postgres, pytest.mark.slow]


@pytest.fixture
def worker(transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    var = Path(os.environ.get("GATEWAY_VAR_DIR", str(ROOT / "var")))
    import redis

    with redis.Redis.from_url(os.environ["REDIS_URL"]) as client:
        client.delete("celery")  # jobs queued by earlier runs name rows of a database since recreated
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_gateways(),
        "CELERY_BROKER_URL": os.environ["REDIS_URL"],
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings",
    }
    argv = [sys.executable, "-m", "celery", "-A", "gateway_project.celery", "worker", "--pool", "solo",
            "--without-gossip", "--without-mingle", "--loglevel", "info"]  # fmt: skip
    with (var / "celery-officer-export.log").open("wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@override_settings(GATEWAY_AUDIT_SYNC_EXPORT_LIMIT=3)
def test_a_real_worker_writes_a_large_export_for_download(
    worker: subprocess.Popen[bytes], officer_client: Client
) -> None:
    add(*[event(request_id=f"w{n}", status=502 if n % 2 else 200) for n in range(10)])

    response = officer_client.post(reverse("admin:compliance_auditevent_export") + "?status=502", {"_format": "csv"})

    assert response.status_code == 202
    job = ComplianceJob.objects.get()
    deadline = time.monotonic() + 60
    while job.status in ("pending", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == "done", (job.status, job.error)
    assert job.rows == 5
    got = officer_client.get(reverse("admin:compliance_compliancejob_download", args=[job.pk]))
    rows = list(csv.DictReader(io.StringIO(streamed(got).decode())))
    assert [r["request_id"] for r in rows] == ["w1", "w3", "w5", "w7", "w9"]
    record = AuditEvent.objects.get(action="compliance.export.created")
    assert record.source == "celery" and record.actor == "olivia" and record.data["rows"] == 5
