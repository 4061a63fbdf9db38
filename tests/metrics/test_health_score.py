"""The health score formula (docs/observability.md, proxy/metrics/score.py)."""

from __future__ import annotations

from proxy.metrics.score import overall, score_service
from proxy.metrics.sources import ServiceState


def _window(requests: int = 100, error_rate: float = 0.0, p95_ms: float = 10.0) -> dict[str, float]:
    return {"requests": requests, "error_rate": error_rate, "p95_ms": p95_ms}


def _state(total: int = 2, available: int = 2) -> ServiceState:
    return ServiceState("Shop", total, available, total - available, "healthy")


def test_a_healthy_fast_service_scores_100() -> None:
    assert score_service(_window(), _state(), 0.5).score == 100


def test_an_idle_service_with_its_targets_up_scores_100() -> None:
    assert score_service(None, _state(), 0.5).score == 100


def test_errors_cost_up_to_40_points_at_ten_percent() -> None:
    assert score_service(_window(error_rate=0.05), _state(), 0.5).score == 80
    assert score_service(_window(error_rate=0.10), _state(), 0.5).score == 60
    assert score_service(_window(error_rate=0.50), _state(), 0.5).score == 60


def test_latency_over_target_costs_up_to_30_points_at_four_times_it() -> None:
    assert score_service(_window(p95_ms=500), _state(), 0.5).score == 100
    assert score_service(_window(p95_ms=1250), _state(), 0.5).score == 85
    assert score_service(_window(p95_ms=2000), _state(), 0.5).score == 70


def test_unavailable_targets_cost_their_share_and_none_left_is_zero() -> None:
    assert score_service(_window(), _state(total=4, available=2), 0.5).score == 85
    assert score_service(_window(), _state(total=2, available=0), 0.5).score == 0


def test_the_overall_score_weights_services_by_traffic() -> None:
    scores = {"busy": score_service(_window(error_rate=0.10), _state(), 0.5), "idle": score_service(None, None, 0.5)}
    assert overall(scores, {"busy": 99, "idle": 0}) == 60 * 99 // 100 + 1  # 99 x 60 + 1 x 100, / 100
    assert overall({}, {}) is None
