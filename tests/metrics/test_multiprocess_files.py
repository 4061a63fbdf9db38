"""Multiprocess mode: a worker that died without cleaning up loses its live gauges, keeps its counters."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from proxy.metrics import exposition, multiproc
from tests.metrics.scrape import parse, value

WORKER = """
from prometheus_client import Counter, Gauge
Gauge("demo_in_flight", "x", multiprocess_mode="livesum").set(3)
Counter("demo_requests", "x").inc(5)
"""


def test_a_dead_workers_live_gauge_goes_and_its_counter_stays(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(multiproc.ENV, str(tmp_path))
    subprocess.run([sys.executable, "-c", WORKER], check=True, env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert list(tmp_path.glob("gauge_livesum_*.db"))
    samples = parse(exposition.text().decode())
    assert value(samples, "demo_requests_total") == 5
    assert value(samples, "demo_in_flight") == 0
    assert not list(tmp_path.glob("gauge_livesum_*.db"))


def test_prepare_directory_empties_what_a_previous_run_left(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(multiproc.ENV, "")  # undone after the test, whatever prepare_directory sets
    old = tmp_path / "metrics"
    old.mkdir()
    (old / "counter_123.db").write_bytes(b"old")
    multiproc.prepare_directory(old)
    assert list(old.iterdir()) == []
    assert multiproc.directory() == str(old)
