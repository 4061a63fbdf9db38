"""The load balancers of ``proxy.balancer``, on their own."""

from __future__ import annotations

from collections import Counter

import pytest

from proxy.balancer import LeastConnections, RoundRobin, WeightedRandom, make_balancer


def picks(
    balancer: RoundRobin | LeastConnections | WeightedRandom, n: int, exclude: set[int] | None = None
) -> list[int]:
    return [balancer.pick(exclude or set()) for _ in range(n)]


# --- Smooth weighted round-robin ----------------------------------------------------------------


def test_round_robin_gives_each_target_exactly_its_weight_in_every_cycle() -> None:
    rr = RoundRobin([5, 1, 1])

    for _ in range(10):
        cycle = picks(rr, 7)
        assert Counter(cycle) == {0: 5, 1: 1, 2: 1}


def test_round_robin_is_smooth_like_nginx() -> None:
    assert picks(RoundRobin([5, 1, 1]), 7) == [0, 0, 1, 0, 2, 0, 0]
    assert picks(RoundRobin([3, 1]), 8) == [0, 0, 1, 0] * 2


def test_round_robin_with_equal_weights_alternates() -> None:
    assert picks(RoundRobin([100, 100, 100]), 6) == [0, 1, 2, 0, 1, 2]


@pytest.mark.parametrize("weights", [[3, 2], [7, 3, 1], [1, 1000], [10, 20, 30, 40]])
def test_round_robin_distribution_is_exact_over_a_full_cycle(weights: list[int]) -> None:
    rr = RoundRobin(weights)
    cycle = sum(weights)

    counts = Counter(picks(rr, cycle * 3))

    assert counts == {i: w * 3 for i, w in enumerate(weights)}


def test_round_robin_skips_excluded_targets() -> None:
    rr = RoundRobin([1, 1, 1])

    assert set(picks(rr, 9, exclude={1})) == {0, 2}
    assert rr.pick({0, 1}) == 2
    assert rr.pick({0, 1, 2}) == -1


def test_round_robin_never_picks_a_zero_weight_target() -> None:
    assert set(picks(RoundRobin([0, 4, 0, 1]), 50)) == {1, 3}
    assert RoundRobin([0, 0]).pick() == -1
    assert RoundRobin([0]).pick() == -1
    assert RoundRobin([]).pick() == -1


def test_round_robin_with_one_target_always_picks_it_unless_it_was_tried() -> None:
    rr = RoundRobin([3])
    assert picks(rr, 3) == [0, 0, 0]
    assert rr.pick({0}) == -1


def test_round_robin_keeps_its_proportions_after_retries_that_exclude_a_target() -> None:
    rr = RoundRobin([1, 1])
    rr.pick({0})  # a retry that had to skip target 0
    counts = Counter(picks(rr, 100))
    assert abs(counts[0] - counts[1]) <= 2


# --- Least connections --------------------------------------------------------------------------


def test_least_connections_prefers_the_target_with_fewest_requests_in_flight() -> None:
    lc = LeastConnections([1, 1, 1])
    lc.started(0)
    lc.started(0)
    lc.started(1)

    assert picks(lc, 5) == [2] * 5
    lc.started(2)
    lc.started(2)
    assert lc.pick() == 1
    lc.finished(0)
    lc.finished(0)
    assert lc.pick() == 0


def test_least_connections_weighs_requests_in_flight_by_weight() -> None:
    lc = LeastConnections([3, 1])
    for _ in range(2):
        lc.started(0)  # load 2/3
    assert lc.pick() == 1  # load 0
    lc.started(1)  # load 1/1
    assert lc.pick() == 0


def test_least_connections_rotates_between_equally_loaded_targets() -> None:
    lc = LeastConnections([1, 1, 1])
    assert sorted(picks(lc, 3)) == [0, 1, 2]
    assert Counter(picks(lc, 30)) == {0: 10, 1: 10, 2: 10}


def test_least_connections_tracks_a_full_request_lifecycle() -> None:
    lc = LeastConnections([1, 1])
    first = lc.pick()
    lc.started(first)
    second = lc.pick()
    lc.started(second)
    assert {first, second} == {0, 1}
    lc.finished(first)
    assert lc.pick() == first
    assert lc.in_flight == ([0, 1] if first == 0 else [1, 0])


def test_least_connections_skips_excluded_and_zero_weight_targets() -> None:
    lc = LeastConnections([1, 0, 1])
    assert set(picks(lc, 10)) == {0, 2}
    lc.started(2)
    lc.started(2)
    assert lc.pick({0}) == 2
    assert lc.pick({0, 2}) == -1
    assert LeastConnections([]).pick() == -1
    assert LeastConnections([0]).pick() == -1


# --- Weighted random ----------------------------------------------------------------------------


def test_weighted_random_respects_zero_weights_and_exclusions() -> None:
    wr = WeightedRandom([1, 0, 1])
    assert set(picks(wr, 200)) == {0, 2}
    assert set(picks(wr, 50, exclude={0})) == {2}
    assert wr.pick({0, 2}) == -1
    assert WeightedRandom([]).pick() == -1


def test_weighted_random_follows_the_weights_roughly() -> None:
    counts = Counter(picks(WeightedRandom([9, 1]), 5000))
    assert 0.85 < counts[0] / 5000 < 0.95


# --- Factory ------------------------------------------------------------------------------------


def test_make_balancer_picks_the_algorithm_and_defaults_to_round_robin() -> None:
    assert isinstance(make_balancer("round_robin", [1]), RoundRobin)
    assert isinstance(make_balancer("least_connections", [1]), LeastConnections)
    assert isinstance(make_balancer("random", [1]), WeightedRandom)
    assert isinstance(make_balancer("something-new", [1]), RoundRobin)
