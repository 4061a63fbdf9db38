"""Verb functions for rate policies; the admin, the API and tests call these."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from proxy.redis_clients import sync_client
from ratelimit import fallback
from ratelimit.backends import KEY_PREFIX, SHADOW_PREFIX
from ratelimit.models import RatePolicy, attachment_error


def validate_attachments(all_routes: bool, routes: Any, services: Any, consumers: Any) -> str | None:
    return attachment_error(all_routes, routes, services, consumers)


def _redis() -> Any:
    return sync_client(settings.GATEWAY_RATELIMIT_REDIS_URL)


def read_shadow_counts(policy: RatePolicy) -> dict[str, int]:
    """'Would have limited' counts of a shadow policy, per consumer, most first (kept for a week)."""
    key = f"{SHADOW_PREFIX}{policy.pk}"
    if settings.GATEWAY_RATELIMIT_REDIS_URL:
        with _redis() as client:
            raw = client.hgetall(key)
        counts = {k.decode(): int(v) for k, v in raw.items()}
    else:
        counts = dict(fallback.memory.shadow.get(key, {}))
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def reset_counters(policy: RatePolicy) -> int:
    """Forget every counter and shadow count of ``policy`` (an admin action); returns how many were dropped."""
    prefix = f"{KEY_PREFIX}{policy.pk}:"
    shadow = f"{SHADOW_PREFIX}{policy.pk}"
    dropped = 0
    if settings.GATEWAY_RATELIMIT_REDIS_URL:
        with _redis() as client:
            keys = [*client.scan_iter(match=prefix + "*", count=1000), shadow]
            dropped = int(client.delete(*keys))
    for key in [k for k in fallback.memory.states if k.startswith(prefix)]:
        del fallback.memory.states[key]
        dropped += 1
    fallback.memory.shadow.pop(shadow, None)
    return dropped
