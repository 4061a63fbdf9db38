"""Boot checks of the observability settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test.utils import override_settings

from proxy.metrics.checks import check_metrics


def _ids() -> set[str]:
    return {m.id for m in check_metrics() if m.id}


@override_settings(GATEWAY_METRICS_TOKEN="short")
def test_a_short_metrics_token_is_warned_about() -> None:
    assert "observability.W001" in _ids()


@override_settings(GATEWAY_METRICS_TOKEN="a-long-enough-random-token-value")
def test_a_long_token_passes() -> None:
    assert "observability.W001" not in _ids()


def test_a_missing_multiprocess_directory_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "absent"))
    assert "observability.E001" in _ids()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert "observability.E001" not in _ids()
