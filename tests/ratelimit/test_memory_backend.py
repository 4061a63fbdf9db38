"""The in-memory counters on a clock the tests move: both algorithms, several counters at once, shadow."""

from __future__ import annotations

import random

import pytest

from ratelimit.algorithms import GCRA, SLIDING_WINDOW, Limit
from ratelimit.backends import Check, MemoryBackend
from tests.ratelimit.clock import MovableClock

SECOND = 1_000_000


def window(limit: int, period: int) -> Limit:
    return Limit(SLIDING_WINDOW, limit, period * SECOND)


def bucket(limit: int, period: int, burst: int = 0) -> Limit:
    return Limit(GCRA, limit, period * SECOND, burst)


def backend_at_window_start(period: int) -> tuple[MemoryBackend, MovableClock]:
    clock = MovableClock(1_800_000_000.0 - 1_800_000_000.0 % period)
    return MemoryBackend(clock), clock


def test_a_sliding_window_admits_exactly_the_limit_then_refuses_with_retry_after() -> None:
    backend, _clock = backend_at_window_start(60)
    check = Check("k", window(5, 60))
    verdicts = [backend.check_now([check])[0] for _ in range(7)]
    assert [v.admitted for v in verdicts] == [True] * 5 + [False] * 2
    assert [v.remaining for v in verdicts[:5]] == [4, 3, 2, 1, 0]
    assert verdicts[0].reset_ms == 60_000
    # All five came at the window's start: they leave the rolling window exactly one period later.
    assert verdicts[5].retry_ms == 60_000


def test_a_sliding_window_weights_the_previous_window_by_its_overlap() -> None:
    backend, clock = backend_at_window_start(60)
    check = Check("k", window(10, 60))
    for _ in range(10):  # one every 6 s: the last at 54 s
        assert backend.check_now([check])[0].admitted
        clock.advance(6)
    clock.advance(30)  # half-way through the next window: the old 10, spread over 54 s, weigh 10 * 24/54
    admitted = [backend.check_now([check])[0].admitted for _ in range(6)]
    assert admitted == [True] * 5 + [False]
    clock.advance(15)  # at 45 s they weigh 10 * 9/54 = 1.7, plus 5 new = 6.7
    assert [backend.check_now([check])[0].admitted for _ in range(4)] == [True, True, True, False]


def test_a_sliding_window_forgets_everything_after_two_periods() -> None:
    backend, clock = backend_at_window_start(10)
    check = Check("k", window(2, 10))
    assert [backend.check_now([check])[0].admitted for _ in range(3)] == [True, True, False]
    clock.advance(20)
    assert [backend.check_now([check])[0].admitted for _ in range(3)] == [True, True, False]


def test_the_retry_after_of_a_sliding_window_is_when_a_request_is_admitted_again() -> None:
    backend, clock = backend_at_window_start(60)
    check = Check("k", window(4, 60))
    for _ in range(4):
        backend.check_now([check])
    refused = backend.check_now([check])[0]
    clock.advance(refused.retry_ms / 1000 - 0.01)
    assert not backend.check_now([check])[0].admitted
    clock.advance(0.01)
    assert backend.check_now([check])[0].admitted


def test_gcra_admits_the_limit_at_once_then_one_request_per_interval() -> None:
    backend, clock = backend_at_window_start(60)
    check = Check("k", bucket(6, 60))  # one request per 10 s, bucket of 6
    verdicts = [backend.check_now([check])[0] for _ in range(7)]
    assert [v.admitted for v in verdicts] == [True] * 6 + [False]
    assert [v.remaining for v in verdicts[:6]] == [5, 4, 3, 2, 1, 0]
    assert verdicts[5].reset_ms == 60_000
    assert verdicts[6].retry_ms == 10_000
    clock.advance(9.9)
    assert not backend.check_now([check])[0].admitted
    clock.advance(0.1)
    assert backend.check_now([check])[0].admitted
    assert not backend.check_now([check])[0].admitted


def test_gcra_burst_sets_the_bucket_size_independently_of_the_rate() -> None:
    backend, clock = backend_at_window_start(60)
    check = Check("k", bucket(60, 60, burst=3))  # one per second, at most 3 at once
    assert [backend.check_now([check])[0].admitted for _ in range(4)] == [True, True, True, False]
    clock.advance(2)
    assert [backend.check_now([check])[0].admitted for _ in range(3)] == [True, True, False]
    clock.advance(100)  # a long pause refills the bucket to 3, never more
    assert [backend.check_now([check])[0].admitted for _ in range(4)] == [True, True, True, False]


