"""Writes gateway-dashboard.json (run: python docker/grafana/make_dashboard.py). Kept as code so the
queries are reviewed like code; the JSON is what Grafana imports."""

from __future__ import annotations

import json
from pathlib import Path

S = '{service=~"$service"}'
RI = "$__rate_interval"


def p95(metric: str, by: str = "service, ") -> str:
    return f"histogram_quantile(0.95, sum by ({by}le) (rate({metric}_bucket{S}[{RI}])))"


PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Requests per second", "reqps", [(f"sum by (service) (rate(gateway_requests_total{S}[{RI}]))", "{{service}}")]),
    (
        "Error rate (5xx share)",
        "percentunit",
        [
            (
                f'sum by (service) (rate(gateway_requests_total{{service=~"$service", status_class="5xx"}}[{RI}]))'
                f" / sum by (service) (rate(gateway_requests_total{S}[{RI}]))",
                "{{service}}",
            )
        ],
    ),
    (
        "Request duration p95",
        "s",
        [
            (
                p95("gateway_request_duration_seconds"),
                "{{service}}",
            )
        ],
    ),
    (
        "Upstream p95 and gateway-added p95",
        "s",
        [
            (
                p95("gateway_upstream_duration_seconds"),
                "upstream {{service}}",
            ),
            (
                p95("gateway_added_duration_seconds", by=""),
                "gateway-added",
            ),
        ],
    ),
    ("Requests in flight", "short", [("sum(gateway_requests_in_flight)", "in flight")]),
    (
        "Status classes",
        "reqps",
        [(f"sum by (status_class) (rate(gateway_requests_total{S}[{RI}]))", "{{status_class}}")],
    ),
    (
        "Upstream errors by kind",
        "reqps",
        [(f"sum by (service, kind) (rate(gateway_upstream_errors_total{S}[{RI}]))", "{{service}} {{kind}}")],
    ),
    (
        "Auth failures by reason",
        "reqps",
        [(f"sum by (reason) (rate(gateway_auth_failures_total{S}[{RI}]))", "{{reason}}")],
    ),
    (
        "Auth failure spike (refusals per second, now and the hour before)",
        "reqps",
        [
            (
                f'sum by (service, route) (rate(gateway_auth_failures_total{{service=~"$service", '
                f'reason!="insufficient_role"}}[{RI}]))',
                "{{service}} / {{route}}",
            ),
            (
                'sum by (service, route) (rate(gateway_auth_failures_total{service=~"$service", '
                'reason!="insufficient_role"}[1h] offset 5m))',
                "{{service}} / {{route}} (hour before)",
            ),
        ],
    ),
    (
        "Rate-limit breaches (share of a route's requests refused)",
        "percentunit",
        [
            (
                f"sum by (service, route) (rate(gateway_ratelimit_rejections_total{S}[{RI}]))"
                f" / sum by (service, route) (rate(gateway_requests_total{S}[{RI}]))",
                "{{service}} / {{route}}",
            )
        ],
    ),
    (
        "Bytes in / out",
        "Bps",
        [
            (f"sum(rate(gateway_request_bytes_total{S}[{RI}]))", "in"),
            (f"sum(rate(gateway_response_bytes_total{S}[{RI}]))", "out"),
        ],
    ),
    (
        "Open circuit breakers",
        "short",
        [('sum by (service, target) (gateway_breaker_state{state="open"})', "{{service}} {{target}}")],
    ),
    (
        "Breaker transitions",
        "short",
        [
            (
                f"sum by (service, to_state) (increase(gateway_breaker_transitions_total[{RI}]))",
                "{{service}} -> {{to_state}}",
            )
        ],
    ),
    (
        "Health checks: up and age",
        "short",
        [
            ("gateway_target_health_up", "up {{service}} {{target}}"),
            ("gateway_target_health_check_age_seconds", "age s {{service}} {{target}}"),
        ],
    ),
    (
        "Rate-limit decisions",
        "reqps",
        [(f"sum by (policy, decision) (rate(gateway_ratelimit_decisions_total[{RI}]))", "{{policy}} {{decision}}")],
    ),
    (
        "Audit pipeline",
        "short",
        [
            ("sum(gateway_audit_buffer_depth)", "in memory (no spool room)"),
            ("sum(gateway_audit_spool_bytes) / 1024", "spool (KiB not shipped)"),
            ("sum(gateway_audit_backlog_records)", "backlog (not yet in Postgres)"),
            (f"sum(increase(gateway_audit_records_dropped_total[{RI}]))", "dropped"),
        ],
    ),
    (
        "WebSockets",
        "short",
        [
            ("sum by (route) (gateway_websocket_connections)", "open {{route}}"),
            (
                f"sum by (route, direction) (rate(gateway_websocket_messages_total[{RI}]))",
                "msg/s {{route}} {{direction}}",
            ),
        ],
    ),
    (
        "Config version served and rebuild failures",
        "short",
        [
            ("max(gateway_config_version_served) - min(gateway_config_version_served)", "versions apart"),
            (f"sum(increase(gateway_config_rebuild_failures_total[{RI}]))", "rebuild failures"),
        ],
    ),
]


def dashboard() -> dict[str, object]:
    panels = []
    for i, (title, unit, targets) in enumerate(PANELS):
        panels.append(
            {
                "id": i + 1,
                "type": "timeseries",
                "title": title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {"refId": chr(65 + j), "expr": expr, "legendFormat": legend}
                    for j, (expr, legend) in enumerate(targets)
                ],
            }
        )
    return {
        "title": "Django Gateway",
        "uid": "django-gateway",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "tags": ["gateway"],
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
                {
                    "name": "service",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": "label_values(gateway_requests_total, service)",
                    "includeAll": True,
                    "multi": True,
                    "current": {"text": "All", "value": "$__all"},
                    "allValue": ".*",
                },
            ]
        },
        "panels": panels,
    }


if __name__ == "__main__":
    path = Path(__file__).with_name("gateway-dashboard.json")
    path.write_text(json.dumps(dashboard(), indent=2) + "\n")
    print(f"wrote {path}")
