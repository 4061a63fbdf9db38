"""Rate-limit metrics. ``policy`` is the policy's name (admin-chosen, bounded); ``decision`` is one of
allowed, limited, shadow_limited (a shadow policy would have limited) or degraded (decided without
Redis: failure mode open, closed or local)."""

from __future__ import annotations

from prometheus_client import Counter

DECISIONS = Counter(
    "gateway_ratelimit_decisions_total",
    "Rate-limit decisions by policy.",
    ["policy", "decision"],
)
