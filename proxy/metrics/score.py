"""The health score: one number from 0 (down) to 100 (fine) per service, and one overall.

Over the last 5 minutes of this host's traffic (``proxy.metrics.windows``) and the current target
state (health checks and breakers, from ``proxy.metrics.sources``):

    E = max(0, 1 - error_rate / 0.10)          5xx share: 0% -> 1, 10% or more -> 0
    L = 1 if p95 <= T else max(0, 1 - (p95 - T) / (3 T))    T = GATEWAY_LATENCY_TARGET_SECONDS
    A = targets_available / targets_total      (1 when the service has no target state)
    score = round(100 * (0.4 E + 0.3 L + 0.3 A)), and 0 when no target is available

A service without traffic in the window has E = L = 1. The overall score is the mean of the
service scores weighted by their requests in the window (each service counts at least once), so an
idle service cannot hide a busy one's trouble.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proxy.metrics.sources import ServiceState

ERROR_RATE_ZERO = 0.10
LATENCY_ZERO_FACTOR = 3.0
WEIGHTS = (0.4, 0.3, 0.3)  # errors, latency, availability


@dataclass(frozen=True, slots=True)
class Score:
    score: int
    errors: float
    latency: float
    availability: float


def score_service(window: dict[str, Any] | None, state: ServiceState | None, target_seconds: float) -> Score:
    errors = latency = availability = 1.0
    if window and window["requests"]:
        errors = max(0.0, 1.0 - window["error_rate"] / ERROR_RATE_ZERO)
        p95 = (window["p95_ms"] or 0.0) / 1000
        if p95 > target_seconds:
            latency = max(0.0, 1.0 - (p95 - target_seconds) / (LATENCY_ZERO_FACTOR * target_seconds))
    if state is not None and state.targets_total:
        availability = state.targets_available / state.targets_total
    value = 100 * (WEIGHTS[0] * errors + WEIGHTS[1] * latency + WEIGHTS[2] * availability)
    if state is not None and state.targets_total and not state.targets_available:
        value = 0.0
    return Score(round(value), round(errors, 3), round(latency, 3), round(availability, 3))


def overall(scores: dict[str, Score], requests: dict[str, int]) -> int | None:
    if not scores:
        return None
    weights = {name: max(requests.get(name, 0), 1) for name in scores}
    total = sum(weights.values())
    return round(sum(scores[name].score * weights[name] for name in scores) / total)
