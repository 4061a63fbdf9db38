"""The circuit breaker's state machine: pure functions of (state, settings, now), no I/O, no clock.

    closed ──(N consecutive failures, or failure ratio over >= min calls in the window)──> open
    open ──(open period over, at the next request)──> half_open
    half_open ──(a probe fails, or a probe outlives its lease)──> open (period doubled, up to a cap)
    half_open ──(M probes succeeded)──> closed

Half-open admits at most ``half_open_probes`` probes at a time; a probe that succeeds frees its
slot. ``breaker/backends.py`` runs the same machine in memory and, as a Lua script, in Redis: the two
must stay in step (tests/breaker/test_backends_agree.py runs the same scenarios on both).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

# Retry-After for a request refused because every half-open probe slot is taken.
PROBE_BUSY_RETRY = 1.0


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    failures: int = 5  # consecutive failures that open the breaker; 0 turns this rule off
    failure_ratio: float = 0.0  # share of failed calls that opens it; 0 turns this rule off
    min_calls: int = 20  # calls in the window before the ratio rule applies
    window: float = 10.0  # seconds over which the ratio rule counts calls
    open_seconds: float = 5.0  # first open period; doubled at each trip without a close between
    max_open_seconds: float = 60.0
    half_open_probes: int = 1
    half_open_successes: int = 1
    probe_timeout: float = 65.0  # a probe not reported within this counts as failed

    def open_period(self, trips: int) -> float:
        return float(min(self.open_seconds * (2 ** min(trips, 30)), self.max_open_seconds))


@dataclass(frozen=True, slots=True)
class BreakerState:
    state: str = CLOSED
    failures: int = 0  # consecutive
    calls: int = 0  # in the current window
    failed_calls: int = 0
    window_start: float = 0.0
    open_until: float = 0.0
    trips: int = 0  # opens since the last close, for the back-off
    probes: int = 0  # probes in flight
    successes: int = 0  # probe successes in this half-open period
    probe_deadline: float = 0.0


@dataclass(frozen=True, slots=True)
class Transition:
    from_state: str
    to_state: str
    reason: str


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    probe: bool = False
    retry_after: float = 0.0
    state: str = CLOSED
    failures: int = 0  # consecutive failures when admitted: a success on a clean breaker changes nothing


def admit(s: BreakerState, cfg: BreakerSettings, now: float) -> tuple[BreakerState, Admission, Transition | None]:
    """May a request go to this target now? Returns the new state, the answer and any transition."""
    if s.state == CLOSED:
        return s, Admission(True, state=CLOSED, failures=s.failures), None
    transition = None
    if s.state == OPEN:
        if now < s.open_until:
            return s, Admission(False, retry_after=s.open_until - now, state=OPEN), None
        s = replace(s, state=HALF_OPEN, probes=0, successes=0)
        transition = Transition(OPEN, HALF_OPEN, "open period over")
    if s.probes < cfg.half_open_probes:
        s = replace(s, probes=s.probes + 1, probe_deadline=now + cfg.probe_timeout)
        return s, Admission(True, probe=True, state=HALF_OPEN), transition
    if now >= s.probe_deadline:
        s = _trip(s, cfg, now)
        return (
            s,
            Admission(False, retry_after=s.open_until - now, state=OPEN),
            Transition(HALF_OPEN, OPEN, "probe timed out"),
        )
    return s, Admission(False, retry_after=PROBE_BUSY_RETRY, state=HALF_OPEN), transition


def record(
    s: BreakerState, cfg: BreakerSettings, now: float, failed: bool, probe: bool
) -> tuple[BreakerState, Transition | None]:
    """Count one finished request. Outcomes of requests admitted under an older state are ignored."""
    if s.state == CLOSED:
        calls, failed_calls, start = s.calls, s.failed_calls, s.window_start
        if now - start >= cfg.window:
            calls, failed_calls, start = 0, 0, now
        calls += 1
        if not failed:
            return replace(s, failures=0, calls=calls, failed_calls=failed_calls, window_start=start), None
        failures, failed_calls = s.failures + 1, failed_calls + 1
        if cfg.failures and failures >= cfg.failures:
            return _trip(s, cfg, now), Transition(CLOSED, OPEN, f"{failures} consecutive failures")
        if cfg.failure_ratio and calls >= cfg.min_calls and failed_calls / calls >= cfg.failure_ratio:
            return _trip(s, cfg, now), Transition(CLOSED, OPEN, f"{failed_calls} of {calls} calls failed")
        return replace(s, failures=failures, calls=calls, failed_calls=failed_calls, window_start=start), None
    if s.state == HALF_OPEN and probe:
        if failed:
            return _trip(s, cfg, now), Transition(HALF_OPEN, OPEN, "probe failed")
        successes = s.successes + 1
        if successes >= cfg.half_open_successes:
            return BreakerState(window_start=now), Transition(HALF_OPEN, CLOSED, f"{successes} probes succeeded")
        return replace(s, successes=successes, probes=max(s.probes - 1, 0)), None
    return s, None


def _trip(s: BreakerState, cfg: BreakerSettings, now: float) -> BreakerState:
    return BreakerState(state=OPEN, open_until=now + cfg.open_period(s.trips), trips=s.trips + 1, window_start=now)
