"""Line charts as inline SVG, drawn on the server: one line per service, gaps where a service had
no requests (a p95 without requests is unknown, not zero)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT = 560, 190
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 10, 24
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777")


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    points: Sequence[tuple[float, float | None]]  # (Unix seconds, value or None)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value`` (an axis' top)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-12:
            return float(step * power)
    return float(10 * power)


def _clock(at: float) -> str:
    return time.strftime("%H:%M", time.localtime(at))


def line_chart(
    title: str, lines: Sequence[Line], start: float, end: float, label: Callable[[float], str]
) -> SafeString:
    values = [v for line in lines for _, v in line.points if v is not None]
    top = nice_ceiling(max(values, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max(end - start, 1.0)

    def x(at: float) -> float:
        return LEFT + plot_w * min(max((at - start) / span, 0.0), 1.0)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" class="grid"/>'
        '<text x="{}" y="{}" class="axis" text-anchor="end">{}</text>',
        ((LEFT, WIDTH - RIGHT, _f(y(v)), _f(y(v)), LEFT - 4, _f(y(v) + 4), label(v)) for v in (0, top / 2, top)),
    )
    edges = ((start, "start"), ((start + end) / 2, "middle"), (end, "end"))
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" class="axis" text-anchor="{}">{}</text>',
        ((_f(x(at)), HEIGHT - 6, anchor, _clock(at)) for at, anchor in edges),
    )
    drawn = []
    for n, line in enumerate(lines):
        commands: list[str] = []
        pen_down = False
        for at, value in line.points:
            if value is None:
                pen_down = False
                continue
            if not pen_down and commands and commands[-1].startswith("M"):
                commands[-1] += "h0.1"  # a lone point: a dot (round caps), not an invisible line
            commands.append(f"{'L' if pen_down else 'M'}{_f(x(at))},{_f(y(value))}")
            pen_down = True
        if commands and commands[-1].startswith("M"):
            commands[-1] += "h0.1"
        latest = next((v for _, v in reversed(line.points) if v is not None), None)
        shown = "-" if latest is None else label(latest)
        colour = PALETTE[n % len(PALETTE)]
        drawn.append(
            (" ".join(commands) or "M0,0", colour, line.name, "" if latest is None else latest, line.name, shown)
        )
    paths = format_html_join(
        "",
        '<path d="{}" stroke="{}" class="series" data-service="{}" data-latest="{}"><title>{}: {}</title></path>',
        drawn,
    )
    empty = SafeString("")
    if not values:
        empty = format_html(
            '<text x="{}" y="{}" class="empty" text-anchor="middle">no requests</text>',
            _f(LEFT + plot_w / 2),
            _f(TOP + plot_h / 2),
        )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}"><title>{}</title>{}{}{}{}</svg>',
        WIDTH, HEIGHT, title, title, grid, ticks, paths, empty,
    )  # fmt: skip


def _f(value: float) -> str:
    return f"{value:.1f}"


def legend(names: Sequence[str]) -> SafeString:
    return format_html_join(
        "",
        '<span class="legend-item"><i style="background:{}"></i>{}</span>',
        ((PALETTE[n % len(PALETTE)], name) for n, name in enumerate(names)),
    )
