"""Load balancing across a service's enabled targets, per process.

Each balancer returns an index into the service's targets (or -1 when none is left), skipping the
indexes in ``exclude`` (targets already tried for this request). ``started``/``finished`` track
requests in flight, which least-connections uses.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from typing import Protocol


class Balancer(Protocol):
    def pick(self, exclude: Collection[int] = ()) -> int: ...
    def started(self, index: int) -> None: ...
    def finished(self, index: int) -> None: ...


class RoundRobin:
    """Smooth weighted round-robin (as in nginx): even spread, no bursts to the heaviest target."""

    def __init__(self, weights: Sequence[int]) -> None:
        self.weights = list(weights)
        self.current = [0] * len(weights)
        self.single = 0 if len(weights) == 1 and weights[0] > 0 else None

    def pick(self, exclude: Collection[int] = ()) -> int:
        if self.single is not None and not exclude:
            return self.single
        best = -1
        total = 0
        current = self.current
        for i, weight in enumerate(self.weights):
            if weight <= 0 or i in exclude:
                continue
            current[i] += weight
            total += weight
            if best < 0 or current[i] > current[best]:
                best = i
        if best >= 0:
            current[best] -= total
        return best

    def started(self, index: int) -> None:
        pass

    def finished(self, index: int) -> None:
        pass


class LeastConnections:
    """Fewest requests in flight relative to weight; ties rotate so equal targets share load."""

    def __init__(self, weights: Sequence[int]) -> None:
        self.weights = list(weights)
        self.in_flight = [0] * len(weights)
        self.rotation = 0

    def pick(self, exclude: Collection[int] = ()) -> int:
        n = len(self.weights)
        best = -1
        best_load = 0.0
        self.rotation = (self.rotation + 1) % n if n else 0
        for k in range(n):
            i = (self.rotation + k) % n
            weight = self.weights[i]
            if weight <= 0 or i in exclude:
                continue
            load = self.in_flight[i] / weight
            if best < 0 or load < best_load:
                best, best_load = i, load
        return best

    def started(self, index: int) -> None:
        self.in_flight[index] += 1

    def finished(self, index: int) -> None:
        self.in_flight[index] -= 1


class WeightedRandom:
    def __init__(self, weights: Sequence[int]) -> None:
        self.weights = list(weights)

    def pick(self, exclude: Collection[int] = ()) -> int:
        choices = [i for i, w in enumerate(self.weights) if w > 0 and i not in exclude]
        if not choices:
            return -1
        return random.choices(choices, weights=[self.weights[i] for i in choices])[0]

    def started(self, index: int) -> None:
        pass

    def finished(self, index: int) -> None:
        pass


BALANCERS: dict[str, type[RoundRobin] | type[LeastConnections] | type[WeightedRandom]] = {
    "round_robin": RoundRobin,
    "least_connections": LeastConnections,
    "random": WeightedRandom,
}


def make_balancer(algorithm: str, weights: Sequence[int]) -> Balancer:
    return BALANCERS.get(algorithm, RoundRobin)(weights)
