"""Rolling per-service windows: percentiles, req/s and error rates over 1, 5 and 15 minutes, merged
across worker processes through their files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from proxy.metrics.windows import SLOT_SECONDS, Windows, quantile, summarize


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_percentiles_come_from_the_buckets_within_their_resolution() -> None:
    clock = Clock(10_000.0)
    windows = Windows(clock)
    for ms in range(1, 101):  # 1 ms .. 100 ms, evenly
        windows.add("shop", ms / 1000, error=False)
    figures = summarize(windows.snapshot()["shop"], clock.now)["1m"]
    assert figures["requests"] == 100
    assert abs(figures["p50_ms"] - 50) <= 50 * 0.26
    assert abs(figures["p95_ms"] - 95) <= 95 * 0.26
    assert abs(figures["p99_ms"] - 99) <= 99 * 0.26


def test_old_requests_leave_the_short_window_but_stay_in_the_long_one() -> None:
    clock = Clock(100_000.0)
    windows = Windows(clock)
    for _ in range(60):
        windows.add("shop", 0.01, error=True)
    clock.now += 4 * 60  # four minutes later
    for _ in range(30):
        windows.add("shop", 0.01, error=False)
    figures = summarize(windows.snapshot()["shop"], clock.now)
    assert figures["1m"]["requests"] == 30 and figures["1m"]["errors"] == 0
    assert figures["5m"]["requests"] == 90 and figures["5m"]["errors"] == 60
    assert figures["5m"]["error_rate"] == round(60 / 90, 4)
    clock.now += 16 * 60
    assert summarize(windows.snapshot().get("shop", {}), clock.now)["15m"]["requests"] == 0


def test_requests_per_second_divide_by_the_time_covered() -> None:
    clock = Clock(float(SLOT_SECONDS * 1000))
    windows = Windows(clock)
    for second in range(60):
        clock.now = SLOT_SECONDS * 1000 + second
        for _ in range(5):
            windows.add("shop", 0.002, error=False)
    rps = summarize(windows.snapshot()["shop"], clock.now + 1)["1m"]["rps"]
    assert 4.5 <= rps <= 5.5


def test_a_reader_merges_the_other_workers_files(tmp_path: Path) -> None:
    clock = Clock(50_000.0)
    mine = Windows(clock)
    for _ in range(10):
        mine.add("shop", 0.005, error=False)
    other = Windows(clock)
    for _ in range(5):
        other.add("shop", 0.005, error=True)
    other.write(str(tmp_path))
    # The file is named after this process; pretend another worker wrote it.
    (tmp_path / f"perf_{os.getpid()}.json").rename(tmp_path / "perf_999999.json")
    merged = mine.gather(str(tmp_path))
    figures = summarize(merged["shop"], clock.now)["1m"]
    assert figures["requests"] == 15 and figures["errors"] == 5


def test_a_broken_or_stale_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "perf_1.json").write_text("{not json")
    stale = tmp_path / "perf_2.json"
    stale.write_text(json.dumps({"shop": {"1": [1] * 51}}))
    os.utime(stale, (0, 0))
    assert Windows(Clock(1.0)).gather(str(tmp_path)) == {}


def test_an_empty_histogram_has_no_percentile() -> None:
    assert quantile([0, 0, 0], 0.5) is None
