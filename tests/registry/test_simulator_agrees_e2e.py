"""The simulator agrees with real routing: for 1,000 generated requests against a generated table, the
route and upstream path it predicts are those of the request sent for real through the gateway (each
route has a service of its own whose base path names it, and the backend echoes the path it got)."""

from __future__ import annotations

import random

from django.core.exceptions import ValidationError
from django.db import transaction

from registry.models import Route
from registry.services import config_change
from registry.simulate import simulate
from registry.snapshot import build_table
from tests.support.config import ConfigHelper
from tests.support.http import call
from tests.support.servers import BackendThread, GatewayProcess

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
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    rng = random.Random(18)
    assert generated_table(config, backend, rng) >= 12
    config.sync()
    table = build_table()
    routed = 0
    for _ in range(1000):
        method = rng.choice(("GET", "POST", "DELETE", "PUT"))
        host = rng.choice(("x.test", "a.test", "other.example"))
        path = rng.choice(PREFIXES).rstrip("/") + rng.choice(SUFFIXES)
        path = path if path.startswith("/") else "/" + path
        headers = [("Host", host)] + ([("API-Version", "v2")] if rng.random() < 0.3 else [])

        real = call(gateway, method, path, headers)
        predicted = simulate(method, host, path, headers, table=table)

        request = f"{method} {host}{path} {headers[1:]}"
        if real.status == 200:
            routed += 1
            echoed = real.json()["path"]
            assert predicted.route is not None, request
            assert echoed.startswith(f"/r{predicted.route[1:]}"), (request, echoed, predicted.route)
            assert predicted.upstream_url is not None
            assert predicted.upstream_url.split("?")[0].endswith(echoed) and predicted.status is None, request
        else:
            assert predicted.status == real.status, (request, real.status, predicted.outcome)
    assert routed > 300  # the generated requests exercise matching, not only 404s
    Route.objects.all().delete()
