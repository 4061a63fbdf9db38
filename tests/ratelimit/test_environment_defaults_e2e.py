"""Rate limits from the environment through real gateway processes: on a fresh database a gateway
started with GLOBAL_RATE_LIMIT_REQUESTS limits a route nobody gave a policy; another process started
with a new value changes it for both; a malformed value stops the start naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from ratelimit.models import RatePolicy
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import ROOT, BackendThread, GatewayProcess

pytestmark = [pytest.mark.needs_redis, pytest.mark.slow]


@pytest.fixture
def started() -> Iterator[list[GatewayProcess]]:
    processes: list[GatewayProcess] = []
    yield processes
    for process in processes:
        process.stop()


def test_the_environments_limit_applies_on_a_fresh_database_and_follows_the_variable(
    transactional_db: None, backend: BackendThread, started: list[GatewayProcess]
) -> None:
    config = ConfigHelper(gateways=[])
    config.route(config.service("open", targets=[backend]), "/open")  # no policy of its own
    assert not RatePolicy.objects.exists()

    first = GatewayProcess(env={"GLOBAL_RATE_LIMIT_REQUESTS": "3", "GLOBAL_RATE_LIMIT_PERIOD": "1m"}).start()
    started.append(first)
    statuses = [get(first, "/open/x").status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = get(first, "/open/x")
    assert "env-global" in (refused.header("ratelimit-policy") or "") + refused.body.decode()

    second = GatewayProcess(env={"GATEWAY_GLOBAL_RATE_LIMIT_REQUESTS": "1000"}).start()
    started.append(second)
    assert RatePolicy.objects.get(name="env-global").limit == 1000
    config.gateways = started
    config.sync()
    deadline = time.monotonic() + 2
    while get(first, "/open/x").status != 200:  # the first process serves the new value too
        assert time.monotonic() < deadline
    assert get(second, "/open/x").status == 200


@pytest.mark.parametrize(
    ("variable", "value"), [("GLOBAL_RATE_LIMIT_REQUESTS", "a thousand"), ("MAX_REQUEST_SIZE", "10 megs")]
)
def test_a_malformed_variable_stops_the_start_naming_it(variable: str, value: str) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gateway_project.settings", variable: value}
    run = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )

    assert run.returncode != 0
    assert f"ImproperlyConfigured: {variable} must be" in run.stderr.decode()