def test_a_refusal_by_one_counter_consumes_none_of_the_others() -> None:
    backend, _clock = backend_at_window_start(60)
    wide, narrow = Check("wide", window(100, 60)), Check("narrow", bucket(2, 60))
    answers = [backend.check_now([wide, narrow]) for _ in range(5)]
    assert [(a.admitted, b.admitted) for a, b in answers] == [(True, True)] * 2 + [(True, False)] * 3
    assert backend.check_now([wide])[0].remaining == 100 - 3  # only the two admitted requests counted


def test_a_shadow_counter_never_refuses_and_counts_would_have_limited_per_consumer() -> None:
    backend, _clock = backend_at_window_start(60)
    enforced = Check("enforced", window(100, 60))
    shadow = Check("shadow", window(2, 60), shadow_key="stats", shadow_field="shop")
    answers = [backend.check_now([enforced, shadow]) for _ in range(5)]
    assert [a.admitted for a, _ in answers] == [True] * 5
    assert [s.admitted for _, s in answers] == [True, True, False, False, False]
    assert backend.shadow == {"stats": {"shop": 3}}


def test_a_scaled_limit_splits_the_quota_across_processes_but_keeps_at_least_one() -> None:
    assert window(100, 60).scaled(4).limit == 25
    assert window(3, 60).scaled(4).limit == 1
    assert bucket(100, 60, burst=10).scaled(4).burst == 2


def test_expired_counters_are_pruned() -> None:
    backend, clock = backend_at_window_start(10)
    backend.check_now([Check("a", window(5, 10)), Check("b", bucket(5, 10))])
    clock.advance(25)
    backend.prune(int(clock() * 1_000_000))
    assert backend.states == {}


def test_the_worst_case_of_a_sliding_window_is_twice_the_limit_less_one_in_a_rolling_period() -> None:
    """What docs/rate-limiting.md promises, exactly: the previous window's requests all at its end."""
    backend, clock = backend_at_window_start(60)
    check = Check("k", window(5, 60))
    clock.advance(59.9)
    times = []
    for _ in range(6):
        if backend.check_now([check])[0].admitted:
            times.append(clock.now)
    for _ in range(600):  # then one try every 0.1 s through the next window
        clock.advance(0.1)
        if backend.check_now([check])[0].admitted:
            times.append(clock.now)
    most = max(sum(1 for t in times if start <= t < start + 60) for start in times)
    assert most == 2 * 5 - 1


def test_the_worst_case_of_gcra_is_its_burst_plus_the_limit_less_one_in_a_rolling_period() -> None:
    backend, clock = backend_at_window_start(60)
    check = Check("k", bucket(5, 60, burst=3))
    times = []
    for _ in range(1200):  # one try every 0.1 s for two periods
        if backend.check_now([check])[0].admitted:
            times.append(clock.now)
        clock.advance(0.1)
    most = max(sum(1 for t in times if start <= t < start + 60) for start in times)
    assert most == 3 + 5 - 1


@pytest.mark.parametrize("algorithm", [SLIDING_WINDOW, GCRA])
@pytest.mark.parametrize("seed", range(20))
def test_retry_after_never_exceeds_the_period_and_is_when_a_request_is_admitted_again(
    algorithm: str, seed: int
) -> None:
    rng = random.Random(seed)
    period = rng.choice([1, 2, 10, 60])
    limit = Limit(algorithm, rng.randint(1, 12), period * SECOND, rng.choice([0, 1, 3]) if algorithm == GCRA else 0)
    backend, clock = backend_at_window_start(period)
    check = Check("k", limit)
    for _ in range(300):
        clock.advance(rng.choice([0.0, 0.001, period / 50, period / 7, period / 2]))
        verdict = backend.check_now([check])[0]
        if verdict.admitted:
            continue
        assert 0 < verdict.retry_ms <= period * 1000, (limit, verdict)
        later = clock.now + verdict.retry_ms / 1000 + 2e-6  # (2 µs: the float clock's precision)
        probe = MemoryBackend(MovableClock(later))
        probe.states = dict(backend.states)
        assert probe.check_now([check])[0].admitted, (limit, verdict)  # waiting as told is enough
