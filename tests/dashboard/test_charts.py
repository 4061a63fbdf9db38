"""The dashboard's pieces that need no database: the hour-long timeline and the SVG charts."""

from __future__ import annotations

import re

from gateway_project.dashboard.charts import Line, line_chart, nice_ceiling
from proxy.metrics.windows import SLOT_SECONDS, Windows, timeline


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_timeline_splits_the_last_hour_into_minutes_and_keeps_an_hour_of_slots() -> None:
    start = float(SLOT_SECONDS * 100_000)
    clock = Clock(start)
    windows = Windows(clock)
    for _ in range(120):
        windows.add("shop", 0.02, error=False)
    clock.now += 50 * 60  # fifty minutes later: still inside the hour
    for _ in range(30):
        windows.add("shop", 0.2, error=True)
    points = timeline(windows.snapshot()["shop"], clock.now + 5, 3600, 60)
    assert len(points) == 60
    assert [p["at"] for p in points] == sorted(p["at"] for p in points)
    assert sum(p["requests"] for p in points) == 150
    first = next(p for p in points if p["requests"] == 120)
    assert first["rps"] == 2.0 and first["error_rate"] == 0.0 and 15 <= first["p95_ms"] <= 26
    last = points[-1]
    assert last["requests"] == 30 and last["error_rate"] == 1.0 and last["p95_ms"] > 150
    assert [p["p95_ms"] for p in points if p["requests"] == 0] == [None] * 58


def test_the_fifteen_minute_timeline_has_a_point_per_slot() -> None:
    clock = Clock(float(SLOT_SECONDS * 100_000))
    windows = Windows(clock)
    windows.add("shop", 0.01, error=False)
    points = timeline(windows.snapshot()["shop"], clock.now, 900, SLOT_SECONDS)
    assert len(points) == 90 and points[-1]["requests"] == 1 and points[-1]["at"] == clock.now


def test_an_axis_ends_at_a_round_number_above_the_highest_value() -> None:
    assert [nice_ceiling(v) for v in (0, 0.7, 1, 3, 4.2, 7, 12, 260)] == [1, 1, 1, 5, 5, 10, 20, 500]


def test_a_chart_draws_a_line_per_service_with_gaps_where_there_were_no_requests() -> None:
    lines = [Line("shop", [(0, 1.0), (10, None), (20, 3.0), (30, 4.0)]), Line("idle", [(0, None), (30, None)])]
    svg = str(line_chart("Traffic", lines, 0, 30, str))
    shop = re.search(r'<path d="([^"]+)"[^>]*data-service="shop" data-latest="4.0"', svg)
    assert shop is not None
    assert shop.group(1).count("M") == 2 and shop.group(1).count("L") == 1  # a gap after the first point
    assert shop.group(1).split(" ")[0].endswith("h0.1")  # a lone point is drawn as a dot
    assert 'data-service="idle" data-latest=""' in svg
    assert svg.startswith("<svg") and "5</text>" in svg  # the axis' top: 5 above a highest value of 4


def test_a_chart_without_requests_says_so_and_names_are_escaped() -> None:
    svg = str(line_chart("Traffic", [Line("<b>x</b>", [(0, None)])], 0, 30, str))
    assert "no requests" in svg and "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
