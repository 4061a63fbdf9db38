"""The simulator agrees with real routing: for 1,000 generated requests against a generated table, the
route and upstream URL it predicts are those of the request sent for real through the gateway: the
route and target (host:port) as the audit trail records them for that request, and the upstream path
and query as the backend echoes them (an audit record holds no upstream URL). Each route has a
service of its own whose base path names it, so the echoed path names the route too."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from registry.models import Route
from registry.services import config_change
from registry.simulate import Simulation, simulate
from registry.snapshot import build_table
from tests.compliance.audit_support import AuditedGateway, wait_for_records
from tests.support.config import ConfigHelper
from tests.support.http import call
from tests.support.servers import BackendThread


@pytest.fixture(scope="module")
def audited(django_db_setup: None, django_db_blocker: object) -> Iterator[AuditedGateway]:
    process = AuditedGateway().start()
    yield process
    process.stop()


@pytest.fixture
def config(transactional_db: None, audited: AuditedGateway) -> ConfigHelper:
    return ConfigHelper(gateways=[audited])


PREFIXES = ("/", "/a", "/a/b", "/a/b/c", "/b", "/c")
HOSTS = ("", "x.test", "*.test")
METHODS = ("", "GET", "GET,POST", "DELETE")
SUFFIXES = ("", "/", "/1", "/v2", "/v2/x", "/b/c/d", "/z?q=1")


def generated_table(config: ConfigHelper, backend: BackendThread, rng: random.Random) -> int:
    made = 0
    with config_change():  # one version for the whole table
        for n in range(24):
            made += _one(config, backend, rng, n)
    return made


def _one(config: ConfigHelper, backend: BackendThread, rng: random.Random, n: int) -> int:
    try:
        with transaction.atomic():
            service = config.service(f"s{n}", targets=[backend], base_path=f"/r{n}")
            config.route(
                service,
                rng.choice(PREFIXES),
                name=f"r{n}",
                host=rng.choice(HOSTS),
                methods=rng.choice(METHODS),
                strip_prefix=rng.random() < 0.7,
                priority=rng.randint(0, 2),
                api_version=rng.choice(("", "", "v2")),
            )
        return 1
    except ValidationError:  # a tie with an earlier route: the admin would refuse it too
        return 0


def test_the_simulator_agrees_with_real_routing_on_1000_generated_requests(
    config: ConfigHelper, audited: AuditedGateway, backend: BackendThread
) -> None:
    rng = random.Random(18)
    assert generated_table(config, backend, rng) >= 12
    config.sync()
    table = build_table()
    routed = 0
    sent: dict[str, tuple[str, Simulation, int]] = {}
    for _ in range(1000):
        method = rng.choice(("GET", "POST", "DELETE", "PUT"))
        host = rng.choice(("x.test", "a.test", "other.example"))
        path = rng.choice(PREFIXES).rstrip("/") + rng.choice(SUFFIXES)
        path = path if path.startswith("/") else "/" + path
        headers = [("Host", host)] + ([("API-Version", "v2")] if rng.random() < 0.3 else [])
        rid = f"agree-{uuid.uuid4().hex}"

        real = call(audited, method, path, [*headers, ("X-Request-ID", rid)])
        predicted = simulate(method, host, path, headers, table=table)

        request = f"{method} {host}{path} {headers[1:]}"
        sent[rid] = (request, predicted, real.status)
        if real.status == 200:
            routed += 1
            echoed = real.json()["path"]
            assert predicted.route is not None, request
            assert echoed.startswith(f"/r{predicted.route[1:]}"), (request, echoed, predicted.route)
            assert predicted.upstream_url is not None
            url_path, _, url_query = predicted.upstream_url.partition("?")
            assert url_path.endswith(echoed) and predicted.status is None, request
            assert url_query == real.json()["query"], (request, predicted.upstream_url, real.json()["query"])
        else:
            assert predicted.status == real.status, (request, real.status, predicted.outcome)
    assert routed > 300  # the generated requests exercise matching, not only 404s
    records = {e.request_id: e for e in wait_for_records(audited, sent, timeout=120)}
    assert len(records) == len(sent)
    for rid, (request, predicted, status) in sent.items():
        record = records[rid]
        assert record.status == status, request
        if status in (200, 404):
            assert record.route == (predicted.route or ""), (request, record.route, predicted.route)
        if status == 200:
            assert record.target == predicted.target, (request, record.target, predicted.target)
    Route.objects.all().delete()
