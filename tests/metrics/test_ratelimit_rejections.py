"""gateway_ratelimit_rejections_total: the 429s of rate limits per route, the series the rate-limit
breach alert divides by the route's traffic; other 429s and other refusals are not counted."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from prometheus_client import REGISTRY

from proxy.metrics.recorder import MetricsRecorder
from proxy.observe import Finished


def finished(status: int, reason: str | None, route: Any) -> Finished:
    return Finished(
        kind="http", request_id="r", at=0.0, duration=0.001, method="GET", path="/", query=b"", scope={},
        client_address="127.0.0.1", status=status, error_reason=reason, bytes_in=0, bytes_out=0, complete=True,
        route=route,
    )  # fmt: skip


def rejections(service: str, route: str) -> float:
    return REGISTRY.get_sample_value("gateway_ratelimit_rejections_total", {"service": service, "route": route}) or 0.0


def test_only_a_rate_limits_429s_are_counted_per_route() -> None:
    route = SimpleNamespace(name="limited-r", service=SimpleNamespace(slug="limited-s"))
    recorder = MetricsRecorder()
    before = rejections("limited-s", "limited-r")

    for status, reason in (
        (429, "rate_limited"),
        (429, "rate_limited"),
        (429, None),
        (401, "invalid_token"),
        (200, None),
    ):
        recorder(finished(status, reason, route))

    assert rejections("limited-s", "limited-r") - before == 2
