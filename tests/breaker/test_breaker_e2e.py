"""The breaker through the real gateway (embedded default: one process, in-memory breakers)."""

from __future__ import annotations

import time

from breaker.models import BreakerEvent
from tests.breaker.flaky import Flaky
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import GatewayProcess

BREAKER = {
    "breaker_enabled": True,
    "breaker_failures": 3,
    "breaker_open_seconds": 1.0,
    "breaker_max_open_seconds": 2.0,
    "retries": 0,
}


def wait_for_events(backend: Flaky, count: int, timeout: float = 5) -> list[BreakerEvent]:
    """The breaker events of this backend's target (a gateway may still write an earlier test's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = list(BreakerEvent.objects.filter(address=f"127.0.0.1:{backend.port}").order_by("at", "pk"))
        if len(events) >= count:
            return events
        time.sleep(0.1)
    raise AssertionError(f"expected {count} breaker events, got {list(BreakerEvent.objects.all())}")


def test_it_opens_after_exactly_the_threshold_and_answers_503_without_the_backend(
    config: ConfigHelper, gateway: GatewayProcess, flaky: Flaky
) -> None:
    service = config.service("brk", targets=[flaky], **BREAKER)
    config.route(service, "/brk")
    config.sync()
    flaky.mode = "fail"

    replies = [get(gateway, "/brk/x") for _ in range(6)]

    assert [r.status for r in replies] == [503] * 6
    assert [r.header("x-gateway-error") for r in replies[:3]] == [None] * 3  # the backend's own 503s
    for reply in replies[3:]:
        reply.problem("circuit_open")
        assert reply.header("retry-after") == "1"
    assert flaky.requests == 3


def test_it_closes_again_after_a_successful_probe_and_records_every_change(
    config: ConfigHelper, gateway: GatewayProcess, flaky: Flaky
) -> None:
    service = config.service("brkclose", targets=[flaky], **BREAKER)
    config.route(service, "/brkclose")
    config.sync()
    flaky.mode = "fail"
    for _ in range(3):
        get(gateway, "/brkclose/x")
    assert get(gateway, "/brkclose/x").header("x-gateway-error") == "circuit_open"

    flaky.mode = "ok"
    time.sleep(1.1)
    assert get(gateway, "/brkclose/x").status == 200  # the probe
    assert get(gateway, "/brkclose/x").status == 200

    events = wait_for_events(flaky, 3)
    assert [(e.from_state, e.to_state) for e in events] == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]
    assert events[0].reason == "3 consecutive failures"
    assert events[0].target is not None and events[0].target.port == flaky.port
    _, body = gateway.get_json("/health/services")
    (entry,) = [s for s in body["services"] if s["slug"] == "brkclose"]
    assert entry["targets"][0]["breaker"] == "closed"
    transitions = body["metrics"]["gateway_breaker_transitions_total"]
    assert {"service": "brkclose", "to_state": "open", "value": 1} in transitions


def test_open_targets_leave_the_rotation_while_the_others_serve(
    config: ConfigHelper, gateway: GatewayProcess, flaky: Flaky, flaky_b: Flaky
) -> None:
    service = config.service("brk", targets=[flaky, flaky_b], **BREAKER)
    config.route(service, "/brk")
    config.sync()
    flaky.mode = "fail"

    statuses = [get(gateway, "/brk/x").status for _ in range(12)]

    assert flaky.requests == 3
    assert flaky_b.requests == 9
    assert statuses.count(200) == 9


def test_a_service_without_a_breaker_never_refuses(config: ConfigHelper, gateway: GatewayProcess, flaky: Flaky) -> None:
    service = config.service("plain", targets=[flaky], retries=0)
    config.route(service, "/plain")
    config.sync()
    flaky.mode = "fail"
    assert [get(gateway, "/plain/x").header("x-gateway-error") for _ in range(8)] == [None] * 8
    assert flaky.requests == 8
