"""What the dashboard shows, gathered from the control plane's own stores (see the package's
docstring): never a query per request, never the request path."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db.models import Prefetch
from django.urls import NoReverseMatch, reverse

from gateway_project.dashboard import charts
from proxy.metrics import exposition, multiproc
from proxy.metrics.overview import overview_rows
from proxy.metrics.recorder import NO_ROUTE
from proxy.metrics.windows import SLOT_SECONDS, timeline, windows

# name: (seconds shown, seconds per point)
RANGES = {"15m": (900, SLOT_SECONDS), "1h": (3600, 60)}
TOP_ROUTES = 8
CHANGES = 8
MAX_LINES = 8  # the busiest services get a line each


def _rate(value: float) -> str:
    return f"{value:g}"


def _percent(value: float) -> str:
    return f"{value * 100:.3g} %"


def _ms(value: float) -> str:
    return f"{value:.3g} ms"


METRICS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("rps", "Traffic (req/s)", _rate),
    ("error_rate", "Error rate (5xx)", _percent),
    ("p95_ms", "p95 latency", _ms),
)


def chart_panels(now: float | None = None) -> dict[str, Any]:
    """Per range, one SVG chart per metric with a line per service, and the legend."""
    now = time.time() if now is None else now
    gathered = {s: slots for s, slots in windows.gather(multiproc.directory()).items() if s != NO_ROUTE}
    busiest = sorted(gathered, key=lambda s: -sum(sum(c[:-1]) for c in gathered[s].values()))[:MAX_LINES]
    names = sorted(busiest)
    panels: dict[str, Any] = {}
    for name, (seconds, step) in RANGES.items():
        series = {s: timeline(gathered[s], now, seconds, step) for s in names}
        start = now - seconds
        drawn = []
        for key, title, label in METRICS:
            lines = [
                charts.Line(s, [(p["at"] + step / 2, p[key] if p["requests"] else None) for p in series[s]])
                for s in names
            ]
            drawn.append(
                {
                    "key": key,
                    "title": title,
                    "svg": charts.line_chart(f"{title}, last {name}", lines, start, now, label),
                }
            )
        panels[name] = drawn
    return {"ranges": panels, "legend": charts.legend(names), "services": names}


def _status_class(status: str) -> int:
    return int(status[0]) if status[:1].isdigit() else 0


def series_figures() -> dict[str, Any]:
    """Top routes by requests, and the rate-limit and cache ratios, since the workers started."""
    routes: dict[tuple[str, str], list[float]] = {}
    decisions: dict[str, float] = {}
    cache_served = cache_looked_up = 0.0
    for metric in exposition.registry().collect():
        if metric.name == "gateway_requests":
            for sample in metric.samples:
                if not sample.name.endswith("_total") or sample.labels.get("route") == NO_ROUTE:
                    continue
                entry = routes.setdefault((sample.labels["service"], sample.labels["route"]), [0.0, 0.0])
                entry[0] += sample.value
                if _status_class(sample.labels.get("status_class", "")) == 5:
                    entry[1] += sample.value
        elif metric.name == "gateway_ratelimit_decisions":
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    decision = sample.labels.get("decision", "")
                    decisions[decision] = decisions.get(decision, 0.0) + sample.value
        elif metric.name == "gateway_cache_responses":
            for sample in metric.samples:
                status = sample.labels.get("status")
                if not sample.name.endswith("_total") or status == "bypass":
                    continue
                cache_looked_up += sample.value
                if status in ("hit", "stale", "revalidated"):
                    cache_served += sample.value
    top = sorted(routes.items(), key=lambda item: (-item[1][0], item[0]))[:TOP_ROUTES]
    checked = sum(decisions.values())
    return {
        "top_routes": [
            {"service": s, "route": r, "requests": int(n), "error_percent": _percent(e / n) if n else "-"}
            for (s, r), (n, e) in top
        ],
        "ratelimit": {
            "decisions": int(checked),
            "limited": int(decisions.get("limited", 0.0)),
            "ratio": _percent(decisions.get("limited", 0.0) / checked) if checked else "-",
        },
        "cache": {
            "lookups": int(cache_looked_up),
            "ratio": _percent(cache_served / cache_looked_up) if cache_looked_up else "-",
        },
    }


def _admin_link(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def service_health() -> list[dict[str, Any]]:
    """Each enabled service's health and its targets' health check and breaker state."""
    from breaker.services import service_health as summarize
    from breaker.services import target_health
    from registry.models import Service, Target

    enabled = Target.objects.filter(enabled=True).order_by("host", "port")
    services = list(
        Service.objects.filter(enabled=True)
        .select_related("breaker")
        .prefetch_related(Prefetch("targets", queryset=enabled))
        .order_by("name")
    )
    health = target_health([t for s in services for t in s.targets.all()])
    found = []
    for service in services:
        summary = summarize(service, health)
        found.append(
            {
                "slug": service.slug,
                "name": service.name,
                "url": _admin_link("admin:registry_service_change", service.pk),
                "health": summary["status"],
                "available": summary["targets_available"],
                "total": summary["targets_total"],
                "targets": [
                    {
                        "address": t.address,
                        "url": _admin_link("admin:registry_target_change", t.pk),
                        "health": health[t.pk]["status"],
                        "breaker": health[t.pk]["breaker"],
                        "checked_at": health[t.pk]["checked_at"],
                    }
                    for t in service.targets.all()
                ],
            }
        )
    return found


def config_changes(limit: int = CHANGES) -> list[dict[str, Any]]:
    """The newest configuration changes of the audit chain, with who made them and how."""
    from compliance.models import AuditEvent

    rows = []
    events = AuditEvent.objects.filter(kind=AuditEvent.Kind.CONFIG).order_by("-seq")[:limit]
    for event in events.only("pk", "seq", "at", "action", "actor", "source", "object_type", "object_id", "data"):
        values = (event.data or {}).get("after") or (event.data or {}).get("before") or {}
        label = values.get("name") or values.get("slug") or values.get("host") or f"#{event.object_id}"
        app, _, model = event.object_type.partition(".")
        deleted = event.action.endswith(".deleted")
        rows.append(
            {
                "at": event.at,
                "action": event.action,
                "actor": event.actor or "-",
                "source": event.source,
                "object": f"{model} {label}" if model else str(label),
                "verb": event.action.rsplit(".", 1)[-1],
                "object_url": ""
                if deleted or not model
                else _admin_link(f"admin:{app}_{model}_change", event.object_id),
                "event_url": _admin_link("admin:compliance_auditevent_change", event.pk),
                "changed": (event.data or {}).get("changed") or [],
            }
        )
    return rows


def dashboard(changes: bool = True) -> dict[str, Any]:
    """Everything the dashboard shows; ``changes``: with the newest configuration changes."""
    overview = overview_rows()
    for row in overview["services"]:
        row["error_percent"] = _percent(row["error_rate"])
    return {
        "overview": overview,
        "charts": chart_panels(),
        "figures": series_figures(),
        "health": service_health(),
        "changes": config_changes() if changes else None,
        "generated_at": time.time(),
    }
