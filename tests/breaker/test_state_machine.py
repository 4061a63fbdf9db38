"""The pure state machine, with time moved by hand."""

from __future__ import annotations

from breaker.state import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    PROBE_BUSY_RETRY,
    BreakerSettings,
    BreakerState,
    admit,
    record,
)

CFG = BreakerSettings(failures=3, open_seconds=10, max_open_seconds=35, half_open_probes=2, half_open_successes=2)


def fail(s: BreakerState, now: float, cfg: BreakerSettings = CFG, probe: bool = False) -> BreakerState:
    return record(s, cfg, now, failed=True, probe=probe)[0]


def opened(now: float = 0.0) -> BreakerState:
    s = BreakerState()
    for _ in range(3):
        s = fail(s, now)
    return s


def test_it_opens_after_exactly_the_consecutive_failures() -> None:
    s = fail(fail(BreakerState(), 0), 0)
    assert s.state == CLOSED
    s, transition = record(s, CFG, 0, failed=True, probe=False)
    assert s.state == OPEN
    assert transition is not None and (transition.from_state, transition.to_state) == (CLOSED, OPEN)
    assert transition.reason == "3 consecutive failures"


def test_a_success_resets_the_consecutive_count() -> None:
    s = fail(fail(BreakerState(), 0), 0)
    s = record(s, CFG, 0, failed=False, probe=False)[0]
    s = fail(fail(s, 0), 0)
    assert s.state == CLOSED


def test_it_refuses_while_open_with_the_time_left() -> None:
    _, answer, transition = admit(opened(100.0), CFG, 104.0)
    assert not answer.allowed and answer.retry_after == 6.0 and transition is None


def test_it_opens_on_the_failure_ratio_only_after_the_minimum_calls() -> None:
    cfg = BreakerSettings(failures=0, failure_ratio=0.5, min_calls=4, window=10)
    s = BreakerState()
    for failed in (True, False, True):
        s = record(s, cfg, 1.0, failed=failed, probe=False)[0]
    assert s.state == CLOSED  # 2 of 3, under the minimum
    s, transition = record(s, cfg, 1.0, failed=False, probe=False)
    assert s.state == CLOSED  # 2 of 4 = 0.5 but the last call succeeded: the rule is checked on failures
    s, transition = record(s, cfg, 1.0, failed=True, probe=False)
    assert s.state == OPEN and transition is not None and transition.reason == "3 of 5 calls failed"


def test_the_ratio_window_starts_again_after_it_ends() -> None:
    cfg = BreakerSettings(failures=0, failure_ratio=0.5, min_calls=4, window=10)
    s = BreakerState(window_start=0.0)
    for _ in range(3):
        s = record(s, cfg, 1.0, failed=True, probe=False)[0]
    s = record(s, cfg, 11.0, failed=True, probe=False)[0]  # new window: 1 of 1
    assert s.state == CLOSED and s.calls == 1


def test_half_open_admits_exactly_n_probes_then_refuses() -> None:
    s = opened(0.0)
    s, first, transition = admit(s, CFG, 10.0)
    assert first.allowed and first.probe and transition is not None and transition.to_state == HALF_OPEN
    s, second, _ = admit(s, CFG, 10.0)
    assert second.allowed and second.probe
    s, third, _ = admit(s, CFG, 10.0)
    assert not third.allowed and third.retry_after == PROBE_BUSY_RETRY and s.state == HALF_OPEN


def test_it_closes_after_m_probe_successes() -> None:
    s = opened(0.0)
    s, _, _ = admit(s, CFG, 10.0)
    s, _, _ = admit(s, CFG, 10.0)
    s, transition = record(s, CFG, 10.5, failed=False, probe=True)
    assert s.state == HALF_OPEN and transition is None
    s, transition = record(s, CFG, 10.6, failed=False, probe=True)
    assert s.state == CLOSED and transition is not None and transition.reason == "2 probes succeeded"
    assert s.trips == 0


def test_a_successful_probe_frees_its_slot() -> None:
    s = opened(0.0)
    s, _, _ = admit(s, CFG, 10.0)
    s, _, _ = admit(s, CFG, 10.0)
    s, _ = record(s, CFG, 10.5, failed=False, probe=True)
    s, answer, _ = admit(s, CFG, 10.6)
    assert answer.allowed and answer.probe


def test_a_failed_probe_reopens_with_a_doubled_period_up_to_the_cap() -> None:
    s = opened(0.0)
    assert s.open_until == 10.0
    s, _, _ = admit(s, CFG, 10.0)
    s, transition = record(s, CFG, 11.0, failed=True, probe=True)
    assert s.state == OPEN and s.open_until == 31.0 and transition is not None and transition.reason == "probe failed"
    s, _, _ = admit(s, CFG, 31.0)
    s = fail(s, 31.0, probe=True)
    assert s.open_until == 31.0 + 35.0  # 40 capped at 35


def test_a_probe_that_outlives_its_lease_counts_as_failed() -> None:
    cfg = BreakerSettings(failures=1, open_seconds=10, half_open_probes=1, probe_timeout=5)
    s = fail(BreakerState(), 0.0, cfg)
    s, probe, _ = admit(s, cfg, 10.0)
    assert probe.allowed
    s, answer, _ = admit(s, cfg, 14.9)
    assert not answer.allowed and s.state == HALF_OPEN
    s, answer, transition = admit(s, cfg, 15.0)
    assert not answer.allowed and s.state == OPEN and answer.retry_after == 20.0
    assert transition is not None and transition.reason == "probe timed out"


def test_outcomes_of_requests_admitted_before_the_breaker_opened_are_ignored() -> None:
    s = opened(0.0)
    assert record(s, CFG, 1.0, failed=True, probe=False) == (s, None)
    s, _, _ = admit(s, CFG, 10.0)
    assert record(s, CFG, 10.1, failed=True, probe=False) == (s, None)  # not a probe
