"""System checks for the realtime settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from registry import validators as v


@register()
def check_realtime_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    try:
        v.parse_origins(",".join(settings.GATEWAY_REALTIME_ORIGINS))
    except Exception as exc:
        messages.append(Error(f"GATEWAY_REALTIME_ORIGINS: {exc}", id="realtime.E001"))
    try:
        v.parse_roles(settings.GATEWAY_REALTIME_PUBLISHER_ROLE)
    except Exception:
        messages.append(Error("GATEWAY_REALTIME_PUBLISHER_ROLE is not a valid role name.", id="realtime.E002"))
    if not settings.GATEWAY_REALTIME_PUBLISHER_ROLE:
        messages.append(Error("GATEWAY_REALTIME_PUBLISHER_ROLE must not be empty.", id="realtime.E003"))
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    if settings.REDIS_URL and "Redis" not in backend:
        messages.append(
            Warning(
                "REDIS_URL is set but the channel layer is not Redis: a publish reaches only one process.",
                id="realtime.W001",
            )
        )
    if settings.GATEWAY_WEBSOCKET_MAX_MESSAGE_BYTES > 16 * 1024 * 1024:
        messages.append(
            Warning(
                "GATEWAY_WEBSOCKET_MAX_MESSAGE_BYTES is above uvicorn's --ws-max-size (16 MiB), which applies first.",
                id="realtime.W002",
            )
        )
    return messages
