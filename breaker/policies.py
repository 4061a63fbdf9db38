"""The breaker's data-plane step: a ``TargetGate`` per service, consulted by ``proxy.upstream.forward``.

The breaker wraps the upstream call per target, so it sits where targets are chosen rather than as a
chain step: ``pick`` walks the balancer's choices, skipping targets the health board reports down and
targets whose breaker refuses (open, or half-open with every probe slot taken); ``report`` hands each
attempt's outcome to the breaker. When no target was tried and none is left it raises the 503
(``circuit_open`` when a breaker refused one, else ``no_healthy_upstream``) with ``Retry-After``,
without contacting any backend. Services with neither a breaker nor a health check get no gate.
"""

from __future__ import annotations

import math

from breaker import events
from breaker.backends import BreakerBackend, get_backend
from breaker.board import HealthBoard, board
from breaker.compile import NAME, Breakers, ServiceBreakerSpec
from breaker.state import CLOSED, Admission, Transition
from proxy.balancer import Balancer
from proxy.errors import CircuitOpen, NoUpstream
from proxy.specs import ServiceSpec, Snapshot


class BreakerGate:
    def __init__(
        self, spec: ServiceSpec, config: ServiceBreakerSpec, backend: BreakerBackend, health: HealthBoard
    ) -> None:
        self.spec = spec
        self.backend = backend
        self.board = health
        self.ids = [t.id for t in spec.targets]
        self.settings = [config.breakers.get(t.id) for t in spec.targets]
        self.failure_statuses = config.failure_statuses
        check = config.health_check
        self.health_retry = str(math.ceil(check.interval)).encode() if check else b"1"

    @classmethod
    def for_service(cls, spec: ServiceSpec, snapshot: Snapshot) -> BreakerGate | None:
        config = snapshot.extensions.get(NAME, Breakers()).services.get(spec.id)
        if config is None or (config.health_check is None and not config.breakers):
            return None
        return cls(spec, config, get_backend(), board)

    async def pick(self, balancer: Balancer, tried: list[int]) -> tuple[int, Admission | None]:
        skip = list(tried)
        down = self.board.down
        retry_after = math.inf
        while (index := balancer.pick(skip)) >= 0:
            skip.append(index)
            if self.ids[index] in down:
                continue
            cfg = self.settings[index]
            if cfg is None:
                return index, None
            answer, transition = await self.backend.admit(self.ids[index], cfg)
            if transition is not None:
                self._note(index, transition)
            if answer.allowed:
                return index, answer
            retry_after = min(retry_after, answer.retry_after)
        if tried or len(skip) == len(tried):
            return -1, None  # retries report the last upstream error; no usable weight: forward's 503
        name = self.spec.name
        if retry_after < math.inf:
            seconds = str(max(1, math.ceil(retry_after))).encode()
            raise CircuitOpen(
                f"Every target of {name!r} is unhealthy or its circuit is open.", headers=[(b"retry-after", seconds)]
            )
        raise NoUpstream(
            f"Every target of {name!r} failed its health check.", headers=[(b"retry-after", self.health_retry)]
        )

    def explain(self, balancer: Balancer) -> tuple[int, str, bool]:
        """For the route simulator (``registry.simulate``): each target's breaker, read without
        changing it, and the target the balancer would choose (``breaker.explain``)."""
        from breaker.explain import explain

        return explain(self, balancer)

    async def report(self, index: int, ticket: Admission | None, status: int | None) -> None:
        if ticket is None:
            return
        failed = status is None or status in self.failure_statuses
        cfg = self.settings[index]
        assert cfg is not None
        if not failed and ticket.state == CLOSED and ticket.failures == 0 and not cfg.failure_ratio:
            return  # a success on a clean breaker changes nothing: no round trip
        transition = await self.backend.record(self.ids[index], cfg, failed, ticket.probe)
        if transition is not None:
            self._note(index, transition)

    def _note(self, index: int, transition: Transition) -> None:
        target = self.spec.targets[index]
        events.recorder.note(
            events.change(
                self.spec.id,
                self.spec.slug,
                target.id,
                target.address,
                transition.from_state,
                transition.to_state,
                transition.reason,
            )
        )
