"""The target gate on its own: what it skips, what it raises, and how many breaker calls it makes."""

from __future__ import annotations

import pytest

from breaker.backends import MemoryBackend
from breaker.board import HealthBoard
from breaker.compile import NAME, Breakers, HealthCheckSpec, ServiceBreakerSpec
from breaker.policies import BreakerGate
from breaker.state import Admission, BreakerSettings, Transition
from proxy.balancer import RoundRobin
from proxy.errors import CircuitOpen, NoUpstream
from proxy.specs import ServiceSpec, Snapshot, TargetSpec

BREAKER = BreakerSettings(failures=2, open_seconds=30.0, max_open_seconds=60.0, probe_timeout=10.0)
STATUSES = frozenset({502, 503, 504})


def service(
    n: int = 2, breaker: BreakerSettings | None = BREAKER, health: bool = False
) -> tuple[ServiceSpec, Snapshot]:
    """A service of ``n`` targets, and the snapshot that holds its breaker settings."""
    check = HealthCheckSpec("/healthz", frozenset({200}), 1.0, 7.0, 2, 1) if health else None
    spec = ServiceSpec(
        id=1, slug="svc", name="Svc", scheme="http", base_path="", connect_timeout=1.0, read_timeout=1.0, retries=1,
        lb_algorithm="round_robin", preserve_host=False,
        targets=tuple(TargetSpec(id=10 + i, host="127.0.0.1", port=9000 + i, weight=1) for i in range(n)),
    )  # fmt: skip
    breakers = {t.id: breaker for t in spec.targets} if breaker is not None else {}
    config = ServiceBreakerSpec(breakers, STATUSES, check)
    return spec, Snapshot(1, (spec,), (), extensions={NAME: Breakers({spec.id: config})})


class Counting(MemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def admit(self, target_id: int, cfg: BreakerSettings) -> tuple[Admission, Transition | None]:
        self.calls += 1
        return await super().admit(target_id, cfg)

    async def record(self, target_id: int, cfg: BreakerSettings, failed: bool, probe: bool) -> Transition | None:
        self.calls += 1
        return await super().record(target_id, cfg, failed, probe)


def gate_for(
    made: tuple[ServiceSpec, Snapshot], backend: MemoryBackend | None = None, down: frozenset[int] = frozenset()
) -> BreakerGate:
    spec, snapshot = made
    board = HealthBoard()
    board.down = down
    return BreakerGate(spec, snapshot.extensions[NAME].services[spec.id], backend or MemoryBackend(), board)


def test_services_with_neither_breaker_nor_health_check_get_no_gate() -> None:
    assert BreakerGate.for_service(*service(breaker=None)) is None


def test_services_without_breaker_settings_get_no_gate() -> None:
    spec, _ = service()
    assert BreakerGate.for_service(spec, Snapshot(1, (spec,), ())) is None


async def test_a_healthy_request_costs_one_breaker_call_and_a_failure_two() -> None:
    backend = Counting()
    gate = gate_for(service(1), backend)
    index, ticket = await gate.pick(RoundRobin([1]), [])
    await gate.report(index, ticket, 200)
    assert backend.calls == 1
    index, ticket = await gate.pick(RoundRobin([1]), [])
    await gate.report(index, ticket, 503)
    assert backend.calls == 3


async def test_it_skips_open_targets_and_raises_circuit_open_with_retry_after_when_none_is_left() -> None:
    gate = gate_for(service(2))
    balancer = RoundRobin([1, 1])
    picks = []
    for _ in range(3):  # 0, 1, 0: target 0 opens
        index, ticket = await gate.pick(balancer, [])
        picks.append(index)
        await gate.report(index, ticket, None)
    assert picks == [0, 1, 0]
    assert [(await gate.pick(balancer, []))[0] for _ in range(2)] == [1, 1]  # the open one is skipped
    index, ticket = await gate.pick(balancer, [])
    await gate.report(index, ticket, 502)  # its second failure: both open
    with pytest.raises(CircuitOpen) as raised:
        await gate.pick(balancer, [])
    assert raised.value.status == 503 and raised.value.reason == "circuit_open"
    assert raised.value.headers == [(b"retry-after", b"30")]


async def test_unhealthy_targets_are_skipped_and_all_down_is_no_healthy_upstream() -> None:
    gate = gate_for(service(2, breaker=None, health=True), down=frozenset({10}))
    balancer = RoundRobin([1, 1])
    assert {(await gate.pick(balancer, []))[0] for _ in range(4)} == {1}
    gate = gate_for(service(2, breaker=None, health=True), down=frozenset({10, 11}))
    with pytest.raises(NoUpstream) as raised:
        await gate.pick(balancer, [])
    assert raised.value.reason == "no_healthy_upstream" and raised.value.headers == [(b"retry-after", b"7")]


async def test_a_retry_with_nothing_left_returns_no_target_instead_of_raising() -> None:
    gate = gate_for(service(2, breaker=None, health=True), down=frozenset({11}))
    assert await gate.pick(RoundRobin([1, 1]), [0]) == (-1, None)
