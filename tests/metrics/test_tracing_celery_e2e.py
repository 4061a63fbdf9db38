"""Celery tasks are traced: a real prefork worker with tracing on exports a CONSUMER span for each
task it runs, continuing the trace the sender put in the message's headers, with the task's database
queries as its children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from gateway_project.celery import app
from tests.support.otlp import Receiver
from tests.support.servers import ROOT, BackendThread, database_url_for_gateways

pytestmark = [pytest.mark.needs_redis, pytest.mark.needs_postgres, pytest.mark.slow]

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"
TASK = "breaker.tasks.probe_targets"


@pytest.fixture
def traced_worker(transactional_db: None, receiver: tuple[Receiver, BackendThread]) -> Iterator[None]:
    _, otlp = receiver
    with redis.Redis.from_url(os.environ["REDIS_URL"]) as client:
        client.delete("celery")  # tasks queued by earlier runs
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_gateways(),
        "CELERY_BROKER_URL": os.environ["REDIS_URL"],
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{otlp.url}/v1/traces",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_SERVICE_NAME": "worker-under-test",
    }
    var = Path(os.environ.get("GATEWAY_VAR_DIR", str(ROOT / "var")))
    argv = [sys.executable, "-m", "celery", "-A", "gateway_project.celery", "worker", "--pool", "prefork",
            "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "info"]  # fmt: skip
    with (var / "celery-traced.log").open("wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def test_a_task_run_by_a_prefork_worker_continues_the_senders_trace(
    traced_worker: None, receiver: tuple[Receiver, BackendThread]
) -> None:
    collector, _ = receiver
    with app.connection_for_write(os.environ["REDIS_URL"]) as connection:
        app.send_task(TASK, headers={"traceparent": f"00-{TRACE}-{PARENT}-01"}, connection=connection)

    spans = collector.wait_for(TRACE, 2, timeout=60, kind=Span.SPAN_KIND_CONSUMER)

    runs = [s for s in spans if s.kind == Span.SPAN_KIND_CONSUMER]
    assert len(runs) == 1, [(s.name, s.kind) for s in spans]
    run = runs[0]
    assert run.name == f"run/{TASK}"
    assert run.parent_span_id.hex() == PARENT
    queries = [s for s in spans if s.kind == Span.SPAN_KIND_CLIENT and s.parent_span_id == run.span_id]
    assert queries, [(s.name, s.kind) for s in spans]  # the sweep reads the targets from Postgres
