"""The overview rows: per-service req/s, error rate, p95, health, breakers, health score and the
feature apps' columns, as JSON at ``/metrics/overview`` and as the services table of the admin
dashboard (``gateway_project.dashboard``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from proxy.metrics import sources
from proxy.metrics.views import _restricted, health_scores, performance_figures


def overview_rows() -> dict[str, Any]:
    figures = performance_figures()
    scores = health_scores(figures)
    states = sources.service_states()
    columns = sources.overview_columns()
    rows = []
    for slug in sorted((set(figures) | set(states)) - {"-"}):
        recent = figures.get(slug, {}).get("1m", {})
        five = figures.get(slug, {}).get("5m", {})
        state = states.get(slug)
        rows.append(
            {
                "service": slug,
                "name": state.name if state else slug,
                "rps": recent.get("rps", 0.0),
                "error_rate": five.get("error_rate", 0.0),
                "p95_ms": five.get("p95_ms"),
                "health": state.health if state else "unknown",
                "targets": f"{state.targets_available}/{state.targets_total}" if state else "",
                "breakers_open": state.breakers_open if state else 0,
                "score": scores["services"].get(slug, {}).get("score"),
                "extra": [values.get(slug) for _, values in columns],
            }
        )
    unrouted = figures.get("-", {}).get("1m", {})
    return {
        "overall": scores["overall"],
        "columns": [title for title, _ in columns],  # feature apps' own (proxy.metrics.sources)
        "services": rows,
        "unrouted_rps": unrouted.get("rps", 0.0),
    }


@_restricted
def overview_data(request: HttpRequest) -> HttpResponse:
    return JsonResponse(overview_rows())
