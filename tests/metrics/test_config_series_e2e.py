"""Config series after real rebuilds: failures counted while the old version keeps being served."""

from __future__ import annotations

from registry.models import Route
from registry.services import bump_config_version
from tests.metrics.scrape import parse, scrape_text, value, wait_for
from tests.support.config import ConfigHelper
from tests.support.servers import BackendThread, GatewayProcess


def test_a_failing_rebuild_is_counted_and_the_served_version_stays(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    route = config.route(config.service("rebuilt", targets=[backend]), "/rebuilt")
    good = config.sync()
    failures = value(parse(scrape_text(gateway.url)), "gateway_config_rebuild_failures_total")

    Route.objects.filter(pk=route.pk).update(methods="BREW")  # past the validators: compiling fails
    bump_config_version()
    samples = wait_for(gateway.url, lambda s: value(s, "gateway_config_rebuild_failures_total") > failures, timeout=10)
    assert value(samples, "gateway_config_rebuild_failures_total") > failures
    assert value(samples, "gateway_config_version_served") == good

    Route.objects.filter(pk=route.pk).update(methods="GET")
    bump_config_version()
    fixed = config.sync()
    assert value(parse(scrape_text(gateway.url)), "gateway_config_version_served") == fixed
